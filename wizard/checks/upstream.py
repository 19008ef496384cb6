"""Can the bastion reach the CodeStream API, and is it really CodeStream?

nginx on the bastion forwards the bot endpoints to ``[codestream] api_url``.
This check does what that nginx will do, from the bastion itself:

1. check the URL's syntax (:func:`api_url_error`);
2. find the address: the pinned ``upstream_address``, the IP literal in the
   URL, or the API host resolved through the bastion's own resolvers (A and
   AAAA at once), since a public resolver cannot see internal names;
3. connect there while still asking for the API host: ``Host`` header, TLS SNI
   and certificate verification all use the name, the certificate being
   checked against ``upstream_ca`` when set, else the trust store;
4. ``GET`` a bot endpoint and look for CodeStream's fingerprint: Express's 404
   page saying ``Cannot GET <path>`` (Express's ``finalhandler``, see :mod:`wizard.demo.fake_api`).

Every failure is its own stable ``upstream.*`` code with a remedy. Each network
step is bounded by ``ctx.timeout`` (the whole exchange by twice that).

httpx, cryptography and dnspython are imported inside the functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from wizard.answers import CodeStreamAnswers
from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, warn
from wizard.probes.dns import DnsAnswer, resolve_addresses
from wizard.probes.tls import (
    ProbeError,
    describe_certificate,
    peer_certificate,
    unverified_context,
)

if TYPE_CHECKING:
    import ssl

    import httpx

RELEASE_HEADER = "X-CS-API-Version"
"""The header naming the API's release on every answer (api_server/modules/versioner)."""

PROBE_PATH = "/no-auth/provider-action/msteams/"
"""What the probe GETs: a bot endpoint (POST-only), so CodeStream answers its 404."""

MAX_BODY = 64 * 1024
"""Bytes of the answer read at most: the fingerprint is near the start."""

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Response headers, as a mapping (``httpx.Headers``) or ``(name, value)`` pairs."""

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_EXAMPLE_URL = "https://codestream.my-company.com"
_ANSWERS_HINT = "the [codestream] table of the answers file"
# OpenSSL verification codes, grouped by what the admin has to do.
_HOSTNAME_CODES = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21})  # issuer unknown, self-signed, no chain
_EXPIRY_CODES = frozenset({9, 10})  # not yet valid, expired


# -- the URL ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiTarget:
    """The parts of an accepted ``api_url``.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The host, lower case; ASCII (punycode) for a name, bare for an IP.
        port: The TCP port (the scheme's default when the URL gives none).
    """

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        """True for ``https``."""
        return self.scheme == "https"

    @property
    def host_is_ip(self) -> bool:
        """True when the host is an IP literal (nothing to resolve)."""
        return _is_ip(self.host)

    @property
    def authority(self) -> str:
        """``host[:port]`` as in a URL and a ``Host`` header (default port omitted)."""
        return self._authority(self.host)

    def url(self, path: str = "", *, via: str | None = None) -> str:
        """The URL of ``path`` on the API, or on the address ``via`` (same port)."""
        return f"{self.scheme}://{self._authority(via or self.host)}{path}"

    def _authority(self, host: str) -> str:
        default = 443 if self.tls else 80
        bracketed = f"[{host}]" if ":" in host else host
        return bracketed if self.port == default else f"{bracketed}:{self.port}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host_to_ascii(host: str) -> str:
    """An IDN host as punycode (UTS 46), or the host unchanged when ASCII.

    Raises:
        ValueError: When the host cannot be written in ASCII.
    """
    if host.isascii():
        return host
    from wizard.hostnames import to_ascii

    try:
        return to_ascii(host)
    except ValueError as exc:
        raise ValueError(f"the host {host!r} is not a valid international name ({exc})") from None


def _host_error(host: str) -> str | None:
    """Why ``host`` (ASCII, lower case) is not a usable host name, or ``None``."""
    if len(host) > 253:
        return f"the host name is {len(host)} characters long; at most 253 are allowed"
    labels = host.split(".")
    for label in labels:
        if not _LABEL.match(label):
            return (
                f"the host label {label!r} is not valid: use 1-63 letters, digits and "
                "hyphens, not starting or ending with a hyphen"
            )
    if labels[-1].isdigit():
        return f"{host!r} looks like an IPv4 address but is not one: check the digits"
    return None


def parse_api_url(url: str) -> ApiTarget:
    """Split and validate ``api_url`` (syntax only, nothing is looked up).

    Args:
        url: The URL as typed, e.g. ``https://codestream.my-company.com:8443``.

    Returns:
        The scheme, host and port.

    Raises:
        ValueError: With a message naming the problem and the fix.
    """
    if not url.strip():
        raise ValueError(f"the API URL is empty: enter it, e.g. {_EXAMPLE_URL}")
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise ValueError("the API URL contains blanks: remove them")
    if "://" not in url:
        raise ValueError(f"the API URL has no scheme: write https://{url} (or http://{url})")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(
            f"the API URL cannot be parsed ({exc}): write it like {_EXAMPLE_URL}:8443"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"the scheme {parts.scheme!r} is not supported: use https:// or http://")
    if "@" in parts.netloc:
        raise ValueError(
            "the API URL contains a user name or password (user@): remove it, "
            "the bot endpoints need no login"
        )
    if "?" in url or "#" in url:
        raise ValueError("the API URL has a query or fragment (? or #): remove it")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"the API URL has a path ({parts.path}): the bot endpoints live at the API's "
            f"root, give only scheme, host and port, e.g. {_EXAMPLE_URL}"
        )
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not a TCP port: use 1-65535 or leave it out")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"the API URL has no host: write it like {_EXAMPLE_URL}")
    if not _is_ip(host):
        host = _host_to_ascii(host).lower()
        problem = _host_error(host)
        if problem:
            raise ValueError(problem)
    return ApiTarget(scheme, host, port or (443 if scheme == "https" else 80))


def api_url_error(url: str) -> str | None:
    """Why ``url`` is not a usable ``api_url``, or ``None`` when it is.

    Syntax only (offline, cheap enough for every keystroke): scheme ``http`` or
    ``https``, a host, an optional port 1-65535, no user name or password, no
    query or fragment, and no path beyond ``/``.

    Args:
        url: The URL as typed.

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    try:
        parse_api_url(url)
    except ValueError as exc:
        return str(exc)
    return None


def upstream_address_error(text: str) -> str | None:
    """Why ``text`` is not a usable ``upstream_address``, or ``None`` when it is.

    Args:
        text: The pinned address as typed: a bare IPv4 or IPv6 address.

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    if text != text.strip():
        return "remove the blanks before or after the address"
    if "%" in text:
        return f"{text!r} has a zone id (%...), which nginx cannot use: give the bare address"
    if _is_ip(text):
        return None
    return (
        f"{text!r} is not an IP address: pin the API's address as a bare IPv4 or IPv6 "
        "address (e.g. 10.0.0.5), without port or brackets"
    )


# -- CodeStream's fingerprint ----------------------------------------------------


def _header(headers: Headers, name: str) -> str:
    """The value of header ``name`` (case-insensitive), ``""`` when absent."""
    wanted = name.lower()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return next((value for key, value in pairs if key.lower() == wanted), "")


def codestream_fingerprint_problems(
    status: int, headers: Headers, body: bytes | str, method: str = "GET", path: str = PROBE_PATH
) -> list[str]:
    """How an answer differs from CodeStream's (Express's) 404 for ``method path``.

    The fingerprint (Express's default 404 from ``finalhandler``): status 404, ``text/html``,
    ``Content-Security-Policy: default-src 'none'`` and
    ``<pre>Cannot METHOD PATH</pre>`` in the body, the path echoed as requested.

    Args:
        status: The status code received.
        headers: The response headers.
        body: The response body (at least its start).
        method: The method of the request.
        path: The path requested: a plain path (letters, digits, ``-``, ``_``,
            ``.``, ``/``), which Express echoes unchanged.

    Returns:
        One phrase per difference; empty when the answer is CodeStream's.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    problems: list[str] = []
    if status != 404:
        problems.append(f"status {status} instead of 404")
    content_type = _header(headers, "content-type")
    if not content_type.lower().startswith("text/html"):
        problems.append(f"Content-Type {content_type or '(none)'!r} instead of text/html")
    csp = _header(headers, "content-security-policy")
    if csp.strip() != "default-src 'none'":
        problems.append(
            f"Content-Security-Policy {csp or '(none)'!r} instead of default-src 'none'"
        )
    expected = f"<pre>Cannot {method} {path}</pre>"
    if expected not in text:
        problems.append(f"no {expected} in the body")
    return problems


def is_codestream_not_found(
    status: int, headers: Headers, body: bytes | str, method: str, path: str
) -> bool:
    """Whether an answer is CodeStream's 404 for ``method path``.

    See :func:`codestream_fingerprint_problems` for the arguments.
    """
    return not codestream_fingerprint_problems(status, headers, body, method, path)


# -- where to connect ------------------------------------------------------------

_Origin = Literal["pinned", "literal", "resolved"]


@dataclass(frozen=True, slots=True)
class _Route:
    """The address the probe connects to, and how it was found."""

    address: str
    origin: _Origin

    def describe(self) -> str:
        how = {"pinned": "pinned", "literal": "from the URL", "resolved": "resolved"}
        return f"{self.address} ({how[self.origin]})"


def _servers(ctx: CheckContext) -> str:
    return ", ".join(str(s) for s in ctx.nameservers) or "none configured"


def _unresolvable(host: str, answers: Iterable[DnsAnswer], ctx: CheckContext) -> Finding:
    why = "; ".join(f"{a.rdtype}: {a.detail or a.status}" for a in answers)
    return fail(
        "upstream.unresolvable",
        f"The bastion cannot resolve the API host {host}",
        f"Asked the bastion's own resolvers ({_servers(ctx)}), which nginx will use too: {why}.",
        f"Fix the bastion's DNS so that {host} resolves (the resolvers in /etc/resolv.conf, "
        "or --dns-server), or pin the API's internal address with upstream_address in "
        f'{_ANSWERS_HINT} (e.g. upstream_address = "10.0.0.5").',
    )


async def _route(
    codestream: CodeStreamAnswers, target: ApiTarget, ctx: CheckContext
) -> tuple[_Route | None, list[Finding]]:
    """Where to connect: the pinned address, the URL's IP, or the resolved one."""
    pinned = codestream.upstream_address.strip()
    if pinned:
        problem = upstream_address_error(pinned)
        if problem:
            return None, [
                fail(
                    "upstream.bad_address",
                    "The pinned upstream_address is not an IP address",
                    problem,
                    f"Set upstream_address in {_ANSWERS_HINT} to the API's IP address, "
                    "or empty it to resolve the host name.",
                )
            ]
        return _Route(pinned, "pinned"), [
            ok(
                "upstream.pinned",
                f"Connecting to the pinned address {pinned}, not resolving {target.host}",
                f"upstream_address is set: nginx will connect to {pinned} and still ask for "
                f"{target.host} (Host header, TLS SNI and certificate name).",
            )
        ]
    if target.host_is_ip:
        return _Route(target.host, "literal"), []
    addresses, answers = await resolve_addresses(target.host, ctx.nameservers, ctx.timeout)
    if not addresses:
        return None, [_unresolvable(target.host, answers, ctx)]
    return _Route(addresses[0], "resolved"), [
        ok(
            "upstream.resolved",
            f"The API host {target.host} resolves to {', '.join(addresses)}",
            f"Through the bastion's own resolvers ({_servers(ctx)}); the probe uses "
            f"{addresses[0]}.",
        )
    ]


# -- trust -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Trust:
    """How the API's certificate is verified."""

    context: ssl.SSLContext | None  # None: plain HTTP, nothing to verify
    source: str  # for people: "upstream_ca /x.pem", "the trust store /etc/..."
    from_upstream_ca: bool = False


def _load_upstream_ca(path: str) -> ssl.SSLContext:
    """A client TLS context trusting exactly the certificates in ``path``.

    Raises:
        ValueError: With a sentence when the file is unreadable or holds no PEM certificate.
    """
    import ssl

    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{path} cannot be read ({exc.strerror or exc})") from None
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    # Only these CAs, as nginx's proxy_ssl_trusted_certificate: not the system's too.
    return ssl.create_default_context(cadata=data.decode("ascii", "replace"))


def _load_trust_store(bundle: Path | None) -> ssl.SSLContext:
    """A client TLS context trusting ``bundle`` (OpenSSL's defaults when ``None``).

    Raises:
        ValueError: When the bundle cannot be loaded.
    """
    import ssl

    try:
        return ssl.create_default_context(cafile=str(bundle) if bundle else None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"the trust store {bundle} cannot be loaded ({exc})") from None


async def _trust(
    codestream: CodeStreamAnswers, target: ApiTarget, ctx: CheckContext
) -> tuple[_Trust | None, list[Finding]]:
    """The TLS verification settings, or the finding saying why there are none."""
    if not target.tls:
        return _Trust(None, "plain HTTP"), []
    ca_file = codestream.upstream_ca.strip()
    if ca_file:
        try:
            context = await asyncio.to_thread(_load_upstream_ca, ca_file)
        except ValueError as exc:
            return None, [
                fail(
                    "upstream.ca_file",
                    "The upstream_ca file cannot be used",
                    f"{exc}.",
                    f"Set upstream_ca in {_ANSWERS_HINT} to a readable PEM file with the CA "
                    "certificate that signed the API's certificate, or empty it to use the "
                    "system trust store.",
                )
            ]
        return _Trust(context, f"upstream_ca {ca_file}", True), []
    bundle = ctx.trust_bundle()
    try:
        context = await asyncio.to_thread(_load_trust_store, bundle)
    except ValueError as exc:
        return None, [
            fail(
                "upstream.trust_store",
                "The trust store cannot be loaded",
                f"{exc}.",
                "Point --ca-bundle (or SSL_CERT_FILE) at a readable PEM bundle, or install "
                "the system CA certificates (ca-certificates).",
            )
        ]
    return _Trust(context, f"the trust store {bundle or '(OpenSSL default)'}"), []


# -- the probe -------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    """What the API answered to the probe."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed: float
    tls_version: str | None


def _client(ctx: CheckContext, trust: _Trust) -> httpx.AsyncClient:
    """An HTTP/1.1 client bounded by ``ctx.timeout``: no proxies from the environment."""
    import httpx

    timeout = httpx.Timeout(ctx.timeout)
    if ctx.transport is not None:
        return httpx.AsyncClient(transport=ctx.transport, timeout=timeout, trust_env=False)
    return httpx.AsyncClient(verify=trust.context or False, timeout=timeout, trust_env=False)


def _request_parts(
    target: ApiTarget, route: _Route, ctx: CheckContext
) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL, headers and extensions that reach ``route`` while asking for the API host.

    An injected transport gets the API's own URL: it stands for the network.
    """
    if ctx.transport is not None or route.address == target.host:
        return target.url(PROBE_PATH), {}, {}
    extensions = {"sni_hostname": target.host} if target.tls else {}
    return target.url(PROBE_PATH, via=route.address), {"Host": target.authority}, extensions


def _tls_version(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return str(ssl_object.version()) if ssl_object is not None else None


async def _exchange(target: ApiTarget, route: _Route, trust: _Trust, ctx: CheckContext) -> _Answer:
    """GET the probe path; read at most :data:`MAX_BODY` bytes of the answer.

    Raises:
        httpx.HTTPError: On any connection, TLS or protocol failure.
        TimeoutError: When the whole exchange outlasts twice ``ctx.timeout``.
    """
    url, headers, extensions = _request_parts(target, route, ctx)
    started = time.monotonic()
    async with asyncio.timeout(2 * ctx.timeout), _client(ctx, trust) as client:
        request = client.build_request("GET", url, headers=headers, extensions=extensions)
        response = await client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_BODY:
                    break
            return _Answer(
                response.status_code,
                tuple(response.headers.multi_items()),
                bytes(body[:MAX_BODY]),
                time.monotonic() - started,
                _tls_version(response),
            )
        finally:
            await response.aclose()


def _first_line(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "(empty body)")
    return line if len(line) <= 100 else line[:99] + "…"


def _judge(target: ApiTarget, route: _Route, trust: _Trust, answer: _Answer) -> Finding:
    """``upstream.ok`` when the answer carries CodeStream's fingerprint, else ``not_codestream``."""
    problems = codestream_fingerprint_problems(answer.status, answer.headers, answer.body)
    if not problems:
        security = (
            f"TLS ({answer.tls_version or 'version unknown'}), certificate verified against "
            f"{trust.source}"
            if target.tls
            else "plain HTTP"
        )
        return ok(
            "upstream.ok",
            f"The CodeStream API answers at {target.url()}",
            f"Connected to {route.describe()} over {security} in "
            f"{answer.elapsed * 1000:.0f} ms; GET {PROBE_PATH} got CodeStream's "
            "404 'Cannot GET' page.",
        )
    location = _header(answer.headers, "location")
    redirect = f" It redirects to {location}." if location else ""
    server = _header(answer.headers, "server")
    served_by = f" (Server: {server})" if server else ""
    return fail(
        "upstream.not_codestream",
        f"{target.url()} answers, but not as the CodeStream API",
        f"GET {PROBE_PATH} via {route.describe()} got status {answer.status}{served_by}, "
        f"first line: {_first_line(answer.body)!r}. Differences from CodeStream's answer: "
        f"{'; '.join(problems)}.{redirect}",
        "Check api_url: it must be the CodeStream API itself (scheme, host and port the API "
        "listens on), not a web server, load balancer or the web app in front of it.",
    )


# -- failures --------------------------------------------------------------------


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
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _raised(exc: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether ``exc``'s chain holds an exception of one of ``kinds``."""
    return any(isinstance(e, kinds) for e in _causes(exc))


@contextlib.asynccontextmanager
async def _raw_connection(
    target: ApiTarget, route: _Route, ctx: CheckContext, tls: ssl.SSLContext | None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A bare connection to the API (TLS with ``tls``), for the diagnostics httpx hides.

    Raises:
        OSError: When it cannot be opened (``ssl.SSLError`` included).
        TimeoutError: When opening it takes longer than ``ctx.timeout``.
    """
    async with asyncio.timeout(ctx.timeout):
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


async def _presented_certificate(target: ApiTarget, route: _Route, ctx: CheckContext) -> str:
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


async def _first_bytes(target: ApiTarget, route: _Route, trust: _Trust, ctx: CheckContext) -> bytes:
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
            async with asyncio.timeout(ctx.timeout):
                return await reader.read(512)
    except (OSError, TimeoutError):
        return b""


async def _tls_failure(
    error: ssl.SSLError, target: ApiTarget, route: _Route, trust: _Trust, ctx: CheckContext
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
            f"{trust.source} does not contain the CA that signed it: point upstream_ca at "
            "the right CA file"
            if trust.from_upstream_ca
            else f"set upstream_ca in {_ANSWERS_HINT} to the PEM file of the CA that signed "
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


def _timeout(target: ApiTarget, route: _Route, ctx: CheckContext, exc: BaseException) -> Finding:
    import httpx

    phase = (
        "connecting (TCP and TLS handshake)"
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
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


def _connection_failure(code: str, target: ApiTarget, route: _Route, reason: str) -> Finding:
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
        if text and not isinstance(cause, BaseExceptionGroup):
            return text.rstrip(".")
    return exc.__class__.__name__


def _error_code(exc: BaseException) -> str:
    """The code of a failed exchange that is neither a timeout nor a TLS failure."""
    import httpx

    if _raised(exc, ConnectionRefusedError):
        return "upstream.refused"
    if _raised(exc, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return "upstream.reset"
    if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
        return "upstream.not_http"
    return "upstream.unreachable"


async def _failure(
    exc: BaseException, target: ApiTarget, route: _Route, trust: _Trust, ctx: CheckContext
) -> Finding:
    """Map a failed exchange to its finding."""
    import ssl

    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return _timeout(target, route, ctx, exc)
    ssl_error = next(
        (
            e
            for e in _causes(exc)
            # want-read/write are flow control inside the TLS layer, not failures
            if isinstance(e, ssl.SSLError)
            and not isinstance(e, ssl.SSLWantReadError | ssl.SSLWantWriteError)
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
            return _connection_failure("upstream.not_http", target, route, reason)
        return _connection_failure("upstream.reset", target, route, _reason(exc))
    return _connection_failure(_error_code(exc), target, route, _reason(exc))


def _plain_http(target: ApiTarget) -> Finding:
    return warn(
        "upstream.plain_http",
        "The API is reached over plain HTTP",
        f"{target.url()} is http://: bot requests (Slack signatures, Teams tokens) would "
        "cross the internal network unencrypted between the bastion and the API.",
        "If the CodeStream API has a certificate, use https:// in api_url (with upstream_ca "
        "for a private or self-signed one).",
    )


async def _probe(
    target: ApiTarget, route: _Route, trust: _Trust, ctx: CheckContext, configured: str
) -> list[Finding]:
    """Run the exchange and judge it; the release findings when it is CodeStream."""
    import httpx

    try:
        answer = await _exchange(target, route, trust, ctx)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return [await _failure(exc, target, route, trust, ctx)]
    verdict = _judge(target, route, trust, answer)
    if verdict.status != "ok":
        return [verdict]
    return [verdict, *release_findings(_header(answer.headers, RELEASE_HEADER), configured)]


_RELEASE_TITLE = re.compile(r"^CodeStream API release (\d+\.\d+\.\d+)$")


def release_in(findings: Iterable[Finding]) -> str | None:
    """The release the API reported, from the ``upstream.release`` finding.

    For callers that render after checking (pass it to
    ``wizard.render.render_all(..., release=...)``). ``None`` when the API named
    none, or when the release came from the answers file (which the render step
    reads itself).
    """
    for finding in findings:
        if finding.code == "upstream.release":
            match = _RELEASE_TITLE.match(finding.title)
            return match.group(1) if match else None
    return None


def release_findings(header: str, configured: str) -> list[Finding]:
    """What the API says its release is, against ``[codestream] release``.

    Args:
        header: The ``X-CS-API-Version`` value received (``""`` when absent).
        configured: ``[codestream] release`` from the answers (``""`` when unset).

    Returns:
        ``upstream.release`` (ok), or ``upstream.release_unknown`` (warn) when the
        API named no release and the answers give none, plus
        ``upstream.release_mismatch`` (warn) when the two differ.
    """
    from wizard.releases import format_release, parse_release, shape_for

    try:
        found = parse_release(header) if header.strip() else None
    except ValueError:
        found = None
    try:
        chosen = parse_release(configured) if configured.strip() else None
    except ValueError:
        chosen = None  # the render step names the bad key
    if found is None and chosen is None:
        sent = f"sent {RELEASE_HEADER}: {header!r:.40}" if header else f"sent no {RELEASE_HEADER}"
        return [
            warn(
                "upstream.release_unknown",
                "The CodeStream API did not name its release",
                f"The API {sent} header. The snippet is written "
                f"{shape_for(None).describe()}; releases before 13.0.2 read other keys.",
                "Set release in the [codestream] table of the answers file to the API's "
                'release (e.g. release = "14.0.3"; the Admin App shows it), then render again.',
            )
        ]
    findings: list[Finding] = []
    if found is not None:
        findings.append(
            ok(
                "upstream.release",
                f"CodeStream API release {format_release(found)}",
                f"{RELEASE_HEADER}: {header.strip()}. The snippet is written "
                f"{shape_for(chosen or found).describe()}.",
            )
        )
    else:
        assert chosen is not None
        findings.append(
            ok(
                "upstream.release",
                f"CodeStream API release {format_release(chosen)} (from the answers file)",
                f"The API sent no usable {RELEASE_HEADER}; [codestream] release gives it. "
                f"The snippet is written {shape_for(chosen).describe()}.",
            )
        )
    if (
        found is not None
        and chosen is not None
        and not shape_for(found).reads_as(shape_for(chosen))
    ):
        findings.append(
            warn(
                "upstream.release_mismatch",
                f"The answers say release {format_release(chosen)}, the API is "
                f"{format_release(found)}",
                f"[codestream] release = {configured!r} overrides what the API reports; the "
                f"two releases read different configuration keys.",
                f'Set release = "{format_release(found)}" in the [codestream] table of the '
                "answers file, or empty it to follow the API, then render again.",
            )
        )
    return findings


async def check_upstream(codestream: CodeStreamAnswers, ctx: CheckContext) -> list[Finding]:
    """Check that the bastion reaches the CodeStream API and that it is CodeStream.

    Args:
        codestream: ``api_url``, and optionally ``upstream_ca`` and ``upstream_address``.
        ctx: The bastion's resolvers, trust store, timeout and (for tests) transport.
            With ``ctx.transport`` the request goes to ``api_url`` through it.

    Returns:
        ``upstream.*`` findings: ``bad_url``, ``bad_address``, ``ca_file``,
        ``trust_store``, ``unresolvable``, ``resolved``, ``pinned``, then one of
        ``ok``, ``not_codestream``, ``refused``, ``timeout``, ``reset``,
        ``unreachable``, ``not_http``, ``tls_untrusted``, ``tls_hostname``,
        ``tls_error``; after ``ok``, ``release`` (or ``release_unknown``) and
        ``release_mismatch``; plus ``plain_http`` for an ``http://`` API.
    """
    try:
        target = parse_api_url(codestream.api_url)
    except ValueError as exc:
        return [
            fail(
                "upstream.bad_url",
                "The CodeStream API URL is not valid",
                f"api_url {codestream.api_url!r:.120}: {exc}.",
                f"Set api_url in {_ANSWERS_HINT} to the API's address, e.g. {_EXAMPLE_URL} "
                f"or {_EXAMPLE_URL}:8443.",
            )
        ]
    (trust, trust_findings), (route, route_findings) = await asyncio.gather(
        _trust(codestream, target, ctx), _route(codestream, target, ctx)
    )
    findings = [*trust_findings, *route_findings]
    if trust is not None and route is not None:
        findings += await _probe(target, route, trust, ctx, codestream.release)
    if not target.tls:
        findings.append(_plain_http(target))
    return findings
