"""A RHEL-family bastion end to end, with the real nginx: render, apply, start, prove.

The tree is RHEL 9's own ``/etc/nginx/nginx.conf`` (the one ``dnf install
nginx`` leaves; Rocky, Alma, Fedora and Amazon Linux 2023 ship the same
layout) laid out under a temporary root: ``conf.d`` only (no
``sites-available``/``sites-enabled``), the certificate and key under
``/etc/pki/tls/{certs,private}``, ``user nginx``, ``pid /run/nginx.pid`` and
logs under ``/var/log/nginx``. Each absolute path gets the temporary root in
front; nothing else of the file changes except what cannot run here, named
in :func:`rhel_nginx_conf`.

The check engine finds the conf.d layout, the Installer renders and writes the
block into ``conf.d``, the tree's nginx master is started the host's way
(:mod:`wizard.nginx.master`), reloaded by ``apply``, and the post-install
proxy test passes through it to the fake CodeStream API. On a stopped tree,
``apply`` starts nginx itself (:mod:`wizard.install.start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pwd
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_proxy_e2e import SIGNING_SECRET, SLACK_APP_ID, TEAMS_APP_ID
from tests.nginx_harness import free_port, require_nginx
from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.proxy import check_proxy
from wizard.demo.bot_routes import BotSettings
from wizard.demo.ca import TestCA, key_pem
from wizard.demo.dns_server import DnsServer
from wizard.demo.fake_api import FakeCodeStreamApi
from wizard.demo.nginx import _worker_user
from wizard.engine import run_checks
from wizard.fsutil import atomic_write
from wizard.install import Installer
from wizard.nginx import detect_nginx_features, run_command
from wizard.nginx.master import (
    compiled_paths,
    master_state,
    pid_file,
    start_argv,
    wait_for_master,
)

pytestmark = pytest.mark.nginx

HOSTNAME = "bastion.demo.test"
API_HOST = "codestream.demo.test"

# RHEL 9's /etc/nginx/nginx.conf (package nginx-1.20), verbatim but for the
# {placeholders}: {root} in front of every absolute path, {user}, {listen}.
RHEL9_NGINX_CONF = """\
# For more information on configuration, see:
#   * Official English Documentation: http://nginx.org/en/docs/
#   * Official Russian Documentation: http://nginx.org/ru/docs/

{user}
worker_processes auto;
error_log {root}/var/log/nginx/error.log;
pid {root}/run/nginx.pid;

# Load dynamic modules. See /usr/share/doc/nginx/README.dynamic.
include {root}/usr/share/nginx/modules/*.conf;

events {{
    worker_connections 1024;
}}

http {{
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  {root}/var/log/nginx/access.log  main;

    sendfile            on;
    tcp_nopush          on;
    keepalive_timeout   65;
    types_hash_max_size 4096;

    include             {root}/etc/nginx/mime.types;
    default_type        application/octet-stream;
{temp_paths}
    # Load modular configuration files from the /etc/nginx/conf.d directory.
    # See http://nginx.org/en/docs/ngx_core_module.html#include
    # for more information.
    include {root}/etc/nginx/conf.d/*.conf;

    server {{
        listen       {listen};
        server_name  _;
        root         {root}/usr/share/nginx/html;

        # Load configuration files for the default server block.
        include {root}/etc/nginx/default.d/*.conf;

        error_page 404 /404.html;
        location = /404.html {{
        }}

        error_page 500 502 503 504 /50x.html;
        location = /50x.html {{
        }}
    }}
}}
"""


def rhel_nginx_conf(root: Path, default_port: int) -> str:
    """RHEL 9's nginx.conf under ``root``, with the three changes this machine needs.

    - ``user nginx;`` stays when the ``nginx`` user exists or when not root (nginx
      ignores ``user`` then); as root on a host without that user (Debian), the
      workers run as ``nobody`` instead: nginx refuses an unknown user.
    - The default server listens on a free loopback port instead of 80 and [::]:80.
    - The temp paths, compiled into RHEL's nginx as /var/lib/nginx/tmp/*, are
      written out under the root so this nginx (compiled elsewhere) keeps them there.
    """
    try:
        pwd.getpwnam("nginx")
        user = "user nginx;"
    except KeyError:
        user = _worker_user().strip() or "user nginx;"
    temp = root / "var/lib/nginx/tmp"
    temp_paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return RHEL9_NGINX_CONF.format(
        root=root, user=user, listen=f"127.0.0.1:{default_port}", temp_paths=temp_paths
    )


@dataclasses.dataclass
class Rhel:
    """The RHEL root and the servers standing in for the network."""

    root: Path
    binary: str
    dns: DnsServer
    api: FakeCodeStreamApi
    trust: Path
    api_ca: Path
    port: int

    @property
    def nginx_root(self) -> Path:
        return self.root / "etc/nginx"

    @property
    def certificate(self) -> Path:
        return self.root / f"etc/pki/tls/certs/{HOSTNAME}.crt"

    @property
    def private_key(self) -> Path:
        return self.root / f"etc/pki/tls/private/{HOSTNAME}.key"

    @property
    def log_dir(self) -> Path:
        return self.root / "var/log/nginx"

    def answers(self) -> Answers:
        a = Answers(mode="slack+msteams")
        a.bastion.hostname = HOSTNAME
        a.bastion.public_ip = "127.0.0.1"
        a.bastion.certificate = str(self.certificate)
        a.bastion.private_key = str(self.private_key)
        a.bastion.listen_port = self.port
        a.codestream.api_url = f"https://{API_HOST}:{self.api.port}"
        a.codestream.upstream_ca = str(self.api_ca)
        a.slack.app_id, a.slack.signing_secret = SLACK_APP_ID, SIGNING_SECRET
        a.msteams.app_id = TEAMS_APP_ID
        return a

    def ctx(self) -> CheckContext:
        return CheckContext(
            nameservers=(self.dns.nameserver,),
            public_nameservers=(self.dns.nameserver,),
            ca_bundle=self.trust,
            timeout=3.0,
            lab=True,
            nginx_root=self.nginx_root,
            interface_addresses=("127.0.0.1",),
        )

    def installer(self) -> Installer:
        features = dataclasses.replace(detect_nginx_features(self.binary), listen_ipv6=False)
        return Installer(
            self.answers(),
            self.ctx(),
            features=features,
            resolvers=[str(self.dns.nameserver)],
            ca_bundle=None,
            systemd=False,  # a tree under a temporary root is never the systemd unit's
            output_dir=self.root / "root",  # where an admin would run it: root's home
            log_dir=str(self.log_dir),
        )


def make_rhel_root(root: Path, issued_pem: tuple[bytes, bytes]) -> None:
    """Lay out what ``dnf install nginx`` leaves, plus a certificate in /etc/pki/tls."""
    for sub in (
        "etc/nginx/conf.d",
        "etc/nginx/default.d",
        "etc/pki/tls/certs",
        "etc/pki/tls/private",
        "run",
        "usr/share/nginx/html",
        "usr/share/nginx/modules",
        "var/lib/nginx/tmp",
        "var/log/nginx",
        "root",
    ):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "var/log/nginx", 0o711)  # noqa: S103 (as RHEL's package leaves it)
    mime = Path("/etc/nginx/mime.types")
    types = mime.read_bytes() if mime.is_file() else b"types { text/html html; }\n"
    atomic_write(root / "etc/nginx/mime.types", types)
    atomic_write(root / "etc/nginx/nginx.conf", rhel_nginx_conf(root, free_port()).encode())
    cert, key = issued_pem
    atomic_write(root / f"etc/pki/tls/certs/{HOSTNAME}.crt", cert, 0o644)
    atomic_write(root / f"etc/pki/tls/private/{HOSTNAME}.key", key, 0o600)


@pytest.fixture
def rhel(tmp_path: Path) -> Iterator[Rhel]:
    binary = require_nginx()
    public_ca = TestCA("RHEL Public")
    trust = public_ca.write_root(tmp_path / "trust.pem")
    issued = public_ca.issue([HOSTNAME])
    api_ca = TestCA("RHEL Company Internal")
    api_ca_file = api_ca.write_root(tmp_path / "api-ca.pem")
    api_cert, api_key = api_ca.issue([API_HOST]).write(tmp_path / "api", "api")
    root = tmp_path / "rhel-root"
    make_rhel_root(root, (issued.fullchain_pem(), key_pem(issued.key)))
    zone = {HOSTNAME: [("A", "127.0.0.1")], API_HOST: [("A", "127.0.0.1")]}
    with DnsServer(zone) as dns, FakeCodeStreamApi(api_cert, api_key) as api:
        api.bot = BotSettings(SIGNING_SECRET, SLACK_APP_ID, TEAMS_APP_ID)
        yield Rhel(root, binary, dns, api, trust, api_ca_file, free_port())
    # Stop the master this test started (found through the tree's own pid file).
    state = master_state(root / "run/nginx.pid")
    if state.running and state.pid is not None:
        os.kill(state.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            for _ in range(100):
                if not master_state(root / "run/nginx.pid").running:
                    break
                time.sleep(0.05)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


async def _until_listening(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not _accepts(port):
        assert time.monotonic() < deadline, f"nothing listens on 127.0.0.1:{port}"
        await asyncio.sleep(0.05)


async def test_rhel_tree_checks_renders_applies_starts_and_proves(rhel: Rhel) -> None:
    # 1. The checks see RHEL's layout: conf.d only, and everything passes.
    findings = await run_checks(rhel.answers(), rhel.ctx())
    failures = [f for f in findings if f.status == "fail"]
    assert failures == []
    layout = next(f for f in findings if f.code == "nginx.layout")
    assert layout.title == f"conf.d layout: {rhel.nginx_root}/conf.d/codestream-bastion.conf"
    assert {f.code for f in findings} >= {"cert.ok", "key.ok", "upstream.ok", "nginx.config_test"}
    assert "key.permissions" not in {f.code for f in findings}  # root 0600 in /etc/pki/tls/private
    # SELinux is not on this machine: the check says so rather than guessing.
    assert [(f.code, f.status) for f in findings if f.area == "selinux"] == [
        ("selinux.absent", "skip")
    ]

    # 2. Render: one file in conf.d, no link, RHEL's paths in it.
    installer = rhel.installer()
    plan = installer.plan()
    block = rhel.nginx_root / "conf.d/codestream-bastion.conf"
    assert [f.path for f in plan.files if f.path.suffix == ".conf"] == [block]
    assert plan.links == ()
    text = next(f for f in plan.files if f.path == block).content.decode()
    assert f'ssl_certificate "{rhel.certificate}";' in text
    assert f'ssl_certificate_key "{rhel.private_key}";' in text
    assert f'error_log "{rhel.log_dir}/codestream-bastion.error.log";' in text
    assert f'access_log "{rhel.log_dir}/codestream-bastion.access.log" combined;' in text

    # 3. Start the tree's master the host's way (apply would too: the test below).
    compiled = await compiled_paths(rhel.binary)
    pid_path = pid_file(rhel.nginx_root, compiled)
    assert pid_path == rhel.root / "run/nginx.pid"
    assert not master_state(pid_path).running
    argv = await start_argv(rhel.binary, rhel.nginx_root)
    started = await run_command(argv, 15.0)
    assert started.ok, started.output
    assert (await wait_for_master(pid_path)).running

    # 4. Apply: written into conf.d, nginx -t, reloaded through /run/nginx.pid.
    result = await installer.apply(plan)
    assert result.ok, result
    assert block.is_file()
    assert not block.is_symlink()
    assert "-s reload" in result.reload
    await _until_listening(rhel.port)

    # 5. The post-install proof through the bastion, and its log under /var/log/nginx.
    proof = await check_proxy(rhel.answers(), rhel.ctx())
    assert [f for f in proof if f.status != "ok"] == []
    assert "proxy.ok" in {f.code for f in proof}
    assert (rhel.log_dir / "codestream-bastion.access.log").stat().st_size > 0


async def test_apply_on_a_stopped_rhel_tree_starts_nginx(rhel: Rhel) -> None:
    pid_path = rhel.root / "run/nginx.pid"
    pid_path.write_text("")  # what a stopped, never-started nginx leaves behind
    installer = rhel.installer()
    plan = await installer.make_plan()
    assert plan.start is not None  # said before anything is written
    assert plan.start.argv == (rhel.binary, "-c", f"{rhel.nginx_root}/nginx.conf", "-p",
                               f"{rhel.nginx_root}/")  # fmt: skip
    result = await installer.apply(plan)
    assert result.ok, result
    assert (result.started, result.reloaded) == (True, False)
    assert master_state(pid_path).running
    await _until_listening(rhel.port)
    proof = await check_proxy(rhel.answers(), rhel.ctx())
    assert "proxy.ok" in {f.code for f in proof}
