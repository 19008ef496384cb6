"""Step 9, Test: the end-to-end proof through the bastion's public name.

:func:`check_proxy` runs live: each bot endpoint must answer with the API's
own "Cannot GET" page through nginx, the certificate presented must be the
chosen one and trusted, and any other path must get nginx's 404; then each bot
route is spoken to as Slack and Teams will (signed with the answers' signing
secret) and the API's clock compared with this host's
(:mod:`wizard.checks.bot_proof`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from wizard.findings import Finding
from wizard.tui.screens.base import StepScreen
from wizard.tui.steps import StepState
from wizard.tui.widgets.findings import LiveFindings


class ProxyTestScreen(StepScreen):
    """Prove the installed path end to end."""

    STEP = "test"
    TITLE = "End-to-end test"
    HINT = "Ctrl+R: test again.  Enter: next step."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "rerun", "Test again"),
    ]

    def compose_body(self) -> ComposeResult:
        """What is tested, and the findings."""
        bastion = self.answers.bastion
        port = "" if bastion.listen_port == 443 else f":{bastion.listen_port}"
        yield Static(
            f"Through https://{bastion.hostname}{port}: each bot endpoint must reach the "
            "API (its 'Cannot GET' page) with the chosen certificate; other paths must get "
            "nginx's own 404. Then each route gets a request signed as Slack or Teams sends "
            "it, and the API's clock is compared with this host's.",
            classes="note",
        )
        yield LiveFindings(id="test-findings")

    def setup(self) -> None:
        """Run the test."""
        self.action_rerun()

    @property
    def live(self) -> LiveFindings:
        """The findings list."""
        return self.query_one("#test-findings", LiveFindings)

    def action_rerun(self) -> None:
        """Run the end-to-end test again."""
        self.live.start(self._check, progress="Testing through the bastion")

    async def _check(self) -> list[Finding]:
        from wizard.checks.proxy import check_proxy

        return await check_proxy(self.answers.copy(), self.wizard.context)

    async def verdict(self) -> tuple[StepState, str | None]:
        """Refuse a failed test (Ctrl+R tests again)."""
        await self.live.settle()
        status = self.live.status
        if status == "fail":
            return "fail", "The test failed: fix the cause shown, then Ctrl+R to test again."
        return ("warn" if status == "warn" else "ok"), None
