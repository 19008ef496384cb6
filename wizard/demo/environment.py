"""The demo: a whole bastion story on loopback, with nothing set up beforehand.

:class:`DemoFiles` lays out everything a real bastion would have on disk (a
trust store, a good certificate in Let's Encrypt's layout, a few bad ones for
the wizard to find and reject, the API's private CA) and an answers file.
:class:`DemoEnvironment` starts the servers that stand in for the network: a
"local" resolver that knows the internal API name, a "public" resolver that
only knows the bastion's name (split horizon, as in real companies), and the
fake CodeStream API over HTTPS. Nothing listens beyond 127.0.0.1.

The demo wizard paints first and builds all that afterwards:
:func:`demo_answers` writes the answers without starting anything (they only
name paths and ports), and :class:`DemoLauncher` makes the certificates and
starts the servers (in a child process, :mod:`wizard.demo.serve`) and the
demo's nginx in a worker thread while the admin reads the Welcome screen.
What the demo prints at the end is decided after its directory is gone, so
it says what is really left (:func:`demo_farewell`).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wizard.answers import Answers, AnswersError, load_answers, save_answers
from wizard.checks.context import CheckContext
from wizard.constants import ANSWERS_NAME
from wizard.demo.service import Service
from wizard.fsutil import atomic_write

if TYPE_CHECKING:
    from wizard.demo.dns_server import DnsServer
    from wizard.demo.fake_api import FakeCodeStreamApi
    from wizard.demo.nginx import DemoNginx

DEMO_HOSTNAME = "bastion.demo.test"
DEMO_API_HOST = "codestream.demo.test"
DEMO_ADDRESS = "127.0.0.1"
DEMO_SLACK_APP_ID = "A0DEMOAPP01"
DEMO_SIGNING_SECRET = "demo0signing0secret0not0for0use1"  # noqa: S105 (the demo's, on loopback)
DEMO_TEAMS_APP_ID = "00000000-0000-4000-8000-00000000de70"
"""The demo's Slack app and Teams bot: its fake API holds them, its answers name them,
so the Test step runs the signed proof for real."""


def free_port(host: str = DEMO_ADDRESS) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class DemoFiles:
    """Where the demo keeps its files, all under one directory."""

    root: Path

    @property
    def answers(self) -> Path:
        """The demo answers file (edit it to try other choices)."""
        return self.root / ANSWERS_NAME

    @property
    def trust_bundle(self) -> Path:
        """The demo's stand-in for the public CA trust store."""
        return self.root / "trust" / "demo-public-roots.pem"

    @property
    def certs(self) -> Path:
        """Certificates, one folder each, in Let's Encrypt's ``live`` layout."""
        return self.root / "letsencrypt" / "live"

    @property
    def api_dir(self) -> Path:
        """The fake API's certificate, key and private CA."""
        return self.root / "api"

    @property
    def nginx_root(self) -> Path:
        """A scratch nginx configuration tree for the install step."""
        return self.root / "nginx"

    def cert_pair(self, name: str) -> tuple[Path, Path]:
        """``fullchain.pem`` and ``privkey.pem`` of the certificate folder ``name``."""
        return self.certs / name / "fullchain.pem", self.certs / name / "privkey.pem"

    def prepare(self) -> None:
        """Create every file that is missing (an existing demo directory is reused)."""
        from wizard.demo.nginx import DemoNginx

        DemoNginx(self.nginx_root, "nginx").prepare()
        if self.trust_bundle.exists() and (self.api_dir / "api-ca.pem").exists():
            return
        from wizard.demo.ca import TestCA, key_pem

        public_ca = TestCA("Demo Public")
        public_ca.write_root(self.trust_bundle)
        issues = {
            DEMO_HOSTNAME: public_ca.issue([DEMO_HOSTNAME]),
            "bastion-expired": public_ca.issue([DEMO_HOSTNAME], expired=True),
            "bastion-self-signed": public_ca.issue([DEMO_HOSTNAME], self_signed=True),
            "wrong-host": public_ca.issue(["www.other.test"]),
        }
        for folder, issued in issues.items():
            cert, key = self.cert_pair(folder)
            cert.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cert, issued.fullchain_pem())
            atomic_write(key, key_pem(issued.key), 0o600)
        api_ca = TestCA("Demo Company Internal")
        api_ca.write_root(self.api_dir / "api-ca.pem")
        api_ca.issue([DEMO_API_HOST]).write(self.api_dir, "api")

    def default_answers(self, api_port: int, listen_port: int) -> Answers:
        """Answers that pass every check in the demo environment."""
        answers = Answers(mode="slack+msteams")
        cert, key = self.cert_pair(DEMO_HOSTNAME)
        answers.bastion.hostname = DEMO_HOSTNAME
        answers.bastion.public_ip = DEMO_ADDRESS
        answers.bastion.certificate = str(cert)
        answers.bastion.private_key = str(key)
        answers.bastion.listen_port = listen_port
        answers.codestream.api_url = f"https://{DEMO_API_HOST}:{api_port}"
        answers.codestream.upstream_ca = str(self.api_dir / "api-ca.pem")
        answers.slack.app_id = DEMO_SLACK_APP_ID
        answers.slack.signing_secret = DEMO_SIGNING_SECRET
        answers.msteams.app_id = DEMO_TEAMS_APP_ID
        return answers


class DemoEnvironment(Service):
    """The simulated network: two resolvers and the fake API, on loopback.

    Args:
        files: The demo directory.
        timeout: Per-operation timeout for the checks.
        api_port: Port for the fake API (0: any free one).
    """

    def __init__(self, files: DemoFiles, *, timeout: float = 3.0, api_port: int = 0) -> None:
        self.files = files
        self.timeout = timeout
        self.api_port = api_port
        self.local_dns: DnsServer | None = None
        self.public_dns: DnsServer | None = None
        self.api: FakeCodeStreamApi | None = None

    def start(self) -> DemoEnvironment:
        """Start the servers (idempotent files first)."""
        from wizard.demo.bot_routes import BotSettings
        from wizard.demo.dns_server import DnsServer
        from wizard.demo.fake_api import FakeCodeStreamApi

        self.files.prepare()
        self.local_dns = DnsServer(
            {
                DEMO_HOSTNAME: [("A", DEMO_ADDRESS)],
                DEMO_API_HOST: [("A", DEMO_ADDRESS)],
            }
        )
        self.public_dns = DnsServer({DEMO_HOSTNAME: [("A", DEMO_ADDRESS)]})
        self.api = FakeCodeStreamApi(
            self.files.api_dir / "api.crt", self.files.api_dir / "api.key", port=self.api_port
        )
        self.api.bot = BotSettings(DEMO_SIGNING_SECRET, DEMO_SLACK_APP_ID, DEMO_TEAMS_APP_ID)
        for server in (self.local_dns, self.public_dns, self.api):
            server.start()
        return self

    def stop(self) -> None:
        """Stop every server that was started."""
        for server in (self.api, self.public_dns, self.local_dns):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()

    def context(self) -> CheckContext:
        """A check context whose every resolver and trust store is the demo's."""
        if self.local_dns is None or self.public_dns is None:
            raise RuntimeError("the demo environment is not started")
        local, public = str(self.local_dns.nameserver), str(self.public_dns.nameserver)
        return demo_context(self.files, self.timeout, local, public)

    def cli_options(self, timeout: float = 3.0) -> list[str]:
        """The headless commands' options that point them at this demo (``check``/``apply``).

        Args:
            timeout: The ``--timeout`` to pass.
        """
        ctx = self.context()
        return [
            "--dns-server", str(ctx.nameservers[0]),
            "--public-dns", str(ctx.public_nameservers[0]),
            "--ca-bundle", str(ctx.ca_bundle),
            "--nginx-root", str(ctx.nginx_root),
            "--lab", "--timeout", f"{timeout:g}",
        ]  # fmt: skip


class DemoLauncher:
    """Builds and starts the demo environment and its nginx, off the event loop.

    :meth:`start` blocks (certificates, servers, an nginx master): the wizard
    runs it in a worker thread after its first paint. :meth:`stop` may come
    at any time, even while :meth:`start` is still running (the admin left
    at once, or the SSH session dropped): it waits for the start to end, then
    stops everything, so nothing is left running.

    Args:
        files: The demo directory (its answers already written, see :func:`demo_answers`).
        timeout: Per-operation timeout for the checks.
        api_port: The port the answers expect the fake API on.
    """

    def __init__(self, files: DemoFiles, *, timeout: float, api_port: int) -> None:
        self.files = files
        self.timeout = timeout
        self.api_port = api_port
        self.env: ServedWorld | None = None
        self.nginx: DemoNginx | None = None
        self.nginx_usable = True
        """Until :meth:`start` knows better: nginx is found and started there."""
        self.nginx_note = ""
        self._lock = threading.Lock()
        self._stopped = False
        self._done = threading.Event()
        self._done.set()

    def placeholder_context(self) -> CheckContext:
        """The context before the servers run: lab mode and the demo's paths, no resolvers."""
        return CheckContext(
            ca_bundle=self.files.trust_bundle,
            timeout=self.timeout,
            lab=True,
            nginx_root=self.files.nginx_root,
        )

    def start(self) -> CheckContext:
        """Make the files, start the servers (in a child) and nginx; the checks' context.

        The servers run in ``python -m wizard.demo.serve`` (:mod:`wizard.demo.serve`),
        so the wizard's process does not hold them. A failing nginx is not fatal:
        :attr:`nginx` becomes ``None`` and :attr:`nginx_note` says why (Install
        and Test are then skipped).

        Raises:
            RuntimeError: When the launcher was stopped first.
            OSError: When the servers cannot start (the message says why).
        """
        from wizard.demo.nginx import start_demo_nginx

        with self._lock:
            if self._stopped:
                raise RuntimeError("the demo was left before its environment started")
            self._done.clear()
        try:
            self.env = ServedWorld.start(self.files, self.api_port)
            ctx = demo_context(self.files, self.timeout, self.env.local, self.env.public)
            self.nginx, self.nginx_note = start_demo_nginx(ctx.nginx_root, ctx.nginx_binary)
            self.nginx_usable = self.nginx is not None
            return ctx
        finally:
            self._done.set()

    def stop(self) -> None:
        """Stop nginx and the servers (after a running :meth:`start` ends); never raises."""
        with self._lock:
            self._stopped = True
        self._done.wait(timeout=120)
        if self.nginx is not None:
            self.nginx.stop()
        if self.env is not None:
            self.env.stop()


@dataclass
class ServedWorld:
    """The demo's servers running in a child process (:mod:`wizard.demo.serve`).

    Attributes:
        process: The child; it serves until its stdin is closed.
        local: The bastion's own resolver (``ADDR:PORT``).
        public: The resolver standing for the internet (``ADDR:PORT``).
    """

    process: subprocess.Popen[bytes]
    local: str
    public: str

    @classmethod
    def start(cls, files: DemoFiles, api_port: int) -> ServedWorld:
        """Start the child and wait until it serves.

        Raises:
            OSError: When it cannot start; the message says why (and where its log is).
        """
        import json
        import sys

        log = files.root / "demo-servers.log"
        with log.open("ab") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "wizard.demo.serve", str(files.root), str(api_port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        assert process.stdout is not None
        line = process.stdout.readline()
        try:
            ready = json.loads(line) if line else {}
        except ValueError:
            ready = {}
        if "local" not in ready:
            world = cls(process, "", "")
            world.stop()
            why = ready.get("error") or f"it stopped at once (see {log})"
            raise OSError(f"the demo's servers could not start: {why}")
        return cls(process, ready["local"], ready["public"])

    def stop(self) -> None:
        """Close the child's stdin (it stops its servers and exits); kill it if it lingers."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def demo_context(files: DemoFiles, timeout: float, local: str, public: str) -> CheckContext:
    """A check context whose every resolver and trust store is the demo's."""
    from wizard.probes.dns import parse_nameserver

    return CheckContext(
        nameservers=(parse_nameserver(local),),
        public_nameservers=(parse_nameserver(public),),
        ca_bundle=files.trust_bundle,
        timeout=timeout,
        lab=True,
        nginx_root=files.nginx_root,
    )


def demo_answers(files: DemoFiles, ports: tuple[int, int] | None = None) -> tuple[Path, int]:
    """The demo answers (written when missing) and the fake API's port; nothing is started.

    Args:
        files: The demo directory.
        ports: The fake API's port and nginx's listen port for new answers
            (``demo --web`` hands each session ports no other session holds);
            ``None``: ports free now.

    Returns:
        The answers file and the port its API URL names (0: any free one).
    """
    if files.answers.exists():
        return files.answers, _api_port_from(files.answers)
    api_port, listen_port = ports if ports is not None else (free_port(), free_port())
    # A demo's answers need no flush to disk, and the flush delayed its first frame.
    save_answers(files.default_answers(api_port, listen_port), files.answers, durable=False)
    return files.answers, api_port


def demo_farewell(*, kept: Path | None, removed: Path, finished: bool, stopped_at: str) -> str:
    """The demo's last words, from what is on disk after it cleaned up.

    Args:
        kept: ``--dir``: the directory the files stay in; ``None`` for a temporary one.
        removed: The temporary directory that was to be removed.
        finished: The wizard was completed.
        stopped_at: The title of the step it was left at.
    """
    where = "finished" if finished else f"left at '{stopped_at}'"
    if kept is not None:
        then = (
            "the answers and generated files are there"
            if finished
            else "run it again with the same --dir to resume"
        )
        return (
            f"codestream-bastion demo: {where}. Its servers and nginx are stopped; its files "
            f"are kept in {kept} ({then}: codestream-bastion demo --dir {kept})."
        )
    if removed.exists():
        return (
            f"codestream-bastion demo: {where}. Its servers and nginx are stopped, but its "
            f"directory {removed} could not be removed entirely: delete it by hand."
        )
    return (
        f"codestream-bastion demo: {where}. Its servers and nginx are stopped and its "
        f"temporary files removed (keep them next time with --dir DIR)."
    )


def _api_port_from(answers_path: Path) -> int:
    """The port the (possibly edited) demo answers expect the fake API on."""
    try:
        answers = load_answers(answers_path)
    except AnswersError:
        return 0
    return urlsplit(answers.codestream.api_url).port or 0


@contextlib.contextmanager
def demo_directory(directory: Path | None) -> Iterator[DemoFiles]:
    """The given directory (kept), or a temporary one removed on exit."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        yield DemoFiles(directory.resolve())
        return
    tmp = Path(tempfile.mkdtemp(prefix="codestream-bastion-demo-"))
    try:
        yield DemoFiles(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def running_demo(directory: Path | None, timeout: float) -> Iterator[tuple[DemoEnvironment, Path]]:
    """Files laid out, servers running, answers written: ``(environment, answers path)``."""
    with demo_directory(directory) as files:
        port = _api_port_from(files.answers) if files.answers.exists() else 0
        with DemoEnvironment(files, timeout=timeout, api_port=port) as env:
            if not files.answers.exists():
                assert env.api is not None
                answers = files.default_answers(env.api.port, free_port())
                save_answers(answers, files.answers)
            yield env, files.answers
