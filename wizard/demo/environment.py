"""The demo: a whole bastion story on loopback, with nothing set up beforehand.

:class:`DemoFiles` lays out everything a real bastion would have on disk (a
trust store, a good certificate in Let's Encrypt's layout, a few bad ones for
the wizard to find and reject, the API's private CA) and an answers file.
:class:`DemoEnvironment` starts the servers that stand in for the network: a
"local" resolver that knows the internal API name, a "public" resolver that
only knows the bastion's name (split horizon, as in real companies), and the
fake CodeStream API over HTTPS. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wizard.answers import Answers, AnswersError, load_answers, save_answers
from wizard.checks.context import CheckContext
from wizard.demo.service import Service
from wizard.fsutil import atomic_write

if TYPE_CHECKING:
    from wizard.demo.dns_server import DnsServer
    from wizard.demo.fake_api import FakeCodeStreamApi

DEMO_HOSTNAME = "bastion.demo.test"
DEMO_API_HOST = "codestream.demo.test"
DEMO_ADDRESS = "127.0.0.1"


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
        return self.root / "answers.toml"

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
        return CheckContext(
            nameservers=(self.local_dns.nameserver,),
            public_nameservers=(self.public_dns.nameserver,),
            ca_bundle=self.files.trust_bundle,
            timeout=self.timeout,
            lab=True,
            nginx_root=self.files.nginx_root,
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


def run_demo(*, check_only: bool, directory: Path | None, as_json: bool, timeout: float) -> int:
    """The ``demo`` command: the wizard, or with ``check_only`` the headless check.

    Returns:
        The exit status (0 when no check failed).
    """
    import asyncio

    from wizard.engine import run_checks
    from wizard.findings import has_failure
    from wizard.report import print_findings

    with running_demo(directory, timeout) as (env, answers_path):
        if not check_only:
            from wizard.tui.app import run_demo_wizard

            return run_demo_wizard(env, answers_path)
        answers = load_answers(answers_path)
        findings = asyncio.run(run_checks(answers, env.context()))
        print_findings(findings, sys.stdout, as_json=as_json)
        if not as_json:
            print(
                f"\nDemo answers: {answers_path}"
                + (
                    "\nTo try other choices: run again with --dir DIR, edit DIR/answers.toml "
                    "(e.g. point certificate and private_key at DIR/letsencrypt/live/"
                    "bastion-expired or wrong-host), and run the same command once more."
                    if directory is None
                    else "\nEdit it and run the same command again to see the checks react."
                )
            )
        return 1 if has_failure(findings) else 0
