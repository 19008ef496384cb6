"""wizard.compat: 3.11's names on 3.9 and 3.10, and the same behaviour on every Python.

The timeout replacement runs on the suite's own Python too; on 3.9 and 3.10
(``./dev test-pythons``) the public names are the replacements themselves. The
TLS tests use a real handshake on loopback with a certificate from the test CA.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from wizard import compat
from wizard.demo.ca import TestCA

TIMEOUTS = [compat.timeout, compat.timeout_fallback]
# The start_tls replacement leans on the loop of 3.9 and 3.10, which leaves the
# protocol unaware of the new transport; 3.11's loop announces it itself.
START_TLS = [compat.start_tls] + ([compat.start_tls_fallback] if sys.version_info < (3, 11) else [])


def test_the_public_names_are_the_standard_library_from_3_11() -> None:
    if sys.version_info >= (3, 11):
        import builtins

        import tomllib

        assert compat.timeout is asyncio.timeout
        assert compat.tomllib is tomllib
        assert compat.BaseExceptionGroup is vars(builtins)["BaseExceptionGroup"]
    else:
        assert compat.timeout is compat.timeout_fallback
        assert compat.start_tls is compat.start_tls_fallback


@pytest.mark.parametrize("timeout", TIMEOUTS)
async def test_timeout_cuts_a_slow_block_short_with_the_builtin_timeout_error(
    timeout: Callable[[float | None], Any],
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError) as raised:
        async with timeout(0.05):
            await asyncio.sleep(5)
    assert type(raised.value) is TimeoutError  # the built-in, not asyncio's own before 3.11
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("timeout", TIMEOUTS)
async def test_timeout_leaves_a_fast_block_and_what_follows_alone(
    timeout: Callable[[float | None], Any],
) -> None:
    async with timeout(0.2):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # a cancellation left behind would hit here
    async with timeout(None):
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("timeout", TIMEOUTS)
async def test_a_cancellation_from_outside_stays_a_cancellation(
    timeout: Callable[[float | None], Any],
) -> None:
    async def waits() -> None:
        async with timeout(10):
            await asyncio.sleep(10)

    task = asyncio.ensure_future(waits())
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_anyio_task_group_failures_are_compat_exception_groups() -> None:
    # httpx runs on anyio, which raises the backport's groups before 3.11:
    # wizard.checks.upstream_failures walks them through compat.BaseExceptionGroup.
    async def fail(message: str) -> None:
        await asyncio.sleep(0)
        raise ValueError(message)

    async def both_fail() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(fail, "one")
            group.start_soon(fail, "two")

    with pytest.raises(compat.BaseExceptionGroup) as raised:
        await both_fail()
    assert sorted(str(e) for e in raised.value.exceptions) == ["one", "two"]


def test_tomllib_errors_name_the_line_as_answers_expects() -> None:
    assert compat.tomllib.loads('mode = "slack"\n') == {"mode": "slack"}
    with pytest.raises(compat.tomllib.TOMLDecodeError, match=r"line 2"):
        compat.tomllib.loads('mode = "slack"\nbad = \n')


@pytest.fixture(scope="module")
def server_context(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    directory = tmp_path_factory.mktemp("compat-tls")
    ca = TestCA("Compat Test")
    crt, key = ca.issue(["127.0.0.1"]).write(directory, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    return context, ca.write_root(directory / "root.pem")


StartTls = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def _upper_case_server(
    start_tls: StartTls, context: ssl.SSLContext, outcomes: list[object]
) -> asyncio.AbstractServer:
    """A server that upgrades each connection to TLS, then echoes one line upper-cased."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await start_tls(
                reader, writer, context, handshake_timeout=2.0, limit=1024
            )
            line = await reader.readline()
            outcomes.append(writer.get_extra_info("ssl_object") is not None)
            writer.write(line.upper())
            await writer.drain()
            writer.close()
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            outcomes.append(exc)
            writer.transport.abort()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


@pytest.mark.parametrize("start_tls", START_TLS)
async def test_start_tls_upgrades_a_plain_connection(
    start_tls: StartTls, server_context: tuple[ssl.SSLContext, Path]
) -> None:
    context, root = server_context
    outcomes: list[object] = []
    server = await _upper_case_server(start_tls, context, outcomes)
    port = server.sockets[0].getsockname()[1]
    try:
        client = ssl.create_default_context(cafile=str(root))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        writer.write(b"hello over tls\n")
        assert await asyncio.wait_for(reader.read(), 5) == b"HELLO OVER TLS\n"
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert outcomes == [True]  # the server's stream pair spoke TLS


@pytest.mark.parametrize("start_tls", START_TLS)
async def test_start_tls_refuses_a_plain_text_client(
    start_tls: StartTls, server_context: tuple[ssl.SSLContext, Path]
) -> None:
    outcomes: list[object] = []
    server = await _upper_case_server(start_tls, server_context[0], outcomes)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"HTTP" not in await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], (ssl.SSLError, ConnectionError))
