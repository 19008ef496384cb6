"""The bastion holds under a flood: the per-client limits, in a real nginx on loopback.

A real nginx runs the rendered server block in front of the fake CodeStream
API (which records every request that reaches it). Clients are told apart by
their source address, and all of 127.0.0.0/8 is this host's: each test's
clients bind their own 127.0.0.x, so the flood and the providers' traffic fall
in different buckets, as on the internet. Nothing leaves loopback; every
loop is bounded in count and in time.

- One client flooding the Slack route gets through to the API only what the
  limits allow (the burst, then the rate); the rest is answered 429 with
  ``Retry-After`` by nginx and logged in the block's error log.
- Two requests a second on every route, and a burst of simultaneous retries,
  are never refused.
- Slow clients are cut off (429 beyond their connections, the header timeout
  for the rest) while other clients are served at once.
- With the limits at 0 nothing is limited, and no zone is written.
- ``nginx -t`` passes on each layout (Debian sites-enabled, conf.d, RHEL 9's own
  nginx.conf) with two blocks of this tool and the admin's own zones.
- ``teams_source = "azure"``: only the listed ranges (and the bastion itself)
  reach the Teams route.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.nginx_harness import NginxHarness, free_port, require_nginx
from wizard.answers import Answers
from wizard.constants import SERVER_CONF_NAME
from wizard.demo.ca import TestCA
from wizard.demo.fake_api import FakeCodeStreamApi, express_pathname
from wizard.nginx import NginxFeatures, config_test, detect_nginx_features
from wizard.render import render_all

pytestmark = pytest.mark.nginx

HOSTNAME = "bastion.demo.test"
API_HOST = "codestream.demo.test"
SLACK = "/no-auth/provider-action/slack"
ROUTES = (SLACK, "/no-auth/provider-action/slack-events", "/no-auth/provider-action/msteams")
BODY = b'{"type":"event_callback"}'


@dataclasses.dataclass
class Bastion:
    """A running nginx with one rendered block, in front of the fake API."""

    harness: NginxHarness
    port: int
    api: FakeCodeStreamApi
    trust: Path
    conf: str

    @property
    def error_log(self) -> Path:
        return self.harness.logs / "codestream-bastion.error.log"

    def reached(self, path: str | None = None) -> int:
        """How many requests reached the API (at ``path``)."""
        return sum(
            1
            for r in self.api.requests
            if path is None or express_pathname(r.path).rstrip("/") == path
        )


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    seconds: float


class Client:
    """HTTPS from one source address, keep-alive, reconnecting when nginx closes."""

    def __init__(self, bastion: Bastion, source: str) -> None:
        self.bastion = bastion
        self.source = source
        context = ssl.create_default_context(cafile=str(bastion.trust))
        context.check_hostname = False  # 127.0.0.1 is dialled; the chain is still verified
        self.context = context
        self.connection: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(
                "127.0.0.1",
                self.bastion.port,
                context=self.context,
                timeout=10,
                source_address=(self.source, 0),
            )
        return self.connection

    def send(self, method: str, path: str) -> Reply:
        started = time.monotonic()
        for attempt in (1, 2):
            connection = self._connect()
            try:
                body = BODY if method == "POST" else None
                headers = {"Host": HOSTNAME, "Content-Type": "application/json"}
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                reply = Reply(
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    time.monotonic() - started,
                )
                if response.will_close:
                    self.close()
                return reply
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a keep-alive connection nginx had closed: once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("pki")
    ca = TestCA("Limits Test Public")
    trust = ca.write_root(tmp / "trust.pem")
    cert, key = ca.issue([HOSTNAME]).write(tmp / "bastion", "fullchain")
    return trust, cert, key


@pytest.fixture(scope="module")
def features() -> NginxFeatures:
    return dataclasses.replace(detect_nginx_features(require_nginx()), listen_ipv6=False)


@pytest.fixture
def api() -> Iterator[FakeCodeStreamApi]:
    with FakeCodeStreamApi() as server:
        yield server


def make_answers(
    pki: tuple[Path, Path, Path], api_port: int, port: int, **bastion: object
) -> Answers:
    _trust, cert, key = pki
    answers = Answers(mode="slack+msteams")
    answers.bastion.hostname = HOSTNAME
    answers.bastion.public_ip = "127.0.0.1"
    answers.bastion.certificate = str(cert)
    answers.bastion.private_key = str(key)
    answers.bastion.listen_port = port
    for key_name, value in bastion.items():
        setattr(answers.bastion, key_name, value)
    # Plain HTTP to the pinned loopback address: no resolver, no upstream TLS to set up.
    answers.codestream.api_url = f"http://{API_HOST}:{api_port}"
    answers.codestream.upstream_address = "127.0.0.1"
    return answers


def render_block(answers: Answers, features: NginxFeatures, log_dir: Path) -> str:
    files = render_all(
        answers, features=features, resolvers=[], ca_bundle=None, log_dir=str(log_dir)
    )
    return next(f for f in files if f.name == SERVER_CONF_NAME).content.decode()


@contextlib.contextmanager
def bastion(
    tmp_path: Path,
    pki: tuple[Path, Path, Path],
    features: NginxFeatures,
    api: FakeCodeStreamApi,
    **limits: object,
) -> Iterator[Bastion]:
    harness = NginxHarness(tmp_path / "nginx", binary=require_nginx())
    port = free_port()
    conf = render_block(make_answers(pki, api.port, port, **limits), features, harness.logs)
    block = harness.prefix / SERVER_CONF_NAME
    block.write_text(conf, encoding="utf-8")
    harness.write_conf(includes=[block])
    result = harness.test()
    assert result.ok, result.output
    with harness.running(port):
        yield Bastion(harness, port, api, pki[0], conf)


def flood(b: Bastion, source: str, path: str, seconds: float, workers: int = 6) -> list[Reply]:
    """POST ``path`` from ``source`` as fast as ``workers`` connections go, for ``seconds``."""
    deadline = time.monotonic() + seconds

    def work(_index: int) -> list[Reply]:
        client = Client(b, source)
        replies = []
        try:
            while time.monotonic() < deadline and len(replies) < 2000:
                replies.append(client.send("POST", path))
        finally:
            client.close()
        return replies

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [reply for replies in pool.map(work, range(workers)) for reply in replies]


# -- the flood ---------------------------------------------------------------------------------


def test_one_client_flood_reaches_the_api_only_up_to_the_limits(
    tmp_path: Path, pki: tuple[Path, Path, Path], features: NginxFeatures, api: FakeCodeStreamApi
) -> None:
    """The shipped defaults: 20 requests a second, a burst of 50."""
    with bastion(tmp_path, pki, features, api) as b:
        started = time.monotonic()
        replies = flood(b, "127.0.0.2", SLACK, seconds=2.0)
        elapsed = time.monotonic() - started
        statuses = [r.status for r in replies]
        passed = statuses.count(200)
        # The flood is a flood, and nginx refused the excess itself, before the API.
        assert len(replies) >= 200, len(replies)
        assert set(statuses) == {200, 429}
        assert b.reached(SLACK) == passed
        assert 50 <= passed <= 50 + 20 * elapsed + 2, (passed, elapsed)
        refused = [r for r in replies if r.status == 429]
        assert all(r.headers.get("retry-after") == "1" for r in refused)
        assert all(r.headers.get("strict-transport-security") for r in refused)
        # What an admin greps for, in the block's own error log, naming the client.
        log = b.error_log.read_text(encoding="utf-8")
        zone = f'"codestream_bastion_bastion.demo.test_{b.port}_req"'
        limited = re.findall(
            r"\[error\] .*limiting requests, excess: .* by zone "
            + re.escape(zone)
            + r", client: 127\.0\.0\.2",
            log,
        )
        assert (
            len(limited) >= len(refused) // 2
        )  # one line per refusal (some may still be buffered)
        # Other methods never reach the limits nor the API: 405 from nginx, saying what is allowed.
        before = b.reached()
        put = Client(b, "127.0.0.9").send("PUT", SLACK)
        assert (put.status, put.headers.get("allow")) == (405, "GET, POST")
        assert b.reached() == before


def test_ordinary_provider_traffic_is_never_limited(
    tmp_path: Path, pki: tuple[Path, Path, Path], features: NginxFeatures, api: FakeCodeStreamApi
) -> None:
    """Two requests a second on every route from one address, and a burst of retries."""
    with bastion(tmp_path, pki, features, api) as b:
        client = Client(b, "127.0.0.3")
        replies = []
        started = time.monotonic()
        for second in range(5):
            for _twice in range(2):
                replies += [client.send("POST", route) for route in ROUTES]
            # The browser test of the docs, now and then.
            replies.append(client.send("GET", ROUTES[second % 3] + "/"))
            time.sleep(max(0.0, started + second + 1 - time.monotonic()))
        client.close()
        assert [r.status for r in replies if r.status not in (200, 404)] == []
        assert len(replies) == 35
        # Slack retrying 40 deliveries at once from another of its addresses.
        clients = [Client(b, "127.0.0.4") for _ in range(40)]
        barrier = threading.Barrier(40, timeout=10)

        def retry(client: Client) -> int:
            barrier.wait()
            try:
                return client.send("POST", ROUTES[1]).status
            finally:
                client.close()

        with ThreadPoolExecutor(max_workers=40) as pool:
            burst = list(pool.map(retry, clients))
        assert burst == [200] * 40
        assert b.reached() == 35 + 40
        assert "limiting" not in b.error_log.read_text(encoding="utf-8")


def _slow_post(b: Bastion, source: str, context: ssl.SSLContext) -> ssl.SSLSocket:
    """A client that sends a POST's headers and one byte of its 1000-byte body, then waits."""
    raw = socket.create_connection(("127.0.0.1", b.port), 10, source_address=(source, 0))
    tls = context.wrap_socket(raw, server_hostname=HOSTNAME)
    tls.sendall(
        f"POST {SLACK} HTTP/1.1\r\nHost: {HOSTNAME}\r\nContent-Length: 1000\r\n\r\n{{".encode()
    )
    return tls


def _slow_head(b: Bastion, source: str, context: ssl.SSLContext) -> ssl.SSLSocket:
    """A client that never finishes its request headers (slowloris)."""
    raw = socket.create_connection(("127.0.0.1", b.port), 10, source_address=(source, 0))
    tls = context.wrap_socket(raw, server_hostname=HOSTNAME)
    tls.sendall(f"POST {SLACK} HTTP/1.1\r\nHost: {HOSTNAME}\r\n".encode())
    return tls


def _read(tls: ssl.SSLSocket, deadline: float, until: bytes = b"") -> tuple[bytes, bool]:
    """What nginx sent by ``deadline`` (or once ``until`` came), and whether it closed."""
    data = b""
    while time.monotonic() < deadline and not (until and until in data):
        tls.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = tls.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            return data, True
        except OSError:  # the read timed out (socket.timeout: TimeoutError from 3.10 on)
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_slow_clients_are_cut_off_without_starving_others(
    tmp_path: Path, pki: tuple[Path, Path, Path], features: NginxFeatures, api: FakeCodeStreamApi
) -> None:
    with bastion(tmp_path, pki, features, api, connections_per_client=5) as b:
        context = ssl.create_default_context(cafile=str(b.trust))
        started = time.monotonic()
        slow_heads = [_slow_head(b, "127.0.0.5", context) for _ in range(5)]
        held = [_slow_post(b, "127.0.0.5", context) for _ in range(5)]
        time.sleep(0.3)  # nginx has read their headers: 5 requests in progress
        # The same client's next requests are refused at once, before the API.
        extra = [_slow_post(b, "127.0.0.5", context) for _ in range(5)]
        for tls in extra:
            answer, _closed = _read(tls, time.monotonic() + 3, until=b"\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 429"), answer[:80]
            assert b"\r\nRetry-After: 1\r\n" in answer
        # Everybody else is served at once meanwhile.
        other = Client(b, "127.0.0.6")
        replies = [other.send("POST", route) for route in ROUTES for _ in range(3)]
        other.close()
        assert [r.status for r in replies] == [200] * 9
        assert max(r.seconds for r in replies) < 3.0  # starved would be 10 s, the timeouts
        # And the slow ones are cut off by the header and body timeouts (10 s).
        deadline = started + 14
        for tls in slow_heads + held + extra:
            assert _read(tls, deadline)[1], "a slow client is still connected"
            tls.close()
        assert time.monotonic() - started < 14
        assert "limiting connections by zone" in b.error_log.read_text(encoding="utf-8")
        assert b.reached(SLACK) == 3  # the slow POSTs never reached the API


def test_the_limits_are_off_when_set_to_0(
    tmp_path: Path, pki: tuple[Path, Path, Path], features: NginxFeatures, api: FakeCodeStreamApi
) -> None:
    with bastion(
        tmp_path, pki, features, api, requests_per_second=0, connections_per_client=0
    ) as b:
        assert not re.search(r"limit_(req|conn)", b.conf)

        # 150 requests at once from one address: the default limits would let 50
        # through at once, then 20 a second (5 seconds for all), refusing the rest.
        def send_25(_worker: int) -> list[Reply]:
            client = Client(b, "127.0.0.7")
            try:
                return [client.send("POST", SLACK) for _ in range(25)]
            finally:
                client.close()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            replies = [reply for sent in pool.map(send_25, range(6)) for reply in sent]
        elapsed = time.monotonic() - started
        assert [r.status for r in replies] == [200] * 150
        assert b.reached(SLACK) == 150
        assert elapsed < 5.0, "too slow to tell: the default limits would have passed them too"


# -- the layouts -------------------------------------------------------------------------------


def _place_two_blocks(
    directory: Path, answers: Answers, features: NginxFeatures, logs: Path
) -> list[Path]:
    """Two blocks of this tool (another port, another name) and the admin's own zones."""
    first = render_block(answers, features, logs)
    other = answers.copy()
    other.bastion.listen_port = free_port()
    second = render_block(other, features, logs)
    assert first.count("limit_req_zone") == second.count("limit_req_zone") == 1
    paths = [directory / "codestream-bastion.conf", directory / "codestream-bastion-2.conf"]
    paths[0].write_text(first, encoding="utf-8")
    paths[1].write_text(second, encoding="utf-8")
    return paths


ADMIN_ZONES = (
    "limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;\n"
    "limit_conn_zone $binary_remote_addr zone=addr:10m;\n"
)


def _layout(request: pytest.FixtureRequest, layout: str, tmp_path: Path) -> tuple[Path, Path]:
    """(the nginx root, the directory its http block includes blocks from) of ``layout``."""
    if layout == "debian":
        return request.getfixturevalue("debian").root, Path("sites-available")
    if layout == "conf.d":
        return request.getfixturevalue("rhel").root, Path("conf.d")
    from tests.integration.test_rhel_layout import make_rhel_root

    _trust, cert, key = request.getfixturevalue("pki")
    root = tmp_path / "rhel-root"
    make_rhel_root(root, (cert.read_bytes(), key.read_bytes()))
    return root / "etc/nginx", Path("conf.d")


@pytest.mark.parametrize("layout", ["debian", "conf.d", "rhel9"])
async def test_nginx_t_passes_on_each_layout_with_two_blocks_and_the_admins_zones(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pki: tuple[Path, Path, Path],
    features: NginxFeatures,
    layout: str,
) -> None:
    root, blocks = _layout(request, layout, tmp_path)
    answers = make_answers(pki, free_port(), free_port())
    placed = _place_two_blocks(root / blocks, answers, features, tmp_path)
    if layout == "debian":
        for path in placed:
            (root / "sites-enabled" / path.name).symlink_to(path)
    (root / "conf.d").mkdir(exist_ok=True)
    (root / "conf.d" / "admin-zones.conf").write_text(ADMIN_ZONES, encoding="utf-8")
    result = await config_test(require_nginx(), root)
    assert result.ok, result.output
    # Control: the same block twice binds its zones twice, which nginx refuses.
    twice = root / "conf.d" / "twice.conf"
    twice.write_text(placed[0].read_text(encoding="utf-8"), encoding="utf-8")
    refused = await config_test(require_nginx(), root)
    assert not refused.ok
    assert "codestream_bastion_bastion.demo.test_" in refused.output, refused.output
    assert "is already bound" in refused.output, refused.output


# -- the Teams route from Microsoft's ranges only ------------------------------------------------


def test_teams_source_azure_lets_only_the_listed_ranges_reach_the_teams_route(
    tmp_path: Path, pki: tuple[Path, Path, Path], features: NginxFeatures, api: FakeCodeStreamApi
) -> None:
    ranges = tmp_path / "teams-ranges.txt"
    ranges.write_text("127.0.0.8/32\n\n127.0.1.0/24\n", encoding="utf-8")
    os.chmod(ranges, 0o644)
    teams = ROUTES[2]
    with bastion(tmp_path, pki, features, api, teams_source="azure", teams_ranges=str(ranges)) as b:
        assert b.conf.count('allow "127.0.0.8/32";') == 2  # the route, with and without "/"
        outsider, microsoft, itself = (
            Client(b, a) for a in ("127.0.0.9", "127.0.0.8", "127.0.0.1")
        )
        denied = outsider.send("POST", teams)
        assert denied.status == 403
        assert b.reached(teams) == 0
        assert outsider.send("POST", SLACK).status == 200  # Slack's routes stay open
        assert microsoft.send("POST", teams).status == 200
        assert itself.send("GET", teams + "/").status == 404  # the proof's Express page
        assert b.reached(teams) == 2
        for client in (outsider, microsoft, itself):
            client.close()
