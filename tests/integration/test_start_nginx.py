"""``apply`` on a tree where no nginx master runs: it starts nginx, or rolls everything back.

The demo's nginx tree (``conf.d`` layout, its own pid file and logs under a
temporary directory) is laid out but **not started**, as ``dnf install nginx``
leaves a RHEL host. Through the real command line (``codestream-bastion
apply``) and the real nginx:

- a dry run says nginx would be started and starts nothing;
- ``apply --yes`` says "nginx is not running: it will be started (...)" before
  anything happens, starts nginx (``nginx -c <tree>/nginx.conf -p <tree>/``:
  this machine has no systemd as PID 1), proves it serves, and the
  post-install proxy test passes through it; a second apply changes nothing
  and starts nothing (the same master keeps running);
- a listen port another process holds (a socket bound here) makes the start
  fail: exit 1 with nginx's own bind error, every file byte-identical, no
  master left running;
- a start command that leaves a master running yet reports failure: the
  master is stopped again;
- a run killed right after the start command: the next run puts the files
  back and stops the master that run started.

Every master a test starts is stopped at teardown (the fixture below, and
the suite-wide check in ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.demo_apply import apply_args, listing
from tests.nginx_harness import masters_under, require_nginx
from wizard.answers import load_answers, save_answers
from wizard.cli import main
from wizard.commands.apply import default_installer, run_apply
from wizard.demo.environment import DemoEnvironment, running_demo
from wizard.demo.nginx import DemoNginx
from wizard.install.pipeline import run_pipeline
from wizard.install.state import StateDir
from wizard.nginx.master import master_state

pytestmark = pytest.mark.nginx


@dataclasses.dataclass
class Stopped:
    """A demo environment whose nginx tree is laid out but not running."""

    env: DemoEnvironment
    answers: Path
    nginx: DemoNginx
    out: Path

    @property
    def root(self) -> Path:
        return self.env.files.nginx_root

    @property
    def port(self) -> int:
        return load_answers(self.answers).bastion.listen_port

    def args(self, *extra: str) -> list[str]:
        return apply_args(self.env, self.answers, *extra)

    def running(self) -> bool:
        return master_state(self.nginx.pid_file).running

    def listing(self) -> dict[str, tuple[int, bytes]]:
        """Every file of the tree and the output directory (not logs, pid or temp files)."""
        return listing(self.root, self.out)


@pytest.fixture
def stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stopped]:
    binary = require_nginx()
    with running_demo(tmp_path / "demo", timeout=2.0) as (env, answers):
        nginx = DemoNginx(env.files.nginx_root, binary)
        nginx.prepare()  # nginx.conf, conf.d, logs: installed, never started
        out = tmp_path / "out"
        out.mkdir()
        monkeypatch.chdir(out)
        monkeypatch.setenv("NO_COLOR", "1")
        try:
            yield Stopped(env, answers, nginx, out)
        finally:
            nginx.stop()  # the master apply started, if any
    assert masters_under(tmp_path) == []


def test_apply_starts_a_stopped_nginx_and_the_proxy_test_passes(
    stopped: Stopped, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not stopped.running()
    start = f"{require_nginx()} -c {stopped.root}/nginx.conf -p {stopped.root}/"

    # --dry-run: says it would start nginx, and starts nothing.
    assert main(stopped.args("--dry-run", "--json")) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["changed"], dry["reloaded"], dry["started"]) == (True, False, False)
    will = [f for f in dry["findings"] if f["code"] == "install.will_start"]
    assert [f["title"] for f in will] == [f"nginx is not running: it will be started ({start})"]
    assert "nginx is not running" in will[0]["detail"]  # the pid file, and why no master
    assert not stopped.running()

    assert main(stopped.args("--yes")) == 0
    text = capsys.readouterr().out
    planned = text.index(f"nginx is not running: it will be started ({start})")
    assert planned < text.index(f"nginx was not running and was started ({start})")
    state = master_state(stopped.nginx.pid_file)
    assert state.running, state.detail

    status = main(["check", *stopped.args("--post-install", "--json")[1:]])
    document = json.loads(capsys.readouterr().out)
    proxy = {f["code"]: f["status"] for f in document["findings"] if f["code"].startswith("proxy")}
    assert status == 0, [f for f in document["findings"] if f["status"] == "fail"]
    assert proxy.get("proxy.ok") == "ok"

    # Again: nothing changes, nothing is started, the same master keeps serving.
    assert main(stopped.args("--yes", "--json")) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["ok"], again["changed"], again["reloaded"], again["started"]) == (
        True,
        False,
        False,
        False,
    )
    assert "install.will_start" not in {f["code"] for f in again["findings"]}
    assert master_state(stopped.nginx.pid_file).pid == state.pid

    # A changed server block on the running master: reloaded, not started.
    answers = load_answers(stopped.answers)
    answers.slack.events = not answers.slack.events
    save_answers(answers, stopped.answers)
    assert main(stopped.args("--yes", "--json")) == 0
    changed = json.loads(capsys.readouterr().out)
    assert (changed["changed"], changed["reloaded"], changed["started"]) == (True, True, False)
    assert master_state(stopped.nginx.pid_file).pid == state.pid


def test_apply_json_reports_started(stopped: Stopped, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(stopped.args("--yes", "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["ok"], document["changed"], document["reloaded"], document["started"]) == (
        True,
        True,
        False,
        True,
    )
    codes = {f["code"]: f["status"] for f in document["findings"]}
    assert codes["install.will_start"] == "ok"
    assert codes["install.started"] == "ok"
    assert "install.reload_proven" not in codes
    assert stopped.running()


def test_a_held_listen_port_fails_the_start_and_everything_is_put_back(
    stopped: Stopped, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stopped.listing()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", stopped.port))
        holder.listen(1)
        assert main(stopped.args("--yes")) == 1
        text = capsys.readouterr().out
        assert main(stopped.args("--yes", "--json")) == 1
        document = json.loads(capsys.readouterr().out)
    bind_error = f"bind() to 127.0.0.1:{stopped.port} failed (98: Address already in use)"
    assert "FAILED: nginx was not running, and starting it failed" in text
    assert bind_error in text  # nginx's own words
    assert "every file was put back as it was" in text
    assert stopped.listing() == before  # byte for byte, modes too
    assert not (stopped.root / "conf.d" / "codestream-bastion.conf").exists()
    assert not stopped.running()
    assert masters_under(stopped.root) == []
    codes = {f["code"]: f for f in document["findings"]}
    assert codes["install.start_failed"]["status"] == "fail"
    assert bind_error in codes["install.start_failed"]["detail"]
    assert codes["install.rolled_back"]["status"] == "ok"
    assert "install.note" not in codes  # nginx exited by itself: nothing left to stop
    assert (document["changed"], document["started"]) == (False, False)


async def test_a_start_that_reports_failure_but_left_a_master_is_stopped(
    stopped: Stopped,
) -> None:
    """The start command starts the real master, then exits 1 (as ``systemctl enable
    --now`` does when enabling fails after the start): the master is stopped again."""
    answers = load_answers(stopped.answers)
    ctx = dataclasses.replace(stopped.env.context(), nginx_root=stopped.root)
    installer = await default_installer(answers, ctx, output_dir=stopped.out)
    argv = " ".join(stopped.nginx.start_argv())
    installer.start_command = ["sh", "-c", f"{argv} && echo 'could not enable' >&2 && exit 1"]
    before = stopped.listing()
    result = await run_pipeline(answers, ctx, installer)
    assert result.exit_code == 1
    assert result.install is not None
    assert result.install.code == "install.start_failed"
    assert "could not enable" in result.install.nginx_output
    assert any("was stopped again" in note for note in result.install.notes), result.install
    assert not stopped.running()
    assert stopped.listing() == before


_KILLED_AFTER_START = """\
import sys
from wizard.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _apply_killed_after_the_start(stopped: Stopped) -> subprocess.CompletedProcess[str]:
    """``apply --yes`` in a child process that SIGKILLs itself once the start command returned."""
    env = {
        **os.environ,
        "CODESTREAM_BASTION_TESTING": "1",
        "CODESTREAM_BASTION_FAULT": "started",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    return subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_START, *stopped.args("--yes")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=stopped.out,
        env=env,
        check=False,
    )


async def test_a_run_killed_after_the_start_is_recovered_and_its_master_stopped(
    stopped: Stopped,
) -> None:
    before = stopped.listing()
    run = await asyncio.to_thread(_apply_killed_after_the_start, stopped)
    assert run.returncode == -9, run.stdout + run.stderr
    assert stopped.running(), "the killed run had started nginx"
    assert (stopped.root / "conf.d" / "codestream-bastion.conf").exists()

    answers = load_answers(stopped.answers)
    ctx = dataclasses.replace(stopped.env.context(), nginx_root=stopped.root)
    installer = await default_installer(answers, ctx, output_dir=stopped.out)
    journals = StateDir.for_root(stopped.root, None).journals
    (journal,) = [json.loads(p.read_text()) for p in journals.glob("*/journal.json")]
    assert journal["state"] == "starting"
    assert journal["start"]["manager"] == "nginx"
    assert journal["start"]["pid"] is None  # killed before it could record the pid
    result = await run_pipeline(answers, ctx, installer, stop_after="recover")
    assert result.exit_code == 0
    text = " ".join(result.recovered)
    assert "state starting" in text
    assert "was stopped again" in text
    assert not stopped.running()
    assert stopped.listing() == before


async def test_the_question_names_the_start_and_no_leaves_nginx_stopped(
    stopped: Stopped,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = load_answers(stopped.answers)
    ctx = dataclasses.replace(stopped.env.context(), nginx_root=stopped.root)
    installer = await default_installer(answers, ctx, output_dir=stopped.out)
    before = stopped.listing()
    out = io.StringIO()
    status = await run_apply(
        answers, ctx, yes=False, dry_run=False, stdout=out, stdin=Tty("n\n"), installer=installer
    )
    assert status == 1
    start = " ".join([*stopped.nginx.start_argv()[:1], "-c", f"{stopped.root}/nginx.conf"])
    assert (
        f"nginx is not running: it will be started ({start} -p {stopped.root}/). "
        "Write these files and start nginx? [y/N] "
    ) in out.getvalue()
    assert "Not applied. Nothing was written." in out.getvalue()
    assert not stopped.running()
    assert stopped.listing() == before
