"""The fake CodeStream API answers like the real Express app, over real sockets."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from wizard.checks.slack_signing import signed_headers
from wizard.demo.bot_routes import BotSettings
from wizard.demo.ca import TestCA
from wizard.demo.fake_api import (
    DEFAULT_API_VERSION,
    GARBAGE,
    FakeCodeStreamApi,
    express_not_found_page,
)

EXPRESS_404_HEADERS = {
    "x-powered-by": "Express",
    "content-security-policy": "default-src 'none'",
    "x-content-type-options": "nosniff",
    "content-type": "text/html; charset=utf-8",
}


def express_page(pre: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Error</title>\n</head>\n<body>\n<pre>{pre}</pre>\n</body>\n</html>\n"
    )


@pytest.fixture
def api() -> Iterator[FakeCodeStreamApi]:
    with FakeCodeStreamApi() as server:
        yield server


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("fake-api-tls")
    ca = TestCA("Fake API Test")
    crt, key = ca.issue(["127.0.0.1"]).write(directory, "api")
    return crt, key, ca.write_root(directory / "root.pem")


def raw_exchange(api: FakeCodeStreamApi, request: bytes, timeout: float = 2.0) -> bytes:
    """Send ``request`` on a fresh connection; read until the server closes it."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return lines[0], headers, body


# -- Express's 404 -----------------------------------------------------------------


def test_get_on_an_endpoint_is_expresss_404_byte_for_byte(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(
        api,
        b"GET /no-auth/provider-action/slack/?token=1 HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
    )
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 404 Not Found"
    names = [k for k, _ in headers]
    # Express's header order: X-Powered-By first, CodeStream's versioner middleware,
    # then finalhandler's, then Node's.
    assert names[:6] == [
        "X-Powered-By",
        "X-CS-API-Version",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Content-Type",
        "Content-Length",
    ]
    values = {k.lower(): v for k, v in headers}
    for name, value in EXPRESS_404_HEADERS.items():
        assert values[name] == value
    assert "date" in values
    assert values["connection"] == "close"
    expected = express_page("Cannot GET /no-auth/provider-action/slack/")
    assert body == expected.encode()
    assert values["content-length"] == str(len(body))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_any_method_but_post_gets_cannot_method(api: FakeCodeStreamApi, method: str) -> None:
    response = httpx.request(method, api.url + "/no-auth/provider-action/msteams")
    assert response.status_code == 404
    assert response.text == express_page(f"Cannot {method} /no-auth/provider-action/msteams")
    for name, value in EXPRESS_404_HEADERS.items():
        assert response.headers[name] == value


def test_head_has_the_length_but_no_body(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(api, b"HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 404 Not Found"
    assert body == b""
    length = {k.lower(): v for k, v in headers}["content-length"]
    assert int(length) == len(express_page("Cannot HEAD /x").encode())


def test_echoed_path_is_url_encoded_then_html_escaped_like_express(
    api: FakeCodeStreamApi,
) -> None:
    # encodeurl keeps valid escapes and & ' ; turns a stray % into %25 and ^ into %5E;
    # escape-html then escapes & and '. The query string is not echoed.
    raw = raw_exchange(
        api, b"GET /a&b'c/%41%zz^d?q=<x> HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    _status, _headers, body = split_response(raw)
    assert b"<pre>Cannot GET /a&amp;b&#39;c/%41%25zz%5Ed</pre>" in body
    assert express_not_found_page("GET", "/a&b'c/%41%zz^d?q=<x>") == body.decode()


def test_absolute_form_target_echoes_only_the_path() -> None:
    page = express_not_found_page("GET", "http://api.test:8080/no-auth/x?y#z")
    assert "<pre>Cannot GET /no-auth/x</pre>" in page


def test_unparsable_request_gets_400_and_close(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(api, b"NOT A REQUEST AT ALL\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


# -- the bot endpoints ---------------------------------------------------------------


SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
APP_ID = "A0FAKEAPP01"
TEAMS_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SLACK = "/no-auth/provider-action/slack"
EVENTS = "/no-auth/provider-action/slack-events"
MSTEAMS = "/no-auth/provider-action/msteams"


@pytest.fixture
def configured(api: FakeCodeStreamApi) -> FakeCodeStreamApi:
    api.bot = BotSettings(SECRET, APP_ID, TEAMS_ID)
    return api


def slack_post(
    api: FakeCodeStreamApi,
    path: str,
    body: bytes,
    *,
    secret: str | None = SECRET,
    at: float | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> httpx.Response:
    """POST ``body`` signed as Slack signs it (``secret=None``: unsigned)."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers.update(signed_headers(secret, int(time.time() if at is None else at), body))
    return httpx.post(api.url + path, content=body, headers=headers)


def interactivity_body(app_id: str = APP_ID) -> bytes:
    payload = json.dumps({"type": "block_actions", "api_app_id": app_id, "actions": []})
    return ("payload=" + quote(payload, safe="")).encode()


def express_etag(body: bytes) -> str:
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()  # noqa: S324
    return f'W/"{len(body):x}-{digest[:27]}"'


# -- the bot routes, as CodeStream answers them ------------------------------------------


def test_signed_interactivity_without_an_action_is_200_and_empty(
    configured: FakeCodeStreamApi,
) -> None:
    response = slack_post(configured, SLACK, interactivity_body())
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers


@pytest.mark.parametrize(
    ("secret", "app_id", "skew"),
    [
        (None, APP_ID, 0),  # unsigned
        ("not-the-secret", APP_ID, 0),
        (SECRET, "A0OTHERAPP1", 0),  # signingSecretsByAppIds has no entry for it
        (SECRET, APP_ID, -301),  # outside Slack's 300 s window
    ],
)
def test_interactivity_refuses_a_bad_signature_with_rapi_1003(
    configured: FakeCodeStreamApi, secret: str | None, app_id: str, skew: int
) -> None:
    response = slack_post(
        configured, SLACK, interactivity_body(app_id), secret=secret, at=time.time() + skew
    )
    assert response.status_code == 403
    assert response.content == b'{"code":"RAPI-1003","message":"Object not found"}'
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["etag"] == express_etag(response.content)


def test_interactivity_with_an_unparsable_payload_is_a_text_404(
    configured: FakeCodeStreamApi,
) -> None:
    response = slack_post(configured, SLACK, b"payload=%7Bnot-json")
    assert (response.status_code, response.text) == (404, "Not Found")


def test_signed_url_verification_gets_the_challenge_back(configured: FakeCodeStreamApi) -> None:
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRN", "type": "url_verification"})
    response = slack_post(configured, EVENTS, body.encode(), content_type="application/json")
    assert response.status_code == 200
    assert response.content == b'{"challenge":"3eZbrw1aBm2rZgRN"}'
    assert response.headers["etag"] == express_etag(response.content)


@pytest.mark.parametrize("secret", [None, "not-the-secret"])
def test_events_refuse_a_bad_signature_with_rapi_1012(
    configured: FakeCodeStreamApi, secret: str | None
) -> None:
    body = b'{"challenge":"c","type":"url_verification"}'
    response = slack_post(configured, EVENTS, body, secret=secret, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"code": "RAPI-1012", "message": "Invalid parameter"}


def test_before_13_0_1_the_events_path_checks_nothing(configured: FakeCodeStreamApi) -> None:
    configured.api_version = "12.0.10"
    body = b'{"challenge":"c","type":"url_verification"}'
    response = slack_post(configured, EVENTS, body, secret=None, content_type="application/json")
    assert (response.status_code, response.content) == (200, b"")


def test_no_signing_secret_configured_refuses_every_signature(api: FakeCodeStreamApi) -> None:
    body = b'{"challenge":"c","type":"url_verification"}'
    response = slack_post(api, EVENTS, body, secret="", content_type="application/json")
    assert response.status_code == 403


@pytest.mark.parametrize("path", [MSTEAMS, MSTEAMS + "/", "/NO-AUTH/provider-action/MSTeams"])
def test_teams_without_a_token_is_botbuilders_401(configured: FakeCodeStreamApi, path: str) -> None:
    response = httpx.post(configured.url + path, json={"type": "typing"})
    assert response.status_code == 401
    assert response.text == "Error: Unauthorized Access. Request is not authorized"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-cs-api-version"] == DEFAULT_API_VERSION


def test_teams_without_an_activity_type_is_400(configured: FakeCodeStreamApi) -> None:
    response = httpx.post(configured.url + MSTEAMS, json={"text": "hi"})
    assert response.status_code == 400


def test_teams_without_an_app_id_processes_an_unauthenticated_activity(
    api: FakeCodeStreamApi,
) -> None:
    response = httpx.post(api.url + MSTEAMS, json={"type": "typing"})
    assert (response.status_code, response.content) == (200, b"")


def test_the_clock_offset_moves_the_date_header_and_the_signature_window(
    configured: FakeCodeStreamApi,
) -> None:
    configured.bot.clock_offset = 600.0
    response = slack_post(configured, SLACK, interactivity_body())
    sent = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
    assert 595 <= sent - time.time() <= 601
    assert response.status_code == 403  # signed now: 600 s off the API's clock


@pytest.mark.parametrize(
    "path", ["/", "/no-auth/provider-action/slackX", "/no-auth/provider-action/slack/extra"]
)
def test_post_elsewhere_is_cannot_post(api: FakeCodeStreamApi, path: str) -> None:
    response = httpx.post(api.url + path, content=b"{}")
    assert response.status_code == 404
    assert response.text == express_page(f"Cannot POST {path}")


# -- recording -----------------------------------------------------------------------


def test_requests_are_recorded_as_sent(api: FakeCodeStreamApi) -> None:
    httpx.get(api.url + "/no-auth/provider-action/msteams/?a=1", headers={"X-Test": "yes"})
    httpx.post(
        api.url + "/no-auth/provider-action/slack",
        content=b"raw body",
        headers={"X-Slack-Signature": "v0=abc", "X-Slack-Request-Timestamp": "1"},
    )
    first, second = api.requests
    assert (first.method, first.path, first.body) == (
        "GET",
        "/no-auth/provider-action/msteams/?a=1",
        b"",
    )
    assert first.header("x-test") == "yes"
    assert first.header("host") == f"127.0.0.1:{api.port}"
    assert (second.method, second.path, second.body) == (
        "POST",
        "/no-auth/provider-action/slack",
        b"raw body",
    )
    assert second.header("X-Slack-Signature") == "v0=abc"
    api.clear_requests()
    assert api.requests == []


def test_chunked_bodies_are_recorded_de_chunked(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(
        api,
        b"POST /no-auth/provider-action/msteams HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
    )
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")  # botbuilder: no activity type
    assert api.requests[0].body == b"abcdefg"


def test_recording_is_thread_safe_under_concurrent_clients(api: FakeCodeStreamApi) -> None:
    def hit(i: int) -> None:
        for j in range(5):
            httpx.get(f"{api.url}/c/{i}/{j}")

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paths = sorted(r.path for r in api.requests)
    assert paths == sorted(f"/c/{i}/{j}" for i in range(8) for j in range(5))


def test_keep_alive_serves_several_requests_on_one_connection(api: FakeCodeStreamApi) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=2) as sock:
        for path in (b"/one", b"/two"):
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b"</html>\n"):
                data += sock.recv(65536)
            assert b"Connection: keep-alive" in data
            assert b"<pre>Cannot GET " + path + b"</pre>" in data


def test_pipelined_requests_are_answered_in_order(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(
        api,
        b"POST /no-auth/provider-action/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        b"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    first, second = raw.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"403 Forbidden\r\n")  # no Slack signature
    assert b"Connection: keep-alive" in first
    assert second.startswith(b"404 Not Found\r\n")
    assert b"<pre>Cannot GET /two</pre>" in second
    assert [(r.method, r.path, r.body) for r in api.requests[-2:]] == [
        ("POST", "/no-auth/provider-action/slack", b"{}"),
        ("GET", "/two", b""),
    ]


def test_http_1_0_closes_unless_asked_to_keep_alive(api: FakeCodeStreamApi) -> None:
    raw = raw_exchange(api, b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in raw
    assert raw.startswith(b"HTTP/1.1 404 Not Found\r\n")


# -- HTTPS -----------------------------------------------------------------------------


def test_https_with_a_test_ca_certificate(tls_files: tuple[Path, Path, Path]) -> None:
    crt, key, root = tls_files
    with FakeCodeStreamApi(crt, key) as api:
        assert api.url == f"https://127.0.0.1:{api.port}"
        context = ssl.create_default_context(cafile=str(root))
        response = httpx.get(api.url + "/no-auth/provider-action/slack/", verify=context)
        assert response.status_code == 404
        assert "<pre>Cannot GET /no-auth/provider-action/slack/</pre>" in response.text
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(api.url + "/", verify=ssl.create_default_context(cafile=str(crt)))


def test_cert_without_key_is_refused(tls_files: tuple[Path, Path, Path]) -> None:
    with pytest.raises(ValueError, match="both"):
        FakeCodeStreamApi(tls_files[0], None)


# -- personas and knobs --------------------------------------------------------------


def test_persona_other_is_nginxs_404(api: FakeCodeStreamApi) -> None:
    api.persona = "other"
    response = httpx.get(api.url + "/no-auth/provider-action/msteams/")
    assert response.status_code == 404
    assert response.headers["server"] == "nginx"
    assert "<center>nginx</center>" in response.text
    assert "Cannot GET" not in response.text
    assert "content-security-policy" not in response.headers


def test_persona_welcome_is_a_200_page(api: FakeCodeStreamApi) -> None:
    api.persona = "welcome"
    response = httpx.get(api.url + "/no-auth/provider-action/msteams/")
    assert response.status_code == 200
    assert "Welcome to nginx!" in response.text


def test_persona_reset_resets_the_connection(api: FakeCodeStreamApi) -> None:
    api.persona = "reset"
    with pytest.raises(ConnectionResetError):
        raw_exchange(api, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert api.requests[0].path == "/"


def test_persona_garbage_answers_non_http_and_closes(api: FakeCodeStreamApi) -> None:
    api.persona = "garbage"
    raw = raw_exchange(api, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw == GARBAGE
    assert not raw.startswith(b"HTTP/")


def test_persona_hang_never_answers_and_stop_still_returns_fast() -> None:
    api = FakeCodeStreamApi().start()
    api.persona = "hang"
    client = socket.create_connection(("127.0.0.1", api.port), timeout=0.3)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            client.recv(1)
        started = time.monotonic()
        api.stop()
        assert time.monotonic() - started < 1.0
        client.settimeout(1.0)
        assert client.recv(1) == b""  # the hung connection was closed by stop()
    finally:
        client.close()
        api.stop()


def test_stop_with_a_client_stuck_in_the_tls_handshake_returns_fast(
    tls_files: tuple[Path, Path, Path],
) -> None:
    api = FakeCodeStreamApi(tls_files[0], tls_files[1]).start()
    with socket.create_connection(("127.0.0.1", api.port), timeout=1):
        time.sleep(0.1)  # connected, never says hello
        started = time.monotonic()
        api.stop()
        assert time.monotonic() - started < 1.0


def test_delay_holds_each_answer_but_not_the_others(api: FakeCodeStreamApi) -> None:
    api.delay = 0.3
    durations: list[float] = []

    def timed_get() -> None:
        started = time.monotonic()
        httpx.get(api.url + "/")
        durations.append(time.monotonic() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=timed_get) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(d >= 0.3 for d in durations)
    assert time.monotonic() - started < 0.9  # concurrent, not 4 x 0.3 s


def test_start_twice_and_stop_twice() -> None:
    api = FakeCodeStreamApi().start()
    try:
        with pytest.raises(RuntimeError):
            api.start()
    finally:
        api.stop()
        api.stop()


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = FakeCodeStreamApi().url


# -- X-CS-API-Version ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-auth/provider-action/slack/"),
        ("POST", "/no-auth/provider-action/msteams"),
        ("POST", "/no-auth/provider-action/slack-events"),
        ("GET", "/no-auth/capabilities"),
        ("DELETE", "/anything"),
    ],
)
def test_every_answer_names_the_release(api: FakeCodeStreamApi, method: str, path: str) -> None:
    response = httpx.request(method, api.url + path, content=b"{}" if method == "POST" else None)
    assert response.headers["X-CS-API-Version"] == DEFAULT_API_VERSION


def test_the_release_is_a_knob_and_can_be_withheld(api: FakeCodeStreamApi) -> None:
    api.api_version = "12.0.3"
    assert httpx.get(api.url + "/x").headers["X-CS-API-Version"] == "12.0.3"
    api.api_version = None
    assert "X-CS-API-Version" not in httpx.get(api.url + "/x").headers


def test_other_servers_send_no_release(api: FakeCodeStreamApi) -> None:
    api.persona = "other"
    assert "X-CS-API-Version" not in httpx.get(api.url + "/x").headers
