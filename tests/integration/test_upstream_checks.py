"""``check_upstream`` against the real fake CodeStream API and a real DNS server.

Every finding comes from real input: HTTPS with certificates from a private
:class:`TestCA`, plain HTTP, closed ports, misbehaving personas of the fake
API, names resolved (or not) through a :class:`DnsServer` on loopback.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from wizard.answers import CodeStreamAnswers
from wizard.checks.api_url import api_url_error, parse_api_url, upstream_address_error
from wizard.checks.context import CheckContext
from wizard.checks.fingerprint import (
    PROBE_PATH,
    codestream_fingerprint_problems,
    is_codestream_not_found,
    release_in,
)
from wizard.checks.upstream import check_upstream
from wizard.demo.ca import TestCA
from wizard.demo.dns_server import DnsServer
from wizard.demo.fake_api import FakeCodeStreamApi, Persona
from wizard.findings import Finding
from wizard.probes.dns import Nameserver

API_NAME = "codestream.demo.test"


@dataclass(frozen=True)
class Pki:
    """Certificates for the tests, all on disk."""

    root: Path  # the test CA's root: upstream_ca for the good cases
    other_root: Path  # an unrelated CA: the "trust store" that trusts none of ours
    ip_cert: tuple[Path, Path]  # for 127.0.0.1
    name_cert: tuple[Path, Path]  # for codestream.demo.test only
    wrong_cert: tuple[Path, Path]  # for other.demo.test only
    expired_cert: tuple[Path, Path]  # for 127.0.0.1, expired


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("upstream-pki")
    ca = TestCA("Upstream Test")
    return Pki(
        root=ca.write_root(directory / "root.pem"),
        other_root=TestCA("Unrelated").write_root(directory / "unrelated.pem"),
        ip_cert=ca.issue(["127.0.0.1"]).write(directory, "ip"),
        name_cert=ca.issue([API_NAME]).write(directory, "name"),
        wrong_cert=ca.issue(["other.demo.test"]).write(directory, "wrong"),
        expired_cert=ca.issue(["127.0.0.1"], expired=True).write(directory, "expired"),
    )


def context(
    pki: Pki,
    timeout: float = 3.0,
    nameservers: tuple[Nameserver, ...] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckContext:
    """A context whose trust store trusts none of the test certificates."""
    return CheckContext(
        nameservers=nameservers, timeout=timeout, ca_bundle=pki.other_root, transport=transport
    )


@pytest.fixture
def https_api(pki: Pki) -> Iterator[FakeCodeStreamApi]:
    with FakeCodeStreamApi(*pki.ip_cert) as api:
        yield api


@pytest.fixture
def named_api(pki: Pki) -> Iterator[FakeCodeStreamApi]:
    with FakeCodeStreamApi(*pki.name_cert) as api:
        yield api


@pytest.fixture
def http_api() -> Iterator[FakeCodeStreamApi]:
    with FakeCodeStreamApi() as api:
        yield api


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


def free_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- good input: no failure ----------------------------------------------------------


async def test_https_api_trusted_through_upstream_ca_is_ok(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.root)), context(pki)
    )
    assert codes(findings) == ["upstream.ok", "upstream.release"]
    good = findings[0]
    assert good.status == "ok"
    assert "127.0.0.1" in good.detail
    assert "TLS" in good.detail
    assert str(pki.root) in good.detail
    assert " ms" in good.detail
    (request,) = https_api.requests
    assert (request.method, request.path) == ("GET", PROBE_PATH)
    assert request.header("Host") == f"127.0.0.1:{https_api.port}"


async def test_https_api_trusted_through_the_trust_store_is_ok(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    ctx = CheckContext(timeout=3.0, ca_bundle=pki.root)
    findings = await check_upstream(CodeStreamAnswers(https_api.url), ctx)
    assert codes(findings) == ["upstream.ok", "upstream.release"]
    assert "trust store" in findings[0].detail


async def test_plain_http_api_is_ok_with_a_warning(pki: Pki, http_api: FakeCodeStreamApi) -> None:
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    assert codes(findings) == ["upstream.ok", "upstream.release", "upstream.plain_http"]
    assert "plain HTTP" in findings[0].detail
    plain = findings[2]
    assert plain.status == "warn"
    assert "https://" in plain.remedy


async def test_pinned_address_keeps_host_header_sni_and_name_verification(
    pki: Pki, named_api: FakeCodeStreamApi
) -> None:
    url = f"https://{API_NAME}:{named_api.port}"
    answers = CodeStreamAnswers(url, upstream_ca=str(pki.root), upstream_address="127.0.0.1")
    findings = await check_upstream(answers, context(pki))
    assert codes(findings) == ["upstream.pinned", "upstream.ok", "upstream.release"]
    assert findings[0].status == "ok"
    assert "127.0.0.1" in findings[0].title
    assert "pinned" in findings[1].detail
    # The certificate names only codestream.demo.test: verifying it passed, so SNI and
    # verification used the name; the request asked for the name too.
    assert named_api.requests[0].header("Host") == f"{API_NAME}:{named_api.port}"


async def test_api_host_resolved_through_the_bastions_resolver(
    pki: Pki, named_api: FakeCodeStreamApi
) -> None:
    with DnsServer({API_NAME: [("A", "127.0.0.1")]}) as dns:
        ctx = context(pki, nameservers=(dns.nameserver,))
        url = f"https://{API_NAME}:{named_api.port}/"
        findings = await check_upstream(CodeStreamAnswers(url, upstream_ca=str(pki.root)), ctx)
        asked = {(q.name, q.rdtype) for q in dns.queries}
    assert codes(findings) == ["upstream.resolved", "upstream.ok", "upstream.release"]
    assert "127.0.0.1" in findings[0].title
    assert str(dns.nameserver) in findings[0].detail
    assert asked == {(API_NAME, "A"), (API_NAME, "AAAA")}
    assert named_api.requests[0].header("Host") == f"{API_NAME}:{named_api.port}"


async def test_with_a_300_ms_delay_one_check_takes_under_1_2_s(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    https_api.delay = 0.3
    started = time.monotonic()
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.root)), context(pki)
    )
    elapsed = time.monotonic() - started
    assert codes(findings) == ["upstream.ok", "upstream.release"]
    assert 0.3 <= elapsed < 1.2


async def test_injected_transport_is_used_instead_of_the_network(pki: Pki) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = f"<!DOCTYPE html>\n<pre>Cannot GET {request.url.path}</pre>\n"
        return httpx.Response(
            404,
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Content-Security-Policy": "default-src 'none'",
                "X-CS-API-Version": "14.0.3",
            },
            text=body,
        )

    ctx = context(pki, transport=httpx.MockTransport(handler))
    findings = await check_upstream(CodeStreamAnswers("https://10.1.2.3:8443"), ctx)
    assert codes(findings) == ["upstream.ok", "upstream.release"]
    assert str(seen[0].url) == "https://10.1.2.3:8443" + PROBE_PATH


# -- the URL and the answers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("", "empty"),
        ("codestream.example.com", "https://codestream.example.com"),
        ("ftp://codestream.example.com", "scheme"),
        ("https://user:secret@codestream.example.com", "password"),
        ("https://codestream.example.com/api", "path"),
        ("https://codestream.example.com/?x=1", "query"),
        ("https://codestream.example.com/#top", "fragment"),
        ("https://codestream.example.com:0", "port"),
        ("https://codestream.example.com:70000", "range"),
        ("https://codestream.example.com:https", "parsed"),
        ("https://", "no host"),
        ("https://-codestream-.example.com", "label"),
        ("https://999.1.2.3", "IPv4"),
        ("https://[not-v6]:443", "parsed"),
        (" https://codestream.example.com", "blanks"),
    ],
)
async def test_bad_url_names_the_problem(pki: Pki, url: str, word: str) -> None:
    message = api_url_error(url)
    assert message is not None
    assert word.lower() in message.lower()
    findings = await check_upstream(CodeStreamAnswers(url), context(pki))
    finding = only(findings, "upstream.bad_url")
    assert finding.status == "fail"
    assert codes(findings) == ["upstream.bad_url"]
    assert "api_url" in finding.remedy


@pytest.mark.parametrize(
    "url",
    [
        "https://codestream.example.com",
        "https://codestream.example.com/",
        "http://10.0.0.5:8080",
        "https://[::1]:8443/",
        "https://codestream:8443",  # an internal single-label name
        "HTTPS://CodeStream.Example.COM",
        "https://bücher.example",
    ],
)
def test_good_urls_are_accepted(url: str) -> None:
    assert api_url_error(url) is None


def test_parse_api_url_fills_default_ports_and_punycode() -> None:
    assert parse_api_url("https://bücher.example").host == "xn--bcher-kva.example"
    assert parse_api_url("https://bücher.example").port == 443
    assert parse_api_url("http://h.example").port == 80
    target = parse_api_url("https://[::1]:8443")
    assert (target.host, target.port, target.authority) == ("::1", 8443, "[::1]:8443")
    assert parse_api_url("https://h.example:443").authority == "h.example"


def test_upstream_address_must_be_an_ip() -> None:
    assert upstream_address_error("10.0.0.5") is None
    assert upstream_address_error("::1") is None
    assert upstream_address_error("codestream.internal") is not None
    assert upstream_address_error("10.0.0.5:8443") is not None
    assert upstream_address_error("[::1]") is not None
    assert upstream_address_error("fe80::1%eth0") is not None
    assert upstream_address_error(" 10.0.0.5") is not None


async def test_bad_pinned_address_fails(pki: Pki) -> None:
    answers = CodeStreamAnswers(f"https://{API_NAME}", upstream_address="codestream.internal")
    findings = await check_upstream(answers, context(pki))
    assert codes(findings) == ["upstream.bad_address"]
    assert findings[0].status == "fail"


@pytest.mark.parametrize("content", [None, b"", b"not a certificate\n"])
async def test_unusable_upstream_ca_file(
    pki: Pki, https_api: FakeCodeStreamApi, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(path)), context(pki)
    )
    finding = only(findings, "upstream.ca_file")
    assert finding.status == "fail"
    assert str(path) in finding.detail
    assert "upstream_ca" in finding.remedy
    assert https_api.requests == []  # nothing is probed with an unusable CA


# -- resolution -----------------------------------------------------------------------


async def test_nxdomain_is_unresolvable_with_the_pinning_remedy(pki: Pki) -> None:
    with DnsServer({"other.demo.test": [("A", "127.0.0.1")]}) as dns:
        ctx = context(pki, nameservers=(dns.nameserver,))
        findings = await check_upstream(CodeStreamAnswers(f"https://{API_NAME}"), ctx)
    finding = only(findings, "upstream.unresolvable")
    assert codes(findings) == ["upstream.unresolvable"]
    assert finding.status == "fail"
    assert "NXDOMAIN" in finding.detail
    assert "upstream_address" in finding.remedy
    assert "DNS" in finding.remedy


async def test_silent_resolver_is_unresolvable_naming_the_timeout(pki: Pki) -> None:
    with DnsServer({API_NAME: [("A", "127.0.0.1")]}) as dns:
        dns.silent = True
        ctx = context(pki, timeout=0.5, nameservers=(dns.nameserver,))
        started = time.monotonic()
        findings = await check_upstream(CodeStreamAnswers(f"https://{API_NAME}"), ctx)
        assert time.monotonic() - started < 1.5
    finding = only(findings, "upstream.unresolvable")
    assert "did not answer" in finding.detail


# -- connection failures -------------------------------------------------------------


async def test_nothing_listening_is_refused(pki: Pki) -> None:
    port = free_port()
    findings = await check_upstream(
        CodeStreamAnswers(f"https://127.0.0.1:{port}", upstream_ca=str(pki.root)), context(pki)
    )
    finding = only(findings, "upstream.refused")
    assert codes(findings) == ["upstream.refused"]
    assert str(port) in finding.remedy


async def test_hung_api_times_out_within_the_timeout(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    https_api.persona = "hang"
    started = time.monotonic()
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.root)), context(pki, timeout=0.5)
    )
    assert time.monotonic() - started < 0.5 + 1.0
    finding = only(findings, "upstream.timeout")
    assert codes(findings) == ["upstream.timeout"]
    assert "0.5 s" in finding.title
    assert "waiting for the answer" in finding.detail


async def test_reset_connection(pki: Pki, https_api: FakeCodeStreamApi) -> None:
    https_api.persona = "reset"
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.root)), context(pki)
    )
    assert codes(findings) == ["upstream.reset"]
    assert findings[0].status == "fail"


async def test_reset_connection_over_plain_http(pki: Pki, http_api: FakeCodeStreamApi) -> None:
    http_api.persona = "reset"
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    assert codes(findings) == ["upstream.reset", "upstream.plain_http"]


@pytest.mark.parametrize("tls", [True, False])
async def test_garbage_is_not_http(
    pki: Pki, https_api: FakeCodeStreamApi, http_api: FakeCodeStreamApi, tls: bool
) -> None:
    api = https_api if tls else http_api
    api.persona = "garbage"
    findings = await check_upstream(
        CodeStreamAnswers(api.url, upstream_ca=str(pki.root)), context(pki)
    )
    finding = only(findings, "upstream.not_http")
    assert finding.status == "fail"
    assert "SSH-2.0" in finding.detail  # what came back is shown


@pytest.mark.parametrize(
    ("persona", "status", "first_line"),
    [("other", 404, "<html>"), ("welcome", 200, "<!DOCTYPE html>")],
)
async def test_another_web_server_is_not_codestream(
    pki: Pki, https_api: FakeCodeStreamApi, persona: Persona, status: int, first_line: str
) -> None:
    https_api.persona = persona
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.root)), context(pki)
    )
    finding = only(findings, "upstream.not_codestream")
    assert codes(findings) == ["upstream.not_codestream"]
    assert f"status {status}" in finding.detail
    assert first_line in finding.detail
    assert "Server: nginx" in finding.detail
    assert "Cannot GET" in finding.detail  # names what is missing


# -- TLS ---------------------------------------------------------------------------------


async def test_untrusted_certificate_names_the_issuer(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    findings = await check_upstream(CodeStreamAnswers(https_api.url), context(pki))
    finding = only(findings, "upstream.tls_untrusted")
    assert codes(findings) == ["upstream.tls_untrusted"]
    assert "Upstream Test Intermediate CA" in finding.detail
    assert str(pki.other_root) in finding.detail
    assert "upstream_ca" in finding.remedy
    assert https_api.requests == []


async def test_upstream_ca_that_did_not_sign_the_certificate(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    findings = await check_upstream(
        CodeStreamAnswers(https_api.url, upstream_ca=str(pki.other_root)), context(pki)
    )
    finding = only(findings, "upstream.tls_untrusted")
    assert "does not contain the CA" in finding.remedy


async def test_certificate_for_another_host(pki: Pki) -> None:
    with FakeCodeStreamApi(*pki.wrong_cert) as api:
        answers = CodeStreamAnswers(
            f"https://{API_NAME}:{api.port}",
            upstream_ca=str(pki.root),
            upstream_address="127.0.0.1",
        )
        findings = await check_upstream(answers, context(pki))
    finding = only(findings, "upstream.tls_hostname")
    assert codes(findings) == ["upstream.pinned", "upstream.tls_hostname"]
    assert API_NAME in finding.title
    assert "DNS:other.demo.test" in finding.detail


async def test_https_url_to_a_plain_http_port_is_a_tls_error(
    pki: Pki, http_api: FakeCodeStreamApi
) -> None:
    url = http_api.url.replace("http://", "https://")
    findings = await check_upstream(CodeStreamAnswers(url, upstream_ca=str(pki.root)), context(pki))
    finding = only(findings, "upstream.tls_error")
    assert codes(findings) == ["upstream.tls_error"]
    assert "plain HTTP" in finding.detail
    assert "http://" in finding.remedy


async def test_http_url_to_an_https_port_says_to_use_https(
    pki: Pki, https_api: FakeCodeStreamApi
) -> None:
    url = https_api.url.replace("https://", "http://")
    findings = await check_upstream(CodeStreamAnswers(url), context(pki))
    failing = [f for f in findings if f.status == "fail"]
    assert len(failing) == 1, findings
    assert "speaks HTTPS" in failing[0].title
    assert "The certificate presented" in failing[0].detail
    assert failing[0].remedy.endswith(url.replace("http://", "https://"))
    assert "api_url in the [codestream] table of the answers file" in failing[0].remedy


async def test_expired_certificate_is_a_tls_error_asking_for_renewal(pki: Pki) -> None:
    with FakeCodeStreamApi(*pki.expired_cert) as api:
        answers = CodeStreamAnswers(api.url, upstream_ca=str(pki.root))
        findings = await check_upstream(answers, context(pki))
    finding = only(findings, "upstream.tls_error")
    assert codes(findings) == ["upstream.tls_error"]
    assert "expired" in finding.detail
    assert "Renew" in finding.remedy


# -- the fingerprint ------------------------------------------------------------------


def test_fingerprint_accepts_expresss_404_and_names_each_difference() -> None:
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", "default-src 'none'"),
    )
    body = b"<!DOCTYPE html>\n<pre>Cannot GET /no-auth/provider-action/slack/</pre>\n"
    assert is_codestream_not_found(404, headers, body, "GET", "/no-auth/provider-action/slack/")
    assert (
        codestream_fingerprint_problems(
            404, dict(headers), body, path="/no-auth/provider-action/slack/"
        )
        == []
    )
    found = codestream_fingerprint_problems(200, {"content-type": "text/plain"}, "hello")
    assert len(found) == 4
    assert not is_codestream_not_found(404, headers, body, "GET", "/no-auth/provider-action/slack")


# -- the release (X-CS-API-Version) -------------------------------------------------


async def test_the_release_the_api_names_is_in_the_finding(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = "14.0.3"
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    release = only(findings, "upstream.release")
    assert release.status == "ok"
    assert "14.0.3" in release.title
    assert "X-CS-API-Version: 14.0.3" in release.detail
    assert "'cloud'" in release.detail
    assert "app*" in release.detail
    assert "appSharing*" not in release.detail


async def test_release_in_gives_the_probed_release_to_render(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = "12.0.13"
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    assert release_in(findings) == "12.0.13"
    http_api.api_version = None
    findings = await check_upstream(CodeStreamAnswers(http_api.url, release="8.2.4"), context(pki))
    assert release_in(findings) is None  # the answers key: render reads it itself


async def test_an_old_release_names_the_three_slack_families(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = "12.0.13"
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    detail = only(findings, "upstream.release").detail
    assert "app*, appSharing*, appStrict*" in detail


async def test_no_release_header_warns_with_the_answers_key_as_remedy(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = None
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    assert codes(findings) == ["upstream.ok", "upstream.release_unknown", "upstream.plain_http"]
    unknown = only(findings, "upstream.release_unknown")
    assert unknown.status == "warn"
    assert "release" in unknown.remedy
    assert "[codestream]" in unknown.remedy


async def test_the_answers_release_stands_in_for_a_missing_header(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = None
    answers = CodeStreamAnswers(http_api.url, release="13.0.1")
    findings = await check_upstream(answers, context(pki))
    release = only(findings, "upstream.release")
    assert "13.0.1 (from the answers file)" in release.title
    assert "upstream.release_unknown" not in codes(findings)


async def test_an_answers_release_reading_other_keys_is_a_mismatch(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.api_version = "15.6.1"
    findings = await check_upstream(CodeStreamAnswers(http_api.url, release="12.0.0"), context(pki))
    mismatch = only(findings, "upstream.release_mismatch")
    assert mismatch.status == "warn"
    assert 'release = "15.6.1"' in mismatch.remedy
    # Two releases that read the same keys are no mismatch.
    findings = await check_upstream(CodeStreamAnswers(http_api.url, release="14.0.0"), context(pki))
    assert "upstream.release_mismatch" not in codes(findings)


async def test_another_server_gets_no_release_finding(
    http_api: FakeCodeStreamApi, pki: Pki
) -> None:
    http_api.persona = "other"
    findings = await check_upstream(CodeStreamAnswers(http_api.url), context(pki))
    assert not [c for c in codes(findings) if c.startswith("upstream.release")]
