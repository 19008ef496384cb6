"""The Ansible role end to end: ``ansible/site.yml`` run by ansible-core against localhost.

The demo environment stands in for the network (loopback resolvers, the fake
CodeStream API behind its private CA, a certificate from the demo's public CA)
and a real nginx master runs the demo's nginx tree. ansible-playbook runs the
repository's example playbook with an inventory of one bastion, ``localhost``
over the local connection, whose secrets are in a real Ansible Vault file.

No package index is reachable from a test, so the role installs a wheel built
from this checkout with ``--no-index`` into a virtual environment that sees
the project's dependencies through a ``.pth`` file (everything but this
project itself). Every Python process of the run (ansible, its modules, pip,
codestream-bastion) loads the suite's loopback guard through
``sitecustomize``: a connection or a name lookup beyond 127.0.0.1 fails the run.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_renew_hook import make_certbot_lineage
from tests.nginx_harness import require_nginx
from tests.offline_wheel import PTH_NAME, build_wheel, dependencies_dir
from wizard.answers import load_answers
from wizard.demo.bot_routes import BotSettings
from wizard.demo.environment import DemoEnvironment, running_demo
from wizard.demo.nginx import DemoNginx

pytestmark = pytest.mark.nginx

ROLE_SLACK_APP_ID = "A0TESTAPP01"
ROLE_TEAMS_APP_ID = "00000000-0000-4000-8000-000000000001"

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
BIN = Path(sys.executable).parent
RUN_TIMEOUT = 600

# Installs the suite's loopback guard (tests/loopback_guard.py) in every Python
# process started with this directory on PYTHONPATH. The guard is loaded from its
# file, so the checkout itself never lands on sys.path (the role's venv must
# import the installed wheel, not this tree).
SITECUSTOMIZE = """
import importlib.util

_spec = importlib.util.spec_from_file_location("_loopback_guard", {guard!r})
_guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_guard)
_guard.install()
"""


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(
            f"{name} is missing from {BIN}: install the test extra (pip install -e '.[test]')"
        )
    return path


def _run(
    argv: list[str | Path], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=RUN_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Lab:
    """Everything one role run needs: the demo, its nginx, and where ansible keeps its files."""

    env: DemoEnvironment
    answers: Path
    nginx: DemoNginx
    work: Path
    process_env: dict[str, str]
    secrets: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return self.work / "etc-codestream-bastion"

    @property
    def venv(self) -> Path:
        return self.work / "venv"

    @property
    def inventory(self) -> Path:
        return self.work / "inventory" / "hosts.yml"

    def playbook(self, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """Run ``ansible/site.yml``; the completed process and the JSON callback's document."""
        result = self.run_playbook(*extra)
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"ansible-playbook printed no JSON:\n{result.stdout}\n{result.stderr}")
        return result, document

    def run_playbook(
        self, *extra: str, callback: str = "record_json"
    ) -> subprocess.CompletedProcess[str]:
        """Run ``ansible/site.yml`` with the given stdout callback."""
        return _run(
            [
                _tool("ansible-playbook"),
                "-i", self.inventory,
                "--vault-password-file", self.work / "vault-password",
                ANSIBLE_DIR / "site.yml",
                *extra,
            ],
            {**self.process_env, "ANSIBLE_STDOUT_CALLBACK": callback},
            ANSIBLE_DIR,
        )  # fmt: skip


def _venv_maker(work: Path) -> Path:
    """A ``python3`` for the role's ``python3 -m venv DIR`` whose venv sees this one's dependencies.

    The venv is made for real; a ``.pth`` file then adds a directory holding
    this venv's site-packages, this project (and pip, setuptools) excepted, so
    that ``pip install --no-index`` of the wheel finds every dependency met.
    """
    deps = dependencies_dir(work)
    maker = work / "python3-with-test-dependencies"
    maker.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            set -eu
            [ "$1 $2" = "-m venv" ] || {{ echo "only -m venv DIR: $*" >&2; exit 2; }}
            "{sys.executable}" "$@"
            for site in "$3"/lib/python3*/site-packages; do
                printf '%s\\n' "{deps}" > "$site/{PTH_NAME}"
            done
            """),
        encoding="utf-8",
    )
    maker.chmod(0o755)
    return maker


def _encrypt_vault(
    path: Path, password_file: Path, values: dict[str, str], env: dict[str, str]
) -> None:
    path.write_text(json.dumps(values), encoding="utf-8")
    encrypted = _run(
        [_tool("ansible-vault"), "encrypt", "--vault-password-file", password_file, path],
        env,
        path.parent,
    )
    assert encrypted.returncode == 0, encrypted.stderr
    assert path.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;")


def _process_env(work: Path) -> dict[str, str]:
    guard = work / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(guard=str(ROOT / "tests" / "loopback_guard.py")), encoding="utf-8"
    )
    home = work / "home"
    home.mkdir()
    (work / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    keep = {k: v for k, v in os.environ.items() if k in ("CI", "TERM")}
    return {
        **keep,
        "HOME": str(home),
        "PATH": f"{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(guard),
        "LC_ALL": "C.UTF-8",
        # ansible_callbacks/record_json.py: the whole run as one JSON document.
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "ansible_callbacks"),
        "ANSIBLE_STDOUT_CALLBACK": "record_json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote"),
        # Only the role in the repository; no collection from anywhere else.
        "ANSIBLE_COLLECTIONS_PATH": str(work / "collections"),
        "ANSIBLE_ROLES_PATH": str(ANSIBLE_DIR / "roles"),
        # An empty configuration: nothing from /etc/ansible or a stray ansible.cfg.
        "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
    }


def _write_inventory(lab: Lab, wheel: Path) -> None:
    answers = load_answers(lab.answers)
    ctx = lab.env.context()
    group_vars = lab.inventory.parent / "group_vars" / "codestream_bastions"
    group_vars.mkdir(parents=True)
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        # Already root, and no sudo on a bare CI machine.
        "ansible_become": False,
    }
    lab.inventory.write_text(
        json.dumps({"codestream_bastions": {"hosts": {"localhost": host}}}), encoding="utf-8"
    )
    variables = {
        # The installation, all under the test's directory.
        "codestream_bastion_install_nginx": True,
        "codestream_bastion_manage_nginx_service": False,
        "codestream_bastion_venv": str(lab.venv),
        "codestream_bastion_python": str(_venv_maker(lab.work)),
        # The machine may lack python3-apt for Ansible's apt module; the venv
        # module is part of the Python that runs the suite.
        "codestream_bastion_venv_packages": [],
        "codestream_bastion_wheel": str(wheel),
        "codestream_bastion_pip_extra_args": ["--no-index"],
        "codestream_bastion_config_dir": str(lab.config_dir),
        "codestream_bastion_state_dir": str(lab.work / "state"),
        # The demo certificate is made certbot's (renewal/<name>.conf) in the fixture.
        "codestream_bastion_renew_hook": True,
        # The demo's answers.
        "codestream_bastion_mode": answers.mode,
        "codestream_bastion_hostname": answers.bastion.hostname,
        "codestream_bastion_public_ip": answers.bastion.public_ip,
        "codestream_bastion_certificate": answers.bastion.certificate,
        "codestream_bastion_private_key": answers.bastion.private_key,
        "codestream_bastion_listen_port": answers.bastion.listen_port,
        "codestream_bastion_api_url": answers.codestream.api_url,
        "codestream_bastion_upstream_ca": answers.codestream.upstream_ca,
        "codestream_bastion_slack_app_id": ROLE_SLACK_APP_ID,
        "codestream_bastion_slack_client_id": "1234567890.1234567890123",
        "codestream_bastion_msteams_app_id": ROLE_TEAMS_APP_ID,
        # The secrets, from the vault, as in the example inventory.
        **{
            f"codestream_bastion_{name}": f"{{{{ vault_codestream_bastion_{name} }}}}"
            for name in lab.secrets
        },
        # The simulated network.
        "codestream_bastion_nginx_root": str(ctx.nginx_root),
        "codestream_bastion_dns_servers": [str(server) for server in ctx.nameservers],
        "codestream_bastion_public_dns": [str(server) for server in ctx.public_nameservers],
        "codestream_bastion_ca_bundle": str(ctx.ca_bundle),
        "codestream_bastion_lab": True,
        "codestream_bastion_timeout": 3,
    }
    (group_vars / "main.yml").write_text(json.dumps(variables, indent=1), encoding="utf-8")
    password = lab.work / "vault-password"
    password.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    password.chmod(0o600)
    # One value ends with a newline, as a YAML block scalar leaves it: the role drops it.
    vault = {
        f"vault_codestream_bastion_{name}": value + ("\n" if name.startswith("msteams") else "")
        for name, value in lab.secrets.items()
    }
    _encrypt_vault(group_vars / "vault.yml", password, vault, lab.process_env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"), RUN_TIMEOUT)


@pytest.fixture
def lab(tmp_path: Path, wheel: Path) -> Iterator[Lab]:
    binary = require_nginx()
    work = tmp_path / "work"
    work.mkdir()
    with running_demo(tmp_path / "demo", timeout=2.0) as (env, answers):
        make_certbot_lineage(env)
        nginx = DemoNginx(env.files.nginx_root, binary)
        nginx.start()
        try:
            lab = Lab(
                env,
                answers,
                nginx,
                work,
                _process_env(work),
                {
                    "slack_client_secret": "cs-" + secrets.token_hex(8),
                    "slack_signing_secret": "ss-" + secrets.token_hex(8),
                    "msteams_app_password": "tp-" + secrets.token_hex(8),
                },
            )
            # The fake API holds the app ids and secret the role writes: the signed proof passes.
            assert env.api is not None
            env.api.bot = BotSettings(
                lab.secrets["slack_signing_secret"], ROLE_SLACK_APP_ID, ROLE_TEAMS_APP_ID
            )
            _write_inventory(lab, wheel)
            yield lab
        finally:
            nginx.stop()


def _task_results(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The results of every task of the role called ``name``, in order."""
    return [task for task in document["tasks"] if task["task"] == f"codestream_bastion : {name}"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_guard_reaches_every_python_process_of_the_run(tmp_path: Path) -> None:
    probe = _run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 443), 1)"],
        _process_env(tmp_path),
        tmp_path,
    )
    assert probe.returncode != 0
    assert "OffMachineTraffic" in probe.stderr


def test_site_yml_installs_and_proves_the_bastion_then_changes_nothing(lab: Lab) -> None:
    first, document = lab.playbook()
    assert first.returncode == 0, json.dumps(document, indent=1)[-6000:] + first.stderr
    stats = document["stats"]["localhost"]
    assert stats["failures"] == 0
    assert stats["changed"] > 0
    # The role made the venv and installed the wheel into it.
    for task in (
        "Create the virtual environment",
        "Install codestream-bastion in its virtual environment",
    ):
        assert [r["changed"] for r in _task_results(document, task)] == [True], task
    assert (lab.venv / "bin" / "codestream-bastion").is_file()
    (applied,) = _task_results(document, "Run apply")
    report = json.loads(applied["stdout"])
    assert applied["changed"] is True
    assert (report["ok"], report["changed"], report["reloaded"]) == (True, True, True)
    server_block = lab.env.files.nginx_root / "conf.d" / "codestream-bastion.conf"
    assert server_block.is_file()
    actions = {Path(entry["path"]).resolve(): entry["action"] for entry in report["files"]}
    assert actions[server_block.resolve()] == "created"
    hook = lab.env.files.certs.parent / "renewal-hooks" / "deploy" / "reload-nginx"
    assert actions[hook.resolve()] == "created"

    # The post-install check went through the real nginx to the fake API.
    checks = _task_results(document, "Run codestream-bastion check --post-install")
    (post,) = checks
    proof = {f["code"]: f["status"] for f in json.loads(post["stdout"])["findings"]}
    assert proof.get("proxy.ok") == "ok"
    assert "fail" not in proof.values()
    assert lab.env.api is not None
    api_paths = {request.path for request in lab.env.api.requests}
    assert any(path.startswith("/no-auth/provider-action/msteams") for path in api_paths)

    # Secrets: 0600 files from the vault, referenced by the answers, used by the snippet.
    answers_text = (lab.config_dir / "answers.toml").read_text(encoding="utf-8")
    snippet = (lab.config_dir / "codestream-messaging.json").read_text(encoding="utf-8")
    assert _mode(lab.config_dir) == 0o700
    assert _mode(lab.config_dir / "answers.toml") == 0o600
    assert _mode(lab.config_dir / "codestream-messaging.json") == 0o600
    for name, value in lab.secrets.items():
        assert value not in answers_text
        assert value in snippet
        files = list((lab.config_dir / "secrets").iterdir())
        assert any(f.read_text(encoding="utf-8") == value + "\n" for f in files)
        assert {_mode(f) for f in files} == {0o600}
        assert value not in first.stdout + first.stderr, name
    assert 'client_secret_file = "' in answers_text

    second, document = lab.playbook()
    assert second.returncode == 0, json.dumps(document, indent=1)[-6000:] + second.stderr
    stats = document["stats"]["localhost"]
    changed = [task["task"] for task in document["tasks"] if task.get("changed")]
    assert stats["changed"] == 0, changed
    (applied,) = _task_results(document, "Run apply")
    report = json.loads(applied["stdout"])
    assert applied["changed"] is False
    assert (report["ok"], report["changed"], report["reloaded"]) == (True, False, False)
    assert {entry["action"] for entry in report["files"]} == {"unchanged"}


def test_a_failed_check_stops_the_play_with_the_finding_before_apply(lab: Lab) -> None:
    wrong_cert, wrong_key = lab.env.files.cert_pair("wrong-host")
    # Ansible's own output, as verbose as it gets and with --diff: the finding
    # is there, the secrets are not (no_log and the K_file route).
    result = lab.run_playbook(
        "-e", f"codestream_bastion_certificate={wrong_cert}",
        "-e", f"codestream_bastion_private_key={wrong_key}",
        "--diff", "-vvv",
        callback="ansible.builtin.default",
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-4000:]
    assert "TASK [codestream_bastion : Stop on a failed check]" in output
    # The play's message: the headline, then each failed finding with its remedy.
    assert "codestream-bastion check failed; fix these and run again:" in output
    assert '"code": "cert.hostname_mismatch"' in output
    assert "failed=1" in output
    assert "TASK [codestream_bastion : Run apply]" not in output
    assert not (lab.env.files.nginx_root / "conf.d" / "codestream-bastion.conf").exists()
    for value in lab.secrets.values():
        assert value not in output
    # The secret files were written all the same (before the check), from the vault.
    written = {p.read_text(encoding="utf-8") for p in (lab.config_dir / "secrets").iterdir()}
    assert written == {value + "\n" for value in lab.secrets.values()}


def test_ansible_lint_is_clean(tmp_path: Path) -> None:
    # The run's environment (loopback guard included), less the test's stdout callback.
    env = {k: v for k, v in _process_env(tmp_path).items() if "CALLBACK" not in k}
    linted = _run(
        [_tool("ansible-lint"), "-c", ANSIBLE_DIR / ".ansible-lint", "--offline"],
        {**env, "NO_COLOR": "1"},
        ANSIBLE_DIR,
    )
    output = linted.stdout + linted.stderr
    assert linted.returncode == 0, textwrap.shorten(output, 8000)
    assert "Passed" in output
    assert "OffMachineTraffic" not in output
