"""After the install: does the bastion work end to end, through its public name? (``proxy.*``)

What Slack and Microsoft will do, done from here:

1. resolve ``[bastion] hostname`` with the bastion's resolvers;
2. connect to that address on ``listen_port`` over TLS, with SNI = the name;
3. check that the certificate nginx presents is the chosen one
   (``[bastion] certificate``'s leaf) and that it is trusted for the name;
4. ``GET`` each chosen endpoint (and the endpoint with a trailing ``/``, the
   URL the on-prem docs tell people to open): the API's Express 404 page
   ``Cannot GET <path>`` proves DNS, TLS, nginx and the API hop all work;
   then speak to each as its provider does, signed, and compare the API's
   clock with this host's (:mod:`wizard.checks.bot_proof`);
5. ``GET`` paths that must *not* reach the API (``/``, ``/no-auth/``, a prefix
   extension such as ``.../slackX``, a sub-path, the endpoints of the mode
   that was not chosen): each must get nginx's own 404.

Requests are written on the TLS stream by hand, so the path is sent exactly as
given (no client normalises it), and the probes run concurrently, each bounded
by ``ctx.timeout``.

When an endpoint gets nginx's 502 or 504, the check reads what nginx wrote to
the bastion's error log (the ``error_log`` of the server block that serves the
name, found in ``ctx.nginx_root``) since the test started, and names the cause
with its fix (:func:`explain_gateway_errors`): the API's certificate not
trusted, its name not resolved, the connection refused, an SELinux denial
(errno 13) or a timeout.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.answers import Answers
from wizard.checks.bot_proof import Hop
from wizard.checks.context import CheckContext
from wizard.constants import ALL_ENDPOINTS, ENDPOINT_PREFIX, OAUTH_REDIRECT_PATH
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.probes.dns import resolve_addresses
from wizard.probes.http import HttpResponse, https_request
from wizard.probes.tls import (
    ProbeError,
    describe_certificate,
    peer_certificate,
    unverified_context,
    verifying_context,
)


def chosen_leaf(path: str) -> bytes | None:
    """The DER of the first certificate in the PEM file ``path``, or ``None``."""
    from wizard.checks.pem import leaf_der

    return leaf_der(path)


def is_api_answer(response: HttpResponse, method: str, path: str) -> bool:
    """Whether ``response`` is the CodeStream API's Express 404 for ``method path``."""
    from wizard.checks.fingerprint import is_codestream_not_found

    return is_codestream_not_found(response.status, response.headers, response.body, method, path)


def api_answer_problems(response: HttpResponse, method: str, path: str) -> list[str]:
    """How ``response`` differs from the API's Express 404 for ``method path``."""
    from wizard.checks.fingerprint import codestream_fingerprint_problems

    return codestream_fingerprint_problems(
        response.status, response.headers, response.body, method, path
    )


def looks_like_api(response: HttpResponse) -> bool:
    """Whether ``response`` came from the API at all, whatever path it echoes.

    A wrong location can forward a request to another API path than the one
    asked (``proxy_pass`` with a URI replaces it), so the page may echo a path
    other than the one sent: Express's ``Cannot <METHOD>`` page, its
    ``Content-Security-Policy`` or ``X-Powered-By`` header give it away.
    """
    if response.header("Content-Security-Policy") == "default-src 'none'":
        return True
    if (response.header("X-Powered-By") or "").lower() == "express":
        return True
    return re.search(rb"<pre>Cannot [A-Z]+ /", response.body) is not None


async def _resolve(hostname: str, ctx: CheckContext) -> tuple[str | None, str]:
    """The first address of ``hostname`` (IPv4 first), or ``None`` and why."""
    addresses, answers = await resolve_addresses(hostname, ctx.nameservers, ctx.timeout)
    if addresses:
        return addresses[0], ""
    return None, "; ".join(a.detail for a in answers if a.detail) or "no address"


@dataclass(frozen=True)
class _Probe:
    """One request of the sweep and what it must show."""

    path: str
    expect: str  # "api" (the API's 404), "nginx" (nginx's 404), "hidden" (not the API)
    endpoint: str = ""


def _probes(answers: Answers) -> list[_Probe]:
    chosen = answers.endpoints
    probes = [_Probe(e, "api", e) for e in chosen] + [_Probe(e + "/", "api", e) for e in chosen]
    first = chosen[0] if chosen else ALL_ENDPOINTS[0]
    for path in (
        "/",
        "/no-auth/",
        f"{ENDPOINT_PREFIX}/",
        first + "X",
        first + "/anything",
        OAUTH_REDIRECT_PATH,
        "/api/users/me",
    ):
        probes.append(_Probe(path, "nginx"))
    for endpoint in ALL_ENDPOINTS:
        if endpoint not in chosen:
            probes.append(_Probe(endpoint, "hidden", endpoint))
            probes.append(_Probe(endpoint + "/", "hidden", endpoint))
    return probes


async def _run_probe(
    probe: _Probe,
    address: str,
    port: int,
    server_name: str,
    context: ssl.SSLContext,
    timeout: float,
) -> tuple[_Probe, HttpResponse | None, str]:
    try:
        response, _der = await https_request(
            address, port, server_name, "GET", probe.path, context, timeout
        )
    except ProbeError as exc:
        return probe, None, str(exc)
    return probe, response, ""


@dataclass
class _Sweep:
    """The sweep's results, sorted by what they show."""

    endpoint_ok: dict[str, list[str]] = field(default_factory=dict)
    endpoint_bad: dict[str, list[str]] = field(default_factory=dict)
    exposed: list[str] = field(default_factory=list)
    hidden_exposed: list[str] = field(default_factory=list)
    closed: int = 0


def _tally(results: Sequence[tuple[_Probe, HttpResponse | None, str]]) -> _Sweep:
    sweep = _Sweep()
    for probe, response, error in results:
        if probe.expect == "api":
            if response is not None and is_api_answer(response, "GET", probe.path):
                sweep.endpoint_ok.setdefault(probe.endpoint, []).append(probe.path)
            elif response is not None:
                why = ", ".join(api_answer_problems(response, "GET", probe.path))
                sweep.endpoint_bad.setdefault(probe.endpoint, []).append(
                    f"GET {probe.path}: {response.describe()} ({why})"
                )
            else:
                sweep.endpoint_bad.setdefault(probe.endpoint, []).append(
                    f"GET {probe.path}: {error}"
                )
        elif response is None:
            sweep.closed += 1  # no answer at all still exposes nothing
        elif probe.expect == "hidden":
            if looks_like_api(response):
                sweep.hidden_exposed.append(probe.path)
            else:
                sweep.closed += 1
        elif looks_like_api(response) or response.status != 404:
            sweep.exposed.append(f"GET {probe.path}: {response.describe()}")
        else:
            sweep.closed += 1
    return sweep


def _endpoint_finding(endpoint: str, sweep: _Sweep, where: str) -> Finding:
    if endpoint in sweep.endpoint_bad:
        return fail(
            "proxy.endpoint_not_api",
            f"{endpoint} does not reach the CodeStream API through the bastion",
            f"Through {where}: " + "; ".join(sweep.endpoint_bad[endpoint]) + ". The API "
            "answers a GET there with Express's 'Cannot GET' page; this is something "
            "else.",
            "Check the nginx error log of the bastion (codestream-bastion.error.log) "
            "and run 'codestream-bastion check' for the upstream.* findings; then make "
            "sure the installed server block is the generated one and nginx was "
            "reloaded.",
        )
    return ok(
        "proxy.endpoint",
        f"{endpoint} reaches the CodeStream API",
        f"GET {' and GET '.join(sweep.endpoint_ok.get(endpoint, []))} through {where} "
        "got the API's 'Cannot GET' page.",
    )


def _judge(
    results: Sequence[tuple[_Probe, HttpResponse | None, str]], answers: Answers, where: str
) -> list[Finding]:
    sweep = _tally(results)
    findings = [_endpoint_finding(endpoint, sweep, where) for endpoint in answers.endpoints]
    if sweep.exposed:
        findings.append(
            fail(
                "proxy.exposes_other_paths",
                "The bastion answers paths other than the bot endpoints",
                "Expected nginx's 404 for every other path; got: " + "; ".join(sweep.exposed) + ".",
                "Install the generated server block unchanged (exact 'location =' blocks and "
                "'location / { return 404; }'), remove other locations, then reload nginx.",
            )
        )
    if sweep.hidden_exposed:
        findings.append(
            fail(
                "proxy.not_chosen_exposed",
                "Endpoints that were not chosen are exposed",
                "These reach the API although the mode is "
                f"{answers.mode!r}: {', '.join(sweep.hidden_exposed)}.",
                "Install the server block generated for this mode (re-run apply), or choose the "
                "mode that needs them.",
            )
        )
    if not sweep.exposed and not sweep.hidden_exposed and not sweep.endpoint_bad:
        findings.append(
            ok(
                "proxy.ok",
                "The bastion exposes exactly the chosen endpoints",
                f"{sweep.closed} other paths, the endpoints of other providers included, got "
                "nginx's 404 and never reached the API.",
            )
        )
    return findings


# -- why nginx answered 502/504 -------------------------------------------------------------

GATEWAY_STATUSES = frozenset({502, 504})
MAX_LOG_READ = 256 * 1024
"""Bytes of new error-log lines read at most (a busy log is read from its end)."""


@dataclass(frozen=True)
class _Cause:
    """One reason nginx gives for a 502/504, recognised in its error log."""

    code: str
    pattern: re.Pattern[str]
    title: str
    remedy: str


# nginx's own wording (src/http/ngx_http_upstream.c, src/event/ngx_event_openssl.c,
# src/core/ngx_resolver.c); the first pattern that matches a line wins.
_CAUSES: tuple[_Cause, ...] = (
    _Cause(
        "proxy.selinux_denied",
        re.compile(r"\(13: Permission denied\) while connecting to upstream"),
        "SELinux forbids nginx to connect to the CodeStream API",
        "Allow nginx to open connections: setsebool -P httpd_can_network_connect 1 "
        "(see the selinux.network_connect finding); nothing needs a reload.",
    ),
    _Cause(
        "proxy.upstream_tls",
        re.compile(r"upstream SSL certificate (verify error|does not match)"),
        "nginx does not trust the CodeStream API's certificate",
        "Set [codestream] upstream_ca to the CA file that signed the API's certificate (or "
        "pass --ca-bundle), make sure api_url uses a name the certificate holds, and run "
        "apply again; 'codestream-bastion check' shows the upstream.tls_* finding.",
    ),
    _Cause(
        "proxy.upstream_unresolved",
        re.compile(r"could not be resolved \(|no resolver defined to resolve"),
        "nginx cannot resolve the CodeStream API's host name",
        "nginx resolves the API host at run time with the resolvers in the server block "
        "(from /etc/resolv.conf when it was rendered): make the name resolvable there, or "
        "pin the API's address in [codestream] upstream_address, and run apply again.",
    ),
    _Cause(
        "proxy.upstream_refused",
        re.compile(r"\(111: Connection refused\) while connecting to upstream"),
        "The CodeStream API refused nginx's connection",
        "Nothing listens at the API's address and port: check that the CodeStream API runs "
        "and that [codestream] api_url (and upstream_address) name the right host and port.",
    ),
    _Cause(
        "proxy.upstream_timeout",
        re.compile(r"upstream timed out|timed out \(110: "),
        "The CodeStream API did not answer nginx in time",
        "Something between the bastion and the API drops the traffic (a firewall or security "
        "group), or the API is overloaded: allow the bastion to reach the API's port, then "
        "check that the API answers ('codestream-bastion check' runs upstream.*).",
    ),
    _Cause(
        "proxy.upstream_error",
        re.compile(r"\[(error|crit|alert|emerg)\].*upstream"),
        "nginx reports another error talking to the CodeStream API",
        "Read nginx's own message above; 'codestream-bastion check' runs the upstream.* "
        "checks from this host.",
    ),
)
_LOG_CONTEXT = re.compile(r", (client|server|request|upstream|host): .*$")
_LOG_UPSTREAM = re.compile(r'upstream: "([^"]*)"')
_LOG_PREFIX = re.compile(r"^\S+ \S+ \[(\w+)\] \d+#\d+: (\*\d+ )?")


def _log_message(line: str) -> str:
    """nginx's sentence from an error-log line, without timestamp, pids and request context."""
    return _LOG_CONTEXT.sub("", _LOG_PREFIX.sub("", line.strip()))


def explain_gateway_errors(
    lines: Sequence[str], log: Path | None = None, statuses: str = "502/504"
) -> list[Finding]:
    """Name the causes of 502/504 answers from nginx's error-log ``lines``.

    Args:
        lines: Error-log lines written while the requests were made.
        log: The file they came from (named in the findings).
        statuses: The gateway statuses seen, for the detail (``502``, ``502/504``).

    Returns:
        One finding per cause found (``proxy.selinux_denied``, ``proxy.upstream_tls``,
        ``proxy.upstream_unresolved``, ``proxy.upstream_refused``,
        ``proxy.upstream_timeout``, ``proxy.upstream_error``), each with nginx's
        own words and the fix; empty when no line explains anything.
    """
    found: dict[str, tuple[_Cause, list[str], set[str]]] = {}
    for line in lines:
        cause = next((c for c in _CAUSES if c.pattern.search(line)), None)
        if cause is None:
            continue
        _c, messages, upstreams = found.setdefault(cause.code, (cause, [], set()))
        message = _log_message(line)
        if message not in messages:
            messages.append(message)
        # The origin is what matters (the path is the endpoint's own): scheme://host:port.
        upstreams.update("/".join(url.split("/", 3)[:3]) for url in _LOG_UPSTREAM.findall(line))
    findings: list[Finding] = []
    where = f" in {log}" if log is not None else ""
    for cause, messages, upstreams in found.values():
        to = f" (upstream {', '.join(sorted(upstreams))})" if upstreams else ""
        findings.append(
            fail(
                cause.code,
                cause.title,
                f"nginx answered {statuses} and wrote{where}{to}: " + " | ".join(messages[:3]),
                cause.remedy,
            )
        )
    return findings


@dataclass(frozen=True)
class ErrorLogMark:
    """Where the bastion's error log ended when the test started.

    Attributes:
        path: The log file, or ``None`` when none was found.
        offset: Its size at the start (new lines come after it).
        why: Why there is no file to read, when ``path`` is ``None``.
    """

    path: Path | None
    offset: int
    why: str = ""

    @classmethod
    def start(cls, ctx: CheckContext, hostname: str, port: int) -> ErrorLogMark:
        """Find the server block's error log in ``ctx.nginx_root`` and note its size."""
        from wizard.nginx.servers import server_error_log

        path, why = server_error_log(ctx.nginx_root, hostname, port)
        if path is None:
            return cls(None, 0, why)
        try:
            return cls(path, path.stat().st_size)
        except FileNotFoundError:
            return cls(path, 0)  # nginx creates it with the first line
        except OSError as exc:
            return cls(None, 0, f"cannot read {path}: {exc.strerror or exc}")

    def new_lines(self) -> tuple[list[str], str]:
        """The lines written since :meth:`start`, or ``[]`` and why they cannot be read."""
        if self.path is None:
            return [], self.why
        from wizard.reading import BoundedReadError, read_since

        try:
            data = read_since(self.path, self.offset, MAX_LOG_READ, last=True)
        except BoundedReadError as exc:
            if exc.kind == "missing":
                return [], f"{self.path} does not exist"
            return [], f"cannot read {self.path}: {exc.why} (run as root)"
        return data.decode("utf-8", errors="replace").splitlines(), ""


def _gateway_findings(
    results: Sequence[tuple[_Probe, HttpResponse | None, str]], mark: ErrorLogMark
) -> list[Finding]:
    gateway = sorted(
        {
            response.status
            for probe, response, _error in results
            if probe.expect == "api" and response is not None
            if response.status in GATEWAY_STATUSES
        }
    )
    if not gateway:
        return []
    lines, why = mark.new_lines()
    statuses = "/".join(map(str, gateway))
    findings = explain_gateway_errors(lines, mark.path, statuses)
    if findings:
        return findings
    seen = why or f"{mark.path} has no new line about the upstream"
    return [
        warn(
            "proxy.gateway_unexplained",
            f"nginx answered {statuses} but its error log does not say why",
            f"Looked for nginx's reason in the bastion's error log: {seen}.",
            "Read nginx's error log for this server block (the error_log line of "
            "codestream-bastion.conf) while sending a request, as root; 'codestream-bastion "
            "check' runs the upstream.* checks from this host.",
        )
    ]


def _certificate_findings(
    certificate: str,
    where: str,
    name: str,
    presented: bytes,
    trusted: bytes | BaseException,
    ctx: CheckContext,
) -> list[Finding]:
    """Is the certificate nginx presents the chosen one, and is it trusted for the name?"""
    findings: list[Finding] = []
    expected = chosen_leaf(certificate)
    if expected is not None and presented != expected:
        findings.append(
            fail(
                "proxy.certificate_mismatch",
                "nginx presents another certificate than the chosen one",
                f"{where} presented {describe_certificate(presented)}; the chosen "
                f"certificate ({certificate}) is {describe_certificate(expected)}.",
                "Another server block (or an old configuration) answers for this name: "
                "install the generated server block, remove conflicting ones, and reload "
                "nginx ('nginx -t && systemctl reload nginx').",
            )
        )
    if isinstance(trusted, BaseException):
        findings.append(
            fail(
                "proxy.untrusted",
                f"The certificate served for {name} is not trusted",
                f"Verifying {where} against {ctx.trust_bundle() or 'the system trust store'}: "
                f"{trusted}. Slack and Microsoft would refuse to connect.",
                "Serve a certificate from a public CA that names the bastion, with its "
                "intermediates (the full chain, leaf first); see the cert.* findings.",
            )
        )
    elif expected is not None and presented == expected:
        findings.append(
            ok(
                "proxy.certificate",
                "nginx presents the chosen certificate, and it is trusted",
                f"{where}: {describe_certificate(presented)}.",
            )
        )
    elif expected is None:
        findings.append(
            ok(
                "proxy.certificate",
                "The certificate served is trusted",
                f"{where}: {describe_certificate(presented)} (the chosen certificate file "
                "could not be read to compare; see the cert.* findings).",
            )
        )
    return findings


async def _sweep_and_prove(
    answers: Answers, ctx: CheckContext, hop: Hop
) -> tuple[list[tuple[_Probe, HttpResponse | None, str]], list[Finding]]:
    """The GET sweep and the signed proof of the bot routes, at the same time."""
    from wizard.checks.bot_proof import prove_bot_routes

    sweep = asyncio.gather(
        *(
            _run_probe(p, hop.address, hop.port, hop.name, hop.context, hop.timeout)
            for p in _probes(answers)
        )
    )
    results, proof = await asyncio.gather(sweep, prove_bot_routes(answers, ctx, hop))
    return list(results), proof


async def check_proxy(answers: Answers, ctx: CheckContext) -> list[Finding]:
    """Prove the installed bastion end to end (``proxy.*`` findings).

    Args:
        answers: The hostname, listen port, certificate and endpoints.
        ctx: Resolvers, trust store and the per-operation timeout.

    Returns:
        ``proxy.certificate`` and ``proxy.endpoint`` (one per endpoint) and
        ``proxy.ok`` when all is well; else ``proxy.unresolvable``,
        ``proxy.unreachable``, ``proxy.certificate_mismatch``, ``proxy.untrusted``,
        ``proxy.endpoint_not_api``, ``proxy.exposes_other_paths`` or
        ``proxy.not_chosen_exposed``; then the signed proof's (``prove_bot_routes``).
    """
    if not answers.exposes_bastion:
        return [skip("proxy.skipped", "No proxy to test: this mode exposes nothing")]
    from wizard.checks.hostname import to_ascii_hostname

    bastion = answers.bastion
    try:
        name = to_ascii_hostname(bastion.hostname)
    except ValueError as exc:
        return [skip("proxy.skipped", "Proxy test skipped: the hostname is invalid", str(exc))]
    port = bastion.listen_port
    address, why = await _resolve(name, ctx)
    if address is None:
        return [
            fail(
                "proxy.unresolvable",
                f"{bastion.hostname} does not resolve from this host",
                f"Looking up {name}: {why}.",
                "Create the A (or AAAA) record for the bastion's name, or fix this host's "
                "resolvers; see the dns.* findings.",
            )
        ]
    where = f"{name} ({address}:{port})"
    mark = await asyncio.to_thread(ErrorLogMark.start, ctx, name, port)
    url = f"https://{name}" + ("" if port == 443 else f":{port}")
    loose = unverified_context()
    strict = verifying_context(ctx.trust_bundle())
    presented, trusted = await asyncio.gather(
        peer_certificate(address, port, name, loose, ctx.timeout),
        peer_certificate(address, port, name, strict, ctx.timeout),
        return_exceptions=True,
    )
    if isinstance(presented, BaseException):
        return [
            fail(
                "proxy.unreachable",
                f"Cannot reach the bastion at {url}",
                f"Connecting to {where} over TLS: {presented}.",
                f"Make sure nginx is running ('systemctl status nginx') and listens on port "
                f"{port} with the generated server block ('nginx -T | grep listen'), and that "
                "no firewall blocks the port.",
            )
        ]
    findings = _certificate_findings(bastion.certificate, where, name, presented, trusted, ctx)
    context = loose if isinstance(trusted, BaseException) else strict
    hop = Hop(address, port, name, context, ctx.timeout, where)
    results, proof = await _sweep_and_prove(answers, ctx, hop)
    if all(response is None for _probe, response, _error in results):
        errors = sorted({error for _probe, _response, error in results})
        findings.append(
            fail(
                "proxy.unreachable",
                f"The bastion at {url} accepts TLS but answers no request",
                f"Every request to {where} failed: {'; '.join(errors)}.",
                "Look at nginx's error log for this server block; make sure nginx runs the "
                "generated configuration and was reloaded.",
            )
        )
        return findings
    gateway = await asyncio.to_thread(_gateway_findings, results, mark)
    from wizard.checks.limits import proxy_limits

    limits = await proxy_limits(answers, ctx)
    return findings + _judge(results, answers, where) + gateway + proof + limits
