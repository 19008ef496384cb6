"""``apply --renew-hook``: certbot's deploy hook through the install pipeline, run for real.

The demo's certificate already sits in certbot's ``live/<name>/`` layout; a
``renewal/<name>.conf`` beside it makes it a certbot lineage. ``apply
--renew-hook`` then plans the hook like every other file, the check finds it
(``cert.renewal_ok``), and running the hook as certbot would really reloads
the demo's nginx master (its workers are replaced).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.demo_apply import apply_args, one_json_object
from wizard.checks.renewal import HOOK_NAME
from wizard.cli import main
from wizard.demo.environment import DEMO_HOSTNAME, DemoEnvironment
from wizard.demo.nginx import DemoNginx
from wizard.install.reload import worker_pids

pytestmark = pytest.mark.nginx


def make_certbot_lineage(env: DemoEnvironment) -> Path:
    """``renewal/<name>.conf`` for the demo certificate; returns where the hook goes."""
    config = env.files.certs.parent
    renewal = config / "renewal"
    renewal.mkdir(exist_ok=True)
    (renewal / f"{DEMO_HOSTNAME}.conf").write_text(
        "version = 2.11.0\n"
        f"fullchain = {env.files.certs / DEMO_HOSTNAME / 'fullchain.pem'}\n"
        "[renewalparams]\nauthenticator = standalone\n",
        encoding="utf-8",
    )
    return config / "renewal-hooks" / "deploy" / HOOK_NAME


def _renewal_finding(
    env: DemoEnvironment, answers: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    main(
        [
            "check", "--answers", str(answers), "--json", *env.cli_options(),
        ]
    )  # fmt: skip
    findings = json.loads(capsys.readouterr().out)["findings"]
    (code,) = [f["code"] for f in findings if f["code"].startswith("cert.renewal")]
    return str(code)


def _wait_for_new_workers(master: int, before: frozenset[int]) -> frozenset[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = worker_pids(master)
        if now and not now & before:
            return now
        time.sleep(0.05)
    raise AssertionError(f"nginx's workers were not replaced: {before} -> {worker_pids(master)}")


def test_renew_hook_is_planned_installed_found_and_reloads_nginx(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, nginx = demo_with_nginx
    monkeypatch.chdir(tmp_path)
    hook = make_certbot_lineage(env)
    assert _renewal_finding(env, answers, capsys) == "cert.renewal_no_reload"

    # --dry-run: the hook is in the plan, nothing is written.
    assert main(apply_args(env, answers, "--yes", "--json", "--dry-run", "--renew-hook")) == 0
    planned = one_json_object(capsys.readouterr().out)
    assert {"path": str(hook), "action": "created"} in planned["files"]  # type: ignore[operator]
    assert not hook.exists()

    assert main(apply_args(env, answers, "--yes", "--json", "--renew-hook")) == 0
    applied = one_json_object(capsys.readouterr().out)
    assert applied["changed"] is True
    assert {"path": str(hook), "action": "created"} in applied["files"]  # type: ignore[operator]
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    script = hook.read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n")
    assert "systemctl" not in script  # a tree other than /etc/nginx: its own nginx -c/-p
    assert _renewal_finding(env, answers, capsys) == "cert.renewal_ok"

    # certbot runs the hook after a renewal: the demo master reloads.
    master = nginx.pid()
    assert master is not None
    before = worker_pids(master)
    assert before
    ran = subprocess.run(
        [str(hook)], capture_output=True, text=True, timeout=30, check=False, env=dict(os.environ)
    )
    assert ran.returncode == 0, ran.stderr
    _wait_for_new_workers(master, before)
    assert nginx.pid() == master

    # Same answers, same flag: nothing to change.
    assert main(apply_args(env, answers, "--yes", "--json", "--renew-hook")) == 0
    again = one_json_object(capsys.readouterr().out)
    assert again["changed"] is False
    assert {"path": str(hook), "action": "unchanged"} in again["files"]  # type: ignore[operator]


def test_renew_hook_without_certbot_is_refused_and_nothing_is_written(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(apply_args(env, answers, "--yes", "--json", "--renew-hook")) == 1
    document = one_json_object(capsys.readouterr().out)
    assert document["ok"] is False
    assert document["changed"] is False
    failed = [f for f in document["findings"] if f["status"] == "fail"]  # type: ignore[attr-defined]
    (refused,) = [f for f in failed if f["code"] == "install.renew_hook_not_certbot"]
    assert "certbot" in refused["title"]
    assert "without --renew-hook" in refused["remedy"]
    assert not (env.files.nginx_root / "conf.d" / "codestream-bastion.conf").exists()
    assert list(work.iterdir()) == []
