"""Step 10, Done: what was saved where, and what to do in CodeStream, Slack and Teams.

Files not written by Install (Slack without exposure, or a demo without nginx)
are written here; the final answers file is saved for ``check``/``apply``
later, and the resume state is cleared.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from wizard.answers import Answers
from wizard.findings import Finding, fail, ok
from wizard.tui.outputs import build_plan, install_reviewed, save_final_answers, write_rendered
from wizard.tui.screens.base import StepScreen
from wizard.tui.steps import StepState
from wizard.tui.widgets.findings import LiveFindings

ENDPOINT = "/no-auth/provider-action/"


def bastion_url(answers: Answers) -> str:
    """``https://<name>[:port]``, the name in its DNS (ASCII) form."""
    from wizard.checks.hostname import to_ascii_hostname

    try:
        host = to_ascii_hostname(answers.bastion.hostname)
    except ValueError:
        host = answers.bastion.hostname or "<bastion>"
    port = answers.bastion.listen_port
    return f"https://{host}" + ("" if port == 443 else f":{port}")


def next_steps(answers: Answers, snippet: str, answers_path: Path) -> Text:
    """The provider settings and the load commands, in the order they must be done.

    The same facts as ``next-steps.md`` (:mod:`wizard.render`), shortened: the
    Slack events URL only after the configuration is loaded, since Slack
    verifies it with a request signed with the app's signing secret.
    """
    from wizard.provider_files import TEAMS_PACKAGE_NAME
    from wizard.render import SLACK_EVENTS_MANIFEST_NAME, SLACK_MANIFEST_NAME, load_commands

    text = Text()
    base = bastion_url(answers)
    api = answers.codestream.api_url.rstrip("/") or "https://<codestream-host>"
    events = answers.uses_slack and answers.exposes_bastion and answers.slack.events
    if answers.uses_slack:
        text.append("Slack app (api.slack.com/apps, from a manifest)\n", style="bold")
        text.append(f"  Create {answers.slack.app_name!r} from {SLACK_MANIFEST_NAME}\n")
        text.append(f"  OAuth Redirect URL:\n    {api}/no-auth/provider-token/slack\n")
        if answers.exposes_bastion:
            text.append(f"  Interactivity Request URL:\n    {base}{ENDPOINT}slack\n")
        else:
            text.append("  Interactivity: off, no request URL (replies from Slack will not work)\n")
    if answers.uses_msteams:
        host = base.removeprefix("https://").split(":")[0]
        text.append("Azure Bot (portal.azure.com, Configuration)\n", style="bold")
        text.append(f"  Messaging endpoint:\n    {base}{ENDPOINT}msteams\n")
    load = load_commands(Path(snippet).name)
    text.append("CodeStream host (copy the snippet to ~/.codestream/)\n", style="bold")
    for command in (load.dump, load.merge, load.load, load.restart):
        text.append(f"  {command}\n")
    text.append(f"  File-based releases: {load.merge_file}; {load.restart}\n")
    if events:
        text.append("Slack, after the configuration is loaded\n", style="bold")
        text.append(
            f"  Event Subscriptions Request URL ({SLACK_EVENTS_MANIFEST_NAME}):\n"
            f"    {base}{ENDPOINT}slack-events\n"
        )
    if answers.uses_msteams:
        text.append("Microsoft Teams\n", style="bold")
        if answers.msteams.app_id.strip():
            text.append(f"  Upload {TEAMS_PACKAGE_NAME} (Apps, Manage your apps)\n")
        else:
            text.append(f"  Set [msteams] app_id and render again for {TEAMS_PACKAGE_NAME}\n")
        text.append(f'  validDomains = ["{host}"]\n')
    text.append("Later\n", style="bold")
    checks = "--post-install" if answers.exposes_bastion else ""
    text.append(
        f"  codestream-bastion check --answers {answers_path} {checks}\n".replace(" \n", "\n")
        + "  proves it all again; 'apply' with the same file re-installs.\n"
    )
    return text


class DoneScreen(StepScreen):
    """Where everything went, and the next steps."""

    STEP = "done"
    TITLE = "Done"
    HINT = "Enter: finish and leave.  PgDn: the rest of the next steps."
    NEXT_LABEL = "Finish"

    def compose_body(self) -> ComposeResult:
        """Saved files, next steps."""
        yield LiveFindings(id="saved")
        yield Static("Next steps", classes="section")
        session = self.wizard.session
        snippet = str(session.output_dir / self.answers.output.snippet)
        yield Static(next_steps(self.answers, snippet, session.answers_path), id="next-steps")

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
        if session.demo:
            findings.append(
                ok("done.demo", "The demo directory is removed on exit (keep it with --dir DIR)")
            )
        return findings

    async def _write_files(self, answers: Answers) -> list[Finding]:
        """Write the files of a step-less install (no exposure, or no nginx here)."""
        from wizard.install import InstallError

        session = self.wizard.session
        plan = self.wizard.output_plan
        try:
            if plan is None:
                plan = await build_plan(answers, session)
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
        return [ok("done.written", f"Wrote {len(written)} file(s)")]
