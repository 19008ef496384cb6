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
4. ``GET`` a bot endpoint and look for CodeStream's fingerprint
   (:mod:`wizard.checks.fingerprint`): Express's 404 page saying
   ``Cannot GET <path>``, and the release in ``X-CS-API-Version``.

Every failure is its own stable ``upstream.*`` code with a remedy
(:mod:`wizard.checks.upstream_failures` tells them apart). Each network
step is bounded by ``ctx.timeout`` (the whole exchange by twice that).

httpx, cryptography and dnspython are imported inside the functions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import compat
from wizard.answers import CodeStreamAnswers
from wizard.checks.api_url import (
    ANSWERS_HINT,
    EXAMPLE_URL,
    ApiTarget,
    Route,
    Trust,
    parse_api_url,
    upstream_address_error,
)
from wizard.checks.context import CheckContext
from wizard.checks.fingerprint import (
    PROBE_PATH,
    RELEASE_HEADER,
    codestream_fingerprint_problems,
    header_value,
    release_findings,
)
from wizard.checks.pem import swappable
from wizard.checks.upstream_failures import failure
from wizard.findings import Finding, fail, ok, warn
from wizard.probes.dns import DnsAnswer, resolve_addresses

if TYPE_CHECKING:
    import ssl

    import httpx


__all__ = ["MAX_BODY", "check_upstream"]

MAX_BODY = 64 * 1024
"""Bytes of the answer read at most: the fingerprint is near the start."""


# -- where to connect ------------------------------------------------------------


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
        f'{ANSWERS_HINT} (e.g. upstream_address = "10.0.0.5").',
    )


async def _route(
    codestream: CodeStreamAnswers, target: ApiTarget, ctx: CheckContext
) -> tuple[Route | None, list[Finding]]:
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
                    f"Set upstream_address in {ANSWERS_HINT} to the API's IP address, "
                    "or empty it to resolve the host name.",
                )
            ]
        return Route(pinned, "pinned"), [
            ok(
                "upstream.pinned",
                f"Connecting to the pinned address {pinned}, not resolving {target.host}",
                f"upstream_address is set: nginx will connect to {pinned} and still ask for "
                f"{target.host} (Host header, TLS SNI and certificate name).",
            )
        ]
    if target.host_is_ip:
        return Route(target.host, "literal"), []
    addresses, answers = await resolve_addresses(target.host, ctx.nameservers, ctx.timeout)
    if not addresses:
        return None, [_unresolvable(target.host, answers, ctx)]
    return Route(addresses[0], "resolved"), [
        ok(
            "upstream.resolved",
            f"The API host {target.host} resolves to {', '.join(addresses)}",
            f"Through the bastion's own resolvers ({_servers(ctx)}); the probe uses "
            f"{addresses[0]}.",
        )
    ]


# -- trust -----------------------------------------------------------------------


def _load_upstream_ca(path: str) -> ssl.SSLContext:
    """A client TLS context trusting exactly the certificates in ``path``.

    Raises:
        ValueError: With a sentence when the file is unreadable or holds no PEM certificate.
    """
    import ssl

    from cryptography import x509

    from wizard.constants import MAX_TRUST_STORE_BYTES
    from wizard.reading import BoundedReadError, read_bounded

    try:
        # The one bounded reader: a FIFO, /dev/zero or a huge file is refused at once.
        data = read_bounded(path, MAX_TRUST_STORE_BYTES)
    except BoundedReadError as exc:
        raise ValueError(f"{path} cannot be used: {exc.why}") from None
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

    from wizard.probes.tls import verifying_context
    from wizard.reading import BoundedReadError

    try:
        return verifying_context(bundle)
    except BoundedReadError as exc:
        raise ValueError(f"the trust store {bundle} cannot be used: {exc.why}") from None
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"the trust store {bundle} cannot be loaded ({exc})") from None


async def _trust(
    codestream: CodeStreamAnswers, target: ApiTarget, ctx: CheckContext
) -> tuple[Trust | None, list[Finding]]:
    """The TLS verification settings, or the finding saying why there are none."""
    if not target.tls:
        return Trust(None, "plain HTTP"), []
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
                    f"Set upstream_ca in {ANSWERS_HINT} to a readable PEM file with the CA "
                    "certificate that signed the API's certificate, or empty it to use the "
                    "system trust store.",
                )
            ]
        # nginx reads it at every reload (proxy_ssl_trusted_certificate): whoever can
        # change it chooses which API the bastion trusts.
        unsafe = swappable(ca_file, "upstream.ca_unsafe_path", "upstream_ca")
        return Trust(context, f"upstream_ca {ca_file}", True), unsafe
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
    return Trust(context, f"the trust store {bundle or '(OpenSSL default)'}"), []


# -- the probe -------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    """What the API answered to the probe."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed: float
    tls_version: str | None


def _client(ctx: CheckContext, trust: Trust) -> httpx.AsyncClient:
    """An HTTP/1.1 client bounded by ``ctx.timeout``: no proxies from the environment."""
    import httpx

    timeout = httpx.Timeout(ctx.timeout)
    if ctx.transport is not None:
        return httpx.AsyncClient(transport=ctx.transport, timeout=timeout, trust_env=False)
    return httpx.AsyncClient(verify=trust.context or False, timeout=timeout, trust_env=False)


def _request_parts(
    target: ApiTarget, route: Route, ctx: CheckContext
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


async def _exchange(target: ApiTarget, route: Route, trust: Trust, ctx: CheckContext) -> _Answer:
    """GET the probe path; read at most :data:`MAX_BODY` bytes of the answer.

    Raises:
        httpx.HTTPError: On any connection, TLS or protocol failure.
        TimeoutError: When the whole exchange outlasts twice ``ctx.timeout``.
    """
    url, headers, extensions = _request_parts(target, route, ctx)
    started = time.monotonic()
    async with compat.timeout(2 * ctx.timeout), _client(ctx, trust) as client:
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


def _judge(target: ApiTarget, route: Route, trust: Trust, answer: _Answer) -> Finding:
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
    location = header_value(answer.headers, "location")
    redirect = f" It redirects to {location}." if location else ""
    server = header_value(answer.headers, "server")
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
    target: ApiTarget, route: Route, trust: Trust, ctx: CheckContext, configured: str
) -> list[Finding]:
    """Run the exchange and judge it; the release findings when it is CodeStream."""
    import httpx

    try:
        answer = await _exchange(target, route, trust, ctx)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return [await failure(exc, target, route, trust, ctx)]
    verdict = _judge(target, route, trust, answer)
    if verdict.status != "ok":
        return [verdict]
    return [verdict, *release_findings(header_value(answer.headers, RELEASE_HEADER), configured)]


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
                f"Set api_url in {ANSWERS_HINT} to the API's address, e.g. {EXAMPLE_URL} "
                f"or {EXAMPLE_URL}:8443.",
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


async def api_date(codestream: CodeStreamAnswers, ctx: CheckContext) -> tuple[str, str]:
    """The ``Date`` header of the API's own answer, asked straight from this host.

    Through the bastion the header would be nginx's (nginx does not pass an
    upstream's ``Date``), so the clock proof asks the API the way nginx reaches
    it: the same route and trust as :func:`check_upstream`.

    Returns:
        The header (``""`` when none was read) and, when empty, why.
    """
    import httpx

    try:
        target = parse_api_url(codestream.api_url)
    except ValueError as exc:
        return "", f"api_url is not valid ({exc})"
    (trust, _), (route, _) = await asyncio.gather(
        _trust(codestream, target, ctx), _route(codestream, target, ctx)
    )
    if trust is None or route is None:
        return "", f"{target.url()} cannot be reached from this host (see the upstream.* findings)"
    try:
        answer = await _exchange(target, route, trust, ctx)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return "", f"asking {target.url()} failed ({type(exc).__name__}: {exc})"
    if codestream_fingerprint_problems(answer.status, answer.headers, answer.body):
        return "", f"{target.url()} did not answer as CodeStream (see upstream.not_codestream)"
    date = header_value(answer.headers, "date")
    return date, "" if date else f"{target.url()} sent no Date header"
