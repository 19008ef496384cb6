"""The command line: cheap start-up, usage errors and exit statuses."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.commands.common import EXIT_USAGE

HEAVY = ("cryptography", "httpx", "dns", "jinja2", "textual")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import sys, wizard.cli; wizard.cli.build_parser();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = _run("-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_loads_no_heavy_library() -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['codestream-bastion', '--help']\n"
        "try:\n    runpy.run_module('wizard', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = _run("-c", probe)
    assert "usage: codestream-bastion" in result.stdout
    assert "LOADED []" in result.stdout


def test_missing_answers_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["check", "--answers", str(missing)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "no such file" in err
    assert "Traceback" not in err


def test_bad_key_names_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.toml"
    path.write_text('mode = "slack"\n\n[bastion]\nhostname = "b.example.com"\ncolour = 1\n')
    assert main(["render", "--answers", str(path), "--out", str(tmp_path / "o")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{path}:5" in err
    assert "bastion.colour" in err


def test_bad_dns_server_option_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.toml"
    path.write_text('mode = "slack-no-exposure"\n')
    assert main(["check", "--answers", str(path), "--dns-server", "resolver.lan"]) == EXIT_USAGE
    assert "must be an IP address" in capsys.readouterr().err


def test_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--answers", "x", "--timeout", "soon"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert "not a number of seconds" in captured.err
    assert "usage: codestream-bastion check" in captured.err
    assert captured.out == "", "no JSON unless it was asked for"


def test_no_exposure_check_prints_json_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.toml"
    path.write_text('mode = "slack-no-exposure"\n')
    status = main(["check", "--answers", str(path), "--json", "--dns-server", "127.0.0.1:9"])
    out = capsys.readouterr().out
    document = json.loads(out)
    assert status == 0
    assert document["ok"] is True
    assert [f["code"] for f in document["findings"]] == ["mode.no_exposure"]
    assert set(document["findings"][0]) == {"code", "status", "title", "detail", "remedy"}


# -- P10: what a script reads -------------------------------------------------------


def test_check_json_with_a_broken_answers_file_prints_one_object_with_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.toml"
    path.write_text('mode = "slack"\n[bastion\n')
    assert main(["check", "--answers", str(path), "--json"]) == EXIT_USAGE
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["ok"] is False
    assert document["findings"] == []
    assert f"{path}:2" in document["error"]
    assert f"{path}:2" in captured.err, "people still read the message on stderr"


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--json"],
        ["check", "--format", "json", "--timeout", "soon", "--answers", "x"],
        ["check", "--json", "--no-such-option", "--answers", "x"],
    ],
)
def test_check_json_usage_errors_print_one_object(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert set(document) == {"ok", "error", "findings"}
    assert document["ok"] is False
    assert document["error"]
    assert document["error"] in captured.err


def test_check_json_and_format_disagreeing_is_said_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.toml"
    path.write_text('mode = "slack-no-exposure"\n')
    argv = ["check", "--answers", str(path), "--json", "--format", "text"]
    assert main([*argv, "--dns-server", "127.0.0.1:9"]) == EXIT_USAGE
    document = json.loads(capsys.readouterr().out)
    assert "disagree" in document["error"]


def test_apply_json_usage_error_keeps_its_shape_and_says_the_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["apply", "--json"]) == EXIT_USAGE
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert "--answers" in document["error"]
    assert [f["code"] for f in document["findings"]] == ["install.bad_input"]
    assert document["files"] == []


def test_help_lists_the_exit_codes_and_every_command_says_what_it_does() -> None:
    from wizard.cli import build_parser

    parser = build_parser()
    text = parser.format_help()
    for line in ("exit status:", "  0 ", "  1 ", "  2 ", "  130 ", "3 UNKNOWN"):
        assert line in text
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = actions[0].choices
    assert set(commands) == {"check", "render", "apply", "certificate", "merge-config", "demo"}
    listed = {choice.dest: choice.help for choice in actions[0]._choices_actions}
    for name, command in commands.items():
        assert listed[name], f"{name} has no line in the command list"
        assert command.description, f"{name} --help says nothing about what it does"
        assert "exit status:" in command.format_help()


def test_warning_counts_are_singular_for_one() -> None:
    from wizard.report import count_summary

    one = count_summary({"fail": 1, "warn": 1, "ok": 30, "skip": 3})
    assert one == "1 failed, 1 warning, 30 ok, 3 skipped"
    assert "0 warnings" in count_summary({"fail": 0, "warn": 0, "ok": 1, "skip": 0})


def test_rendered_next_steps_name_the_real_answers_file(tmp_path: Path) -> None:
    path = tmp_path / "my answers.toml"
    path.write_text('mode = "slack-no-exposure"\n')
    out = tmp_path / "out"
    assert main(["render", "--answers", str(path), "--out", str(out)]) == 0
    steps = (out / "next-steps.md").read_text()
    assert "ANSWERS.toml" not in steps
    assert f"check --answers '{path}'" in steps


@pytest.mark.parametrize(
    ("argv", "module", "off_while_loading"),
    [
        (["--answers", "a.toml"], "wizard.commands.interactive", True),
        (["demo"], "wizard.commands.demo", True),
        (["demo", "--check"], "wizard.commands.demo", False),
        (["check", "--answers", "a.toml"], "wizard.commands.check", False),
    ],
)
def test_the_collector_is_off_only_while_the_wizard_loads_and_on_after(
    argv: list[str], module: str, off_while_loading: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import importlib

    seen: list[bool] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the command failed before its screen")

    monkeypatch.setattr(importlib.import_module(module), "run", run)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        main(argv)
    assert seen == [not off_while_loading]
    assert gc.isenabled(), "a command that fails never leaves the collector off"
