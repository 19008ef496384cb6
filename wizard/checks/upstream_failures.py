"""Why the upstream probe failed: timeouts, TLS, refused, reset, not HTTP.

httpx folds very different failures into a few exception types; the admin
needs each one named with its own fix. :func:`failure` walks the exception
chain (causes, contexts and groups) and, where httpx hides the answer, looks
again on a bare connection (what the peer sent; the certificate it presented).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from wizard import compat
from wizard.checks.api_url import ApiTarget, Route, Trust
from wizard.checks.context import CheckContext
from wizard.checks.fingerprint import PROBE_PATH
from wizard.findings import API_URL, UPSTREAM_CA, Finding, fail
from wizard.probes.tls import ProbeError, describe_certificate, peer_certificate, unverified_context

if TYPE_CHECKING:
    import ssl

# OpenSSL verification codes, grouped by what the admin has to do.
_HOSTNAME_CODES = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21})  # issuer unknown, self-signed, no chain
_EXPIRY_CODES = frozenset({9, 10})  # not yet valid, expired


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from or while handling, groups included.

    httpcore and anyio re-raise with suppressed contexts, so both the cause and
    the context are followed.
    """
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, compat.BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _raised(exc: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether ``exc``'s chain holds an exception of one of ``kinds``."""
    return any(isinstance(e, kinds) for e in _causes(exc))


@contextlib.asynccontextmanager
async def _raw_connection(
    target: ApiTarget, route: Route, ctx: CheckContext, tls: ssl.SSLContext | None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A bare connection to the API (TLS with ``tls``), for the diagnostics httpx hides.

    Raises:
        OSError: When it cannot be opened (``ssl.SSLError`` included).
        TimeoutError: When opening it takes longer than ``ctx.timeout``.
    """
    async with compat.timeout(ctx.timeout):
        reader, writer = await asyncio.open_connection(
            route.address,
            target.port,
            ssl=tls,
            server_hostname=target.host if tls is not None else None,
        )
    try:
        yield reader, writer
    finally:
        writer.transport.abort()


async def _presented_certificate(target: ApiTarget, route: Route, ctx: CheckContext) -> str:
    """`` The certificate presented: ...``, fetched without verification; empty if none."""
    if ctx.transport is not None:
        return ""
    try:
        der = await peer_certificate(
            route.address, target.port, target.host, unverified_context(), ctx.timeout
        )
    except ProbeError:
        return ""
    return f" The certificate presented: {describe_certificate(der)}."


async def _first_bytes(target: ApiTarget, route: Route, trust: Trust, ctx: CheckContext) -> bytes:
    """Send the probe again on a bare connection; the first bytes of the answer.

    httpx reports a peer that sent something other than an HTTP head and closed as
    "disconnected without sending a response"; this tells the two apart.
    Empty when nothing came back or the connection failed.
    """
    if ctx.transport is not None:
        return b""
    request = (
        f"GET {PROBE_PATH} HTTP/1.1\r\nHost: {target.authority}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    try:
        async with _raw_connection(target, route, ctx, trust.context) as (reader, writer):
            writer.write(request)
            async with compat.timeout(ctx.timeout):
                return await reader.read(512)
    except (OSError, TimeoutError):
        return b""


async def _tls_failure(
    error: ssl.SSLError, target: ApiTarget, route: Route, trust: Trust, ctx: CheckContext
) -> Finding:
    """The finding for a failed TLS handshake: untrusted, wrong name, or other."""
    import ssl

    code = error.verify_code if isinstance(error, ssl.SSLCertVerificationError) else None
    message = (
        str(error.verify_message) if isinstance(error, ssl.SSLCertVerificationError) else str(error)
    ).rstrip(".")
    where = f"{target.url()} via {route.describe()}"
    if code is None:
        return _tls_error(message, where)
    cert = await _presented_certificate(target, route, ctx)
    if code in _HOSTNAME_CODES:
        return fail(
            "upstream.tls_hostname",
            f"The API's certificate is not valid for {target.host}",
            f"TLS to {where}: {message}.{cert}",
            f"Use a certificate for the API that names {target.host} in its subject "
            "alternative names, or set api_url to a name the certificate has.",
        )
    if code in _UNTRUSTED_CODES:
        fix = (
            f"{trust.source} does not contain the CA that signed it: point {UPSTREAM_CA} "
            "at the right CA file"
            if trust.from_upstream_ca
            else f"set {UPSTREAM_CA} to the PEM file of the CA that signed "
            "the API's certificate (for a self-signed certificate, the certificate itself)"
        )
        return fail(
            "upstream.tls_untrusted",
            "The bastion does not trust the API's certificate",
            f"TLS to {where}: {message}; verified against {trust.source}.{cert}",
            fix[0].upper() + fix[1:] + ".",
        )
    if code in _EXPIRY_CODES:
        return _tls_error(
            f"{message}.{cert}", where, "Renew the API's certificate (or fix this host's clock)."
        )
    return _tls_error(f"{message}.{cert}", where)


def _tls_error(message: str, where: str, remedy: str = "") -> Finding:
    hint = ""
    if "WRONG_VERSION_NUMBER" in message.upper() or "RECORD_LAYER" in message.upper():
        hint = " The port seems to answer plain HTTP, not TLS."
        remedy = remedy or "If the API speaks plain HTTP on this port, use http:// in api_url."
    return fail(
        "upstream.tls_error",
        "The TLS handshake with the API failed",
        f"TLS to {where}: {message.rstrip('.')}.{hint}",
        remedy
        or "Check that api_url names the API's TLS port and that the API's TLS setup works "
        "(openssl s_client -connect HOST:PORT -servername HOST shows it).",
    )


def _timeout(target: ApiTarget, route: Route, ctx: CheckContext, exc: BaseException) -> Finding:
    import httpx

    phase = (
        "connecting (TCP and TLS handshake)"
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        else "waiting for the answer"
    )
    return fail(
        "upstream.timeout",
        f"The API did not answer within {ctx.timeout:g} s",
        f"{target.url()} via {route.describe()}: no progress for {ctx.timeout:g} s while {phase}.",
        "Check that the API is running and that no firewall drops traffic from the bastion "
        f"to {route.address} port {target.port}; raise --timeout for a slow link.",
    )


# Connection failures: code -> (title, remedy); {address} and {port} are filled in.
_CONNECTION_FAILURES: dict[str, tuple[str, str]] = {
    "upstream.refused": (
        "The API refused the connection",
        "Check that the API listens on port {port} at {address} (the port in api_url) and "
        "that no firewall rejects the bastion.",
    ),
    "upstream.reset": (
        "The API closed the connection without answering",
        "Check that api_url names the API's own port (not another service's), and what sits "
        "between the bastion and the API (firewall, load balancer).",
    ),
    "upstream.not_http": (
        "The API answered something that is not HTTP",
        "Check the port in api_url: it must be the CodeStream API's HTTP(S) port ({port} "
        "answers another protocol).",
    ),
    "upstream.unreachable": (
        "The API cannot be reached",
        "Check routing and firewalls between the bastion and {address}.",
    ),
}


def _connection_failure(code: str, target: ApiTarget, route: Route, reason: str) -> Finding:
    title, remedy = _CONNECTION_FAILURES[code]
    return fail(
        code,
        title,
        f"{target.url()} via {route.describe()}: {reason}.",
        remedy.format(address=route.address, port=target.port),
    )


def _reason(exc: BaseException) -> str:
    """The most specific message in an exception chain."""
    for cause in reversed(list(_causes(exc))):
        text = str(cause).strip()
        if text and not isinstance(cause, compat.BaseExceptionGroup):
            return text.rstrip(".")
    return exc.__class__.__name__


def _broken_stream(exc: BaseException) -> bool:
    """Whether anyio reported a broken connection without the OS error behind it.

    anyio 4.12 (the last release for Python 3.9) raises a broken socket's
    ``BrokenResourceError`` "from None", dropping the ``ConnectionResetError``
    that later releases keep as its cause; a connection that breaks while the
    probe waits for the answer is a reset in practice.
    """
    import anyio

    return any(
        isinstance(e, anyio.BrokenResourceError) and e.__cause__ is None for e in _causes(exc)
    )


def _error_code(exc: BaseException) -> str:
    """The code of a failed exchange that is neither a timeout nor a TLS failure."""
    import httpx

    if _raised(exc, ConnectionRefusedError):
        return "upstream.refused"
    if _raised(exc, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return "upstream.reset"
    if _broken_stream(exc):
        return "upstream.reset"
    if isinstance(exc, (httpx.ProtocolError, httpx.DecodingError)):
        return "upstream.not_http"
    return "upstream.unreachable"


async def failure(
    exc: BaseException, target: ApiTarget, route: Route, trust: Trust, ctx: CheckContext
) -> Finding:
    """Map a failed exchange to its finding."""
    import ssl

    import httpx

    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return _timeout(target, route, ctx, exc)
    ssl_error = next(
        (
            e
            for e in _causes(exc)
            # want-read/write are flow control inside the TLS layer, not failures
            if isinstance(e, ssl.SSLError)
            and not isinstance(e, (ssl.SSLWantReadError, ssl.SSLWantWriteError))
        ),
        None,
    )
    if ssl_error is not None:
        return await _tls_failure(ssl_error, target, route, trust, ctx)
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending" in str(exc):
        # Closed without an HTTP head: nothing at all, or bytes of another protocol?
        sent = await _first_bytes(target, route, trust, ctx)
        if sent and not sent.startswith(b"HTTP/"):
            reason = f"it sent {sent[:60]!r} instead of an HTTP answer"
            found = _connection_failure("upstream.not_http", target, route, reason)
        else:
            found = _connection_failure("upstream.reset", target, route, _reason(exc))
    else:
        reason = (
            "the connection broke before the answer came" if _broken_stream(exc) else _reason(exc)
        )
        found = _connection_failure(_error_code(exc), target, route, reason)
    return await _https_instead(found, target, route, ctx)


async def _https_instead(
    found: Finding, target: ApiTarget, route: Route, ctx: CheckContext
) -> Finding:
    """An ``http://`` URL whose port speaks TLS: say to use ``https://`` (the usual slip)."""
    if target.tls or found.code not in ("upstream.not_http", "upstream.reset"):
        return found
    presented = await _presented_certificate(target, route, ctx)
    if not presented:
        return found
    https = f"https://{target.authority}" + (":80" if target.port == 80 else "")
    return fail(
        found.code,
        "The API's port speaks HTTPS, but the URL says http://",
        found.detail + presented,
        f"Use https:// in {API_URL}: {https}",
    )
