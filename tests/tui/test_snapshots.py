"""Snapshots of the main screens at 80x24, a few at 120x40 (pytest-textual-snapshot).

Everything that varies between runs is pinned: the interface addresses, the
listen port, the API URL where it shows, and the paths (relative to a working
directory of the test's own). Workers are awaited and the cursor does not
blink. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``
after checking the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import Demo, type_into
from wizard.answers import Answers
from wizard.tui.app import WizardApp
from wizard.tui.testing import press, settle

SIZE = (80, 24)
SnapCompare = Callable[..., bool]


@pytest.fixture
def pinned(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """The demo with every run-dependent value pinned."""
    monkeypatch.chdir(tmp_path)
    demo.answers.bastion.listen_port = 8443
    demo.state_path = Path("state.toml")
    demo.output_dir = Path("out")
    return demo


def app_for(demo: Demo, answers: Answers | None = None) -> WizardApp:
    return demo.app(answers=answers)


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, *pressed)

    return run_before


def test_welcome(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys())


def test_welcome_slack_without_exposure(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys("down"))


def test_hostname_checked(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys("enter"))


def test_hostname_refused(pinned: Demo, snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, "enter")
        await type_into(pilot, "#hostname Input", "bastion_1")
        await press(pilot, "enter")

    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=run_before)


def test_public_ip_with_warnings(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys("enter", "enter"))


def test_help(pinned: Demo, snap_compare: SnapCompare) -> None:
    run_before = keys("enter", "enter", "f1")
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=run_before)


def test_quit_question(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys("enter", "ctrl+c"))


def no_exposure(demo: Demo) -> Answers:
    answers = demo.answers.copy()
    answers.mode = "slack-no-exposure"
    answers.codestream.api_url = "https://codestream.demo.test"
    return answers


def test_credentials(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("enter", "enter"))


@pytest.mark.parametrize("size", [SIZE, (120, 40)])
def test_provider_app(pinned: Demo, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = app_for(pinned, no_exposure(pinned))
    assert snap_compare(app, terminal_size=size, run_before=keys("enter"))


def test_review(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    assert snap_compare(app, terminal_size=SIZE, run_before=keys("enter", "enter", "enter"))


def test_done(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    run_before = keys("enter", "enter", "enter", "enter")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_done_wide(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    run_before = keys("enter", "enter", "enter", "enter")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_done_copied(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    run_before = keys("enter", "enter", "enter", "enter", "down", "c")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_done_plain(pinned: Demo, snap_compare: SnapCompare) -> None:
    app = app_for(pinned, no_exposure(pinned))
    run_before = keys("enter", "enter", "enter", "enter", "p")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_hostname_with_the_sidebar_at_80(pinned: Demo, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(pinned), terminal_size=SIZE, run_before=keys("enter", "f2"))
