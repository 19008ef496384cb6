"""``codestream-bastion apply``: check, then install the nginx block through the install pipeline.

The pipeline's driver for the command line is :mod:`wizard.apply_command`;
this module turns the parsed options into its arguments, including what
``--monitor`` installs: this very program's check, with the same options.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.commands.common import context_from_args, guarded, load_answers_arg, shared_argv

if TYPE_CHECKING:
    from wizard.install.monitor import MonitorSpec

__all__ = ["monitor_spec", "run"]


def run(args: argparse.Namespace) -> int:
    """The ``apply`` command; returns its exit status."""

    def body() -> int:
        from wizard.apply_command import run_apply

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
    from wizard.install.monitor import DEFAULT_SYSTEMD_DIR, DEFAULT_TEXTFILE_DIR, MonitorSpec

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
    return MonitorSpec(
        tuple(check),
        Path(args.textfile_dir).resolve() if args.textfile_dir else DEFAULT_TEXTFILE_DIR,
        Path(args.systemd_dir).resolve() if args.systemd_dir else DEFAULT_SYSTEMD_DIR,
    )


def _json_error(args: argparse.Namespace, exc: Exception) -> None:
    """``apply --json`` prints its one JSON object even when it cannot start."""
    if getattr(args, "json", False):
        from wizard.apply_command import print_json, usage_json

        print_json(
            usage_json("install.bad_input", str(exc), "Fix the input named above."), sys.stdout
        )
