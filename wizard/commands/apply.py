"""``codestream-bastion apply``: text or JSON, around the one install pipeline.

:func:`run` turns the parsed options into :func:`run_apply`'s arguments,
including what ``--monitor`` installs (:func:`monitor_spec`: this very
program's check, with the same options). All the work is
:func:`wizard.install.pipeline.run_pipeline`; this module asks for
confirmation and prints. Every line it prints goes through the run's
masker, so no secret value (old or new) reaches stdout, a log or a CI
transcript, with or without ``--yes``, ``--dry-run`` or ``--json``.

``apply --json`` prints exactly one JSON object on stdout and nothing else::

    {"ok": bool, "changed": bool, "reloaded": bool, "started": bool,
     "files": [{"path": str, "action": "created|updated|unchanged|removed"}],
     "findings": [{"code", "status", "title", "detail", "remedy"}, ...]}

``changed`` says whether files were changed (with ``--dry-run``: would be).
``reloaded`` means a running nginx was reloaded; ``started`` that no nginx
master ran for the tree and apply started one (each proven). A dry run only
says it would start nginx (``install.will_start``), with ``started`` false.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.commands.common import (
    ask_yes_no,
    context_from_args,
    guarded,
    load_answers_arg,
    shared_argv,
)
from wizard.findings import Finding, fail, ok
from wizard.install.errors import InstallError
from wizard.install.installer import Installer
from wizard.install.lock import DEFAULT_WAIT, RunLock
from wizard.install.monitor import DEFAULT_SYSTEMD_DIR, DEFAULT_TEXTFILE_DIR, MonitorSpec
from wizard.install.pipeline import (
    EXIT_FAILED,
    EXIT_OK,
    Observer,
    PipelineResult,
    run_pipeline,
)
from wizard.install.plan import Masker, Plan, masker_for
from wizard.install.result import InstallResult

__all__ = [
    "default_installer",
    "json_document",
    "monitor_spec",
    "print_json",
    "print_result",
    "question",
    "run",
    "run_apply",
    "run_discard_journal",
    "usage_json",
]


def question(plan: Plan) -> str:
    """The confirmation question: what apply is about to do to nginx."""
    if plan.start is not None and plan.nginx_changed:
        return f"{plan.start.describe()}. Write these files and start nginx? [y/N] "
    if plan.nginx_changed:
        return "Write these files and reload nginx? [y/N] "
    return "Write these files? [y/N] "


def print_result(result: InstallResult, stdout: TextIO, masker: Masker | None = None) -> None:
    """Write an :class:`InstallResult` for people (secrets masked)."""
    mask = masker or Masker(frozenset())
    out = io.StringIO()
    out.write(("" if result.ok else "FAILED: ") + result.message + "\n")
    if result.nginx_output:
        out.write("nginx said:\n")
        for line in result.nginx_output.splitlines():
            out.write(f"  {line}\n")
    for note in result.notes:
        out.write(f"Note: {note}\n")
    if result.backup_dir is not None and result.ok and result.changed:
        out.write(f"Backup of the replaced files: {result.backup_dir}\n")
    if result.remedy and not result.ok:
        out.write(f"Fix: {result.remedy}\n")
    stdout.write(mask.text(out.getvalue()))


class _TextObserver(Observer):
    """Prints each stage as it ends (the text output of ``apply``)."""

    def __init__(self, stdout: TextIO, masker: Masker) -> None:
        self.stdout = stdout
        self.masker = masker

    def write(self, text: str) -> None:
        """Print ``text`` with every secret masked."""
        self.stdout.write(self.masker.text(text))

    def recovered(self, messages: Sequence[str]) -> None:
        """One line per interrupted run undone."""
        for message in messages:
            self.write(message + "\n")

    def checked(self, findings: Sequence[Finding]) -> None:
        """The check report, as ``check`` prints it."""
        import contextlib
        import os

        from wizard.report import format_report, use_colour

        width = 80
        with contextlib.suppress(OSError, ValueError, AttributeError):
            width = os.get_terminal_size(self.stdout.fileno()).columns
        report = format_report(findings, colour=use_colour(self.stdout), width=width)
        self.write(report + "\n")

    def planned(self, plan: Plan) -> None:
        """What changes, then the diff."""
        self.write("\nPlanned changes:\n" + "\n".join(plan.summary()) + "\n")
        if plan.changed and not plan.conflicts:
            self.write("\n" + plan.diff())


def _finding_dict(finding: Finding, masker: Masker) -> dict[str, str]:
    return {key: masker.line(value) for key, value in finding.to_dict().items()}


def json_document(result: PipelineResult) -> dict[str, object]:
    """The ``apply --json`` object for a pipeline result."""
    findings = list(result.findings)
    if result.message and result.install is None and result.error is None:
        # How the run ended (dry run, nothing to change, declined ...) as a finding.
        if result.exit_code == EXIT_OK:
            code = "install.dry_run" if result.dry_run and result.changed else "install.unchanged"
            findings.append(ok(code, result.message))
        elif result.stage in ("confirm",):
            findings.append(
                fail("install.not_confirmed", result.message, "", "Pass --yes to apply.")
            )
    return {
        "ok": result.ok,
        "changed": result.changed,
        "reloaded": result.reloaded,
        "started": result.started,
        "files": [f.to_dict() for f in result.files],
        "findings": [_finding_dict(f, result.masker) for f in findings],
    }


def print_json(document: dict[str, object], stdout: TextIO) -> None:
    """Exactly one JSON object and a newline."""
    stdout.write(json.dumps(document, ensure_ascii=False) + "\n")


def usage_json(code: str, message: str, remedy: str) -> dict[str, object]:
    """The ``apply --json`` object when the run could not even start (exit 2)."""
    return {
        "ok": False,
        "changed": False,
        "reloaded": False,
        "started": False,
        "files": [],
        "findings": [fail(code, message, "", remedy).to_dict()],
    }


async def default_installer(
    answers: Answers,
    ctx: CheckContext,
    *,
    output_dir: Path | None = None,
    state_dir: str | Path | None = None,
    renew_hook: bool = False,
    monitor: MonitorSpec | None = None,
) -> Installer:
    """The installer ``apply`` uses: the detected nginx, the host's resolvers and trust."""
    from wizard.nginx import detect_nginx_features

    features = await asyncio.to_thread(detect_nginx_features, ctx.nginx_binary)
    bundle = ctx.trust_bundle()
    return Installer(
        answers,
        ctx,
        features=features,
        resolvers=[str(server) for server in ctx.nameservers],
        ca_bundle=str(bundle) if bundle is not None else None,
        output_dir=output_dir,
        state_dir=state_dir,
        renew_hook=renew_hook,
        monitor=monitor,
    )


async def run_discard_journal(
    installer: Installer,
    *,
    dry_run: bool,
    stdout: TextIO,
    lock_wait: float = DEFAULT_WAIT,
    as_json: bool = False,
) -> int:
    """``apply --discard-journal``: show unfinished journals, then remove them (not restored)."""
    if as_json:
        text = io.StringIO()
        status = await run_discard_journal(
            installer, dry_run=dry_run, stdout=text, lock_wait=lock_wait
        )
        lines = [line.strip() for line in text.getvalue().splitlines() if line.strip()]
        finding = (
            ok("install.journal_discarded", lines[0], "\n".join(lines[1:]))
            if status == EXIT_OK
            else fail("install.journal_damaged", lines[0], "", " ".join(lines[1:]) or "-")
        )
        document: dict[str, object] = {
            "ok": status == EXIT_OK,
            "changed": False,
            "reloaded": False,
            "started": False,
            "files": [],
            "findings": [finding.to_dict()],
        }
        print_json(document, stdout)
        return status
    try:
        if not installer.state.exists():
            stdout.write(f"No install state for {installer.ctx.nginx_root}: nothing to discard.\n")
            return EXIT_OK
        await asyncio.to_thread(installer.state.verify)
        with RunLock(installer.state.lock_file, installer.ctx.nginx_root, lock_wait):
            lines = await asyncio.to_thread(installer.describe_unfinished)
            if not lines:
                stdout.write("No unfinished install journal: nothing to discard.\n")
                return EXIT_OK
            verb = "Would discard" if dry_run else "Discarding"
            stdout.write(
                f"{verb} these unfinished journals; nothing is restored from them, so check "
                "each path they name by hand (nginx -t):\n"
            )
            for line in lines:
                stdout.write(f"  {line}\n")
            if dry_run:
                stdout.write("Dry run: nothing was discarded.\n")
                return EXIT_OK
            removed = await asyncio.to_thread(installer.discard_unfinished)
            stdout.write(
                f"Discarded {len(removed)} journal(s). The files they name were left as they "
                "are: run 'nginx -t' (and reload nginx if a server block was written), then "
                "run apply again.\n"
            )
            return EXIT_OK
    except InstallError as exc:
        stdout.write(f"Refused: {exc.message}\nFix: {exc.remedy}\n")
        return EXIT_FAILED


async def run_apply(
    answers: Answers,
    ctx: CheckContext,
    *,
    yes: bool,
    dry_run: bool,
    stdout: TextIO,
    stdin: TextIO | None = None,
    installer: Installer | None = None,
    output_dir: Path | None = None,
    as_json: bool = False,
    state_dir: str | Path | None = None,
    lock_wait: float = DEFAULT_WAIT,
    discard_journal: bool = False,
    renew_hook: bool = False,
    monitor: MonitorSpec | None = None,
) -> int:
    """The ``apply`` command: recover, check, plan, show the diff, confirm, install.

    Args:
        answers: The loaded answers.
        ctx: The check context (``nginx_root`` says which tree).
        yes: Do not ask before writing.
        dry_run: Show the plan and write nothing.
        stdout: Where to report.
        stdin: Where to read the confirmation (default ``sys.stdin``).
        installer: An installer to use (tests inject reload/test commands).
        output_dir: Where the snippet, next steps and answers go (default: cwd).
        as_json: Print one JSON object instead of text.
        state_dir: The base of the install state (``--state-dir``).
        lock_wait: Seconds to wait for another run (``--lock-wait``).
        discard_journal: Discard unfinished journals instead (``--discard-journal``).
        renew_hook: Also install the certbot deploy hook (``--renew-hook``).
        monitor: Also install the daily check's systemd units (``--monitor``).

    Returns:
        0 installed, nothing to change, or a dry run; 1 a failed check, a
        refusal, or a failed install rolled back; 2 nobody could confirm.
    """
    if installer is None:
        installer = await default_installer(
            answers,
            ctx,
            output_dir=output_dir,
            state_dir=state_dir,
            renew_hook=renew_hook,
            monitor=monitor,
        )
    if discard_journal:
        return await run_discard_journal(
            installer, dry_run=dry_run, stdout=stdout, lock_wait=lock_wait, as_json=as_json
        )
    masker = masker_for(answers, ())
    observer = Observer() if as_json else _TextObserver(stdout, masker)
    reader = stdin if stdin is not None else sys.stdin

    async def confirm(plan: Plan) -> bool | None:
        """Ask on the terminal (the diff was shown just before)."""
        # Under --json the question goes to stderr: stdout holds the JSON only.
        prompt = sys.stderr if as_json else stdout
        return await asyncio.to_thread(ask_yes_no, reader, prompt, question(plan))

    result = await run_pipeline(
        answers,
        ctx,
        installer,
        confirm=None if yes else confirm,
        dry_run=dry_run,
        lock_wait=lock_wait,
        observer=observer,
    )
    if isinstance(observer, _TextObserver):
        observer.masker = result.masker
    if as_json:
        print_json(json_document(result), stdout)
        return result.exit_code
    _print_text_end(result, stdout)
    return result.exit_code


def _print_text_end(result: PipelineResult, stdout: TextIO) -> None:
    """How the run ended, in words (the stages printed the rest as they went)."""
    mask = result.masker
    if result.error is not None:
        stdout.write(mask.text(f"\nCannot install: {result.error.message}\n"))
        if result.error.remedy:
            stdout.write(mask.text(f"Fix: {result.error.remedy}\n"))
        return
    if result.install is not None:
        stdout.write("\n")
        print_result(result.install, stdout, mask)
        return
    conflict = [f for f in result.findings if f.code == "install.conflict"]
    if conflict:
        stdout.write(
            mask.text(
                f"\nRefused: {conflict[0].title}:\n  {conflict[0].detail}\n{conflict[0].remedy}\n"
            )
        )
        return
    if result.message:
        stdout.write(mask.text("\n" + result.message + "\n"))


def run(args: argparse.Namespace) -> int:
    """The ``apply`` command; returns its exit status."""

    def body() -> int:
        ctx = context_from_args(args)
        answers = load_answers_arg(args)
        return asyncio.run(
            run_apply(
                answers,
                ctx,
                yes=args.yes,
                dry_run=args.dry_run,
                stdout=sys.stdout,
                as_json=args.json,
                state_dir=args.state_dir,
                lock_wait=args.lock_wait,
                discard_journal=args.discard_journal,
                renew_hook=args.renew_hook,
                monitor=monitor_spec(args),
            )
        )

    return guarded(body, on_usage_error=lambda exc: _json_error(args, exc))


def monitor_spec(args: argparse.Namespace) -> MonitorSpec | None:
    """What ``apply --monitor`` installs: this very program's check, with the same options.

    Raises:
        ValueError: When ``--textfile-dir`` or ``--systemd-dir`` come without ``--monitor``.
    """
    if not args.monitor:
        if args.textfile_dir or args.systemd_dir:
            raise ValueError("--textfile-dir and --systemd-dir go with --monitor; add it.")
        return None
    # The interpreter of this installation, so the unit runs the same code.
    check = [
        sys.executable,
        "-m",
        "wizard",
        "check",
        "--answers",
        str(Path(args.answers).resolve()),
    ]
    check += ["--post-install", "--format", "prometheus", *shared_argv(args)]
    # What the root service reads on these paths: refused unless root's alone.
    inputs = [Path(args.answers).resolve(), Path(args.nginx_root).resolve()]
    inputs += [Path(args.ca_bundle).resolve()] if args.ca_bundle else []
    return MonitorSpec(
        tuple(check),
        Path(args.textfile_dir).resolve() if args.textfile_dir else DEFAULT_TEXTFILE_DIR,
        Path(args.systemd_dir).resolve() if args.systemd_dir else DEFAULT_SYSTEMD_DIR,
        tuple(inputs),
    )


def _json_error(args: argparse.Namespace, exc: Exception) -> None:
    """``apply --json`` prints its one JSON object even when it cannot start."""
    if getattr(args, "json", False):
        print_json(
            usage_json("install.bad_input", str(exc), "Fix the input named above."), sys.stdout
        )
