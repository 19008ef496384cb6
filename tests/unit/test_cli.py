"""The command line: cheap start-up, usage errors and exit statuses."""

from __future__ import annotations

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
    with pytest.raises(SystemExit) as caught:
        main(["check", "--answers", "x", "--timeout", "soon"])
    assert caught.value.code == EXIT_USAGE
    assert "not a number of seconds" in capsys.readouterr().err


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
