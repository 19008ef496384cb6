"""What CPython 3.9 and 3.10 lack, for the few cases that are not an older spelling.

The package runs on CPython 3.9 to 3.13 (README.md, "Supported systems"). Where
3.9 has an equivalent, the code simply uses it (``datetime.timezone.utc``,
``asyncio.TimeoutError`` after ``asyncio.wait_for``, a tuple in ``isinstance``,
``typing.Union`` in a run-time alias); only what needs a backport or a few lines
of its own lives here, under the 3.11 name, so the call sites read as on 3.11.
On 3.11 and later every name is the standard library's own object; the
replacements are defined on every version so the tests can run them (the
start_tls one only works with the event loop of 3.9 and 3.10).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if sys.version_info >= (3, 11):
    import builtins

    import tomllib

    BaseExceptionGroup = builtins.BaseExceptionGroup
else:
    # Both are dependencies on these versions only (pyproject.toml); httpx's anyio
    # raises the backport's groups there.
    import tomli as tomllib
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    import ssl


@contextlib.asynccontextmanager
async def timeout_fallback(delay: float | None) -> AsyncIterator[None]:
    """``asyncio.timeout`` of 3.11: cancel the block after ``delay`` seconds.

    Raises:
        TimeoutError: The built-in one, as on 3.11, when the block was cut short.
    """
    if delay is None:
        yield
        return
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("timeout() must be used inside a task")
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    handle = asyncio.get_running_loop().call_later(delay, expire)
    try:
        yield
    except asyncio.CancelledError as exc:
        # Only the cancellation this timer caused becomes a timeout; one from
        # outside (the caller giving up) goes on as it came.
        if expired:
            raise TimeoutError from exc
        raise
    finally:
        handle.cancel()


async def start_tls_fallback(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    *,
    handshake_timeout: float,
    limit: int,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The server side of 3.11's ``StreamWriter.start_tls``, on a new stream pair (3.9, 3.10).

    3.11 upgrades the pair in place; before, the loop's own ``start_tls`` wraps
    the transport and a fresh reader and writer sit on top of the TLS transport
    (the old pair must not be used afterwards). Only for the loop of 3.9 and
    3.10, which does not announce the new transport to the protocol (3.11's
    does). ``reader`` is unused: it stands in the signature so both versions
    are called alike.

    Raises:
        ssl.SSLError: When the handshake fails.
        ConnectionError: When the peer goes away or the handshake outlasts
            ``handshake_timeout``.
    """
    del reader
    loop = asyncio.get_running_loop()
    await writer.drain()
    tls_reader = asyncio.StreamReader(limit=limit)
    protocol = asyncio.StreamReaderProtocol(tls_reader)
    transport = await loop.start_tls(
        writer.transport,
        protocol,
        context,
        server_side=True,
        ssl_handshake_timeout=handshake_timeout,
    )
    if transport is None:  # the connection closed while the handshake was under way
        raise ConnectionResetError("the connection closed during the TLS handshake")
    # The loop does not announce the new transport to the protocol (it was made
    # for an existing connection); the reader learns it here.
    protocol.connection_made(transport)
    return tls_reader, asyncio.StreamWriter(transport, protocol, tls_reader, loop)


if sys.version_info >= (3, 11):
    from asyncio import timeout

    async def start_tls(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        *,
        handshake_timeout: float,
        limit: int,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """``writer.start_tls`` (server side): the same pair, upgraded in place."""
        del limit  # the reader keeps its own
        await writer.start_tls(context, ssl_handshake_timeout=handshake_timeout)
        return reader, writer

else:
    timeout = timeout_fallback
    start_tls = start_tls_fallback


__all__ = [
    "BaseExceptionGroup",
    "start_tls",
    "start_tls_fallback",
    "timeout",
    "timeout_fallback",
    "tomllib",
]
