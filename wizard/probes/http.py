"""One HTTP/1.1 request over TLS, written and read by hand so the path goes out verbatim.

The proxy check must send paths exactly as given (``/no-auth/provider-action/slackX``,
a trailing ``/``): no client library normalises them here. The answer is read
until the server closes, bounded by :data:`MAX_RESPONSE`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.probes.tls import ProbeError, close_writer, describe_error

MAX_RESPONSE = 256 * 1024
USER_AGENT = "codestream-bastion (post-install check)"


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response read off the wire.

    Attributes:
        status: The status code.
        reason: The reason phrase.
        headers: ``(name, value)`` pairs in the order received.
        body: The body (de-chunked), at most :data:`MAX_RESPONSE` bytes.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """A short line for findings: status, server, start of the body."""
        server = self.header("Server")
        snippet = " ".join(self.text.split())[:120]
        via = f", Server: {server}" if server else ""
        return f"HTTP {self.status} {self.reason}{via}: {snippet!r}"


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        line, sep, rest = data.partition(b"\r\n")
        if not sep:
            break
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def parse_response(raw: bytes) -> HttpResponse:
    """Parse a whole HTTP/1.x response (read until the server closed).

    Raises:
        ProbeError: When ``raw`` is not an HTTP response.
    """
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProbeError(f"the answer is not HTTP: {raw[:60]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    response = HttpResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", tuple(headers), body)
    if "chunked" in (response.header("Transfer-Encoding") or "").lower():
        return HttpResponse(response.status, response.reason, response.headers, _dechunk(body))
    length = response.header("Content-Length")
    if length is not None and length.isdigit():
        return HttpResponse(response.status, response.reason, response.headers, body[: int(length)])
    return response


def _request_bytes(
    method: str, target: str, host: str, headers: Sequence[tuple[str, str]], body: bytes | None
) -> bytes:
    """The request on the wire: the target verbatim, ``headers`` after ``Accept``, the body."""
    more = [*headers] + ([("Content-Length", str(len(body)))] if body is not None else [])
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\n" + "".join(f"{k}: {v}\r\n" for k, v in more) + "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + (body or b"")


async def https_request(
    address: str,
    port: int,
    server_name: str,
    method: str,
    target: str,
    context: ssl.SSLContext,
    timeout: float,
    *,
    host_header: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
) -> tuple[HttpResponse, bytes | None]:
    """One HTTP/1.1 request over TLS, the request target sent verbatim.

    Args:
        address: The IP address to connect to.
        port: The TCP port.
        server_name: SNI (and, unless ``host_header`` is given, the Host header).
        method: E.g. ``GET``.
        target: The request target exactly as it goes on the wire.
        context: The TLS client context (verifying, or not).
        timeout: Bound on the whole exchange, in seconds.
        host_header: The ``Host`` header value.
        headers: More request headers, sent as given after ``Accept``.
        body: A request body, sent with its ``Content-Length``.

    Returns:
        The response and the DER of the certificate the server presented.

    Raises:
        ProbeError: With a sentence saying what went wrong.
    """

    async def exchange() -> tuple[HttpResponse, bytes | None]:
        reader, writer = await asyncio.open_connection(
            address,
            port,
            ssl=context,
            server_hostname=server_name,
            ssl_handshake_timeout=timeout,
        )
        try:
            tls = writer.get_extra_info("ssl_object")
            der = tls.getpeercert(binary_form=True) if tls is not None else None
            host = host_header or (server_name if port == 443 else f"{server_name}:{port}")
            writer.write(_request_bytes(method, target, host, headers, body))
            await writer.drain()
            raw = bytearray()
            while len(raw) < MAX_RESPONSE:
                try:
                    chunk = await reader.read(65536)
                except (ssl.SSLError, ConnectionResetError):
                    if raw:
                        break  # closed without close_notify after a full answer
                    raise
                if not chunk:
                    break
                raw += chunk
            return parse_response(bytes(raw)), der
        finally:
            await close_writer(writer)

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except ProbeError:
        raise
    except (
        OSError,
        ssl.SSLError,
        asyncio.TimeoutError,
        EOFError,
        asyncio.IncompleteReadError,
    ) as exc:
        raise ProbeError(describe_error(exc)) from exc
