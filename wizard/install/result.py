"""What an install did (:class:`InstallResult`), and the fault points the crash tests use.

Fault injection, for the tests that kill a run at each phase: when
``CODESTREAM_BASTION_TESTING=1`` *and* ``CODESTREAM_BASTION_FAULT=<phase>``
are both set, :func:`fault_point` SIGKILLs the process on entering that phase
(the phases are listed in :mod:`wizard.install.installer`). Without the first
variable the second is ignored.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FAULT_ENV",
    "TESTING_ENV",
    "InstallResult",
    "Outcome",
    "failed_result",
    "fault_point",
    "record_run",
    "write_remedy",
]

TESTING_ENV = "CODESTREAM_BASTION_TESTING"
FAULT_ENV = "CODESTREAM_BASTION_FAULT"


def fault_point(phase: str) -> None:
    """Kill this process here when the tests asked for it (see the module docstring)."""
    if os.environ.get(TESTING_ENV) == "1" and os.environ.get(FAULT_ENV) == phase:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class InstallResult:
    """What :meth:`Installer.apply` did.

    Attributes:
        ok: True when everything was written and nginx reloaded (or nothing
            needed to change).
        changed: True when files were changed (and kept).
        message: One paragraph for people.
        written: The paths written (empty after a rollback).
        backup_dir: Where the replaced files were saved (kept after success); ``None``
            after a success that replaced no file (every file was new).
        nginx_output: nginx's own message when ``nginx -t`` or the reload failed.
        rolled_back: True when the changes were undone.
        reload: The reload command run, or why none was.
        reloaded: True when nginx was reloaded (and the reload proven).
        start: The start command run when no master ran, else ``""``.
        started: True when nginx was started (and the start proven).
        notes: Anything else people should know (e.g. nginx not running).
        remedy: What to do after a failure.
        code: The result code (``install.*``).
    """

    ok: bool
    changed: bool
    message: str
    written: tuple[Path, ...] = ()
    backup_dir: Path | None = None
    nginx_output: str = ""
    rolled_back: bool = False
    reload: str = ""
    reloaded: bool = False
    start: str = ""
    started: bool = False
    notes: tuple[str, ...] = ()
    remedy: str = ""
    code: str = "install.done"


@dataclass(frozen=True)
class Outcome:
    """After the writes: a failure, or the reload (or start) run."""

    failure: tuple[str, str, str] | None = None
    reload: str = ""
    reloaded: bool = False
    reload_sent: bool = False
    start: str = ""
    started: bool = False
    code: str = "install.rolled_back"
    notes: tuple[str, ...] = field(default_factory=tuple)


def write_remedy(exc: BaseException) -> str:
    """What to do after a write failed with ``exc``."""
    if isinstance(exc, PermissionError):
        return "Run as root (sudo), or choose directories you can write."
    if isinstance(exc, OSError):
        return "Check free disk space and permissions, then run apply again."
    return "This is unexpected: please report it with the message above."


def failed_result(
    message: str,
    output: str,
    problems: list[str],
    backup_dir: Path,
    *,
    remedy: str,
    code: str = "install.rolled_back",
) -> InstallResult:
    """A failed run: rolled back, or (``problems``) not entirely, the backups in ``backup_dir``."""
    if problems:
        return InstallResult(
            False,
            True,
            message
            + " Putting the old files back FAILED for: "
            + "; ".join(problems)
            + f". The originals are in {backup_dir} (see its journal.json).",
            nginx_output=output,
            backup_dir=backup_dir,
            remedy="Copy the files back from the backup directory by hand, then run 'nginx -t'.",
            code="install.failed",
        )
    return InstallResult(
        False,
        False,
        message,
        nginx_output=output,
        rolled_back=True,
        remedy=remedy,
        code=code,
    )


def record_run(runs_file: Path, written: list[Path], outcome: Outcome) -> None:
    """Append one line to the run record (what changed, when, reloaded or not)."""
    from datetime import datetime, timezone

    line = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "written": [str(p) for p in written],
        "reloaded": outcome.reloaded,
        "started": outcome.started,
    }
    fd = os.open(
        runs_file,
        os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
    )
    try:
        os.write(fd, (json.dumps(line) + "\n").encode("utf-8"))
    finally:
        os.close(fd)
