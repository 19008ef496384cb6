"""The headless story on whichever Python runs it: render, apply into a real nginx, prove it.

``./dev test-pythons`` runs this file with the unit tests on every supported
CPython besides the suite's own (README.md, "Supported systems"); the whole
suite runs it too. Each step is the command an admin types, run by this
Python (``python -m wizard``) in its own process; the demo environment stands
in for the network (loopback resolvers, the fake CodeStream API behind its
private CA) and a real nginx master runs the tree that ``apply`` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.demo.environment import DemoEnvironment
from wizard.demo.nginx import DemoNginx

pytestmark = pytest.mark.nginx

ROOT = Path(__file__).resolve().parents[2]


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m wizard ARGS`` with this interpreter and the checkout's package, in ``cwd``.

    ``apply`` writes the snippet and the other outputs into the working directory.
    """
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True, text=True, timeout=180, check=False, env=env, cwd=cwd,
    )  # fmt: skip


def test_render_apply_and_post_install_check_through_a_real_nginx(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx], tmp_path: Path
) -> None:
    env, answers, _nginx = demo_with_nginx
    out = tmp_path / "rendered"
    rendered = _run(
        tmp_path, "render", "--answers", str(answers), "--out", str(out), *env.cli_options()
    )
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    block = (out / "codestream-bastion.conf").read_bytes()

    applied = _run(tmp_path, "apply", "--answers", str(answers), "--yes", *env.cli_options())
    assert applied.returncode == 0, applied.stdout + applied.stderr
    installed = env.files.nginx_root / "conf.d" / "codestream-bastion.conf"
    assert installed.read_bytes() == block, "apply installed what render wrote"

    checked = _run(tmp_path, "check", "--answers", str(answers), "--post-install", "--json",
                   *env.cli_options())  # fmt: skip
    document = json.loads(checked.stdout)
    failed = [f for f in document["findings"] if f["status"] == "fail"]
    assert checked.returncode == 0, failed
    proxy = {f["code"]: f["status"] for f in document["findings"] if f["code"].startswith("proxy")}
    assert proxy.get("proxy.ok") == "ok"
    # The proof went through nginx to the fake API, at the exact endpoint.
    assert env.api is not None
    assert "/no-auth/provider-action/slack/" in {request.path for request in env.api.requests}
