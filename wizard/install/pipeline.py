"""The one install pipeline: recover -> check -> plan -> diff -> confirm -> apply.

Both the ``apply`` command (:mod:`wizard.commands.apply`) and the wizard's
Review and Install steps call :func:`run_pipeline`; it prints nothing and
returns a :class:`PipelineResult` that each front end shows its own way (text,
JSON, findings on screen).

- **recover**: take the run lock of the nginx tree (waiting a bounded time),
  check the state directory can be trusted, and undo a run that was killed
  half-way. A dry run changes nothing: it only reports an unfinished journal.
- **check**: every check, once (``nginx -t`` of the current tree included);
  a ``fail`` stops here (a dry run goes on to show the plan and the diff, and
  still exits 1). The release the API reported is used for the snippet.
- **plan** and **diff**: what would change, every secret masked.
- **confirm**: the caller's callback (a question on a terminal, ``--yes``, or
  the wizard's confirmation screen); ``--dry-run`` stops before it.
- **apply**: back up, write, ``nginx -t``, reload, prove the reload; roll back
  on any failure. The lock is held until the end of the reload. When no
  nginx master runs for the tree, the plan says so and how nginx will be
  started (``install.will_start``), and apply starts it instead of reloading
  (:mod:`wizard.install.start`), with the same proof.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, has_failure, ok, warn
from wizard.install.errors import InstallError
from wizard.install.installer import Installer
from wizard.install.lock import DEFAULT_WAIT, RunLock
from wizard.install.plan import Action, Masker, Plan, masker_for
from wizard.install.result import InstallResult

Stage = Literal["recover", "check", "plan", "diff", "confirm", "apply", "done"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Confirm = Callable[[Plan], Awaitable[Optional[bool]]]
"""Asks before writing: True go on, False declined, None nobody could answer."""


@dataclass(frozen=True)
class FileAction:
    """One target and what the run did (or, for a dry run, would do) to it.

    Attributes:
        path: The file or link.
        action: ``created``, ``updated``, ``unchanged`` or ``removed``.
    """

    path: Path
    action: Action

    def to_dict(self) -> dict[str, str]:
        """The JSON shape: ``{"path", "action"}``."""
        return {"path": str(self.path), "action": self.action}


@dataclass
class PipelineResult:
    """What one pass through the pipeline did.

    Attributes:
        stage: The stage it ended in (``done`` when it ran to the end).
        exit_code: 0 success, no change or dry run; 1 a failed check, a
            refusal or a failed (rolled back) install; 2 nobody could confirm.
        changed: Files were changed (for a dry run: would be).
        reloaded: nginx was reloaded (and the reload proven).
        started: nginx was not running and was started (and the start proven).
        files: Every target with its action.
        findings: The check findings, then the install's own (``install.*``).
        recovered: Messages about interrupted runs undone first.
        plan: The plan, once made.
        install: The installer's result, once applied.
        error: The refusal that stopped the run, if any.
        dry_run: Nothing was written by design.
        message: One line for people on how it ended.
        masker: Masks every secret of this run in any text shown.
    """

    stage: Stage
    exit_code: int = EXIT_OK
    changed: bool = False
    reloaded: bool = False
    started: bool = False
    files: list[FileAction] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    plan: Plan | None = None
    install: InstallResult | None = None
    error: InstallError | None = None
    dry_run: bool = False
    message: str = ""
    masker: Masker = field(default_factory=lambda: Masker(frozenset()))

    @property
    def ok(self) -> bool:
        """Whether the run ended without a failure."""
        return self.exit_code == EXIT_OK


class Observer:
    """Hooks called as the pipeline goes (the text front end prints from them)."""

    def recovered(self, messages: Sequence[str]) -> None:
        """Interrupted runs were undone."""

    def checked(self, findings: Sequence[Finding]) -> None:
        """The checks ran."""

    def planned(self, plan: Plan) -> None:
        """The plan (and its diff) is ready."""


def install_findings(result: InstallResult) -> list[Finding]:
    """An install result as findings (``install.*``), for JSON and the wizard."""
    if result.ok:
        written = ", ".join(str(path) for path in result.written)
        code = "install.done" if result.changed else "install.unchanged"
        findings = [ok(code, result.message, f"Written: {written}" if written else "")]
        if result.backup_dir is not None and result.changed:
            findings.append(
                ok("install.backup", f"Backup of what was replaced: {result.backup_dir}")
            )
        if result.started:
            findings.append(
                ok(
                    "install.started",
                    f"nginx was not running: it was started ({result.start}) and runs the new "
                    "configuration",
                    "A master runs with its workers, no error was logged, and the listen "
                    "socket presents the chosen certificate.",
                )
            )
        if result.reloaded:
            findings.append(
                ok(
                    "install.reload_proven",
                    "nginx runs the new configuration",
                    "New workers started, no error logged, and the listen socket presents "
                    "the chosen certificate.",
                )
            )
        findings += [
            warn("install.note", note, "", "Do as the note says, then run the post-install test.")
            for note in result.notes
        ]
        return findings
    detail = f"nginx said: {result.nginx_output}" if result.nginx_output else ""
    findings = [
        fail(
            result.code
            if result.code not in ("install.done", "install.rolled_back")
            else "install.failed",
            result.message,
            detail,
            result.remedy or "Read the message above, fix the cause, and install again.",
        )
    ]
    if result.rolled_back:
        findings.append(ok("install.rolled_back", "Every file was put back as it was"))
    findings += [
        warn("install.note", note, "", "Check nginx (systemctl status nginx).")
        for note in result.notes
    ]
    return findings


def start_finding(plan: Plan) -> Finding | None:
    """``install.will_start``: the plan starts nginx (said before anything is done)."""
    if plan.start is None or not plan.nginx_changed:
        return None
    return ok(
        "install.will_start",
        plan.start.describe(),
        f"{plan.start.why}. After nginx -t passes, apply starts nginx and proves it serves "
        "the new server block; if it cannot, every file is put back and a master it "
        "started is stopped.",
    )


def recovered_findings(messages: Sequence[str]) -> list[Finding]:
    """Interrupted runs undone before this one, as findings."""
    return [
        warn(
            "install.recovered",
            message,
            "An earlier run was interrupted half-way; its changes were undone first.",
            "Nothing to do: the files it had changed were put back before this run.",
        )
        for message in messages
    ]


def _stopped(result: PipelineResult, error: InstallError) -> PipelineResult:
    result.exit_code = EXIT_FAILED
    result.error = error
    result.changed = False
    result.findings.append(_refusal(error))
    result.message = error.message
    return result


def _refusal(error: InstallError) -> Finding:
    return fail(error.code, error.message, "", error.remedy or "Fix the cause and run again.")


async def run_pipeline(
    answers: Answers,
    ctx: CheckContext,
    installer: Installer,
    *,
    confirm: Confirm | None = None,
    dry_run: bool = False,
    stop_after: Stage | None = None,
    findings: Sequence[Finding] | None = None,
    reviewed: Plan | None = None,
    lock_wait: float = DEFAULT_WAIT,
    observer: Observer | None = None,
) -> PipelineResult:
    """Run recover -> check -> plan -> diff -> confirm -> apply.

    Args:
        answers: What the admin chose.
        ctx: The check context (``nginx_root`` says which tree).
        installer: The installer for ``answers`` (tests inject commands).
        confirm: Asked before writing; ``None`` means confirmed (``--yes``).
        dry_run: Stop after the diff; change nothing (not even a recovery).
        stop_after: Stop after this stage (the wizard's Review stops after ``diff``).
        findings: Findings already checked (the wizard's Install step reuses
            Review's); ``None`` runs every check.
        reviewed: The plan the admin reviewed; a different plan now is refused.
        lock_wait: Seconds to wait for another run's lock.
        observer: Hooks for a front end that shows progress.
    """
    result = PipelineResult("recover", dry_run=dry_run)
    result.masker = masker_for(answers, ())
    run = _Run(
        answers,
        ctx,
        installer,
        result,
        RunLock(installer.state.lock_file, ctx.nginx_root, lock_wait),
        observer or Observer(),
        stop_after,
    )
    try:
        if not await run.recover():
            return result
        if not await run.check(findings, reviewed):
            return result
        plan = await run.plan(reviewed)
        if plan is None or not await run.diff_and_confirm(plan, confirm):
            return result
        await run.apply(plan)
        return result
    except OSError as exc:
        # Unexpected (a tree that vanished, a full disk before any write): said, not a traceback.
        return _stopped(
            result,
            InstallError(
                f"Cannot go on: {exc}.",
                "Check permissions and free space (run as root), then run again.",
                code="install.failed",
            ),
        )
    except InstallError as error:
        result.exit_code = EXIT_FAILED
        result.error = error
        result.changed = False if result.install is None else result.changed
        result.findings.append(_refusal(error))
        result.message = error.message
        return result
    finally:
        run.lock.release()


@dataclass
class _Run:
    """One pass through the pipeline: each stage fills ``result``; ``False`` stops the run."""

    answers: Answers
    ctx: CheckContext
    installer: Installer
    result: PipelineResult
    lock: RunLock
    watch: Observer
    stop_after: Stage | None

    async def recover(self) -> bool:
        """Take the lock and undo an interrupted run (a dry run only reports it)."""
        installer, result = self.installer, self.result
        if result.dry_run or self.stop_after is not None:
            # Changes nothing: lock and look only when there is state already.
            if installer.state.exists():
                await asyncio.to_thread(installer.state.verify)
                await asyncio.to_thread(self.lock.acquire)
                pending = await asyncio.to_thread(installer.unfinished)
                if pending and result.dry_run:
                    result.findings.append(
                        warn(
                            "install.interrupted",
                            "An earlier apply was interrupted; a real run undoes it first",
                            ", ".join(str(p) for p in pending),
                            "Run apply without --dry-run to put its files back first.",
                        )
                    )
                elif pending:
                    result.recovered = await asyncio.to_thread(installer.recover)
        else:
            await asyncio.to_thread(installer.state.ensure)
            await asyncio.to_thread(self.lock.acquire)
            result.recovered = await asyncio.to_thread(installer.recover)
        if installer.recovered_a_reload:
            # The undone run had reloaded nginx with files that are now put back.
            result.recovered.append(await installer.reload_restored())
        # An undone run that was starting nginx: stop the master it started.
        result.recovered += await installer.stop_recovered()
        result.findings += recovered_findings(result.recovered)
        self.watch.recovered(result.recovered)
        return self.stop_after != "recover"

    async def check(self, findings: Sequence[Finding] | None, reviewed: Plan | None) -> bool:
        """Every check (or those given); a ``fail`` stops here. Takes the API's release."""
        result, installer = self.result, self.installer
        result.stage = "check"
        if findings is None:
            from wizard.engine import run_checks

            checked = await run_checks(self.answers, self.ctx)
        else:
            checked = list(findings)
        result.findings = [*checked, *result.findings]
        self.watch.checked(checked)
        if has_failure(checked):
            result.exit_code = EXIT_FAILED
            result.message = "Not applying: fix the failed checks above first. Nothing was written."
            if not result.dry_run:
                return False
            # A dry run still shows the plan and the diff ("show the plan"), and exits 1.
        from wizard.checks.fingerprint import release_in

        installer.release = release_in(checked) or installer.release
        if reviewed is not None and installer.release is None:
            installer.release = reviewed.release  # the release Review planned with
        return self.stop_after != "check"

    async def plan(self, reviewed: Plan | None) -> Plan | None:
        """The plan; ``None`` when it is refused (a conflict, or not the plan reviewed)."""
        result, answers = self.result, self.answers
        result.stage = "plan"
        plan = await self.installer.make_plan()
        result.plan = plan
        result.masker = masker_for(answers, [f.current for f in plan.files])
        result.files = [FileAction(path, action) for path, action in plan.actions()]
        result.changed = plan.changed
        if plan.conflicts:
            result.exit_code = EXIT_FAILED
            result.findings.append(
                fail(
                    "install.conflict",
                    "Another server block already claims "
                    f"{answers.bastion.hostname} on port {answers.bastion.listen_port}",
                    "; ".join(plan.conflicts),
                    "Remove or disable it, then run again. Nothing was written.",
                )
            )
            result.message = "Refused: another server block claims this name and port."
            return None
        if reviewed is not None and (
            [(f.path, f.content, f.mode) for f in plan.files]
            != [(f.path, f.content, f.mode) for f in reviewed.files]
            or plan.actions() != reviewed.actions()
        ):
            result.exit_code = EXIT_FAILED
            error = InstallError(
                "The files to install changed since they were reviewed.",
                "Go back to Review, look at the new diff, and install that.",
                code="install.stale",
            )
            result.error = error
            result.findings.append(_refusal(error))
            result.message = error.message
            return None
        return plan

    async def diff_and_confirm(self, plan: Plan, confirm: Confirm | None) -> bool:
        """Show the diff; stop for no change, a dry run or Review; then ask."""
        result = self.result
        result.stage = "diff"
        starting = start_finding(plan)
        if starting is not None:
            result.findings.append(starting)
        self.watch.planned(plan)
        checks_failed = result.exit_code == EXIT_FAILED
        if not plan.changed:
            result.message = (
                "Nothing to change: everything is already installed as planned."
                if not checks_failed
                else "Dry run: nothing to change, but a check fails (above). Nothing was written."
            )
            result.stage = "done"
            return False
        if result.dry_run:
            result.message = (
                "Dry run: nothing was written."
                if not checks_failed
                else "Dry run: nothing was written; a real run would refuse until the failed "
                "checks above are fixed."
            )
            return False
        if self.stop_after == "diff":
            return False
        result.stage = "confirm"
        answer = True if confirm is None else await confirm(plan)
        if answer is None:
            result.exit_code = EXIT_USAGE
            result.changed = False
            result.message = (
                "Refused: no terminal to confirm on. Pass --yes to apply without asking "
                "(or --dry-run to only show the plan). Nothing was written."
            )
            return False
        if not answer:
            result.exit_code = EXIT_FAILED
            result.changed = False
            result.message = "Not applied. Nothing was written."
            return False
        return True

    async def apply(self, plan: Plan) -> None:
        """Install the plan under the lock; the files keep the actions that happened."""
        result, installer = self.result, self.installer
        result.stage = "apply"
        if not self.lock.held:  # a wizard that reviewed without state: take it now
            await asyncio.to_thread(installer.state.ensure)
            await asyncio.to_thread(self.lock.acquire)
        install = await installer.apply(plan)
        result.install = install
        result.findings += install_findings(install)
        result.changed = install.changed
        result.reloaded = install.reloaded
        result.started = install.started
        kept = set(install.written) if install.ok or install.changed else set()
        result.files = [
            FileAction(f.path, f.action if f.path in kept else "unchanged") for f in result.files
        ]
        result.message = install.message
        if not install.ok:
            result.exit_code = EXIT_FAILED
            return
        result.stage = "done"
