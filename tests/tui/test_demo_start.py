"""The demo paints first and builds its environment afterwards; its last words match the disk.

``codestream-bastion demo`` shows Welcome before its certificates, DNS servers,
fake API and nginx exist; they are built in a worker, and the first step that
needs them waits, saying so. Leaving prints what is really left: the
temporary directory removed, or the ``--dir`` directory kept.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from wizard.cli import main
from wizard.commands.demo import demo_session
from wizard.demo.environment import DemoFiles, DemoLauncher, demo_answers
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.testing import press, settle


@pytest.fixture
def files(demo_files: DemoFiles, tmp_path: Path) -> DemoFiles:
    """A demo directory of this test's own, its certificates already made."""
    shutil.copytree(demo_files.root, tmp_path / "demo")
    return DemoFiles(tmp_path / "demo")


def step(app: WizardApp) -> str:
    return app.screen.STEP if isinstance(app.screen, StepScreen) else ""


async def test_welcome_paints_before_the_environment_and_hostname_waits_for_it(
    files: DemoFiles,
) -> None:
    answers_path, api_port = demo_answers(files)
    launcher = DemoLauncher(files, timeout=2.0, api_port=api_port)
    release = threading.Event()
    real_start = launcher.start

    def held_start() -> Any:
        assert release.wait(30)
        return real_start()

    launcher.start = held_start  # type: ignore[method-assign]
    app = WizardApp(demo_session(launcher, answers_path))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert step(app) == "welcome"
            assert launcher.env is None, "nothing is started before the first paint"
            pressing = asyncio.create_task(pilot.press("enter"))  # it waits for the step
            for _ in range(50):
                await pilot.pause(0.02)
                status = str(app.screen.query_one("#nav-status").render())
                if "Starting the demo environment" in status:
                    break
            assert "Starting the demo environment" in status
            assert step(app) == "welcome"
            release.set()
            await pressing
            await settle(pilot)
            assert step(app) == "hostname"
            assert launcher.env is not None
            assert app.context.nameservers, "the checks use the demo's resolvers"
            field = app.screen.query_one("#hostname")
            assert field.status == "warn"  # .test: accepted in lab mode; it resolved
    finally:
        release.set()
        launcher.stop()
    assert launcher.nginx_note == "" or "not installed" in launcher.nginx_note
    assert launcher.nginx is None or launcher.nginx.pid() is None, "nginx is stopped"
    assert launcher.env is not None
    assert launcher.env.process.poll() == 0, "the servers' child process ended by itself"


@pytest.fixture
def recorded_tempdirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The temporary directories the demo makes."""
    made: list[Path] = []
    real = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> str:
        path = real(*args, **kwargs)
        made.append(Path(path))
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made


def leave_at_once(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    """Run the demo's app headless, pressing ``keys`` then leaving (Ctrl+Q, y)."""
    real_run = WizardApp.run

    async def pilot_keys(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, *keys, "ctrl+q", "y")

    def run(self: WizardApp, *args: Any, **kwargs: Any) -> Any:
        kwargs.update(headless=True, size=(80, 24), auto_pilot=pilot_keys)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(WizardApp, "run", run)


def test_leaving_the_demo_says_its_files_are_removed_and_they_are(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    recorded_tempdirs: list[Path],
) -> None:
    monkeypatch.delenv("CODESTREAM_BASTION_STATE", raising=False)
    leave_at_once(monkeypatch, "enter")
    assert main(["demo"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    demo_dirs = [p for p in recorded_tempdirs if p.name.startswith("codestream-bastion-demo-")]
    assert len(demo_dirs) == 1
    assert not demo_dirs[0].exists()
    assert out[-1].startswith("codestream-bastion demo: left at 'Hostname'.")
    assert "temporary files removed" in out[-1]
    assert "answers saved" not in " ".join(out)


def test_leaving_a_kept_demo_says_where_its_files_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("CODESTREAM_BASTION_STATE", raising=False)
    leave_at_once(monkeypatch, "enter")
    kept = tmp_path / "kept"
    assert main(["demo", "--dir", str(kept)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"kept in {kept}" in last
    assert f"codestream-bastion demo --dir {kept}" in last
    assert (kept / "answers.toml").is_file()
    assert (kept / "state.toml").is_file(), "what it says to resume from is there"


def test_the_servers_child_stops_when_the_wizard_is_gone(files: DemoFiles) -> None:
    import signal
    import socket

    from wizard.demo.environment import ServedWorld

    _, api_port = demo_answers(files)
    world = ServedWorld.start(files, api_port)
    try:
        with socket.create_connection(("127.0.0.1", api_port), timeout=5):
            pass  # the fake API serves from the child
        assert world.process.stdin is not None
        world.process.stdin.close()  # what a wizard killed with SIGKILL leaves behind
        assert world.process.wait(timeout=15) == 0
    finally:
        if world.process.poll() is None:
            world.process.send_signal(signal.SIGKILL)
            world.process.wait()
