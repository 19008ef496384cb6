"""The wizard's Review says which per-client limits the server block will apply."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.conftest import Demo
from tests.tui.test_flow import step
from wizard.tui.testing import press, settle


async def test_review_shows_the_limits_from_the_answers(demo: Demo) -> None:
    answers = demo.answers.copy()
    answers.bastion.requests_per_second = 7
    answers.bastion.request_burst = 30
    answers.bastion.connections_per_client = 0
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while step(app.screen) != "review":
            await press(pilot, "enter")
        await settle(pilot)
        shown = str(app.screen.query_one("#limits", Static).content)
        assert shown.startswith("7 requests a second (burst 30) per client address")
        assert "connections" not in shown  # 0: that limit is off
        assert "Tune them in [bastion] of the answers file (0: off)." in shown
