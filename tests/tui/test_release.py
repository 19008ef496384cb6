"""The wizard writes the snippet for the CodeStream release the live probe found, and says so.

The fake API answers with ``X-CS-API-Version`` like CodeStream's versioner
middleware; a release before 13.0.2 reads the three Slack families
(``app*``, ``appSharing*``, ``appStrict*``), a later one only ``app*``
(README, "What CodeStream reads").
"""

from __future__ import annotations

import json

import pytest

from tests.tui.conftest import Demo
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.testing import press, settle
from wizard.tui.widgets.findings import LiveFindings


def step(app: WizardApp) -> str:
    return app.screen.STEP if isinstance(app.screen, StepScreen) else ""


@pytest.mark.parametrize(("reported", "families"), [("12.3.0", 3), ("15.6.1", 1)])
async def test_the_snippet_follows_the_release_the_api_reports(
    demo: Demo, reported: str, families: int
) -> None:
    demo.api.api_version = reported
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while step(app) != "review":
            await press(pilot, "enter")
        assert app.release == reported
        plan = str(app.screen.query_one("#plan").render())
        assert f"Snippet written for CodeStream {reported}, the release the API reports." in plan
        await press(pilot, "enter")  # Done (no nginx here: the files are written now)
        assert step(app) == "done"
        saved = app.screen.query_one("#saved", LiveFindings).findings
        assert any(f"CodeStream {reported}" in finding.title for finding in saved)
    snippet = json.loads((demo.output_dir / "codestream-messaging.json").read_text())
    slack = next(iter(snippet["integrations"]["slack"].values()))
    prefixes = {key.removesuffix("ClientId") for key in slack if key.endswith("ClientId")}
    assert len(prefixes) == families, sorted(slack)


async def test_a_release_in_the_answers_wins_over_the_probe(demo: Demo) -> None:
    demo.api.api_version = "15.6.1"
    answers = demo.answers.copy()
    answers.codestream.release = "12.3.0"
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while step(app) != "review":
            await press(pilot, "enter")
        assert app.answers.codestream.release == "12.3.0", "the CodeStream step keeps it"
        plan = str(app.screen.query_one("#plan").render())
        assert "Snippet written for CodeStream 12.3.0, the release your answers file set." in plan
