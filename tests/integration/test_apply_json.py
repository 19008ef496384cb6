"""``apply --json``: one JSON object on stdout, the contract automation (Ansible) relies on.

The demo environment stands in for the network; a real nginx master runs the
tree that ``apply`` writes. Asserted: stdout is exactly one JSON object with
``ok``, ``changed``, ``reloaded``, ``started``, ``files`` and ``findings``; a dry run
writes nothing and says what would change; a re-run with the same answers
changes nothing and does not reload.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.demo_apply import apply_args, listing, one_json_object
from wizard.cli import main
from wizard.demo.environment import DemoEnvironment
from wizard.demo.nginx import DemoNginx

pytestmark = pytest.mark.nginx


def test_apply_json_dry_run_then_apply_then_no_op(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    server_block = env.files.nginx_root / "conf.d" / "codestream-bastion.conf"
    before = listing(env.files.nginx_root, out)

    assert main(apply_args(env, answers, "--json", "--dry-run")) == 0
    dry = one_json_object(capsys.readouterr().out)
    assert dry["ok"] is True
    assert dry["changed"] is True
    assert dry["reloaded"] is False
    actions = {f["path"]: f["action"] for f in dry["files"]}  # type: ignore[attr-defined]
    assert actions[str(server_block)] == "created"
    assert actions[str(out / "answers.toml")] == "created"
    assert listing(env.files.nginx_root, out) == before  # nothing written

    # Without --yes and without a terminal nobody can confirm: exit 2, still one object.
    assert main(apply_args(env, answers, "--json")) == 2
    refused = one_json_object(capsys.readouterr().out)
    assert refused["ok"] is False
    assert refused["changed"] is False
    codes = {f["code"]: f["status"] for f in refused["findings"]}  # type: ignore[attr-defined]
    assert codes["install.not_confirmed"] == "fail"
    assert listing(env.files.nginx_root, out) == before

    assert main(apply_args(env, answers, "--json", "--yes")) == 0
    applied = one_json_object(capsys.readouterr().out)
    assert applied["ok"] is True
    assert applied["changed"] is True
    assert applied["reloaded"] is True  # a real master took the new configuration
    assert applied["started"] is False  # it was running: reloaded, not started
    codes = {f["code"]: f["status"] for f in applied["findings"]}  # type: ignore[attr-defined]
    assert codes["install.done"] == "ok"
    assert codes["install.reload_proven"] == "ok"
    assert "fail" not in codes.values()
    assert {f["action"] for f in applied["files"]} == {"created"}  # type: ignore[attr-defined]
    assert server_block.is_file()

    assert main(apply_args(env, answers, "--json", "--yes")) == 0
    again = one_json_object(capsys.readouterr().out)
    assert again["ok"] is True
    assert again["changed"] is False
    assert again["reloaded"] is False
    assert {f["action"] for f in again["files"]} == {"unchanged"}  # type: ignore[attr-defined]


def test_apply_json_bad_answers_is_still_one_object_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('mode = "slack"\n[slack]\nclient_secret = 1234567890\n')
    status = main(["apply", "--answers", str(answers), "--json", "--nginx-root", str(tmp_path)])
    assert status == 2
    document = one_json_object(capsys.readouterr().out)
    assert document["ok"] is False
    (finding,) = document["findings"]  # type: ignore[misc]
    assert finding["code"] == "install.bad_input"
    assert "slack.client_secret" in finding["title"]
    assert "slack.client_secret" in str(document["error"])
    assert "1234567890" not in json.dumps(document)


def test_apply_writes_the_snippet_for_the_release_the_api_reports(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    assert env.api is not None
    env.api.api_version = "12.0.0"  # before 13.0.2: the three Slack families
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    assert main(apply_args(env, answers, "--json", "--yes")) == 0
    document = one_json_object(capsys.readouterr().out)
    assert document["ok"] is True
    snippet = json.loads((out / "codestream-messaging.json").read_text())
    slack = snippet["integrations"]["slack"]["cloud"]
    assert {"appClientId", "appSharingClientId", "appStrictClientId"} <= set(slack)
