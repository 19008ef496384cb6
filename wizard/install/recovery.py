"""Putting things back: a file as it was, and the runs that were killed half-way.

:func:`restore_state` puts one path back exactly (bytes, mode, owner, link
target); the installer's rollback uses it after a failed run, and
:func:`recover_journals` after a killed one, from the journals
(:mod:`wizard.install.journal`) such a run left in the state directory. The
caller holds the run lock (:mod:`wizard.install.lock`), so no journal found
here belongs to a live run.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wizard.findings import counted
from wizard.fsutil import (
    PathState,
    atomic_symlink,
    atomic_write,
    fsync_directory,
    read_state,
    remove_tmp_leftovers,
)
from wizard.install.errors import JournalError
from wizard.install.journal import (
    DISCARD_HINT,
    Journal,
    StartRecord,
    journal_dirs,
    journal_text,
    load_journal,
)
from wizard.install.plan import Plan
from wizard.install.state import StateDir
from wizard.install.targets import MAX_CURRENT

__all__ = [
    "Recovered",
    "describe_journals",
    "discard_journals",
    "recover_journals",
    "restore_state",
    "roll_back",
    "unfinished_journals",
]


def _chown(path: Path, state: PathState) -> None:
    """Give ``path`` the owner ``state`` recorded (best effort, never follows links)."""
    if state.uid is None or state.gid is None:
        return
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if (st.st_uid, st.st_gid) != (state.uid, state.gid):
            os.lchown(path, state.uid, state.gid)


def restore_state(path: Path, state: PathState) -> None:
    """Put ``path`` back as ``state`` describes (atomically for files and links)."""
    if state.kind == "other":
        return
    if state.kind == "absent":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        fsync_directory(path.parent)
        return
    if state.kind == "link":
        assert state.target is not None
        atomic_symlink(path, state.target, check=False)
    else:
        assert state.content is not None
        assert state.mode is not None
        owner = (state.uid, state.gid) if state.uid is not None and state.gid is not None else None
        if owner is not None and os.geteuid() != 0:
            owner = None
        atomic_write(path, state.content, state.mode, owner=owner, check=False)
    _chown(path, state)


def roll_back(plan: Plan, journal: Journal | None = None) -> list[str]:
    """Put every target of ``plan`` back as it was when the plan was made.

    Returns:
        Problems met (empty when everything is back byte for byte).
    """
    problems: list[str] = []
    for link in reversed(plan.links):
        try:
            if not read_state(link.path, 0).same_as(link.current):
                restore_state(link.path, link.current)
        except OSError as exc:
            problems.append(f"{link.path}: {exc.strerror or exc}")
    for change in reversed(plan.files):
        try:
            if not read_state(change.path, MAX_CURRENT + 1).same_as(change.current):
                restore_state(change.path, change.current)
            remove_tmp_leftovers(change.path)
        except OSError as exc:
            problems.append(f"{change.path}: {exc.strerror or exc}")
    created = journal.created_dirs if journal is not None else []
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    return problems


@dataclass
class Recovered:
    """What :func:`recover_journals` undid.

    Attributes:
        messages: One per interrupted run undone.
        a_reload: An undone run had reached its reload (nginx may run its files).
        starts: The starts of undone runs that were starting nginx.
    """

    messages: list[str] = field(default_factory=list)
    a_reload: bool = False
    starts: list[StartRecord] = field(default_factory=list)


def unfinished_journals(state: StateDir) -> list[Path]:
    """Journal directories of runs that did not finish (the caller holds the lock)."""
    if not state.exists():
        return []
    state.verify()
    found = []
    for directory in journal_dirs(state.journals):
        with contextlib.suppress(OSError, ValueError):
            text = journal_text(directory)
            if json.loads(text).get("state") == "done":
                continue
        found.append(directory)
    return found


def recover_journals(
    state: StateDir, nginx_root: Path, managed: Callable[[Path], bool]
) -> Recovered:
    """Undo every apply that was killed half-way (a journal not ``done``).

    Args:
        state: The install state of the tree.
        nginx_root: The tree.
        managed: Whether a path is one this install manages (a journal naming
            another is refused, nothing touched).

    Raises:
        UnsafeStateError: When the state directory is not trusted.
        JournalError: When a journal is damaged or names paths this install
            does not manage (nothing is touched then).
    """
    recovered = Recovered()
    for directory in unfinished_journals(state):
        journal = load_journal(directory, nginx_root, managed)
        if journal is None:
            # Killed before its journal existed: nothing had been changed yet.
            Journal(directory, "").discard()
            continue
        _undo(journal)
        if journal.state == "reloading":
            recovered.a_reload = True
        if journal.state == "starting" and journal.start is not None:
            recovered.starts.append(journal.start)
        note = (
            " nginx may have been reloaded with the new files before the interruption: "
            "it is reloaded once more."
            if journal.state == "reloading"
            else " nginx was not running and the run may have started it with the new "
            "files: a master it started is stopped again."
            if journal.state == "starting"
            else ""
        )
        recovered.messages.append(
            f"An earlier apply was interrupted (journal {directory.name}, state "
            f"{journal.state}); its {counted(len(journal.entries), 'file')} were put back as they "
            f"were.{note}"
        )
    return recovered


def _undo(journal: Journal) -> None:
    """Put back every file of ``journal`` and remove the directories it created; discard it.

    Raises:
        JournalError: When a file cannot be put back (the journal is kept).
    """
    problems: list[str] = []
    for entry in reversed(journal.entries):
        try:
            if not read_state(entry.path, MAX_CURRENT + 1).same_as(entry.before):
                restore_state(entry.path, entry.before)
            remove_tmp_leftovers(entry.path)
        except OSError as exc:
            problems.append(f"{entry.path}: {exc.strerror or exc}")
    for created in reversed(journal.created_dirs):
        with contextlib.suppress(OSError):
            os.rmdir(created)
    if problems:
        raise JournalError(
            f"An interrupted apply could not be fully undone ({'; '.join(problems)}); "
            f"the originals are in {journal.directory}.",
            "Copy them back by hand (journal.json says where each goes), then "
            + DISCARD_HINT[0].lower()
            + DISCARD_HINT[1:],
        )
    journal.discard()


def describe_journals(state: StateDir, nginx_root: Path) -> list[str]:
    """What each unfinished journal holds, for ``apply --discard-journal``."""
    lines = []
    for directory in unfinished_journals(state):
        try:
            journal = load_journal(directory, nginx_root, lambda _p: True)
        except JournalError as exc:
            lines.append(f"{directory}: {exc.message}")
            continue
        if journal is None:
            lines.append(f"{directory}: no journal (a run killed before it changed anything)")
        else:
            lines.append(journal.describe())
    return lines


def discard_journals(state: StateDir) -> list[Path]:
    """Remove every unfinished journal without restoring anything; returns them."""
    found = unfinished_journals(state)
    for directory in found:
        Journal(directory, "").discard()
    return found
