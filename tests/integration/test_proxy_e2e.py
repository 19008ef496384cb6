"""End to end through a real nginx running the rendered server block.

The bastion's name resolves (through a real DNS server on 127.0.0.1) to
127.0.0.1; nginx listens on a free loopback port with a TestCA certificate for
that name and forwards to the fake CodeStream API over HTTPS, verified against
the API's own private CA, re-resolving the API's name through the same DNS
server (nginx's ``resolver``). Nothing here leaves loopback.

- :func:`wizard.checks.proxy.check_proxy` passes on the good setup, and fails
  with a precise ``proxy.*`` finding when nginx is down, serves another or an
  untrusted certificate, exposes a path it should not, exposes an endpoint that
  was not chosen, or cannot reach the API.
- A sweep of several hundred hostile requests (traversal, encodings, doubled
  slashes, case, overlong paths, every method) sent verbatim over TLS reaches
  the API only at the exact endpoint paths; everything else is nginx's own.
- TLS 1.1 is refused by the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import socket
import ssl
import string
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.nginx_harness import NginxHarness, free_port, require_nginx
from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.proxy import check_proxy
from wizard.constants import SERVER_CONF_NAME
from wizard.demo.bot_routes import BotSettings
from wizard.demo.ca import TestCA
from wizard.demo.dns_server import DnsServer
from wizard.demo.fake_api import FakeCodeStreamApi, express_pathname
from wizard.findings import Finding
from wizard.nginx import NginxFeatures, detect_nginx_features
from wizard.render import render_all

pytestmark = pytest.mark.nginx

HOSTNAME = "bastion.demo.test"
API_HOST = "codestream.demo.test"
ENDPOINTS = (
    "/no-auth/provider-action/slack",
    "/no-auth/provider-action/slack-events",
    "/no-auth/provider-action/msteams",
)
EXPOSED = frozenset(ENDPOINTS) | {e + "/" for e in ENDPOINTS}
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE")
SLACK_APP_ID = "A0E2EPROOF1"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TEAMS_APP_ID = "6f1d3c6e-1b0a-4e52-9d36-0f0b7c1e2a11"


@dataclasses.dataclass
class Setup:
    """The running pieces, shared by the module."""

    tmp: Path
    binary: str
    features: NginxFeatures
    dns: DnsServer
    api: FakeCodeStreamApi
    trust: Path
    public_ca: TestCA
    cert: Path
    key: Path
    api_ca: Path
    port: int

    def answers(self, **bastion: object) -> Answers:
        answers = Answers(mode="slack+msteams")
        answers.bastion.hostname = HOSTNAME
        answers.bastion.public_ip = "127.0.0.1"
        answers.bastion.certificate = str(self.cert)
        answers.bastion.private_key = str(self.key)
        answers.bastion.listen_port = self.port
        for key, value in bastion.items():
            setattr(answers.bastion, key, value)
        answers.codestream.api_url = f"https://{API_HOST}:{self.api.port}"
        answers.codestream.upstream_ca = str(self.api_ca)
        answers.slack.app_id = SLACK_APP_ID
        answers.slack.signing_secret = SIGNING_SECRET
        answers.msteams.app_id = TEAMS_APP_ID
        return answers

    def ctx(self, **changes: object) -> CheckContext:
        ctx = CheckContext(
            nameservers=(self.dns.nameserver,),
            ca_bundle=self.trust,
            timeout=3.0,
            lab=True,
            nginx_root=self.tmp / "main" / "conf",  # the main nginx's (the limits in force)
        )
        return dataclasses.replace(ctx, **changes)

    def render(self, answers: Answers, logs: Path) -> str:
        files = render_all(
            answers,
            features=self.features,
            resolvers=[str(self.dns.nameserver)],
            ca_bundle=None,
            log_dir=str(logs),
        )
        conf = next(f for f in files if f.name == SERVER_CONF_NAME)
        return conf.content.decode("utf-8")

    @contextlib.contextmanager
    def nginx(self, name: str, conf_text: str, port: int) -> Iterator[NginxHarness]:
        """Run another nginx with ``conf_text`` as its only server block."""
        harness = NginxHarness(self.tmp / name, binary=self.binary)
        block = harness.prefix / SERVER_CONF_NAME
        block.write_text(conf_text, encoding="utf-8")
        harness.write_conf(includes=[block])
        result = harness.test()
        assert result.ok, result.output
        with harness.running(port):
            yield harness


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    binary = require_nginx()
    tmp = tmp_path_factory.mktemp("e2e")
    public_ca = TestCA("E2E Public")
    trust = public_ca.write_root(tmp / "trust.pem")
    cert, key = public_ca.issue([HOSTNAME]).write(tmp / "bastion", "fullchain")
    api_ca = TestCA("E2E Company Internal")
    api_ca_file = api_ca.write_root(tmp / "api-ca.pem")
    api_cert, api_key = api_ca.issue([API_HOST]).write(tmp / "api", "api")
    zone = {HOSTNAME: [("A", "127.0.0.1")], API_HOST: [("A", "127.0.0.1")]}
    features = dataclasses.replace(detect_nginx_features(binary), listen_ipv6=False)
    with DnsServer(zone) as dns, FakeCodeStreamApi(api_cert, api_key) as api:
        api.bot = BotSettings(SIGNING_SECRET, SLACK_APP_ID, TEAMS_APP_ID)
        s = Setup(
            tmp, binary, features, dns, api, trust, public_ca, cert, key, api_ca_file, free_port()
        )
        logs = tmp / "main" / "logs"
        logs.mkdir(parents=True)
        # No request rate limit here: the hostile sweep below is a one-client flood
        # (tests/integration/test_limits.py proves the limits themselves).
        with s.nginx("main", s.render(s.answers(requests_per_second=0), logs), s.port):
            yield s


def _by_code(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.code, []).append(finding)
    return grouped


# -- the good setup -----------------------------------------------------------------------------


async def test_check_proxy_passes_through_the_real_bastion(setup: Setup) -> None:
    setup.api.clear_requests()
    findings = await check_proxy(setup.answers(), setup.ctx())
    assert [f for f in findings if f.status != "ok"] == []
    codes = _by_code(findings)
    assert len(codes["proxy.endpoint"]) == 3
    assert "proxy.certificate" in codes
    assert "proxy.ok" in codes
    # The limits in force, read from the block that serves the name (no rate limit here).
    (limits,) = codes["proxy.limits"]
    assert f"zone=codestream_bastion_{HOSTNAME}_{setup.port}_conn 50" in limits.detail
    assert "rate=" not in limits.detail
    assert len(codes["proxy.slack_verified"]) == 2
    assert "proxy.teams_token_required" in codes
    assert "proxy.clock" in codes
    # Through nginx, the API saw exactly the endpoint GETs (with and without the
    # trailing slash) and the signed proof's POSTs; the clock proof asked it directly.
    proxied = [r for r in setup.api.requests if r.header("X-Forwarded-For")]
    seen = sorted(express_pathname(r.path) for r in proxied if r.method == "GET")
    assert seen == sorted([*ENDPOINTS, *(e + "/" for e in ENDPOINTS)])
    posts = sorted(express_pathname(r.path) for r in proxied if r.method == "POST")
    assert posts == sorted([*ENDPOINTS, ENDPOINTS[0]])  # interactivity: unsigned, then signed
    assert {r.header("Host") for r in setup.api.requests} == {f"{API_HOST}:{setup.api.port}"}


async def test_check_proxy_runs_the_probes_concurrently_within_the_timeout(setup: Setup) -> None:
    import time

    setup.api.delay = 0.5
    try:
        started = time.monotonic()
        findings = await check_proxy(setup.answers(), setup.ctx())
        elapsed = time.monotonic() - started
    finally:
        setup.api.delay = 0.0
    assert [f for f in findings if f.status != "ok"] == []
    assert elapsed < 2.0  # 6 delayed API requests, in parallel


# -- the hostile sweep --------------------------------------------------------------------------


def nginx_normalize(target: str) -> str | None:
    """The path nginx matches locations against, or ``None`` when it answers 400.

    Percent-decoding (once, ``%2F`` included), merged slashes, resolved ``.`` and
    ``..`` segments; no case folding.
    """
    raw = target.split("?", 1)[0].encode("latin-1")
    decoded = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25:
            pair = raw[i + 1 : i + 3].decode("latin-1")
            if len(pair) < 2 or any(c not in string.hexdigits for c in pair):
                return None
            value = int(pair, 16)
            if value == 0:
                return None
            decoded.append(value)
            i += 3
        else:
            decoded.append(raw[i])
            i += 1
    path = re.sub("/{2,}", "/", decoded.decode("latin-1"))
    segments = path.split("/")[1:]
    result: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == "..":
                if not result:
                    return None
                result.pop()
            if last:
                result.append("")
            continue
        result.append(segment)
    return "/" + "/".join(result)


def hostile_targets() -> list[str]:
    targets: set[str] = set()
    base = "/no-auth/provider-action"
    for endpoint in ENDPOINTS:
        name = endpoint.rsplit("/", 1)[1]
        targets |= {
            endpoint,
            endpoint + "/",
            endpoint + "?x=1",
            endpoint + "X",
            endpoint + "/anything",
            endpoint + ".json",
            endpoint + ";",
            endpoint + ";jsessionid=1",
            endpoint + "/;x",
            endpoint + "%20",
            endpoint + "%00",
            endpoint + "%2f",
            endpoint + "%252f",
            endpoint + "/.",
            endpoint + "/..",
            endpoint + "/../" + name,
            endpoint + "\\",
            endpoint.upper(),
            endpoint[:-1],
            "/" + endpoint,
            endpoint.replace("/provider-action/", "//provider-action//"),
            endpoint.replace("/provider-action/", "/provider-action%2f"),
            endpoint.replace("/provider-action/", "/provider-action%2F"),
            endpoint.replace("/provider-action/", "/x/../provider-action/"),
            endpoint.replace("/provider-action/", "/x/%2e%2e/provider-action/"),
            endpoint.replace("/provider-action/", "/x/%2E%2E/provider-action/"),
            endpoint.replace("/no-auth/", "/%6eo-auth/"),
            endpoint.replace("/no-auth/", "/No-Auth/"),
            endpoint + "/" + "a" * 3000,
            endpoint + "/" + "a" * 9000,  # beyond nginx's 8k request line: 414
        }
    targets |= {
        "/",
        "/no-auth",
        "/no-auth/",
        base,
        base + "/",
        base + "/slac",
        base + "/slack-event",
        base + "/msteam",
        base + "/%zz",
        "/..",
        "/../no-auth/provider-action/slack",
        "/no-auth/provider-token/slack",
        "/api/users/me",
        "/index.html",
        "/.env",
    }
    return sorted(targets)


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(port: int, trust: Path, method: str, target: str, probe: int) -> Reply:
    """One request, written on a verified TLS socket byte for byte."""
    context = ssl.create_default_context(cafile=str(trust))
    request = (
        f"{method} {target} HTTP/1.1\r\nHost: {HOSTNAME}:{port}\r\nX-Probe-Id: {probe}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    with (
        socket.create_connection(("127.0.0.1", port), 10) as raw,
        context.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
    ):
        tls.sendall(request)
        data = bytearray()
        with contextlib.suppress(ssl.SSLError, ConnectionResetError):
            while chunk := tls.recv(65536):
                data += chunk
    head, _sep, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, body)


def expected_outcome(method: str, target: str) -> str:
    """``api``, or the status nginx itself must answer with (in nginx's order of checks)."""
    if len(target) > 8000:
        return "414"
    normalized = nginx_normalize(target)
    if normalized is None:
        return "400"
    if method == "TRACE":
        return "405"
    if normalized not in EXPOSED:
        return "404"
    return "api" if method in ("GET", "POST") else "405"  # only the methods the routes need


def test_hostile_requests_reach_the_api_only_at_the_exact_endpoints(setup: Setup) -> None:
    requests = [(m, t) for t in hostile_targets() for m in METHODS]
    assert len(requests) >= 200
    setup.api.clear_requests()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda item: send_raw(setup.port, setup.trust, item[1][0], item[1][1], item[0]),
                enumerate(requests),
            )
        )
    recorded = setup.api.requests
    # 1. The API only ever saw the exact endpoint paths (nothing else got through).
    reached: dict[int, str] = {}
    for request in recorded:
        pathname = express_pathname(request.path)
        assert pathname in EXPOSED, f"the API received {request.method} {request.path!r}"
        probe = request.header("X-Probe-Id")
        assert probe is not None
        reached[int(probe)] = request.path
    # 2. Exactly the requests nginx normalises to an endpoint reached it.
    expected = {i for i, (m, t) in enumerate(requests) if expected_outcome(m, t) == "api"}
    assert set(reached) == expected, {requests[i] for i in set(reached) ^ expected}
    # 3. Everything else was answered by nginx itself, never by the API.
    mistakes = []
    for i, ((method, target), reply) in enumerate(zip(requests, replies)):
        want = expected_outcome(method, target)
        if want == "api":
            api_page = reply.headers.get("content-security-policy") == "default-src 'none'"
            routed = method == "POST" and "x-cs-api-version" in reply.headers
            if not (api_page or routed):
                mistakes.append((method, target[:80], reply.status, "expected the API"))
            continue
        if str(reply.status) != want or b"Cannot " in reply.body:
            mistakes.append((method, target[:80], reply.status, f"expected nginx's {want}"))
        elif want == "405" and method != "TRACE" and reply.headers.get("allow") != "GET, POST":
            mistakes.append((method, target[:80], reply.status, "405 without Allow"))
        elif method != "HEAD" and b"<center>nginx</center>" not in reply.body:
            mistakes.append((method, target[:80], reply.status, "not nginx's own page"))
        assert i not in reached
    assert mistakes == [], "\n".join(map(str, mistakes))
    assert sum(1 for i in range(len(requests)) if i not in expected) >= 150


def _tls_1_1_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client even offer TLS 1.1
    return context


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_1_is_refused_by_the_server(setup: Setup) -> None:
    # Control: the same client does negotiate TLS 1.1 with a server that allows it,
    # so a refusal below is the server's decision, not this client's.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(setup.cert, setup.key)
    server.minimum_version = ssl.TLSVersion.TLSv1
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept() -> None:
            conn, _addr = listener.accept()
            with contextlib.suppress(OSError), server.wrap_socket(conn, server_side=True):
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port), 5) as raw,
            _tls_1_1_client().wrap_socket(raw, server_hostname=HOSTNAME) as tls,
        ):
            assert tls.version() == "TLSv1.1"
        thread.join(5)
    with (
        socket.create_connection(("127.0.0.1", setup.port), 5) as raw,
        pytest.raises(ssl.SSLError) as caught,
    ):
        _tls_1_1_client().wrap_socket(raw, server_hostname=HOSTNAME)
    # An alert *received* from nginx, not a client that could not offer the version.
    assert caught.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", caught.value


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls_1_2_and_1_3_work_with_hsts_and_no_version_banner(setup: Setup, version: str) -> None:
    context = ssl.create_default_context(cafile=str(setup.trust))
    context.minimum_version = context.maximum_version = getattr(ssl.TLSVersion, version)
    with (
        socket.create_connection(("127.0.0.1", setup.port), 5) as raw,
        context.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {HOSTNAME}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        with contextlib.suppress(ssl.SSLError):
            while chunk := tls.recv(65536):
                data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 404")
    assert "Strict-Transport-Security: max-age=63072000" in head
    assert re.search(r"^Server: nginx\r?$", head, re.MULTILINE)


# -- check_proxy failures -------------------------------------------------------------------------


async def test_nginx_down_is_unreachable(setup: Setup) -> None:
    findings = await check_proxy(setup.answers(listen_port=free_port()), setup.ctx())
    assert [f.code for f in findings] == ["proxy.unreachable"]
    assert findings[0].status == "fail"
    assert "refused" in findings[0].detail
    assert "nginx" in findings[0].remedy


async def test_unresolvable_name(setup: Setup) -> None:
    findings = await check_proxy(setup.answers(hostname="nowhere.demo.test"), setup.ctx())
    assert [(f.code, f.status) for f in findings] == [("proxy.unresolvable", "fail")]


async def test_another_certificate_is_a_mismatch(setup: Setup) -> None:
    other_cert, other_key = setup.public_ca.issue([HOSTNAME]).write(setup.tmp / "other", "other")
    port = free_port()
    serving = setup.answers(
        certificate=str(other_cert), private_key=str(other_key), listen_port=port
    )
    logs = setup.tmp / "other-cert" / "logs"
    with setup.nginx("other-cert", setup.render(serving, logs), port):
        findings = await check_proxy(setup.answers(listen_port=port), setup.ctx())
    codes = _by_code(findings)
    mismatch = codes["proxy.certificate_mismatch"][0]
    assert mismatch.status == "fail"
    assert str(setup.cert) in mismatch.detail
    assert "proxy.untrusted" not in codes  # it is trusted, just not the chosen one


async def test_untrusted_certificate(setup: Setup) -> None:
    self_signed = TestCA("Nobody").issue([HOSTNAME], self_signed=True)
    cert, key = self_signed.write(setup.tmp / "self-signed", "self")
    port = free_port()
    chosen = setup.answers(certificate=str(cert), private_key=str(key), listen_port=port)
    logs = setup.tmp / "untrusted" / "logs"
    with setup.nginx("untrusted", setup.render(chosen, logs), port):
        findings = await check_proxy(chosen, setup.ctx())
    codes = _by_code(findings)
    assert codes["proxy.untrusted"][0].status == "fail"
    assert "certificate verification failed" in codes["proxy.untrusted"][0].detail
    assert "proxy.certificate_mismatch" not in codes
    # The probes still ran (unverified) and the API hop works.
    assert len(codes["proxy.endpoint"]) == 3


async def test_prefix_locations_expose_other_paths(setup: Setup) -> None:
    port = free_port()
    answers = setup.answers(listen_port=port)
    logs = setup.tmp / "prefix" / "logs"
    wrong = setup.render(answers, logs).replace("location = ", "location ")
    assert "location = " not in wrong
    with setup.nginx("prefix", wrong, port):
        findings = await check_proxy(answers, setup.ctx())
    codes = _by_code(findings)
    exposed = codes["proxy.exposes_other_paths"][0]
    assert exposed.status == "fail"
    assert "slackX" in exposed.detail
    assert "proxy.ok" not in codes


async def test_endpoint_not_chosen_is_exposed(setup: Setup) -> None:
    # nginx exposes slack+msteams; the admin chose Slack only.
    answers = setup.answers()
    answers.mode = "slack"
    findings = await check_proxy(answers, setup.ctx())
    codes = _by_code(findings)
    hidden = codes["proxy.not_chosen_exposed"][0]
    assert hidden.status == "fail"
    assert "/no-auth/provider-action/msteams" in hidden.detail
    assert len(codes["proxy.endpoint"]) == 2


async def test_an_api_that_is_not_codestream_is_not_api(setup: Setup) -> None:
    setup.api.persona = "welcome"
    try:
        findings = await check_proxy(setup.answers(), setup.ctx())
    finally:
        setup.api.persona = "codestream"
    codes = _by_code(findings)
    assert len(codes["proxy.endpoint_not_api"]) == 3
    assert "Welcome to nginx" in codes["proxy.endpoint_not_api"][0].detail


async def test_no_exposure_mode_skips(setup: Setup) -> None:
    answers = setup.answers()
    answers.mode = "slack-no-exposure"
    findings = await check_proxy(answers, setup.ctx())
    assert [(f.code, f.status) for f in findings] == [("proxy.skipped", "skip")]


# -- the 502 explained: real nginx, a real failing upstream ---------------------------------------


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that completes TCP handshakes (the kernel does) but never speaks."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # never accept()ed: nginx's TLS handshake waits in vain
        yield sock.getsockname()[1]


async def _through_broken_upstream(setup: Setup, name: str, **codestream: str) -> list[Finding]:
    """Run a bastion whose API hop fails as ``codestream`` says; check it end to end."""
    port = free_port()
    answers = setup.answers(listen_port=port)
    for key, value in codestream.items():
        setattr(answers.codestream, key, value)
    with setup.nginx(name, setup.render(answers, setup.tmp / name / "logs"), port) as nginx:
        # ctx.nginx_root is the tree nginx runs: the check finds the block's error_log there.
        return await check_proxy(answers, setup.ctx(nginx_root=nginx.conf.parent, timeout=8.0))


def _cause(findings: list[Finding], code: str) -> Finding:
    codes = _by_code(findings)
    assert len(codes["proxy.endpoint_not_api"]) == 3  # the failure itself is still reported
    status = "504" if code == "proxy.upstream_timeout" else "502"
    assert status in codes["proxy.endpoint_not_api"][0].detail
    assert f"nginx answered {status} and wrote in " in codes[code][0].detail
    (cause,) = codes[code]
    assert cause.status == "fail"
    assert "proxy.gateway_unexplained" not in codes
    return cause


async def test_502_upstream_certificate_not_trusted_is_explained(setup: Setup) -> None:
    # nginx is told to trust the public CA, but the API's certificate is from its private CA.
    findings = await _through_broken_upstream(setup, "502-tls", upstream_ca=str(setup.trust))
    cause = _cause(findings, "proxy.upstream_tls")
    assert "upstream SSL certificate verify error" in cause.detail
    assert "codestream-bastion.error.log" in cause.detail
    assert "upstream_ca" in cause.remedy


async def test_502_connection_refused_is_explained(setup: Setup) -> None:
    closed = free_port()
    findings = await _through_broken_upstream(
        setup, "502-refused", api_url=f"https://{API_HOST}:{closed}"
    )
    cause = _cause(findings, "proxy.upstream_refused")
    assert "(111: Connection refused) while connecting to upstream" in cause.detail
    assert f"(upstream https://127.0.0.1:{closed})" in cause.detail


async def test_502_unresolvable_api_name_is_explained(setup: Setup) -> None:
    findings = await _through_broken_upstream(
        setup, "502-dns", api_url=f"https://missing.demo.test:{setup.api.port}"
    )
    cause = _cause(findings, "proxy.upstream_unresolved")
    assert "missing.demo.test could not be resolved" in cause.detail
    assert "upstream_address" in cause.remedy


async def test_504_upstream_timeout_is_explained(setup: Setup) -> None:
    # The generated block bounds the upstream connect and TLS handshake by 5 s.
    with silent_listener() as silent:
        findings = await _through_broken_upstream(
            setup, "504-timeout", api_url=f"https://{API_HOST}:{silent}"
        )
    cause = _cause(findings, "proxy.upstream_timeout")
    assert "upstream timed out" in cause.detail
    assert "504" in _by_code(findings)["proxy.endpoint_not_api"][0].detail


async def test_a_502_without_a_readable_log_says_where_it_looked(setup: Setup) -> None:
    port = free_port()
    answers = setup.answers(listen_port=port)
    answers.codestream.api_url = f"https://{API_HOST}:{free_port()}"
    with setup.nginx("502-no-log", setup.render(answers, setup.tmp / "502-no-log" / "logs"), port):
        # The default ctx looks in /etc/nginx, where no server block serves this name.
        findings = await check_proxy(answers, setup.ctx())
    (unexplained,) = _by_code(findings)["proxy.gateway_unexplained"]
    assert unexplained.status == "warn"
    assert f"claims {HOSTNAME} on port {port}" in unexplained.detail
    assert "proxy.upstream_refused" not in _by_code(findings)
