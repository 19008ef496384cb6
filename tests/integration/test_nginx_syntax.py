"""The real nginx accepts every rendered server block (``nginx -t``), and serves it.

Every mode x https/http upstream x pinned/resolved address is rendered with
TestCA certificates and checked by the installed nginx, with the features
``nginx -V`` reports and with the safe defaults used when nginx is absent.
Two runs start nginx for real: the endpoints reach a fake CodeStream API
(through the run-time resolver and verified upstream TLS), everything else
gets nginx's 404.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.nginx_harness import NginxHarness, free_port, require_nginx
from wizard.answers import Answers
from wizard.constants import SERVER_CONF_NAME
from wizard.demo.ca import TestCA
from wizard.nginx import NginxFeatures, detect_nginx_features
from wizard.render import render_all

nginx = pytest.mark.nginx

BASTION = "bastion.example.com"
API_HOST = "codestream.corp.example"


@dataclass
class Pki:
    ca: TestCA
    root: Path
    cert: Path
    key: Path
    api_cert: Path
    api_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA()
    cert, key = ca.issue([BASTION, "xn--bcher-kva.example.com"]).write(directory, "bastion")
    api_cert, api_key = ca.issue([API_HOST, "127.0.0.1"]).write(directory, "api")
    return Pki(ca, ca.write_root(directory / "root.pem"), cert, key, api_cert, api_key)


@pytest.fixture
def nginx_binary() -> str:
    return require_nginx()


@pytest.fixture
def harness(tmp_path: Path, nginx_binary: str) -> Iterator[NginxHarness]:
    harness = NginxHarness(tmp_path / "nginx", binary=nginx_binary)
    yield harness
    harness.stop()


def make_answers(mode: str, pki: Pki, *, scheme: str, pinned: bool, port: int = 443) -> Answers:
    answers = Answers()
    answers.mode = mode
    answers.bastion.hostname = BASTION
    answers.bastion.public_ip = "203.0.113.10"
    answers.bastion.certificate = str(pki.cert)
    answers.bastion.private_key = str(pki.key)
    answers.bastion.listen_port = port
    answers.codestream.api_url = f"{scheme}://{API_HOST}:{8443 if scheme == 'https' else 8080}"
    answers.codestream.upstream_ca = str(pki.root) if scheme == "https" else ""
    answers.codestream.upstream_address = "127.0.0.1" if pinned else ""
    return answers


def render_into(
    harness: NginxHarness,
    answers: Answers,
    *,
    features: NginxFeatures,
    resolvers: list[str] | None = None,
    ca_bundle: str | None = None,
) -> Path:
    files = render_all(
        answers,
        features=features,
        resolvers=resolvers if resolvers is not None else ["127.0.0.1", "::1", "127.0.0.1:5353"],
        ca_bundle=ca_bundle,
        log_dir=str(harness.logs),
    )
    by_name = {f.name: f for f in files}
    conf = harness.prefix / SERVER_CONF_NAME
    conf.write_bytes(by_name[SERVER_CONF_NAME].content)
    harness.write_conf(includes=[conf])
    return conf


def assert_nginx_accepts(harness: NginxHarness, conf: Path) -> None:
    result = harness.test()
    assert result.ok, f"nginx -t refused the rendered file:\n{result.output}\n\n{conf.read_text()}"


@nginx
@pytest.mark.parametrize("mode", ["slack", "msteams", "slack+msteams"])
@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("pinned", [False, True], ids=["resolved", "pinned"])
@pytest.mark.parametrize("detected", [True, False], ids=["nginx-V", "defaults"])
def test_nginx_accepts_every_variant(
    harness: NginxHarness, pki: Pki, mode: str, scheme: str, pinned: bool, detected: bool
) -> None:
    features = detect_nginx_features(harness.binary) if detected else NginxFeatures()
    answers = make_answers(mode, pki, scheme=scheme, pinned=pinned)
    assert_nginx_accepts(harness, render_into(harness, answers, features=features))


@nginx
def test_detected_features_match_the_installed_nginx(nginx_binary: str) -> None:
    features = detect_nginx_features(nginx_binary)
    assert features.version is not None
    assert features.binary is not None
    assert features.http2_directive != features.http2_listen or not (
        features.http2_directive or features.http2_listen
    )


@nginx
def test_nginx_accepts_events_off_other_port_idn_and_the_system_bundle(
    harness: NginxHarness, pki: Pki
) -> None:
    answers = make_answers("slack", pki, scheme="https", pinned=False, port=8443)
    answers.bastion.hostname = "Bücher.Example.com"
    answers.codestream.upstream_ca = ""
    answers.slack.events = False
    conf = render_into(
        harness,
        answers,
        features=detect_nginx_features(harness.binary),
        ca_bundle=str(pki.root),
    )
    assert_nginx_accepts(harness, conf)
    assert '"xn--bcher-kva.example.com"' in conf.read_text()


@nginx
@pytest.mark.parametrize(
    "directory",
    ['we"ird; {dir}', "back\\slash # not a comment", "it's ünïcödé", "spa ce"],
)
def test_nginx_reads_hostile_but_valid_paths_back(
    harness: NginxHarness, pki: Pki, tmp_path: Path, directory: str
) -> None:
    """The quoting is right only if nginx opens exactly these files."""
    place = tmp_path / directory
    issued = pki.ca.issue([BASTION])
    cert, key = issued.write(place, 'cert "x"; }')
    ca_copy = place / "ca\\{bundle}.pem"
    ca_copy.write_bytes(pki.root.read_bytes())
    answers = make_answers("slack+msteams", pki, scheme="https", pinned=False)
    answers.bastion.certificate = str(cert)
    answers.bastion.private_key = str(key)
    answers.codestream.upstream_ca = str(ca_copy)
    conf = render_into(harness, answers, features=detect_nginx_features(harness.binary))
    assert_nginx_accepts(harness, conf)
    # and the check is real: a path nginx cannot open is refused
    answers.bastion.certificate = str(cert) + ".missing"
    conf = render_into(harness, answers, features=NginxFeatures())
    assert not harness.test().ok


# -- nginx serving the rendered file -------------------------------------------------


def _get(port: int, path: str, ca: TestCA, method: str = "GET") -> tuple[int, str]:
    context = ssl.create_default_context(cadata=ca.root_pem().decode())
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sock = context.wrap_socket(raw, server_hostname=BASTION)
    try:
        body = b'{"type":"url_verification","challenge":"c"}' if method == "POST" else None
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@nginx
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_rendered_bastion_forwards_only_the_endpoints(
    harness: NginxHarness, pki: Pki, scheme: str
) -> None:
    from wizard.demo.dns_server import DnsServer
    from wizard.demo.fake_api import FakeCodeStreamApi

    api = FakeCodeStreamApi(pki.api_cert, pki.api_key) if scheme == "https" else FakeCodeStreamApi()
    with api, DnsServer({API_HOST: [("A", "127.0.0.1")]}) as dns:
        answers = make_answers("slack+msteams", pki, scheme=scheme, pinned=False)
        answers.bastion.listen_port = free_port()
        answers.codestream.api_url = f"{scheme}://{API_HOST}:{api.port}"
        conf = render_into(
            harness,
            answers,
            features=detect_nginx_features(harness.binary),
            resolvers=[f"127.0.0.1:{dns.port}"],
        )
        assert_nginx_accepts(harness, conf)
        port = answers.bastion.listen_port
        with harness.running(port):
            for endpoint in answers.endpoints:
                status, body = _get(port, endpoint + "/", pki.ca)
                assert status == 404
                assert f"Cannot GET {endpoint}/" in body, body
            # An unsigned POST reaches CodeStream's signature check (403 RAPI-1012), not nginx's.
            status, body = _get(port, "/no-auth/provider-action/slack-events", pki.ca, "POST")
            assert status == 403
            assert "RAPI-1012" in body, body
            for other in ("/", "/no-auth/provider-action/slackX", "/no-auth/provider-action/"):
                status, body = _get(port, other, pki.ca)
                assert status == 404
                assert "Cannot GET" not in body
                assert "<center>nginx</center>" in body
        hosts = {r.header("host") for r in api.requests}
        assert hosts == {f"{API_HOST}:{api.port}"}


# -- the harness's own contract ----------------------------------------------------------


def test_missing_nginx_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.nginx_harness as harness_module

    monkeypatch.setattr(harness_module, "find_nginx", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nginx is not installed"):
        require_nginx()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install nginx"):
        require_nginx()
