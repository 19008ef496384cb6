"""``codestream-bastion check``: every check headless, as text, JSON, Prometheus or Nagios."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    context_from_args,
    guarded,
    load_answers_arg,
    print_usage_json,
)

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.checks.context import CheckContext
    from wizard.findings import Finding
    from wizard.report import CheckRun

__all__ = ["check_format", "run"]


def run(args: argparse.Namespace) -> int:
    """The ``check`` command; returns its exit status (Nagios' with ``--format nagios``)."""
    if getattr(args, "format", None) == "nagios":
        return _run_nagios(args)
    return guarded(lambda: _run_from(args), on_usage_error=lambda exc: _json_error(args, exc))


def _json_error(args: argparse.Namespace, exc: Exception) -> None:
    """``check --json`` prints its one JSON object even when it cannot run (``error``)."""
    if getattr(args, "json", False) or getattr(args, "format", None) == "json":
        print_usage_json("check", str(exc))


def check_format(args: argparse.Namespace) -> str:
    """The output format of ``check``; ``--json`` is ``--format json``.

    Raises:
        ValueError: When ``--json`` and ``--format`` disagree.
    """
    fmt = getattr(args, "format", None)
    if getattr(args, "json", False) and fmt not in (None, "json"):
        raise ValueError(f"--json and --format {fmt} disagree; give one of them.")
    return "json" if args.json else (fmt or "text")


def _run_from(args: argparse.Namespace) -> int:
    ctx = context_from_args(args)
    return _run(args, load_answers_arg(args), ctx)


def _run(args: argparse.Namespace, answers: Answers, ctx: CheckContext) -> int:
    import time
    from datetime import datetime, timezone

    from wizard.checks.certificate import leaf_not_after
    from wizard.engine import run_checks
    from wizard.findings import has_failure
    from wizard.report import CheckRun, nagios_exit_code, print_check

    fmt = check_format(args)
    if args.textfile and fmt != "prometheus":
        raise ValueError("--textfile writes the Prometheus report: add --format prometheus.")
    checked_at = datetime.now(timezone.utc)
    started = time.monotonic()
    findings = asyncio.run(run_checks(answers, ctx, post_install=args.post_install))
    certificate = answers.bastion.certificate if answers.exposes_bastion else ""
    run = CheckRun(
        checked_at=checked_at,
        duration=time.monotonic() - started,
        certificate=certificate,
        certificate_not_after=leaf_not_after(certificate) if certificate else None,
    )
    if args.textfile:
        _write_textfile(Path(args.textfile), findings, run)
    else:
        print_check(findings, sys.stdout, fmt, run)
    if fmt == "nagios":
        return nagios_exit_code(findings)
    return EXIT_FAILED if has_failure(findings) else EXIT_OK


def _write_textfile(path: Path, findings: Sequence[Finding], run: CheckRun) -> None:
    """The Prometheus report, atomically (the collector never reads half of it).

    Raises:
        ValueError: When the file cannot be written, naming it and why.
    """
    from wizard.fsutil import atomic_write
    from wizard.report import format_prometheus

    try:
        atomic_write(path, format_prometheus(findings, run).encode(), 0o644)
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def _run_nagios(args: argparse.Namespace) -> int:
    """``check --format nagios``: whatever goes wrong, one status line and a plugin exit code."""
    from wizard.answers import AnswersError
    from wizard.report import NAGIOS_UNKNOWN, nagios_unknown

    try:
        return _run_from(args)
    except (AnswersError, ValueError) as exc:
        # Nagios reads exit 2 as CRITICAL: a check that could not run is UNKNOWN (3).
        print(nagios_unknown(f"cannot check: {exc}"))
        return NAGIOS_UNKNOWN
    except KeyboardInterrupt:
        print(nagios_unknown("interrupted"))
        return NAGIOS_UNKNOWN
