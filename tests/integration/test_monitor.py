"""``apply --monitor``: the daily check's systemd units through the install pipeline, run for real.

systemd does not run in the test environment, so the service is run the way
systemd would: its ``ExecStart`` read back with systemd's quoting rules and
executed. The report it writes is parsed with prometheus_client's parser.
Where ``systemd-analyze`` is installed, it verifies both unit files too.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.demo_apply import apply_args, one_json_object
from wizard.cli import main
from wizard.demo.environment import DemoEnvironment
from wizard.demo.nginx import DemoNginx
from wizard.install.monitor import SERVICE_NAME, TEXTFILE_NAME, TIMER_NAME

pytestmark = pytest.mark.nginx

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def exec_start(unit: str) -> list[str]:
    """The argv of ``ExecStart``, unquoted as systemd does for the quoting we write."""
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    rest = line.removeprefix("ExecStart=")
    words = _QUOTED.findall(rest)
    assert " ".join(f'"{w}"' for w in words) == rest, "every argument is double-quoted"

    def unquote(word: str) -> str:
        word = re.sub(r"\\(.)", r"\1", word)
        return word.replace("%%", "%").replace("$$", "$")

    return [unquote(word) for word in words]


def test_monitor_units_are_planned_installed_and_their_check_writes_the_textfile(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    work, textfiles, units = tmp_path / "work", tmp_path / "textfile", tmp_path / "systemd"
    for directory in (work, textfiles):
        directory.mkdir()
    monkeypatch.chdir(work)
    monitor = ["--monitor", "--textfile-dir", str(textfiles), "--systemd-dir", str(units)]
    service, timer = units / SERVICE_NAME, units / TIMER_NAME

    assert main(apply_args(env, answers, "--yes", "--json", "--dry-run", *monitor)) == 0
    planned = one_json_object(capsys.readouterr().out)
    for unit in (service, timer):
        assert {"path": str(unit), "action": "created"} in planned["files"]  # type: ignore[operator]
    assert not units.exists()

    assert main(apply_args(env, answers, "--yes", "--json", *monitor)) == 0
    applied = one_json_object(capsys.readouterr().out)
    assert applied["changed"] is True
    for unit in (service, timer):
        assert {"path": str(unit), "action": "created"} in applied["files"]  # type: ignore[operator]
        assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    timer_text = timer.read_text(encoding="utf-8")
    assert "OnCalendar=daily" in timer_text
    assert "WantedBy=timers.target" in timer_text

    # What systemd would run: the check through the installed proxy, into the textfile.
    argv = exec_start(service.read_text(encoding="utf-8"))
    assert argv[argv.index("--textfile") + 1] == str(textfiles / TEXTFILE_NAME)
    assert "--post-install" in argv
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd="/")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout == ""
    report = (textfiles / TEXTFILE_NAME).read_text(encoding="utf-8")
    samples = {
        (sample.name, sample.labels.get("code", "")): sample.value
        for family in text_string_to_metric_families(report)
        for sample in family.samples
    }
    assert samples[("codestream_bastion_ok", "")] == 1
    assert samples[("codestream_bastion_check_status", "proxy.ok")] == 0
    assert stat.S_IMODE((textfiles / TEXTFILE_NAME).stat().st_mode) == 0o644
    assert [p.name for p in textfiles.iterdir()] == [TEXTFILE_NAME]  # no temporary left

    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        verified = subprocess.run(
            [analyze, "verify", "--man=no", str(service), str(timer)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr

    assert main(apply_args(env, answers, "--yes", "--json", *monitor)) == 0
    again = one_json_object(capsys.readouterr().out)
    assert again["changed"] is False
    assert {"path": str(service), "action": "unchanged"} in again["files"]  # type: ignore[operator]


def test_monitor_without_a_textfile_directory_is_refused_and_nothing_is_written(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, answers, _nginx = demo_with_nginx
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    missing = tmp_path / "no-textfile-dir"
    monitor = ["--monitor", "--textfile-dir", str(missing), "--systemd-dir", str(tmp_path / "u")]
    assert main(apply_args(env, answers, "--yes", "--json", *monitor)) == 1
    document = one_json_object(capsys.readouterr().out)
    failed = [f for f in document["findings"] if f["status"] == "fail"]  # type: ignore[attr-defined]
    (refused,) = [f for f in failed if f["code"] == "install.monitor"]
    assert str(missing) in refused["title"]
    assert not (tmp_path / "u").exists()
    assert not (env.files.nginx_root / "conf.d" / "codestream-bastion.conf").exists()
    assert list(work.iterdir()) == []


def test_textfile_needs_the_prometheus_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('mode = "slack-no-exposure"\n', encoding="utf-8")
    status = main(["check", "--answers", str(answers), "--textfile", str(tmp_path / "x.prom")])
    assert status == 2
    assert "--format prometheus" in capsys.readouterr().err
    assert not (tmp_path / "x.prom").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory away")
def test_monitor_refuses_an_answers_file_another_user_could_change(
    demo_with_nginx: tuple[DemoEnvironment, Path, DemoNginx],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The root timer would read it daily: whoever owns its directory would steer root's check."""
    env, answers, _nginx = demo_with_nginx
    work, textfiles = tmp_path / "work", tmp_path / "textfile"
    for directory in (work, textfiles):
        directory.mkdir()
    monkeypatch.chdir(work)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    moved = theirs / "answers.toml"
    shutil.copy(answers, moved)
    os.chown(theirs, pwd.getpwnam("nobody").pw_uid, -1)
    units = tmp_path / "u"
    monitor = ["--monitor", "--textfile-dir", str(textfiles), "--systemd-dir", str(units)]
    assert main(apply_args(env, moved, "--yes", "--json", *monitor)) == 1
    document = one_json_object(capsys.readouterr().out)
    findings = document["findings"]
    (refused,) = [f for f in findings if f["code"] == "install.monitor"]  # type: ignore[union-attr,index]
    assert str(theirs) in refused["title"]
    assert "belongs to nobody" in refused["title"]
    assert "read it as root" in refused["title"]
    assert "/etc/codestream-bastion/" in refused["remedy"]
    assert not units.exists()
    assert not (env.files.nginx_root / "conf.d" / "codestream-bastion.conf").exists()
