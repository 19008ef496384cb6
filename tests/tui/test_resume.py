"""Resume after a dropped session, start over, and ``--answers`` prefill."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.conftest import Demo, type_into
from wizard.answers import AnswersError, save_answers
from wizard.checks.context import CheckContext
from wizard.tui.app import wizard_session
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.modals import ConfirmScreen
from wizard.tui.state import STATE_ENV
from wizard.tui.testing import press, settle


def current(screen: object) -> str:
    return screen.STEP if isinstance(screen, StepScreen) else ""


async def leave_at_certificate(demo: Demo) -> None:
    """A first session: change the host name, reach Certificate, drop (Ctrl+Q)."""
    demo.add_name("resumed.demo.test")
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        await type_into(pilot, "#hostname Input", "resumed.demo.test")
        await press(pilot, "enter", "enter")
        assert current(app.screen) == "certificate"
        await press(pilot, "ctrl+q", "y")
    assert app.return_value == 1


async def test_resume_where_it_stopped(demo: Demo) -> None:
    await leave_at_certificate(demo)
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Certificate" in app.screen.message
        await press(pilot, "y")
        assert current(app.screen) == "certificate"
        assert app.answers.bastion.hostname == "resumed.demo.test"
        states = app.sidebar_states("certificate")
        assert states["hostname"] == "warn"  # .test: accepted in lab mode
        assert states["public_ip"] == "warn", "how each step passed is resumed too"


async def test_start_over(demo: Demo) -> None:
    await leave_at_certificate(demo)
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert current(app.screen) == "welcome"
        assert app.answers.bastion.hostname == "bastion.demo.test"
    assert not demo.state_path.exists()


async def test_no_resume_offer_without_state(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert current(app.screen) == "welcome"


def test_answers_file_prefills_and_receives_the_result(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "state.toml"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mine.toml"
    save_answers(demo.answers, path)
    session = wizard_session(CheckContext(), path)
    assert session.answers == demo.answers
    assert session.answers_path == path
    assert session.prefilled_from == path
    assert session.state.path == tmp_path / "state.toml"
    fresh = wizard_session(CheckContext(), tmp_path / "new.toml")
    assert fresh.prefilled_from is None, "a missing file is created at the end"
    assert fresh.answers_path == tmp_path / "new.toml"


def test_a_broken_answers_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "state.toml"))
    path = tmp_path / "broken.toml"
    path.write_text('mode = "carrier-pigeon"\n')
    with pytest.raises(AnswersError, match="carrier-pigeon"):
        wizard_session(CheckContext(), path)
