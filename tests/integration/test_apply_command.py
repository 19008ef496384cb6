"""The headless story end to end: ``apply`` into a real nginx, then ``check --post-install``.

The demo environment stands in for the network (loopback resolvers, the fake
CodeStream API behind its own private CA); a real nginx master runs the tree
that ``apply`` writes, and the post-install checks go through it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.demo.environment import DemoEnvironment
from wizard.demo.nginx import DemoNginx

pytestmark = pytest.mark.nginx


def test_apply_then_post_install_check_passes_and_second_apply_is_a_no_op(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["check", "--answers", str(answers), "--post-install", *env.cli_options()]) == 1
    before = capsys.readouterr().out
    assert "proxy.unreachable" in before

    assert main(["apply", "--answers", str(answers), "--yes", *env.cli_options()]) == 0
    applied = capsys.readouterr().out
    assert "codestream-bastion.conf" in applied
    assert (env.files.nginx_root / "conf.d" / "codestream-bastion.conf").is_file()

    status = main(
        ["check", "--answers", str(answers), "--post-install", "--json", *env.cli_options()]
    )
    document = json.loads(capsys.readouterr().out)
    proxy = {f["code"]: f["status"] for f in document["findings"] if f["code"].startswith("proxy")}
    assert status == 0, [f for f in document["findings"] if f["status"] == "fail"]
    assert proxy.get("proxy.ok") == "ok"
    assert "fail" not in proxy.values()
    api_paths = {request.path for request in env.api.requests} if env.api else set()
    assert "/no-auth/provider-action/slack/" in api_paths

    assert main(["apply", "--answers", str(answers), "--yes", *env.cli_options()]) == 0
    assert "nothing to change" in capsys.readouterr().out.lower()
