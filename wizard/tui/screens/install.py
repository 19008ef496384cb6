"""Step 9, Install: write the reviewed files, ``nginx -t``, reload after confirmation.

The plan reviewed on the previous step is applied by
:class:`wizard.install.Installer`: an interrupted earlier run is undone first,
then everything replaced is backed up, every file is written atomically,
``nginx -t`` runs, and nginx is reloaded only if the test passed; on any
failure every file is put back and nginx's own message is shown. Nothing
happens before the admin confirms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from wizard.findings import Finding
from wizard.tui.outputs import install_reviewed
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.modals import ConfirmScreen
from wizard.tui.screens.review import plan_text
from wizard.tui.steps import StepState
from wizard.tui.widgets.findings import LiveFindings

if TYPE_CHECKING:
    from wizard.install import InstallResult


def result_findings(result: InstallResult, recovered: list[str]) -> list[Finding]:
    """An install result as findings (``install.*``), for the findings list."""
    from wizard.install.pipeline import install_findings, recovered_findings

    return recovered_findings(recovered) + install_findings(result)


class InstallScreen(StepScreen):
    """Apply the reviewed plan, after confirmation."""

    STEP = "install"
    TITLE = "Install"
    HINT = "Enter: install (you are asked first).  Esc: back to Review."
    NEXT_LABEL = "Install"

    def compose_body(self) -> ComposeResult:
        """What will be written, the confirmation, the result."""
        yield Static(
            "Install (Enter or Ctrl+N) writes the files below and backs up what they "
            "replace; nginx -t tests the result, and nginx is reloaded only if the test "
            "passed. Any failure puts every file back.",
            classes="note",
        )
        yield LiveFindings(id="install-result")
        plan = self.wizard.output_plan
        yield Static(
            plan_text(plan, width=self.app.size.width - 4, installed=self.wizard.installed)
            if plan is not None
            else "Nothing reviewed: go Back to Review.",
            id="plan",
        )

    def setup(self) -> None:
        """Say so when this step was done before."""
        if self.wizard.installed:
            self._mark_installed()

    @property
    def live(self) -> LiveFindings:
        """The result list."""
        return self.query_one("#install-result", LiveFindings)

    def _mark_installed(self) -> None:
        self.label_next("Next")
        self.say("Installed: Next runs the end-to-end test.")
        plan = self.wizard.output_plan
        if plan is not None:
            width = self.query_one("#body").content_size.width - 1
            self.query_one("#plan", Static).update(
                plan_text(plan, width=width or self.app.size.width - 4, installed=True)
            )

    async def action_next(self) -> None:
        """Install after confirmation; once installed, go on."""
        if self.wizard.installed:
            await super().action_next()
            return
        if self.live.busy:
            return
        plan = self.wizard.output_plan
        if plan is None or plan.install_plan is None:
            self.say("Nothing to install: go Back to Review.", problem=True)
            return
        from wizard.findings import counted

        count = sum(1 for change in plan.files if change.status != "unchanged")
        start = plan.install_plan.start if plan.install_plan.nginx_changed else None
        verb = "start" if start is not None else "reload"
        self.app.push_screen(
            ConfirmScreen(
                f"Install and {verb} nginx?",
                (f"{start.describe()}.\n" if start is not None else "")
                + f"Write {counted(count, 'file')} and back up what they replace, then run "
                "nginx -t. "
                f"nginx is {verb}ed only if the test passes; on any failure every file is "
                "put back as it was"
                + (" and nginx is stopped again." if start is not None else "."),
                yes=f"Install and {verb} (y)",
                no="Not now (n)",
            ),
            self._confirmed,
        )

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.say("Installing ...")
            self.live.start(self._install, progress="Writing, testing with nginx -t, reloading")

    async def _install(self) -> list[Finding]:
        plan = self.wizard.output_plan
        assert plan is not None
        assert plan.install_plan is not None
        # The one install pipeline (lock, recovery, the reviewed plan, apply, reload proof).
        result = await install_reviewed(self.answers.copy(), self.wizard.session, plan.install_plan)
        if result.ok and result.stage == "done":
            self.wizard.installed = True
        return result.findings

    @on(LiveFindings.Finished, "#install-result")
    def _finished(self) -> None:
        if self.wizard.installed:
            self._mark_installed()
        else:
            self.say("Install failed and was rolled back: see why below.", problem=True)

    async def verdict(self) -> tuple[StepState, str | None]:
        """Installed: ``ok``, or ``warn`` when the installer left notes."""
        return ("warn" if self.live.status == "warn" else "ok"), None
