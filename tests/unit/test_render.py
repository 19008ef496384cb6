"""Rendering: the Nginx server block, the CodeStream snippet, the next steps."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.nginx_harness import nginx_unescape, parse_server_blocks
from wizard.answers import Answers
from wizard.commands.render import run_render
from wizard.constants import (
    NEXT_STEPS_NAME,
    SERVER_CONF_NAME,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.nginx import NginxFeatures, detect_nginx_features, parse_nginx_v
from wizard.nginx.binary import ECDH_CURVES_NIST, ECDH_CURVES_X25519
from wizard.render import (
    MOZILLA_INTERMEDIATE_CIPHERS,
    NginxQuoteError,
    RenderedFile,
    RenderError,
    make_environment,
    nginx_int,
    nginx_quote,
    render_all,
    validate_for_render,
)

FEATURES_122 = NginxFeatures(
    version=(1, 22, 1),
    openssl="OpenSSL 3.0.19",
    http2_listen=True,
    ecdh_curve=ECDH_CURVES_X25519,
    listen_ipv6=True,
)
NO_NGINX = NginxFeatures(listen_ipv6=False)
RESOLVERS = ["127.0.0.53", "::1", "10.0.0.2:5353"]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ENDPOINTS = {
    "slack": ["/no-auth/provider-action/slack", "/no-auth/provider-action/slack-events"],
    "msteams": ["/no-auth/provider-action/msteams"],
    "slack+msteams": [
        "/no-auth/provider-action/slack",
        "/no-auth/provider-action/slack-events",
        "/no-auth/provider-action/msteams",
    ],
}
EXPOSED_MODES = ("slack", "msteams", "slack+msteams")

NGINX_122_V = """nginx version: nginx/1.22.1
built with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --with-compat \
--with-http_ssl_module --with-http_v2_module --with-stream=dynamic
"""


def make_answers(mode: str = "slack+msteams", **overrides: Any) -> Answers:
    """Complete answers; ``overrides`` as ``section__key=value`` (``mode`` aside)."""
    answers = Answers()
    answers.mode = mode
    answers.bastion.hostname = "bastion-host.my-company.com"
    answers.bastion.public_ip = "203.0.113.10"
    answers.bastion.certificate = "/etc/letsencrypt/live/bastion/fullchain.pem"
    answers.bastion.private_key = "/etc/letsencrypt/live/bastion/privkey.pem"
    answers.codestream.api_url = "https://codestream.my-company.com"
    for name, value in overrides.items():
        section, key = name.split("__")
        setattr(getattr(answers, section), key, value)
    return answers


def render(answers: Answers, **kwargs: Any) -> dict[str, RenderedFile]:
    kwargs.setdefault("features", FEATURES_122)
    kwargs.setdefault("resolvers", RESOLVERS)
    kwargs.setdefault("ca_bundle", CA_BUNDLE)
    return {f.name: f for f in render_all(answers, **kwargs)}


def conf_text(answers: Answers, **kwargs: Any) -> str:
    return render(answers, **kwargs)[SERVER_CONF_NAME].content.decode("utf-8")


def server(answers: Answers, tmp_path: Path, **kwargs: Any) -> list[dict[str, Any]]:
    blocks = parse_server_blocks(conf_text(answers, **kwargs), tmp_path / "parse")
    assert len(blocks) == 1
    return blocks[0]


def args_of(block: list[dict[str, Any]], name: str) -> list[list[str]]:
    return [d["args"] for d in block if d["directive"] == name]


def one(block: list[dict[str, Any]], name: str) -> list[str]:
    found = args_of(block, name)
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def locations(
    block: list[dict[str, Any]], named: bool = False
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """The locations a request can reach (with ``named``: also the internal ``@`` ones)."""
    return {
        tuple(d["args"]): d["block"]
        for d in block
        if d["directive"] == "location" and (named or not d["args"][0].startswith("@"))
    }


# -- the files per mode --------------------------------------------------------------


@pytest.mark.parametrize("mode", EXPOSED_MODES)
def test_exposed_modes_write_the_server_block_snippet_and_next_steps(mode: str) -> None:
    files = render(make_answers(mode))
    expected = {SERVER_CONF_NAME, "codestream-messaging.json", NEXT_STEPS_NAME}
    if mode != "msteams":
        expected |= {SLACK_MANIFEST_NAME, SLACK_EVENTS_MANIFEST_NAME}
    assert set(files) == expected
    assert files[SERVER_CONF_NAME].mode == 0o644
    assert files[NEXT_STEPS_NAME].mode == 0o644


def test_slack_without_exposure_writes_no_nginx_file_and_needs_no_bastion() -> None:
    answers = Answers()
    answers.mode = "slack-no-exposure"
    files = render(answers)
    assert set(files) == {"codestream-messaging.json", NEXT_STEPS_NAME, SLACK_MANIFEST_NAME}
    snippet = json.loads(files["codestream-messaging.json"].content)
    assert snippet["integrations"]["slack"]["cloud"]["interactiveComponentsEnabled"] is False
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["settings"]["interactivity"] == {"is_enabled": False}
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert "/no-auth/provider-action/" not in steps
    assert "without exposing" in steps
    assert "https://<CODESTREAM_HOST>/no-auth/provider-token/slack" in steps


def test_slack_without_exposure_uses_the_api_url_for_the_oauth_redirect() -> None:
    answers = make_answers("slack-no-exposure", codestream__api_url="http://cs.corp:8080")
    answers.bastion.hostname = "not a host name; {"  # unused in this mode: no error
    files = render(answers)
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["oauth_config"]["redirect_urls"] == [
        "http://cs.corp:8080/no-auth/provider-token/slack"
    ]


# -- the server block ----------------------------------------------------------------


def test_reference_example_defects_are_absent() -> None:
    text = conf_text(make_answers())
    # the reference's stray ")" in a location line
    assert not [line for line in text.splitlines() if "location" in line and ")" in line]
    assert " main;" not in text
    assert "8.8.8.8" not in text
    assert "TLSv1 " not in text
    assert "TLSv1;" not in text
    assert "TLSv1.1" not in text
    assert "proxy_ssl_verify on;" in text
    assert "location /no-auth" not in text  # no prefix location for an endpoint


@pytest.mark.parametrize("mode", EXPOSED_MODES)
def test_exact_locations_for_each_endpoint_and_404_for_the_rest(mode: str, tmp_path: Path) -> None:
    block = server(make_answers(mode), tmp_path)
    locs = locations(block)
    expected = {("/",)}
    for endpoint in ENDPOINTS[mode]:
        expected |= {("=", endpoint), ("=", endpoint + "/")}
    assert set(locs) == expected
    assert locs[("/",)] == [
        {"directive": "return", "line": locs[("/",)][0]["line"], "args": ["404"]}
    ]
    for args, body in locs.items():
        if args == ("/",):
            continue
        assert [d["directive"] for d in body] == ["if", "proxy_pass"]
        assert body[0]["args"] == ["$request_method", "!~", "^(GET|POST)$"]
        assert body[0]["block"] == [
            {"directive": "return", "line": body[0]["block"][0]["line"], "args": ["405"]}
        ]
        assert body[1]["args"] == [f"https://${{codestream_bastion_api}}{args[1]}"]


def test_slack_events_off_removes_the_events_location(tmp_path: Path) -> None:
    answers = make_answers("slack+msteams", slack__events=False)
    locs = locations(server(answers, tmp_path))
    assert not [a for a in locs if "slack-events" in "".join(a)]
    files = render(answers)
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert "event_subscriptions" not in manifest["settings"]
    assert SLACK_EVENTS_MANIFEST_NAME not in files
    assert "/slack-events" not in files[NEXT_STEPS_NAME].content.decode()


def test_tls_policy_is_mozilla_intermediate(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path)
    assert one(block, "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]
    assert one(block, "ssl_ciphers") == [MOZILLA_INTERMEDIATE_CIPHERS]
    assert one(block, "ssl_prefer_server_ciphers") == ["off"]
    assert one(block, "ssl_ecdh_curve") == [ECDH_CURVES_X25519]
    assert one(block, "ssl_session_timeout") == ["1d"]
    assert one(block, "ssl_session_tickets") == ["off"]
    assert one(block, "server_tokens") == ["off"]
    assert one(block, "add_header") == [
        "Strict-Transport-Security",
        "max-age=63072000",
        "always",
    ]
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in conf_text(
        make_answers()
    )


def test_listen_server_name_certificate_and_logs(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path)
    assert args_of(block, "listen") == [["443", "ssl", "http2"], ["[::]:443", "ssl", "http2"]]
    assert not args_of(block, "http2")
    assert one(block, "server_name") == ["bastion-host.my-company.com"]
    assert one(block, "ssl_certificate") == ["/etc/letsencrypt/live/bastion/fullchain.pem"]
    assert one(block, "ssl_certificate_key") == ["/etc/letsencrypt/live/bastion/privkey.pem"]
    assert one(block, "access_log") == [
        "/var/log/nginx/codestream-bastion.access.log",
        "combined",
    ]
    assert one(block, "error_log") == ["/var/log/nginx/codestream-bastion.error.log"]
    assert one(block, "client_max_body_size") == ["1m"]


@pytest.mark.parametrize(
    ("address", "listen"), [("127.0.0.1", "127.0.0.1:8443"), ("::1", "[::1]:8443")]
)
def test_a_loopback_public_ip_binds_there_only(tmp_path: Path, address: str, listen: str) -> None:
    answers = make_answers(bastion__public_ip=address, bastion__listen_port=8443)
    block = server(answers, tmp_path)
    assert args_of(block, "listen") == [[listen, "ssl", "http2"]]


def test_log_dir_is_configurable(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path, log_dir="/tmp/x/logs")
    assert one(block, "access_log") == ["/tmp/x/logs/codestream-bastion.access.log", "combined"]


def test_headers_pass_untouched_except_host_and_forwarding(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path)
    headers = {a[0].lower(): a[1] for a in args_of(block, "proxy_set_header")}
    assert headers == {
        "host": "codestream.my-company.com",
        "x-forwarded-for": "$remote_addr",
        "x-forwarded-proto": "$scheme",
    }
    text = conf_text(make_answers())
    for forbidden in ("Authorization", "X-Slack", "proxy_pass_request_headers off", "sub_filter"):
        assert f"proxy_set_header {forbidden}" not in text
        assert "proxy_pass_request_body off" not in text
        assert "sub_filter" not in text


def test_https_upstream_is_verified_with_sni_and_the_system_bundle(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path)
    assert one(block, "proxy_ssl_verify") == ["on"]
    assert one(block, "proxy_ssl_server_name") == ["on"]
    assert one(block, "proxy_ssl_name") == ["codestream.my-company.com"]
    assert one(block, "proxy_ssl_trusted_certificate") == [CA_BUNDLE]
    assert int(one(block, "proxy_ssl_verify_depth")[0]) >= 2


def test_upstream_ca_replaces_the_system_bundle(tmp_path: Path) -> None:
    answers = make_answers(codestream__upstream_ca="/etc/codestream/private-ca.pem")
    block = server(answers, tmp_path)
    assert one(block, "proxy_ssl_trusted_certificate") == ["/etc/codestream/private-ca.pem"]


def test_missing_bundle_falls_back_to_the_debian_path(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path, ca_bundle=None)
    assert one(block, "proxy_ssl_trusted_certificate") == [CA_BUNDLE]


def test_resolved_upstream_uses_a_variable_and_the_given_resolvers(tmp_path: Path) -> None:
    block = server(make_answers(codestream__api_url="https://cs.corp.example:8443"), tmp_path)
    assert one(block, "resolver") == [
        "127.0.0.53",
        "[::1]",
        "10.0.0.2:5353",
        "valid=30s",
        "ipv6=off",
    ]
    assert one(block, "set") == ["$codestream_bastion_api", "cs.corp.example:8443"]
    assert args_of(block, "proxy_set_header")[0] == ["Host", "cs.corp.example:8443"]
    assert one(block, "proxy_ssl_name") == ["cs.corp.example"]


def test_pinned_address_keeps_host_and_sni(tmp_path: Path) -> None:
    answers = make_answers(codestream__upstream_address="10.1.2.3")
    block = server(answers, tmp_path)
    assert not args_of(block, "resolver")
    assert not args_of(block, "set")
    assert args_of(block, "proxy_set_header")[0] == ["Host", "codestream.my-company.com"]
    assert one(block, "proxy_ssl_name") == ["codestream.my-company.com"]
    for args, body in locations(block).items():
        if args != ("/",):
            assert body[-1]["args"] == [f"https://10.1.2.3:443{args[1]}"]


def test_pinned_ipv6_address_is_bracketed(tmp_path: Path) -> None:
    answers = make_answers(
        codestream__upstream_address="fd00::10", codestream__api_url="http://cs.corp:8080"
    )
    block = server(answers, tmp_path)
    body = locations(block)[("=", "/no-auth/provider-action/slack")]
    assert body[-1]["args"] == ["http://[fd00::10]:8080/no-auth/provider-action/slack"]
    assert args_of(block, "proxy_set_header")[0] == ["Host", "cs.corp:8080"]


def test_ip_literal_api_needs_no_resolver(tmp_path: Path) -> None:
    block = server(make_answers(codestream__api_url="https://10.9.8.7:8443"), tmp_path)
    assert not args_of(block, "resolver")
    body = locations(block)[("=", "/no-auth/provider-action/msteams/")]
    assert body[-1]["args"] == ["https://10.9.8.7:8443/no-auth/provider-action/msteams/"]


def test_http_upstream_has_no_proxy_ssl_directives(tmp_path: Path) -> None:
    block = server(make_answers(codestream__api_url="http://codestream.my-company.com"), tmp_path)
    assert not [d for d in block if d["directive"].startswith("proxy_ssl")]
    body = locations(block)[("=", "/no-auth/provider-action/slack")]
    assert body[-1]["args"] == ["http://${codestream_bastion_api}/no-auth/provider-action/slack"]
    assert one(block, "set") == ["$codestream_bastion_api", "codestream.my-company.com:80"]


def test_listen_port_other_than_443_appears_in_urls(tmp_path: Path) -> None:
    answers = make_answers(bastion__listen_port=8443)
    block = server(answers, tmp_path)
    assert args_of(block, "listen")[0][0] == "8443"
    files = render(answers)
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert "https://bastion-host.my-company.com:8443/no-auth/provider-action/slack" in steps
    assert "https://bastion-host.my-company.com:8443/no-auth/provider-action/msteams" in steps
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["settings"]["interactivity"]["request_url"] == (
        "https://bastion-host.my-company.com:8443/no-auth/provider-action/slack"
    )


def test_idn_hostname_is_written_as_punycode(tmp_path: Path) -> None:
    answers = make_answers(bastion__hostname="Bücher.Example.com")
    block = server(answers, tmp_path)
    assert one(block, "server_name") == ["xn--bcher-kva.example.com"]
    steps = render(answers)[NEXT_STEPS_NAME].content.decode()
    assert "https://xn--bcher-kva.example.com/no-auth/provider-action/msteams" in steps
    assert "Bücher.Example.com" in steps
    assert '"validDomains": ["xn--bcher-kva.example.com"]' in steps


# -- what nginx supports -----------------------------------------------------------


def test_http2_directive_on_new_nginx(tmp_path: Path) -> None:
    features = NginxFeatures(version=(1, 25, 3), http2_directive=True, listen_ipv6=True)
    block = server(make_answers(), tmp_path, features=features)
    assert one(block, "http2") == ["on"]
    assert args_of(block, "listen") == [["443", "ssl"], ["[::]:443", "ssl"]]


def test_safe_defaults_without_nginx(tmp_path: Path) -> None:
    block = server(make_answers(), tmp_path, features=NO_NGINX)
    assert args_of(block, "listen") == [["443", "ssl"]]
    assert not args_of(block, "http2")
    assert not args_of(block, "ssl_ecdh_curve")
    assert one(block, "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]


def test_ipv6_public_address_listens_on_ipv6(tmp_path: Path) -> None:
    answers = make_answers(bastion__public_ip="2001:db8::10")
    block = server(answers, tmp_path, features=NO_NGINX)
    assert args_of(block, "listen") == [["443", "ssl"], ["[::]:443", "ssl"]]


def test_parse_nginx_v_old_nginx_with_openssl3() -> None:
    features = parse_nginx_v(NGINX_122_V, listen_ipv6=False)
    assert features.version == (1, 22, 1)
    assert features.openssl == "OpenSSL 3.0.19"  # the library it runs with
    assert features.http2_listen
    assert not features.http2_directive
    assert features.ecdh_curve == ECDH_CURVES_X25519
    assert features.ssl_module
    assert features.found


def test_parse_nginx_v_new_nginx_uses_the_http2_directive() -> None:
    text = NGINX_122_V.replace("nginx/1.22.1", "nginx/1.25.1 (Ubuntu)")
    features = parse_nginx_v(text)
    assert features.http2_directive
    assert not features.http2_listen


def test_parse_nginx_v_without_http2_module() -> None:
    features = parse_nginx_v(NGINX_122_V.replace(" --with-http_v2_module", ""))
    assert not features.http2_directive
    assert not features.http2_listen


@pytest.mark.parametrize(
    ("library", "curves"),
    [
        ("OpenSSL 1.0.1t  3 May 2016", None),
        ("OpenSSL 1.0.2k-fips  26 Jan 2017", ECDH_CURVES_NIST),
        ("OpenSSL 1.1.1f  31 Mar 2020", ECDH_CURVES_X25519),
        ("LibreSSL 3.7.2", ECDH_CURVES_X25519),
        ("BoringSSL", ECDH_CURVES_X25519),
        ("SomethingSSL 9.9", None),
    ],
)
def test_curves_follow_the_tls_library(library: str, curves: str | None) -> None:
    text = f"nginx version: nginx/1.20.1\nbuilt with {library}\nconfigure arguments: x\n"
    assert parse_nginx_v(text).ecdh_curve == curves


def test_parse_nginx_v_garbage_gives_safe_defaults() -> None:
    features = parse_nginx_v("command not found", listen_ipv6=False)
    assert features == NginxFeatures(listen_ipv6=False)
    assert not features.found


def test_detect_without_nginx_binary_gives_safe_defaults() -> None:
    features = detect_nginx_features("no-such-nginx-binary-here")
    assert features.version is None
    assert features.openssl is None
    assert not features.http2_directive
    assert not features.http2_listen
    assert features.ecdh_curve is None


# -- the CodeStream snippet ----------------------------------------------------------


def snippet_of(answers: Answers) -> tuple[dict[str, Any], int]:
    rendered = render(answers)[answers.output.snippet]
    return json.loads(rendered.content), rendered.mode


def test_snippet_keys_per_mode_with_placeholders() -> None:
    data, mode = snippet_of(make_answers("slack"))
    assert data == {
        "integrations": {
            "slack": {
                "cloud": {
                    "appId": "<SLACK_APP_ID>",
                    "appClientId": "<SLACK_CLIENT_ID>",
                    "appClientSecret": "<SLACK_CLIENT_SECRET>",
                    "appSigningSecret": "<SLACK_SIGNING_SECRET>",
                    "interactiveComponentsEnabled": True,
                }
            }
        }
    }
    assert mode == 0o644
    data, mode = snippet_of(make_answers("msteams"))
    assert data == {
        "integrations": {
            "msteams": {
                "cloud": {
                    "appClientId": "<MSTEAMS_APP_ID>",
                    "appClientSecret": "<MSTEAMS_APP_PASSWORD>",
                    "botAppId": "<MSTEAMS_APP_ID>",
                    "botAppPassword": "<MSTEAMS_APP_PASSWORD>",
                }
            }
        }
    }
    data, _ = snippet_of(make_answers("slack+msteams"))
    assert set(data) == {"integrations"}
    assert set(data["integrations"]) == {"slack", "msteams"}


def test_snippet_with_secrets_is_0600_and_both_teams_pairs_match() -> None:
    answers = make_answers("slack+msteams")
    answers.slack.app_id = "A0123"
    answers.slack.client_id = "123.456"
    answers.slack.signing_secret = "s3cr3t"
    answers.msteams.app_id = "7f0e2b7c-0000-4000-8000-000000000000"
    answers.msteams.app_password = 'p"a\\ss'
    data, mode = snippet_of(answers)
    assert mode == 0o600
    slack = data["integrations"]["slack"]["cloud"]
    assert slack["appId"] == "A0123"
    assert slack["appSigningSecret"] == "s3cr3t"
    assert slack["appClientSecret"] == "<SLACK_CLIENT_SECRET>"
    teams = data["integrations"]["msteams"]["cloud"]
    assert teams["appClientId"] == teams["botAppId"] == answers.msteams.app_id
    assert teams["appClientSecret"] == teams["botAppPassword"] == 'p"a\\ss'
    steps = render(answers)[NEXT_STEPS_NAME].content.decode()
    assert "0600" in steps
    assert "s3cr3t" not in steps
    assert 'p"a\\ss' not in steps
    assert "<SLACK_CLIENT_SECRET>" in steps
    assert "<SLACK_SIGNING_SECRET>" not in steps


def test_secret_of_an_unused_provider_does_not_make_the_snippet_secret() -> None:
    answers = make_answers("msteams", slack__signing_secret="s3cr3t")
    data, mode = snippet_of(answers)
    assert mode == 0o644
    assert "slack" not in data["integrations"]


def test_snippet_name_comes_from_the_answers() -> None:
    answers = make_answers(output__snippet="messaging.json")
    assert "messaging.json" in render(answers)


# -- next steps ---------------------------------------------------------------------


def test_next_steps_name_the_urls_and_both_ways_to_load_the_config() -> None:
    steps = render(make_answers())[NEXT_STEPS_NAME].content.decode()
    assert "https://bastion-host.my-company.com/no-auth/provider-action/slack" in steps
    assert "https://bastion-host.my-company.com/no-auth/provider-action/slack-events" in steps
    assert "https://codestream.my-company.com/no-auth/provider-token/slack" in steps
    assert "https://bastion-host.my-company.com/no-auth/provider-action/msteams" in steps
    assert "validDomains" in steps
    assert "--into codestream-services-config.json" in steps
    assert "Admin" in steps
    assert "App" in steps
    assert "control script" in steps


def test_the_manifests_carry_the_three_urls() -> None:
    files = render(make_answers("slack"))
    first = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert first["settings"]["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://bastion-host.my-company.com/no-auth/provider-action/slack",
    }
    assert "event_subscriptions" not in first["settings"]  # added once the secret is loaded
    assert first["oauth_config"]["redirect_urls"] == [
        "https://codestream.my-company.com/no-auth/provider-token/slack"
    ]
    second = json.loads(files[SLACK_EVENTS_MANIFEST_NAME].content)
    assert second["settings"]["event_subscriptions"]["request_url"] == (
        "https://bastion-host.my-company.com/no-auth/provider-action/slack-events"
    )
    del second["settings"]["event_subscriptions"]
    assert second == first


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("bastion__hostname", "bastion"),
        ("bastion__hostname", 'x.com"; listen 80; #'),
        ("bastion__public_ip", "10.0.0"),
        ("bastion__certificate", "relative/cert.pem"),
        ("bastion__certificate", "/etc/ssl/$host.pem"),
        ("bastion__certificate", "/etc/ssl/a\nb.pem"),
        ("bastion__private_key", ""),
        ("bastion__private_key", "/etc/ssl/key.pem "),
        ("bastion__listen_port", 0),
        ("bastion__listen_port", 70000),
        ("codestream__api_url", ""),
        ("codestream__api_url", "ftp://codestream.my-company.com"),
        ("codestream__api_url", "https://codestream.my-company.com/api"),
        ("codestream__upstream_ca", "ca.pem"),
        ("codestream__upstream_address", "codestream.internal"),
        ("codestream__upstream_address", "10.0.0.1:443"),
        ("slack__signing_secret", " s3cr3t"),
        ("msteams__app_password", "p\x00w"),
        ("output__snippet", "../snippet.json"),
        ("output__snippet", "codestream-bastion.conf"),
        ("output__nginx_conf", "relative.conf"),
    ],
)
def test_invalid_answers_are_refused_naming_the_key(key: str, value: Any) -> None:
    answers = make_answers(**{key: value})
    dotted = key.replace("__", ".")
    problems = validate_for_render(answers)
    assert [p for p in problems if p.startswith(f"{dotted}: ")], problems
    with pytest.raises(RenderError) as caught:
        render(answers)
    assert dotted in caught.value.keys
    assert dotted in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    answers = make_answers(bastion__hostname="", bastion__certificate="x", codestream__api_url="")
    with pytest.raises(RenderError) as caught:
        render(answers)
    assert set(caught.value.keys) >= {
        "bastion.hostname",
        "bastion.certificate",
        "codestream.api_url",
    }


def test_valid_answers_have_no_problems() -> None:
    assert validate_for_render(make_answers()) == []


def test_unknown_mode_is_refused() -> None:
    answers = make_answers("slack; msteams")
    with pytest.raises(RenderError) as caught:
        render(answers)
    assert caught.value.keys == ("mode",)


def test_resolved_mode_without_resolvers_asks_to_pin_an_address() -> None:
    with pytest.raises(RenderError) as caught:
        render(make_answers(), resolvers=[])
    assert caught.value.keys == ("codestream.upstream_address",)
    assert "upstream_address" in str(caught.value)
    render(make_answers(codestream__upstream_address="10.0.0.5"), resolvers=[])


def test_bad_resolver_is_refused() -> None:
    with pytest.raises(RenderError) as caught:
        render(make_answers(), resolvers=["dns.example.com"])
    assert caught.value.keys == ("--dns-server",)


# -- quoting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("a\\", '"a\\\\"'),
        ("; } server { #", '"; } server { #"'),
        ("'single'", "\"'single'\""),
        ("ünïcödé", '"ünïcödé"'),
        ("", '""'),
    ],
)
def test_nginx_quote(value: str, quoted: str) -> None:
    assert nginx_quote(value) == quoted


@pytest.mark.parametrize("value", ["$host", "a${x}", "a\nb", "a\rb", "nul\x00", "\x7f", "a\u2028b"])
def test_nginx_quote_refuses_variables_and_control_characters(value: str) -> None:
    with pytest.raises(NginxQuoteError):
        nginx_quote(value)


@pytest.mark.parametrize("value", [None, 1.5, True, ["a"]])
def test_nginx_quote_refuses_non_text(value: object) -> None:
    with pytest.raises(NginxQuoteError):
        nginx_quote(value)


def test_nginx_int() -> None:
    assert nginx_int(443) == "443"
    for bad in (True, "443", 4.0):
        with pytest.raises(NginxQuoteError):
            nginx_int(bad)


def test_crossplane_and_nginx_read_quoted_values_back() -> None:
    for value in ['a"b', "a\\b", 'x\\"y', "\\", "a'b"]:
        quoted = nginx_quote(value)
        # crossplane keeps '\\' pairs and turns '\"' into '"'
        inner = quoted[1:-1].replace('\\"', '"')
        assert nginx_unescape(inner) == value


def test_conf_templates_refuse_unquoted_values() -> None:
    import jinja2

    env = make_environment()
    env.loader = jinja2.DictLoader(
        {"x.conf.j2": "server_name {{ name }};", "y.conf.j2": "n {{ name|nginx_quote }};"}
    )
    with pytest.raises(NginxQuoteError):
        env.get_template("x.conf.j2").render(name="evil; }")
    assert env.get_template("y.conf.j2").render(name="a") == 'n "a";'
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("y.conf.j2").render()


# -- packaging and the render command ----------------------------------------------------


def test_templates_ship_in_the_package() -> None:
    import importlib.resources

    names = {p.name for p in importlib.resources.files("wizard.templates").iterdir()}
    assert {"nginx-server.conf.j2", "next-steps.md.j2", "__init__.py"} <= names


def test_importing_render_does_not_import_jinja2() -> None:
    code = "import sys, wizard.render; print('jinja2' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_run_render_writes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "out" / "nested"
    answers = make_answers(slack__signing_secret="s3cr3t")
    stdout = io.StringIO()
    code = run_render(
        answers, out, stdout, features=FEATURES_122, resolvers=RESOLVERS, ca_bundle=CA_BUNDLE
    )
    assert code == 0
    written = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert written == {
        SERVER_CONF_NAME: 0o644,
        "codestream-messaging.json": 0o600,
        NEXT_STEPS_NAME: 0o644,
        SLACK_MANIFEST_NAME: 0o644,
        SLACK_EVENTS_MANIFEST_NAME: 0o644,
    }
    report = stdout.getvalue()
    for name in written:
        assert name in report


def test_run_render_uses_the_system_defaults(tmp_path: Path) -> None:
    answers = make_answers(codestream__upstream_address="10.0.0.5")
    assert run_render(answers, tmp_path, io.StringIO()) == 0
    assert (tmp_path / SERVER_CONF_NAME).exists()


def test_run_render_reports_invalid_answers(tmp_path: Path) -> None:
    stdout = io.StringIO()
    code = run_render(
        make_answers(bastion__certificate="cert.pem"),
        tmp_path / "out",
        stdout,
        features=NO_NGINX,
        resolvers=RESOLVERS,
        ca_bundle=CA_BUNDLE,
    )
    assert code == 2
    assert "bastion.certificate" in stdout.getvalue()
    assert not (tmp_path / "out").exists()


def test_run_render_reports_an_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stdout = io.StringIO()
    code = run_render(
        make_answers(),
        blocker / "out",
        stdout,
        features=NO_NGINX,
        resolvers=RESOLVERS,
        ca_bundle=CA_BUNDLE,
    )
    assert code == 2
    assert "cannot write" in stdout.getvalue()
