"""Step 11, Done: what was saved where, and what to do in CodeStream, Slack and Teams.

Files not written by Install (Slack without exposure, or a demo without nginx)
are written here; the final answers file is saved for ``check``/``apply``
later, and the resume state is cleared.
"""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from wizard.answers import Answers
from wizard.findings import Finding, fail, ok
from wizard.tui.outputs import (
    build_plan,
    install_reviewed,
    release_note,
    save_final_answers,
    write_rendered,
)
from wizard.tui.paste import PasteLine, next_steps
from wizard.tui.screens.values_step import ValuesStepScreen
from wizard.tui.steps import StepState
from wizard.tui.widgets.findings import LiveFindings
from wizard.tui.widgets.values import CopyValue, NextSteps


class DoneScreen(ValuesStepScreen):
    """Where everything went, and the next steps, every value copyable."""

    STEP = "done"
    TITLE = "Done"
    HINT = "Up/Down: pick a value.  c: copy it.  p: all values unwrapped.  Enter: finish."
    NEXT_LABEL = "Finish"

    def compose_body(self) -> ComposeResult:
        """Saved files, next steps."""
        yield LiveFindings(id="saved")
        yield Static("Next steps", classes="section")
        yield NextSteps(self.lines(), id="next-steps")

    def lines(self) -> list[PasteLine]:
        """The next steps for these answers, in order."""
        session = self.wizard.session
        return next_steps(self.answers, session.output_dir, session.answers_path)

    def initial_focus(self) -> Widget:
        """The first value, so Up/Down and the copy key work at once."""
        first = next(iter(self.query(CopyValue)), None)
        return first if first is not None else super().initial_focus()

    def setup(self) -> None:
        """Write what is not written yet, save the answers, clear the resume state."""
        self.live.start(self._finish, progress="Saving")

    async def verdict(self) -> tuple[StepState, str | None]:
        """Finish once everything is saved (a failure to save is reported, not blocking)."""
        await self.live.settle()
        return ("warn" if self.live.status in ("warn", "fail") else "ok"), None

    @property
    def live(self) -> LiveFindings:
        """The list of what was saved."""
        return self.query_one("#saved", LiveFindings)

    async def _finish(self) -> list[Finding]:
        session = self.wizard.session
        answers = self.answers.copy()
        findings: list[Finding] = []
        if not self.wizard.installed:
            findings += await self._write_files(answers)
        try:
            path = await asyncio.to_thread(save_final_answers, answers, session)
        except OSError as exc:
            findings.append(
                fail(
                    "done.answers",
                    f"The answers file could not be saved to {session.answers_path}",
                    str(exc),
                    "Check that directory's permissions; your answers are still in "
                    f"{session.state.path}.",
                )
            )
            return findings
        session.state.clear()
        self.wizard.finished = True
        findings.append(ok("done.answers", f"Answers saved to {path}"))
        findings.append(
            ok("done.files", f"Snippet, manifest and next-steps.md in {session.output_dir}")
        )
        findings.append(ok("done.release", release_note(answers, self.wizard.release)))
        if session.demo and session.demo_kept is None:
            findings.append(
                ok(
                    "done.demo",
                    "The demo directory is removed on exit"
                    + ("" if session.demo_web else " (keep it with --dir DIR)"),
                )
            )
        elif session.demo:
            findings.append(ok("done.demo", f"The demo directory is kept: {session.demo_kept}"))
        return findings

    async def _write_files(self, answers: Answers) -> list[Finding]:
        """Write the files of a step-less install (no exposure, or no nginx here)."""
        from wizard.install import InstallError

        session = self.wizard.session
        plan = self.wizard.output_plan
        try:
            if plan is None:
                plan = await build_plan(answers, session, self.wizard.release)
            if plan.install_plan is not None:
                # The one install pipeline (lock, recovery, apply), as the Install step.
                result = await install_reviewed(answers, session, plan.install_plan)
                if not result.ok:
                    output = result.install.nginx_output if result.install else ""
                    return [
                        fail(
                            "done.files",
                            result.message,
                            output,
                            "Fix the cause and run 'apply' later.",
                        )
                    ]
                written = [str(f.path) for f in result.files if f.action != "unchanged"]
            else:
                written = [str(path) for path in await asyncio.to_thread(write_rendered, plan)]
        except (InstallError, OSError) as exc:
            return [
                fail(
                    "done.files",
                    "The files could not be written",
                    str(exc),
                    "Fix the cause, then run 'codestream-bastion render' or 'apply' later.",
                )
            ]
        from wizard.findings import counted

        return [ok("done.written", f"Wrote {counted(len(written), 'file')}")]
