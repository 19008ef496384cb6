"""Step 7, Review: every check once more, and the files with their diffs.

All checks run together against all the answers (:func:`run_checks`, plus
:func:`check_nginx` where nginx is driven), grouped by area. Below them, the
files the wizard will write: where each goes, whether it is new or changed,
the per-client limits the block will apply, the values to paste elsewhere
after the install, copyable
(:mod:`wizard.tui.widgets.values`), and the diff against what is there
(never wrapped: wide lines scroll sideways). Nothing is written here. Next is refused
while a check fails or nothing can be planned.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from wizard.answers import Answers
from wizard.findings import Finding, fail, skip
from wizard.tui.outputs import OutputPlan, build_plan, review_with_installer, uses_installer
from wizard.tui.paste import PasteLine, next_steps
from wizard.tui.screens.base import StepScreen
from wizard.tui.steps import StepState
from wizard.tui.widgets.findings import LiveFindings
from wizard.tui.widgets.values import COPY_KEY, PLAIN_KEY, NextSteps, copy_value, show_plain


def diff_text(diff: str) -> Text:
    """A unified diff, coloured (and still readable without colour)."""
    text = Text()
    for line in diff.splitlines():
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        text.append(line + "\n", style=style)
    return text


def plan_text(plan: OutputPlan) -> Text:
    """Where each file goes and what happens to it."""
    text = Text()
    for note in plan.notes:
        text.append(note + "\n", style="bold red" if note.startswith("CONFLICT") else "")
    for change in plan.files:
        text.append(f"{change.status:<9}", style="bold")
        text.append(f" {change.path} ({change.mode:04o})\n")
    install = plan.install_plan
    if install is not None and install.start is not None and install.nginx_changed:
        # Said before anything starts: Install starts nginx instead of reloading it.
        text.append(install.start.describe() + "\n", style="bold")
    return text


class ReviewScreen(StepScreen):
    """All findings, the files to write and their diffs."""

    STEP = "review"
    TITLE = "Review"
    HINT = "PgUp/PgDn: scroll.  Ctrl+R: check again.  Enter: go on (nothing written yet)."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "rerun", "Check again"),
        Binding(COPY_KEY, "copy", "Copy"),
        Binding(PLAIN_KEY, "plain", "Plain"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: OutputPlan | None = None

    def compose_body(self) -> ComposeResult:
        """Findings, files, diffs."""
        from wizard.engine import AREA_TITLES

        yield Static("Every check, against all your answers together:", classes="note")
        yield LiveFindings(headings=AREA_TITLES, id="review-findings")
        yield Static("Files to write", classes="section")
        yield Static("", id="plan")
        # Before the diffs, which can be long: reachable with a few PgDn.
        yield Static("To paste elsewhere after the install (c: copy, p: plain)", classes="section")
        yield NextSteps(self.lines(), id="next-steps")
        if self.answers.exposes_bastion:
            from wizard.checks.limits import limits_summary

            yield Static("Per-client limits", classes="section")
            yield Static(limits_summary(self.answers), id="limits", classes="note")
        yield Static("Changes", classes="section")
        yield Static("", id="diff")

    def lines(self) -> list[PasteLine]:
        """The next steps for these answers (the values Done shows again)."""
        session = self.wizard.session
        return next_steps(self.answers, session.output_dir, session.answers_path)

    def action_copy(self) -> None:
        """Copy the highlighted value (the first when none is) to the clipboard (OSC 52)."""
        copy_value(self)

    def action_plain(self) -> None:
        """Show every value unwrapped, one per line."""
        show_plain(self, self.lines())

    def setup(self) -> None:
        """Run the checks and plan the files."""
        self.action_rerun()

    @property
    def live(self) -> LiveFindings:
        """The findings list."""
        return self.query_one("#review-findings", LiveFindings)

    def action_rerun(self) -> None:
        """Check everything again and plan the files again."""
        self.query_one("#plan", Static).update("")
        self.query_one("#diff", Static).update("")
        self.live.start(self._check, progress="Running every check and planning the files")

    async def _check(self) -> list[Finding]:
        from wizard.checks.fingerprint import release_in
        from wizard.engine import run_checks, sort_findings
        from wizard.install import InstallError

        answers = self.answers.copy()
        session = self.wizard.session
        if uses_installer(answers, session):
            # The install pipeline itself (recover, check, plan, diff), as apply runs it.
            findings, reviewed = await review_with_installer(answers, session)
            self.plan = reviewed
            if reviewed is not None:
                # The release the pipeline's checks found: Done and the snippet say it.
                self.wizard.release = reviewed.release
                self._show_plan(reviewed)
            return findings
        known = self.wizard.release
        checked, plan = await asyncio.gather(
            run_checks(answers, self.wizard.context),
            build_plan(answers, session, known),
            return_exceptions=True,
        )
        if isinstance(checked, BaseException):
            raise checked
        findings = checked
        found = release_in(findings)
        if found != known:
            # The API reports another release than the CodeStream step saw (or that
            # step was skipped by a resume): plan again, for the release it reports.
            self.wizard.release = found
            try:
                plan = await build_plan(answers, session, found)
            except InstallError as exc:
                plan = exc
        if answers.exposes_bastion and not session.nginx_usable:
            # A demo without nginx: Install and Test are skipped, nginx is not needed.
            note = skip("nginx.skipped", "nginx is not used here", session.nginx_note)
            findings = sort_findings([*(f for f in findings if f.area != "nginx"), note])
        if isinstance(plan, InstallError):
            self.plan = None
            findings.append(
                fail(
                    "install.plan",
                    "The files cannot be planned",
                    plan.message,
                    plan.remedy or "Go back and fix the answers named above.",
                )
            )
        elif isinstance(plan, BaseException):
            raise plan
        else:
            self.plan = plan
            self._show_plan(plan)
        return findings

    def _show_plan(self, plan: OutputPlan) -> None:
        self.query_one("#plan", Static).update(plan_text(plan))
        diff = "".join(change.diff for change in plan.files if change.diff)
        if not uses_installer(self.answers, self.wizard.session):
            diff = diff or "(no changes)"
        self.query_one("#diff", Static).update(diff_text(diff) if diff else "(no changes)")

    async def verdict(self) -> tuple[StepState, str | None]:
        """Refuse while a check fails or the files cannot be planned."""
        await self.live.settle()
        status = self.live.status
        if status == "fail" or self.plan is None:
            return "fail", "Fix the failures first (Back to the step concerned)."
        if self.plan.conflicts:
            return "fail", "Another server block claims this name and port: remove it first."
        return ("warn" if status == "warn" else "ok"), None

    def store(self, answers: Answers) -> None:
        """Hand the reviewed plan to Install (which applies it, even if it ran before)."""
        self.wizard.output_plan = self.plan
        self.wizard.installed = False
