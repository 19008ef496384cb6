"""``apply`` and the Installer against real nginx trees (temporary copies only).

Two trees: a copy of this host's Debian ``/etc/nginx`` (``sites-available`` +
``sites-enabled``), adapted to run under a temporary prefix, and a RHEL-style
tree that only includes ``conf.d/*.conf``. Every test compares whole trees by
sha256, mode and symlink target: a rollback must leave them byte-identical.
The system nginx and ``/etc/nginx`` are never touched, and ``systemctl`` is
never run (``systemd=False`` or an injected reload command everywhere).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import os
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nginx_harness import NginxHarness, free_port, require_nginx
from wizard.answers import Answers, save_answers
from wizard.checks.context import CheckContext
from wizard.checks.nginx import _version_finding, check_nginx
from wizard.commands.apply import run_apply
from wizard.demo.ca import TestCA
from wizard.install import Installer, InstallError
from wizard.nginx import (
    Layout,
    LayoutError,
    NginxFeatures,
    detect_layout,
    detect_nginx_features,
    find_conflicting_server_blocks,
    parse_config,
)

HOSTNAME = "bastion.demo.test"
API_HOST = "codestream.demo.test"
SYSTEM_TREE = Path("/etc/nginx")
DEBIAN_PREFIX = "/usr/share/nginx"

Snapshot = dict[str, tuple[str, str, int]]


# -- helpers -----------------------------------------------------------------------------------


def snapshot(*roots: Path) -> Snapshot:
    """Every entry under ``roots``: (kind, sha256 or link target, mode)."""
    entries: Snapshot = {}
    for root in roots:
        if not root.exists():
            continue
        for directory, dirnames, filenames in os.walk(root):
            for name in sorted(dirnames + filenames):
                path = Path(directory) / name
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    entries[str(path)] = ("link", os.readlink(path), 0)
                elif stat.S_ISDIR(st.st_mode):
                    entries[str(path)] = ("dir", "", stat.S_IMODE(st.st_mode))
                else:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    entries[str(path)] = ("file", digest, stat.S_IMODE(st.st_mode))
    return entries


def _quote(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_debian_tree(prefix: Path, default_port: int) -> Path:
    """Copy ``/etc/nginx`` to ``<prefix>/conf`` and make it run under that prefix.

    Absolute ``/etc/nginx/`` paths point into the copy; pid, logs and temp files
    go under the prefix; the default site listens on a free loopback port; the
    relative ``modules/`` of ``load_module`` is made absolute.
    """
    root = prefix / "conf"
    shutil.copytree(SYSTEM_TREE, root, symlinks=True)
    for sub in ("logs", "tmp"):
        (prefix / sub).mkdir(exist_ok=True)
    for link in list((root / "sites-enabled").iterdir()):
        if link.is_symlink():
            target = os.readlink(link)
            if target.startswith(str(SYSTEM_TREE) + "/"):
                link.unlink()
                link.symlink_to(str(root) + target[len(str(SYSTEM_TREE)) :])
    # load_module takes relative paths from the prefix (Debian's is /usr/share/nginx).
    for enabled in list((root / "modules-enabled").glob("*.conf")):
        module = enabled.read_text(encoding="utf-8")
        enabled.unlink()
        enabled.write_text(
            module.replace("load_module modules/", f"load_module {DEBIAN_PREFIX}/modules/"),
            encoding="utf-8",
        )
    text = (root / "nginx.conf").read_text(encoding="utf-8")
    text = text.replace(str(SYSTEM_TREE) + "/", str(root) + "/")
    lines = []
    for line in text.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word in ("pid", "error_log", "user") and line.strip().endswith(";"):
            continue
        if word == "access_log":
            line = f"\taccess_log {_quote(prefix / 'logs' / 'access.log')};"
        lines.append(line)
        if line.strip().startswith("http {"):
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                lines.append(f"\t{kind}_temp_path {_quote(prefix / 'tmp' / kind)};")
    head = [
        "user root root;" if os.geteuid() == 0 else "",
        f"pid {_quote(prefix / 'logs' / 'nginx.pid')};",
        f"error_log {_quote(prefix / 'logs' / 'error.log')};",
    ]
    (root / "nginx.conf").write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    default = root / "sites-available" / "default"
    if default.exists():
        site = default.read_text(encoding="utf-8")
        site = site.replace("listen 80 default_server;", f"listen 127.0.0.1:{default_port};")
        site = site.replace("listen [::]:80 default_server;", "")
        default.write_text(site, encoding="utf-8")
    return root


def make_rhel_tree(harness: NginxHarness) -> Path:
    """A tree whose nginx.conf only includes ``conf.d/*.conf`` (RHEL, Fedora, nginx.org)."""
    root = harness.conf.parent
    (root / "conf.d").mkdir(exist_ok=True)
    harness.write_conf(includes=[root / "conf.d" / "*.conf"])
    return root


@dataclasses.dataclass
class Env:
    """Certificates and answers for one test."""

    tmp: Path
    ca: TestCA
    trust: Path
    cert: Path
    key: Path
    api_cert: Path
    api_key: Path
    api_ca: Path

    def answers(self, listen_port: int, api_port: int = 9) -> Answers:
        answers = Answers(mode="slack+msteams")
        answers.bastion.hostname = HOSTNAME
        answers.bastion.public_ip = "127.0.0.1"
        answers.bastion.certificate = str(self.cert)
        answers.bastion.private_key = str(self.key)
        answers.bastion.listen_port = listen_port
        answers.codestream.api_url = f"https://{API_HOST}:{api_port}"
        answers.codestream.upstream_ca = str(self.api_ca)
        answers.codestream.upstream_address = "127.0.0.1"
        answers.slack.client_secret = "s3cr3t-client"
        answers.slack.signing_secret = "s3cr3t-signing"
        return answers


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Env:
    tmp = tmp_path_factory.mktemp("certs")
    ca = TestCA("Install Test Public")
    trust = ca.write_root(tmp / "trust.pem")
    cert, key = ca.issue([HOSTNAME]).write(tmp / "bastion", "fullchain")
    api_ca = TestCA("Install Test Internal")
    api_ca_file = api_ca.write_root(tmp / "api-ca.pem")
    api_cert, api_key = api_ca.issue([API_HOST]).write(tmp / "api", "api")
    return Env(tmp, ca, trust, cert, key, api_cert, api_key, api_ca_file)


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    return require_nginx()


@pytest.fixture(scope="module")
def features(nginx_binary: str) -> NginxFeatures:
    # No [::] listener: tests listen on one loopback port only.
    return dataclasses.replace(detect_nginx_features(nginx_binary), listen_ipv6=False)


@dataclasses.dataclass
class Tree:
    """One nginx tree under a prefix, and where the outputs go."""

    prefix: Path
    root: Path
    out: Path
    harness: NginxHarness
    default_port: int = 0

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    def ctx(self, **changes: object) -> CheckContext:
        return dataclasses.replace(
            CheckContext(nginx_root=self.root, lab=True, timeout=3.0), **changes
        )

    def installer(self, answers: Answers, features: NginxFeatures, **kwargs: object) -> Installer:
        options: dict[str, object] = {
            "systemd": False,
            "output_dir": self.out,
            "log_dir": str(self.logs),
        }
        options.update(kwargs)
        return Installer(
            answers,
            self.ctx(),
            features=features,
            resolvers=["127.0.0.1"],
            ca_bundle=None,
            **options,  # type: ignore[arg-type]
        )

    def snapshot(self) -> Snapshot:
        return snapshot(self.root, self.out)


@pytest.fixture
def debian(tmp_path: Path, nginx_binary: str) -> Tree:
    if not (SYSTEM_TREE / "sites-enabled").is_dir():
        pytest.skip("this host's /etc/nginx is not Debian-style")
    prefix = tmp_path / "debian"
    default_port = free_port()
    root = make_debian_tree(prefix, default_port)
    harness = NginxHarness(prefix, binary=nginx_binary)
    result = harness.test()
    assert result.ok, result.output
    return Tree(prefix, root, tmp_path / "out-debian", harness, default_port)


@pytest.fixture
def rhel(tmp_path: Path, nginx_binary: str) -> Tree:
    prefix = tmp_path / "rhel"
    harness = NginxHarness(prefix, binary=nginx_binary)
    root = make_rhel_tree(harness)
    (root / "conf.d" / "default.conf").write_text(
        f"server {{\n    listen 127.0.0.1:{free_port()};\n    server_name _;\n"
        "    location / { return 404; }\n}\n",
        encoding="utf-8",
    )
    assert harness.test().ok
    return Tree(prefix, root, tmp_path / "out-rhel", harness)


def presented_certificate(port: int) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    import socket

    with (
        socket.create_connection(("127.0.0.1", port), 5) as raw,
        context.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def leaf_der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificates(path.read_bytes())[0].public_bytes(Encoding.DER)


# -- the configuration reader -----------------------------------------------------------------


def test_parser_tolerates_comments_quotes_and_unbalanced_braces(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        # a comment with a ; and a { brace
        http {
            server { # trailing comment
                server_name "quoted name;{}" 'single' esc\\;aped;
                set $x "${host}";
                location ~ "^/a{2}$" { return 404; }
            }
            include "conf.d/*.conf"
        }
        }
        """
    )
    tree = parse_config(text, tmp_path / "nginx.conf")
    http = tree[0]
    assert http.name == "http"
    assert http.block is not None
    server = http.block[0]
    assert server.line == 3
    assert server.block is not None
    names = server.block[0]
    assert names.args == ["quoted name;{}", "single", "esc\\;aped"]
    assert server.block[2].args == ["~", "^/a{2}$"]
    include = http.block[1]
    assert (include.name, include.args) == ("include", ["conf.d/*.conf"])


def test_layout_follows_includes_relative_paths_and_cycles(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    (root / "conf.d").mkdir(parents=True)
    (root / "extra").mkdir()
    (root / "nginx.conf").write_text(
        "events {}\nhttp {\n    include extra/http.conf;\n}\n", encoding="utf-8"
    )
    # extra/http.conf includes conf.d (relative to the main file's directory) and itself.
    (root / "extra" / "http.conf").write_text(
        "include extra/http.conf;\ninclude conf.d/*.conf;\n", encoding="utf-8"
    )
    layout = detect_layout(root)
    assert layout.style == "conf.d"
    assert layout.server_block == root / "conf.d" / "codestream-bastion.conf"
    assert layout.enabled_link is None


def test_layout_ignores_includes_outside_http_and_outside_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    (root / "conf.d").mkdir(parents=True)
    (root / "sites-enabled").mkdir()
    (root / "nginx.conf").write_text(
        "include conf.d/*.conf;\n"  # main context: not where server blocks go
        "http {\n"
        "    server { include sites-enabled/*; }\n"  # server context
        "    include /elsewhere/conf.d/*.conf;\n"  # another tree
        "}\n",
        encoding="utf-8",
    )
    with pytest.raises(LayoutError) as caught:
        detect_layout(root)
    assert f"include {root / 'conf.d'}/*.conf;" in caught.value.remedy
    assert "http" in caught.value.remedy


def test_custom_output_path_must_be_included(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    (root / "sites-available").mkdir(parents=True)
    (root / "sites-enabled").mkdir()
    (root / "vhosts").mkdir()
    (root / "nginx.conf").write_text(
        "http {\n    include vhosts/*.vhost;\n    include sites-enabled/*;\n}\n",
        encoding="utf-8",
    )
    included = detect_layout(root, str(root / "vhosts" / "bastion.vhost"))
    assert (included.style, included.enabled_link) == ("custom", None)
    linked = detect_layout(root, str(root / "sites-available" / "bastion"))
    assert linked.enabled_link == root / "sites-enabled" / "bastion"
    with pytest.raises(LayoutError) as caught:
        detect_layout(root, "/srv/elsewhere/bastion.conf")
    assert "include /srv/elsewhere/bastion.conf;" in caught.value.remedy


def test_layout_missing_nginx_conf_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(LayoutError) as caught:
        detect_layout(tmp_path)
    assert str(tmp_path) in caught.value.message


def test_conflicts_match_name_and_port_and_skip_our_own_file(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    (root / "conf.d").mkdir(parents=True)
    (root / "nginx.conf").write_text("http { include conf.d/*.conf; }\n", encoding="utf-8")
    (root / "conf.d" / "a.conf").write_text(
        "server { listen [::]:8443 ssl; server_name other.test BASTION.demo.test.; }\n"
        "server { listen 127.0.0.1:9443; server_name bastion.demo.test; }\n"
        "server { server_name bastion.demo.test; }\n",  # no listen: port 80
        encoding="utf-8",
    )
    own = root / "conf.d" / "codestream-bastion.conf"
    own.write_text("server { listen 8443 ssl; server_name bastion.demo.test; }\n", encoding="utf-8")
    found = find_conflicting_server_blocks(root, HOSTNAME, 8443, own)
    assert len(found) == 1
    assert f"{root / 'conf.d' / 'a.conf'}:1" in found[0]
    assert find_conflicting_server_blocks(root, HOSTNAME, 9443, own) != []
    assert find_conflicting_server_blocks(root, HOSTNAME, 80, own) != []
    assert find_conflicting_server_blocks(root, HOSTNAME, 443, own) == []
    assert find_conflicting_server_blocks(root, "other.demo.test", 8443, own) == []


def test_very_old_nginx_is_a_warning() -> None:
    assert _version_finding((1, 14, 2), "nginx").status == "warn"
    assert _version_finding((1, 22, 1), "nginx").status == "ok"
    assert _version_finding(None, "nginx").status == "warn"


# -- check_nginx --------------------------------------------------------------------------------


@pytest.mark.nginx
async def test_check_nginx_passes_on_a_healthy_tree(debian: Tree, certs: Env) -> None:
    findings = await check_nginx(certs.answers(free_port()), debian.ctx())
    by_code = {f.code: f for f in findings}
    assert {f.status for f in findings} == {"ok"}, findings
    assert {
        "nginx.ok",
        "nginx.version",
        "nginx.layout",
        "nginx.config_test",
        "nginx.conflict",
    } <= set(by_code)
    assert "sites-available" in by_code["nginx.layout"].title


async def test_check_nginx_missing_binary_says_how_to_install(rhel: Tree, certs: Env) -> None:
    ctx = rhel.ctx(nginx_binary="/nonexistent/nginx")
    findings = await check_nginx(certs.answers(free_port()), ctx)
    missing = next(f for f in findings if f.code == "nginx.missing")
    assert missing.status == "fail"
    assert "apt-get install nginx" in missing.remedy
    assert "dnf install nginx" in missing.remedy
    assert not any(f.code == "nginx.config_test" for f in findings)


@pytest.mark.nginx
async def test_check_nginx_reports_nginx_t_failure_in_nginx_words(rhel: Tree, certs: Env) -> None:
    (rhel.root / "conf.d" / "broken.conf").write_text("server { listen 1; bogus_directive on; }\n")
    findings = await check_nginx(certs.answers(free_port()), rhel.ctx())
    failed = next(f for f in findings if f.code == "nginx.config_test")
    assert failed.status == "fail"
    assert 'unknown directive "bogus_directive"' in failed.detail
    assert "broken.conf:1" in failed.detail


@pytest.mark.nginx
async def test_check_nginx_layout_failure_names_the_include_line(
    tmp_path: Path, certs: Env, nginx_binary: str
) -> None:
    harness = NginxHarness(tmp_path / "p", binary=nginx_binary)
    harness.write_conf()  # includes nothing
    ctx = CheckContext(nginx_root=harness.conf.parent, lab=True)
    findings = await check_nginx(certs.answers(free_port()), ctx)
    layout = next(f for f in findings if f.code == "nginx.layout")
    assert layout.status == "fail"
    assert "include " in layout.remedy
    assert "conf.d/*.conf;" in layout.remedy


@pytest.mark.nginx
async def test_check_nginx_conflict_names_the_other_file(rhel: Tree, certs: Env) -> None:
    port = free_port()
    other = rhel.root / "conf.d" / "legacy-bastion.conf"
    other.write_text(f"server {{ listen 127.0.0.1:{port}; server_name {HOSTNAME}; }}\n")
    findings = await check_nginx(certs.answers(port), rhel.ctx())
    conflict = next(f for f in findings if f.code == "nginx.conflict")
    assert conflict.status == "fail"
    assert str(other) in conflict.detail


# -- the Installer ------------------------------------------------------------------------------


@pytest.mark.nginx
async def test_debian_apply_writes_links_tests_and_reloads_a_running_nginx(
    debian: Tree, certs: Env, features: NginxFeatures
) -> None:
    port = free_port()
    answers = certs.answers(port)
    installer = debian.installer(answers, features)  # default reload: nginx -s reload -c -p
    plan = installer.plan()
    layout = plan.layout
    assert isinstance(layout, Layout)
    available = debian.root / "sites-available" / "codestream-bastion.conf"
    enabled = debian.root / "sites-enabled" / "codestream-bastion.conf"
    assert layout.server_block == available
    assert layout.enabled_link == enabled
    diff = plan.diff()
    assert f"+++ {available} (new)" in diff
    assert '+    location = "/no-auth/provider-action/msteams" {' in diff
    assert "s3cr3t" not in diff  # the snippet's secrets are masked, not shown
    assert '"appSigningSecret": "********"' in diff
    with debian.harness.running(debian.default_port):  # the stock default site
        result = await installer.apply(plan)
        assert result.ok, result
        assert result.changed
        assert "nginx -s reload" in result.reload
        # Every file was new: nothing was replaced, so no backup is named (issue 20).
        assert result.backup_dir is None
        assert not any(installer.state.journals.glob("*/*.bak"))
        assert not (debian.root / ".codestream-bastion-backup").exists()
        # The running nginx now serves the new server block: our certificate on our port.
        for _attempt in range(50):
            try:
                served = presented_certificate(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("nginx did not start listening on the new port after the reload")
        assert served == leaf_der(certs.cert)
    assert os.readlink(enabled) == str(available)
    assert stat.S_IMODE(available.stat().st_mode) == 0o644
    assert available.read_bytes() == plan.files[0].content
    snippet = debian.out / "codestream-messaging.json"
    assert stat.S_IMODE(snippet.stat().st_mode) == 0o600
    assert (
        json.loads(snippet.read_text())["integrations"]["slack"]["cloud"]["appSigningSecret"]
        == "s3cr3t-signing"
    )
    assert (debian.out / "next-steps.md").is_file()
    assert stat.S_IMODE((debian.out / "answers.toml").stat().st_mode) == 0o600


@pytest.mark.nginx
async def test_rhel_apply_writes_into_conf_d_without_a_link(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    answers = certs.answers(free_port())
    installer = rhel.installer(answers, features, reload_command=["true"])
    plan = installer.plan()
    assert plan.links == ()
    target = rhel.root / "conf.d" / "codestream-bastion.conf"
    assert plan.files[0].path == target
    result = await installer.apply(plan)
    assert result.ok, result
    assert target.is_file()
    assert not target.is_symlink()
    assert rhel.harness.test().ok


@pytest.mark.nginx
async def test_second_apply_changes_nothing_and_says_so(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    answers = certs.answers(free_port())
    marker = rhel.prefix / "reloads"
    reload = ["sh", "-c", f"echo reload >> {marker}"]
    first = await rhel.installer(answers, features, reload_command=reload).apply(
        rhel.installer(answers, features).plan()
    )
    assert first.ok
    assert first.changed
    after_first = rhel.snapshot()
    installer = rhel.installer(answers, features, reload_command=reload)
    plan = installer.plan()
    assert not plan.changed
    assert {c.status for c in plan.files} == {"unchanged"}
    second = await installer.apply(plan)
    assert second.ok
    assert not second.changed
    assert "Nothing to change" in second.message
    assert rhel.snapshot() == after_first  # not even a new backup directory
    assert marker.read_text().count("reload") == 1  # no second reload


@pytest.mark.nginx
async def test_failed_nginx_t_rolls_back_to_a_byte_identical_tree(
    debian: Tree, certs: Env, features: NginxFeatures
) -> None:
    port = free_port()
    # An older version of our block, with its own mode, enabled through a relative link,
    # and an unrelated site that claims the same port without TLS: with our 'ssl'
    # listener nginx -t fails ("no ssl_certificate is defined").
    available = debian.root / "sites-available" / "codestream-bastion.conf"
    available.write_text(f"# old version\nserver {{ listen 127.0.0.1:{free_port()}; }}\n")
    available.chmod(0o640)
    (debian.root / "sites-enabled" / "codestream-bastion.conf").symlink_to(
        "../sites-available/codestream-bastion.conf"
    )
    (debian.root / "conf.d" / "plain.conf").write_text(
        f"server {{ listen 127.0.0.1:{port}; server_name plain.demo.test; }}\n"
    )
    debian.out.mkdir()
    (debian.out / "next-steps.md").write_text("old notes\n")
    (debian.out / "next-steps.md").chmod(0o604)
    assert debian.harness.test().ok
    before = debian.snapshot()
    installer = debian.installer(certs.answers(port), features, reload_command=["false"])
    plan = installer.plan()
    assert plan.changed
    result = await installer.apply(plan)
    assert not result.ok
    assert result.rolled_back
    assert 'no "ssl_certificate" is defined' in result.nginx_output
    assert "plain.conf" in result.nginx_output
    assert debian.snapshot() == before
    assert list(installer.state.journals.iterdir()) == []  # the rollback left no journal


@pytest.mark.nginx
async def test_injected_failing_test_command_rolls_back(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    before = rhel.snapshot()
    script = "echo 'nginx: [emerg] simulated failure in /x.conf:3' >&2; exit 1"
    deep = rhel.prefix / "deep"
    installer = rhel.installer(
        certs.answers(free_port()),
        features,
        test_command=["sh", "-c", script],
        output_dir=deep / "er" / "out",  # three directories to create, then remove
    )
    plan = installer.plan()
    assert plan.directories == (deep, deep / "er", deep / "er" / "out")
    result = await installer.apply(plan)
    assert not result.ok
    assert result.nginx_output == "nginx: [emerg] simulated failure in /x.conf:3"
    assert rhel.snapshot() == before
    assert not deep.exists()


@pytest.mark.nginx
async def test_a_write_failing_half_way_rolls_back(
    rhel: Tree, certs: Env, features: NginxFeatures, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import wizard.install.installer

    rhel.out.mkdir()
    (rhel.out / "next-steps.md").write_text("old notes\n")
    before = rhel.snapshot()
    installer = rhel.installer(certs.answers(free_port()), features, reload_command=["true"])
    plan = installer.plan()
    real = wizard.install.installer.atomic_write

    def full_disk(path: Path, data: bytes, mode: int = 0o644, **kwargs: object) -> None:
        if Path(path).name == "answers.toml":  # after the server block and the snippet
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(wizard.install.installer, "atomic_write", full_disk)
    result = await installer.apply(plan)
    assert not result.ok
    assert result.rolled_back
    assert "No space left on device" in result.message
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_cancelled_during_nginx_t_rolls_back_and_reraises(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    before = rhel.snapshot()
    installer = rhel.installer(certs.answers(free_port()), features, test_command=["sleep", "30"])
    task = asyncio.create_task(installer.apply(installer.plan()))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_failed_start_rolls_back(rhel: Tree, certs: Env, features: NginxFeatures) -> None:
    """No nginx running, so apply starts it; the listen port is held: nginx's own error."""
    import socket

    from tests.nginx_harness import masters_under

    before = rhel.snapshot()
    port = free_port()
    installer = rhel.installer(certs.answers(port), features)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        result = await installer.apply(installer.plan())
    assert not result.ok
    assert result.code == "install.start_failed"
    assert "starting it failed" in result.message
    assert f"bind() to 127.0.0.1:{port} failed" in result.nginx_output
    assert rhel.snapshot() == before
    assert masters_under(rhel.prefix) == []


@pytest.mark.nginx
async def test_conflict_is_refused_and_nothing_written(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    port = free_port()
    (rhel.root / "conf.d" / "old.conf").write_text(
        f"server {{ listen 127.0.0.1:{port}; server_name {HOSTNAME}; }}\n"
    )
    before = rhel.snapshot()
    installer = rhel.installer(certs.answers(port), features, reload_command=["true"])
    plan = installer.plan()
    assert plan.conflicts
    result = await installer.apply(plan)
    assert not result.ok
    assert "old.conf" in result.message
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_files_changed_since_the_plan_are_not_overwritten(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    installer = rhel.installer(certs.answers(free_port()), features, reload_command=["true"])
    plan = installer.plan()
    target = rhel.root / "conf.d" / "codestream-bastion.conf"
    target.write_text("# written by someone else meanwhile\n")
    before = rhel.snapshot()
    result = await installer.apply(plan)
    assert not result.ok
    assert str(target) in result.message
    assert rhel.snapshot() == before


def test_unusable_layout_is_an_install_error(tmp_path: Path, certs: Env) -> None:
    root = tmp_path / "etc"
    root.mkdir()
    (root / "nginx.conf").write_text("events {}\nhttp {}\n")
    installer = Installer(
        certs.answers(8443),
        CheckContext(nginx_root=root),
        features=NginxFeatures(),
        resolvers=[],
        ca_bundle=None,
        output_dir=tmp_path / "out",
        test_command=["true"],
    )
    with pytest.raises(InstallError) as caught:
        installer.plan()
    assert "include" in caught.value.remedy
    assert not (tmp_path / "out").exists()


def test_missing_nginx_is_an_install_error(tmp_path: Path, certs: Env) -> None:
    installer = Installer(
        certs.answers(8443),
        CheckContext(nginx_root=tmp_path, nginx_binary="/nonexistent/nginx"),
        features=NginxFeatures(),
        resolvers=[],
        ca_bundle=None,
        output_dir=tmp_path / "out",
    )
    with pytest.raises(InstallError) as caught:
        installer.prepare()
    assert "apt-get install nginx" in caught.value.remedy


async def test_no_exposure_mode_writes_only_the_snippet_and_notes(
    tmp_path: Path, certs: Env
) -> None:
    answers = Answers(mode="slack-no-exposure")
    answers.codestream.api_url = f"https://{API_HOST}"
    out = tmp_path / "out"
    installer = Installer(
        answers,
        CheckContext(nginx_root=tmp_path / "no-nginx-here"),
        features=NginxFeatures(),
        resolvers=[],
        ca_bundle=None,
        output_dir=out,
        reload_command=["false"],  # must not be run: nginx is not involved
    )
    plan = installer.plan()
    assert plan.layout is None
    assert not plan.nginx_changed
    assert {f.role for f in plan.files} >= {"snippet", "next-steps", "answers"}
    assert all(f.path.parent == out for f in plan.files)
    result = await installer.apply(plan)
    assert result.ok, result
    assert "configuration is unchanged" in result.message
    snippet = json.loads((out / "codestream-messaging.json").read_text())
    assert snippet["integrations"]["slack"]["cloud"]["interactiveComponentsEnabled"] is False


@pytest.mark.parametrize(
    ("systemd", "active", "expected"),
    [
        (True, True, ["systemctl", "reload", "nginx"]),
        (True, False, None),
        (False, True, ["NGINX", "-s", "reload", "-c", "ROOT/nginx.conf", "-p", "ROOT/"]),
    ],
)
async def test_reload_command_follows_systemd(
    tmp_path: Path,
    certs: Env,
    monkeypatch: pytest.MonkeyPatch,
    systemd: bool,
    active: bool,
    expected: list[str] | None,
) -> None:
    """Where systemd runs nginx, reload through it; systemctl itself is never executed here."""
    import wizard.install.installer
    from wizard.nginx import CommandResult

    calls: list[list[str]] = []

    async def fake_run(argv: list[str], timeout: float) -> CommandResult:
        calls.append(list(argv))
        return CommandResult(0 if active else 3, "")

    monkeypatch.setattr(wizard.install.installer, "run_command", fake_run)
    root = tmp_path / "etc"
    installer = Installer(
        certs.answers(8443),
        CheckContext(nginx_root=root, nginx_binary="/usr/sbin/nginx"),
        features=NginxFeatures(),
        resolvers=[],
        ca_bundle=None,
        systemd=systemd,
    )
    argv, why_not = await installer.reload_argv()
    if expected is None:
        assert argv is None
        assert "systemctl enable --now nginx" in why_not
    else:
        binary = installer.binary
        want = [p.replace("NGINX", binary).replace("ROOT", str(root)) for p in expected]
        assert argv == want
    if systemd:
        assert calls == [["systemctl", "is-active", "--quiet", "nginx"]]
    else:
        assert calls == []


# -- killed half-way --------------------------------------------------------------------------

_KILLER = textwrap.dedent(
    """\
    import asyncio, os, signal, sys, json
    from pathlib import Path
    config = json.loads(sys.argv[1])
    from wizard.answers import load_answers
    from wizard.checks.context import CheckContext
    from wizard.install import Installer
    from wizard.nginx import NginxFeatures
    installer = Installer(
        load_answers(config["answers"]),
        CheckContext(nginx_root=Path(config["root"])),
        features=NginxFeatures(**config["features"]),
        resolvers=["127.0.0.1"],
        ca_bundle=None,
        systemd=False,
        reload_command=["true"],
        output_dir=Path(config["out"]),
        log_dir=config["logs"],
    )
    plan = installer.plan()
    calls = 0
    def killer(real):
        def call(*args, **kwargs):
            global calls
            calls += 1
            if calls == config["kill_at"]:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return call
    os.replace = killer(os.replace)
    os.fsync = killer(os.fsync)
    os.symlink = killer(os.symlink)
    result = asyncio.run(installer.apply(plan))
    print("CALLS", calls, result.ok)
    """
)


@pytest.mark.nginx
def test_killed_apply_never_leaves_a_partial_file_and_is_recovered(
    debian: Tree, certs: Env, features: NginxFeatures, tmp_path: Path
) -> None:
    """SIGKILL at every write point: each target is old or new bytes, never partial."""
    answers = certs.answers(free_port())
    answers_file = tmp_path / "answers.toml"
    save_answers(answers, answers_file)
    debian.out.mkdir()
    (debian.out / "next-steps.md").write_text("old notes\n")
    available = debian.root / "sites-available" / "codestream-bastion.conf"
    available.write_text("# old version\n")
    original = debian.snapshot()
    plan = debian.installer(answers, features).plan()
    new_bytes = {str(f.path): f.content for f in plan.files}
    old_bytes = {str(f.path): f.current_content for f in plan.files}
    link = plan.links[0]
    config = {
        "answers": str(answers_file),
        "root": str(debian.root),
        "out": str(debian.out),
        "logs": str(debian.logs),
        "features": {k: v for k, v in dataclasses.asdict(features).items() if k != "version"},
    }
    repo = Path(__file__).resolve().parents[2]
    state = debian.installer(answers, features).state
    kills = 0
    for kill_at in range(1, 200):
        config["kill_at"] = kill_at
        run = subprocess.run(
            [sys.executable, "-c", _KILLER, json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=repo,
            check=False,
        )
        if run.returncode == 0:
            assert "CALLS" in run.stdout
            break
        assert run.returncode == -signal.SIGKILL, run.stderr
        kills += 1
        for path, new in new_bytes.items():
            current = Path(path).read_bytes() if Path(path).exists() else None
            assert current in (old_bytes[path], new), f"{path} is neither old nor new"
        if link.path.is_symlink():
            assert os.readlink(link.path) == link.target
        else:
            assert not link.path.exists()
        journals = list(state.journals.glob("*/journal.json"))
        states = {json.loads(j.read_text())["state"] for j in journals}
        if states == {"done"}:
            # Killed after the install was complete (final fsync): it stays installed.
            assert all(Path(p).read_bytes() == new for p, new in new_bytes.items())
            break
        # The next run puts everything back from the journal.
        messages = debian.installer(answers, features).recover()
        assert debian.snapshot() == original, f"not recovered after a kill at point {kill_at}"
        assert len(messages) == (1 if journals else 0), messages
    else:
        pytest.fail("apply never completed")
    assert kills >= 10  # every backup, journal, file and link write was a kill point
    # The completed run installed everything; a recover() afterwards changes nothing.
    assert all(Path(p).read_bytes() == new for p, new in new_bytes.items())
    done = debian.snapshot()
    assert debian.installer(answers, features).recover() == []
    assert debian.snapshot() == done


# -- the apply command --------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def apply_env(certs: Env) -> Iterator[tuple[CheckContext, int]]:
    """The DNS servers and the fake API that the pre-install checks need."""
    from wizard.demo.dns_server import DnsServer
    from wizard.demo.fake_api import FakeCodeStreamApi

    zone = {HOSTNAME: [("A", "127.0.0.1")], API_HOST: [("A", "127.0.0.1")]}
    with (
        DnsServer(zone) as local,
        DnsServer({HOSTNAME: [("A", "127.0.0.1")]}) as public,
        FakeCodeStreamApi(certs.api_cert, certs.api_key) as api,
    ):
        ctx = CheckContext(
            nameservers=(local.nameserver,),
            public_nameservers=(public.nameserver,),
            ca_bundle=certs.trust,
            timeout=3.0,
            lab=True,
            interface_addresses=("127.0.0.1",),
        )
        yield ctx, api.port


def _apply_args(
    tree: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> tuple[Answers, CheckContext, Installer]:
    base, api_port = apply_env
    ctx = dataclasses.replace(base, nginx_root=tree.root)
    answers = certs.answers(free_port(), api_port)
    installer = Installer(
        answers,
        ctx,
        features=features,
        resolvers=[str(base.nameservers[0])],
        ca_bundle=None,
        systemd=False,
        reload_command=["true"],
        output_dir=tree.out,
        log_dir=str(tree.logs),
    )
    return answers, ctx, installer


@pytest.mark.nginx
async def test_apply_command_dry_run_shows_the_diff_and_writes_nothing(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, installer = _apply_args(rhel, certs, apply_env, features)
    before = rhel.snapshot()
    out = io.StringIO()
    status = await run_apply(answers, ctx, yes=False, dry_run=True, stdout=out, installer=installer)
    text = out.getvalue()
    assert status == 0, text
    assert "Dry run: nothing was written." in text
    assert f"+++ {rhel.root / 'conf.d' / 'codestream-bastion.conf'} (new)" in text
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_apply_dry_run_shows_the_plan_and_diff_even_when_a_check_fails(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, installer = _apply_args(rhel, certs, apply_env, features)
    answers.bastion.certificate = str(rhel.root / "missing-fullchain.pem")
    before = rhel.snapshot()
    out = io.StringIO()
    status = await run_apply(answers, ctx, yes=False, dry_run=True, stdout=out, installer=installer)
    text = out.getvalue()
    assert status == 1, text
    assert "FAIL" in text
    assert "Planned changes:" in text
    assert f"+++ {rhel.root / 'conf.d' / 'codestream-bastion.conf'} (new)" in text
    assert "a real run would refuse until the failed checks above are fixed" in text
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_apply_command_without_a_tty_refuses_and_names_yes(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, installer = _apply_args(rhel, certs, apply_env, features)
    before = rhel.snapshot()
    out = io.StringIO()
    status = await run_apply(
        answers,
        ctx,
        yes=False,
        dry_run=False,
        stdout=out,
        stdin=io.StringIO("y\n"),
        installer=installer,
    )
    assert status == 2
    assert "--yes" in out.getvalue()
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_apply_command_asks_on_a_tty_then_installs_then_is_a_no_op(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, installer = _apply_args(rhel, certs, apply_env, features)
    before = rhel.snapshot()
    out = io.StringIO()
    declined = await run_apply(
        answers, ctx, yes=False, dry_run=False, stdout=out, stdin=_Tty("n\n"), installer=installer
    )
    assert declined == 1
    assert "Write these files and reload nginx? [y/N]" in out.getvalue()
    assert rhel.snapshot() == before
    out = io.StringIO()
    status = await run_apply(
        answers, ctx, yes=False, dry_run=False, stdout=out, stdin=_Tty("y\n"), installer=installer
    )
    assert status == 0, out.getvalue()
    assert (rhel.root / "conf.d" / "codestream-bastion.conf").is_file()
    assert "Installed" in out.getvalue()
    out = io.StringIO()
    again = await run_apply(answers, ctx, yes=True, dry_run=False, stdout=out, installer=installer)
    assert again == 0
    assert "Nothing to change" in out.getvalue()


@pytest.mark.nginx
async def test_apply_command_refuses_a_conflict(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, installer = _apply_args(rhel, certs, apply_env, features)
    other = rhel.root / "conf.d" / "old-bastion.conf"
    other.write_text(
        f"server {{ listen 127.0.0.1:{answers.bastion.listen_port}; server_name {HOSTNAME}; }}\n"
    )
    before = rhel.snapshot()
    out = io.StringIO()
    status = await run_apply(answers, ctx, yes=True, dry_run=False, stdout=out, installer=installer)
    assert status == 1
    assert "nginx.conflict" in out.getvalue()
    assert str(other) in "".join(out.getvalue().split())  # the report wraps long paths
    assert "Nothing was written" in out.getvalue()
    assert rhel.snapshot() == before


@pytest.mark.nginx
async def test_apply_command_reports_a_rolled_back_install(
    rhel: Tree, certs: Env, apply_env: tuple[CheckContext, int], features: NginxFeatures
) -> None:
    answers, ctx, _installer = _apply_args(rhel, certs, apply_env, features)
    installer = Installer(
        answers,
        ctx,
        features=features,
        resolvers=["127.0.0.1"],
        ca_bundle=None,
        systemd=False,
        reload_command=["sh", "-c", "echo 'nginx: [error] kill(4242, 1) failed' >&2; exit 1"],
        output_dir=rhel.out,
        log_dir=str(rhel.logs),
    )
    before = rhel.snapshot()
    out = io.StringIO()
    status = await run_apply(answers, ctx, yes=True, dry_run=False, stdout=out, installer=installer)
    text = out.getvalue()
    assert status == 1
    assert "FAILED" in text
    assert "kill(4242, 1) failed" in text
    assert rhel.snapshot() == before


async def test_conflict_check_is_skipped_for_an_invalid_host_name(tmp_path: Path) -> None:
    from wizard.checks.nginx import check_nginx

    root = tmp_path / "nginx"
    (root / "conf.d").mkdir(parents=True)
    (root / "nginx.conf").write_text("events {}\nhttp { include conf.d/*.conf; }\n")
    answers = Answers(mode="slack")
    answers.bastion.hostname = "bad host;{name}"
    findings = await check_nginx(answers, CheckContext(nginx_root=root))
    (conflict,) = [f for f in findings if f.code == "nginx.conflict"]
    assert conflict.status == "skip"
    assert "invalid" in conflict.title
