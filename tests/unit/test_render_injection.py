"""No answer can add an Nginx directive (property test).

Every answers field gets either a plausible value or a hostile one (quotes,
``;``, braces, ``$``, ``#``, backslashes, newlines, control characters,
Unicode). Rendering must then either refuse with a :class:`RenderError` that
blames only fields that received a hostile value, or produce a server block
that crossplane parses into exactly the expected directives and locations,
with the hostile text intact inside its quoted argument.
"""

from __future__ import annotations

import io
import ipaddress
import json
import tempfile
import unicodedata
import urllib.parse
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.nginx_harness import parse_server_blocks
from wizard.answers import MODES, Answers
from wizard.checks.hostname import to_ascii_hostname
from wizard.constants import SERVER_CONF_NAME
from wizard.nginx import NginxFeatures
from wizard.nginx.binary import ECDH_CURVES_X25519
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.render import RenderedFile, RenderError, render_all

FEATURES = NginxFeatures(
    version=(1, 22, 1),
    openssl="OpenSSL 3.0.19",
    http2_listen=True,
    ecdh_curve=ECDH_CURVES_X25519,
    listen_ipv6=False,
)
RESOLVERS = ["127.0.0.53"]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

NASTY = [
    '"', "'", ";", "{", "}", "$", "#", "\\", "\n", "\r", "\t", " ", "\x00", "\x1b", "\x7f",
    "\x85", "\u2028", "\u00a0", "\ufeff", "é", "ß", "Ω", "ü", "\U0001d518", "\ud800", "/",
    ":", "@", "?", "[", "]", "%", "*", "~", "=", ",", "(", ")", "<", ">", "`",
]  # fmt: skip
INJECTIONS = [
    '"; } server { listen 80; location / { proxy_pass http://evil; } #',
    "x;\nlisten 8080;",
    "${host}",
    "$remote_addr",
    '\\"; return 200 pwned; #',
    "a' ; b",
    "{ }",
    "# comment",
    "\\",
    "line\nbreak",
]
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(), max_size=24)
hostile_text = st.one_of(
    nasty_text,
    st.sampled_from(INJECTIONS),
    st.builds(lambda a, b: a + b, st.sampled_from(["", "ok", "/etc/ssl/x.pem"]), nasty_text),
)
# Absolute paths full of hostile (yet legal) characters: many are accepted, so
# the parsed output is checked with them inside.
hostile_path = st.builds(
    lambda parts: "/" + "/".join(parts),
    st.lists(
        st.text(
            alphabet=st.sampled_from([c for c in NASTY if c >= " " and c != "\x7f"])
            | st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=3,
    ),
)

VALID: dict[str, st.SearchStrategy[Any]] = {
    "mode": st.sampled_from(MODES),
    "bastion.hostname": st.sampled_from(
        ["bastion-host.my-company.com", "Bücher.Example.com", "xn--bcher-kva.example.com.", "a.b"]
    ),
    "bastion.public_ip": st.sampled_from(["203.0.113.10", "2001:db8::10"]),
    "bastion.certificate": st.sampled_from(["/etc/ssl/bastion/fullchain.pem"]),
    "bastion.private_key": st.sampled_from(["/etc/ssl/bastion/privkey.pem"]),
    "bastion.listen_port": st.sampled_from([443, 8443]),
    "codestream.api_url": st.sampled_from(
        [
            "https://codestream.my-company.com",
            "http://codestream.my-company.com:8080",
            "https://10.1.2.3:8443",
            "https://[fd00::1]",
        ]
    ),
    "codestream.upstream_ca": st.sampled_from(["", "/etc/codestream/ca.pem"]),
    "codestream.upstream_address": st.sampled_from(["", "10.0.0.5", "fd00::5"]),
    "slack.app_id": st.sampled_from(["", "A0123ABC"]),
    "slack.client_id": st.sampled_from(["", "123.456"]),
    "slack.client_secret": st.sampled_from(["", "abcdef0123"]),
    "slack.signing_secret": st.sampled_from(["", "s3cr3t"]),
    "slack.events": st.booleans(),
    "msteams.app_id": st.sampled_from(["", "7f0e2b7c-0000-4000-8000-000000000000"]),
    "msteams.app_password": st.sampled_from(["", "p@ss~word"]),
    "output.nginx_conf": st.sampled_from(["auto", "/etc/nginx/conf.d/codestream-bastion.conf"]),
    "output.snippet": st.sampled_from(["codestream-messaging.json", "messaging.json"]),
}
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "mode": st.sampled_from(["slack;", "", "msteams\n", "Slack", "slack+msteams "]),
    "bastion.hostname": hostile_text,
    "bastion.public_ip": hostile_text,
    "bastion.certificate": hostile_path | hostile_text,
    "bastion.private_key": hostile_path | hostile_text,
    "bastion.listen_port": st.integers(-100, 100_000) | st.just(True),
    "codestream.api_url": hostile_text
    | st.builds(lambda t: "https://" + t, hostile_text)
    | st.builds(lambda t: "https://codestream.my-company.com" + t, hostile_text),
    "codestream.upstream_ca": hostile_path | hostile_text,
    "codestream.upstream_address": hostile_text,
    "slack.app_id": hostile_text,
    "slack.client_id": hostile_text,
    "slack.client_secret": hostile_text,
    "slack.signing_secret": hostile_text,
    "slack.events": st.sampled_from([1, 0, "true", None]),
    "msteams.app_id": hostile_text,
    "msteams.app_password": hostile_text,
    "output.nginx_conf": hostile_path | hostile_text,
    "output.snippet": hostile_text | st.sampled_from(["../x.json", "a/b.json", ".hidden"]),
}
assert set(VALID) == set(HOSTILE)


@st.composite
def tagged_answers(draw: st.DrawFn) -> tuple[Answers, set[str]]:
    """Answers where each field is valid or hostile; also the hostile keys."""
    answers = Answers()
    hostile: set[str] = set()
    for key in VALID:
        if draw(st.integers(0, 5)) == 0:  # a sixth of the fields hostile on average
            value = draw(HOSTILE[key])
            hostile.add(key)
        else:
            value = draw(VALID[key])
        if key == "mode":
            answers.mode = value
        else:
            section, name = key.split(".")
            setattr(getattr(answers, section), name, value)
    return answers, hostile


def _upstream(api_url: str) -> tuple[str, str, int, bool]:
    """(scheme, ASCII host, port, port is the default) of an accepted API URL."""
    parts = urllib.parse.urlsplit(api_url)
    host = (parts.hostname or "").rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host.isascii():
            import idna

            host = idna.encode(host, uts46=True).decode("ascii")
        host = host.lower()
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, host, parts.port or default, parts.port in (None, default)


def _expected_directives(answers: Answers, scheme: str, resolved: bool) -> Counter[str]:
    names = [
        "listen", "server_name", "server_tokens", "ssl_certificate", "ssl_certificate_key",
        "ssl_protocols", "ssl_ciphers", "ssl_prefer_server_ciphers", "ssl_ecdh_curve",
        "ssl_session_timeout", "ssl_session_cache", "ssl_session_tickets", "add_header",
        "access_log", "error_log", "client_max_body_size", "client_body_timeout",
        "client_header_timeout", "proxy_request_buffering", "proxy_http_version",
        "proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout",
        "proxy_hide_header", "proxy_set_header", "proxy_set_header", "proxy_set_header",
    ]  # fmt: skip
    if ipaddress.ip_address(answers.bastion.public_ip).version == 6:
        names.append("listen")
    if scheme == "https":
        names += [
            "proxy_ssl_protocols", "proxy_ssl_verify", "proxy_ssl_verify_depth",
            "proxy_ssl_server_name", "proxy_ssl_name", "proxy_ssl_trusted_certificate",
        ]  # fmt: skip
    if resolved:
        names += ["resolver", "resolver_timeout", "set"]
    # The per-client limits (on by default) and the 429 and 405 pages, each a named location.
    names += ["limit_req", "limit_req_status", "limit_req_log_level"]
    names += ["limit_conn", "limit_conn_status", "limit_conn_log_level"]
    names += ["error_page", "error_page"]
    names += ["location"] * (2 * len(answers.endpoints) + 1 + 2)
    return Counter(names)


def _check_server_block(answers: Answers, conf: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        blocks = parse_server_blocks(conf, Path(tmp))
    assert len(blocks) == 1
    block = blocks[0]
    scheme, host, port, default_port = _upstream(answers.codestream.api_url)
    pinned = answers.codestream.upstream_address
    try:
        ipaddress.ip_address(host)
        host_is_ip = True
    except ValueError:
        host_is_ip = False
    resolved = not pinned and not host_is_ip
    names = Counter(d["directive"] for d in block)
    assert names == _expected_directives(answers, scheme, resolved)

    def args(name: str) -> list[list[str]]:
        return [d["args"] for d in block if d["directive"] == name]

    listen_port = str(answers.bastion.listen_port)
    assert args("listen")[0] == [listen_port, "ssl", "http2"]
    assert args("server_name") == [[to_ascii_hostname(answers.bastion.hostname)]]
    assert args("ssl_certificate") == [[answers.bastion.certificate]]
    assert args("ssl_certificate_key") == [[answers.bastion.private_key]]
    bracketed = f"[{host}]" if ":" in host else host
    authority = bracketed if default_port else f"{bracketed}:{port}"
    assert args("proxy_set_header")[0] == ["Host", authority]
    if scheme == "https":
        assert args("proxy_ssl_verify") == [["on"]]
        assert args("proxy_ssl_name") == [[host]]
        trusted = answers.codestream.upstream_ca or CA_BUNDLE
        assert args("proxy_ssl_trusted_certificate") == [[trusted]]
    if resolved:
        assert args("set") == [["$codestream_bastion_api", f"{host}:{port}"]]
    locations = {tuple(d["args"]): d["block"] for d in block if d["directive"] == "location"}
    expected = {("/",), ("@codestream_bastion_429",), ("@codestream_bastion_405",)}
    for endpoint in answers.endpoints:
        expected |= {("=", endpoint), ("=", endpoint + "/")}
    assert set(locations) == expected
    for key, body in locations.items():
        if key == ("/",):
            assert [(d["directive"], d["args"]) for d in body] == [("return", ["404"])]
            continue
        if key[0].startswith("@"):  # the 429 and 405 pages: no answer reaches them
            assert [d["directive"] for d in body] == ["add_header", "add_header", "return"]
            continue
        assert [d["directive"] for d in body] == ["if", "proxy_pass"]
        body = body[1:]
        if resolved:
            target = "${codestream_bastion_api}"
        else:
            address = ipaddress.ip_address(pinned or host).compressed
            target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        assert body[0]["args"] == [f"{scheme}://{target}{key[1]}"]


def _check_snippet(answers: Answers, content: bytes) -> None:
    data = json.loads(content)
    assert set(data) == {"integrations"}
    integrations = data["integrations"]
    assert set(integrations) == {
        name for name, used in (("slack", answers.uses_slack), ("msteams", answers.uses_msteams))
        if used
    }  # fmt: skip
    if answers.uses_slack:
        slack = integrations["slack"]["cloud"]
        assert slack["appSigningSecret"] == (
            answers.slack.signing_secret or "<SLACK_SIGNING_SECRET>"
        )
        assert slack["appClientSecret"] == (answers.slack.client_secret or "<SLACK_CLIENT_SECRET>")
        assert slack["appId"] == (answers.slack.app_id or "<SLACK_APP_ID>")
        assert slack["interactiveComponentsEnabled"] is answers.exposes_bastion
    if answers.uses_msteams:
        teams = integrations["msteams"]["cloud"]
        assert teams["botAppPassword"] == teams["appClientSecret"]
        assert teams["appClientSecret"] == (
            answers.msteams.app_password or "<MSTEAMS_APP_PASSWORD>"
        )


def _try_render(
    answers: Answers, resolvers: list[str] = RESOLVERS
) -> tuple[list[RenderedFile], RenderError | None]:
    try:
        files = render_all(answers, features=FEATURES, resolvers=resolvers, ca_bundle=CA_BUNDLE)
    except RenderError as exc:
        return [], exc
    return files, None


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(tagged_answers())
def test_hostile_answers_are_refused_or_quoted(case: tuple[Answers, set[str]]) -> None:
    answers, hostile = case
    files, error = _try_render(answers)
    if error is not None:
        event("refused")
        assert error.keys, "a refusal must name at least one field"
        assert set(error.keys) <= hostile, f"blamed valid fields: {error.problems}"
        for key in error.keys:
            assert key in str(error)
        return
    event("accepted, hostile fields present" if hostile else "accepted, all valid")
    by_name = {f.name: f for f in files}
    assert (SERVER_CONF_NAME in by_name) is answers.exposes_bastion
    for rendered in files:
        assert "/" not in rendered.name
        assert not rendered.name.startswith(".")
        if rendered.name == TEAMS_PACKAGE_NAME:
            with zipfile.ZipFile(io.BytesIO(rendered.content)) as package:
                manifest = json.loads(package.read("manifest.json"))
            assert manifest["id"] == manifest["bots"][0]["botId"] == answers.msteams.app_id
            continue
        rendered.content.decode("utf-8")  # always valid UTF-8
    if answers.exposes_bastion:
        _check_server_block(answers, by_name[SERVER_CONF_NAME].content.decode("utf-8"))
    _check_snippet(answers, by_name[answers.output.snippet].content)


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile_text, min_size=1, max_size=3))
def test_hostile_resolvers_are_refused_or_parse(resolvers: list[str]) -> None:
    answers = Answers()
    answers.mode = "slack"
    answers.bastion.hostname = "bastion.example.com"
    answers.bastion.public_ip = "203.0.113.10"
    answers.bastion.certificate = "/etc/ssl/b.pem"
    answers.bastion.private_key = "/etc/ssl/b.key"
    answers.codestream.api_url = "https://codestream.example.com"
    files, error = _try_render(answers, resolvers)
    if error is not None:
        assert set(error.keys) == {"--dns-server"}
        return
    conf = {f.name: f for f in files}[SERVER_CONF_NAME].content.decode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        block = parse_server_blocks(conf, Path(tmp))[0]
    resolver = [d["args"] for d in block if d["directive"] == "resolver"]
    assert len(resolver) == 1
    assert len(resolver[0]) == len(resolvers) + 2
    assert resolver[0][-2:] == ["valid=30s", "ipv6=off"]
    for address in resolver[0][:-2]:
        inner = address[1 : address.index("]")] if address.startswith("[") else address
        ipaddress.ip_address(inner.split(":")[0] if "." in inner else inner)


def _refusable(path: str) -> bool:
    """A path that cannot be written safely: ``$``, control characters, edge blanks."""
    controls = {"Cc", "Cs", "Zl", "Zp"}
    return (
        "$" in path
        or path != path.strip()
        or path.endswith("/")
        or any(unicodedata.category(c) in controls for c in path)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["slack", "msteams", "slack+msteams"]),
    certificate=hostile_path,
    private_key=hostile_path,
    upstream_ca=hostile_path,
    api_url=VALID["codestream.api_url"],
    upstream_address=VALID["codestream.upstream_address"],
)
def test_hostile_paths_are_written_intact_inside_quotes(
    mode: str,
    certificate: str,
    private_key: str,
    upstream_ca: str,
    api_url: str,
    upstream_address: str,
) -> None:
    answers = Answers()
    answers.mode = mode
    answers.bastion.hostname = "bastion.example.com"
    answers.bastion.public_ip = "203.0.113.10"
    answers.bastion.certificate = certificate
    answers.bastion.private_key = private_key
    answers.codestream.api_url = api_url
    answers.codestream.upstream_ca = upstream_ca
    answers.codestream.upstream_address = upstream_address
    files, error = _try_render(answers)
    if error is not None:
        event("refused")
        assert set(error.keys) <= {
            "bastion.certificate",
            "bastion.private_key",
            "codestream.upstream_ca",
        }
        assert any(_refusable(p) for p in (certificate, private_key, upstream_ca))
        return
    event("accepted")
    conf = {f.name: f for f in files}[SERVER_CONF_NAME].content.decode("utf-8")
    _check_server_block(answers, conf)
