"""The journal of one apply: what it is about to change, written before the first change.

Each apply gets a directory ``<state>/journals/<UTC stamp>/`` holding
``journal.json`` and one backup file per replaced regular file
(``0001.bak``, ...). The journal moves through the states

``planned`` (backups taken, nothing changed yet) -> ``writing`` ->
``testing`` (``nginx -t``) -> ``reloading`` or ``starting`` -> ``done``

and is saved atomically at each step. ``starting`` replaces ``reloading``
when no nginx master ran for the tree (:mod:`wizard.install.start`); its
``start`` record says who starts nginx (``systemd``, ``nginx`` or an injected
``command``), whether the unit was enabled before, when the start began and,
once seen, the new master's pid, so that recovery can stop the master the
killed run started, and only that one. A run killed at any instant leaves a
journal not ``done``: the next run (:meth:`wizard.install.Installer.recover`)
validates it and puts every path back. A successful rollback removes the
journal; a finished run keeps it (``done``) as the record of the backups.

Validation (:func:`load_journal`) trusts nothing: the file must be a regular
file of ours, well-formed, for this nginx tree; every path must be one this
install manages, every backup present with the recorded size and sha256.
Anything else is a :class:`~wizard.install.errors.JournalError` that says
what the journal holds and how to discard it (``apply --discard-journal``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.fsutil import PathState, atomic_write, read_state
from wizard.install.errors import JournalError
from wizard.reading import read_bounded

JOURNAL_NAME = "journal.json"
STATES = ("planned", "writing", "testing", "reloading", "starting", "done")
_BACKUP = re.compile(r"^[0-9]{4}\.bak$")
_MAX_JOURNAL = 1024 * 1024
_KEEP_DONE = 10
DISCARD_HINT = (
    "See what it holds with 'codestream-bastion apply --discard-journal --dry-run', then "
    "discard it with 'codestream-bastion apply --discard-journal' (nothing is restored; "
    "check the files it names by hand)."
)


def stamp() -> str:
    """A sortable UTC time stamp for a journal directory."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass
class Entry:
    """One path the apply changes, and what it was before.

    Attributes:
        path: The path.
        before: What it was (``file`` content comes from the backup).
        backup: The backup file's name (``file`` entries).
        sha256: The backup's digest.
    """

    path: Path
    before: PathState
    backup: str = ""
    sha256: str = ""


@dataclass
class StartRecord:
    """What a run that starts nginx wrote down before (and just after) the start.

    Attributes:
        manager: ``systemd``, ``nginx`` or ``command``.
        enabled_before: The systemd unit was enabled before the run.
        at: When the start began (seconds since the epoch).
        pid: The started master's pid, once seen (``None`` before).
    """

    manager: str
    enabled_before: bool
    at: float
    pid: int | None = None

    def document(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "manager": self.manager,
            "enabled_before": self.enabled_before,
            "at": self.at,
            "pid": self.pid,
        }


@dataclass
class Journal:
    """The journal of one apply (see the module docstring).

    Attributes:
        directory: Its directory.
        nginx_root: The tree it belongs to (real path).
        state: One of :data:`STATES`.
        entries: The paths changed, in order.
        created_dirs: Directories created (removed again on rollback).
        pid: The process that wrote it.
        started: When.
        start: The nginx start of a ``starting`` run.
    """

    directory: Path
    nginx_root: str
    state: str = "planned"
    entries: list[Entry] = field(default_factory=list)
    created_dirs: list[Path] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    started: str = field(default_factory=stamp)
    start: StartRecord | None = None

    @classmethod
    def create(cls, journals: Path, nginx_root: Path) -> Journal:
        """A new, empty journal directory (0700) under ``journals``."""
        while True:
            directory = journals / stamp()
            try:
                directory.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        return cls(directory, os.path.realpath(nginx_root))

    def add(self, path: Path, before: PathState) -> None:
        """Record ``path`` (backing up a regular file's bytes first)."""
        entry = Entry(path, before)
        if before.kind == "file":
            assert before.content is not None
            entry.backup = f"{len(self.entries) + 1:04d}.bak"
            entry.sha256 = hashlib.sha256(before.content).hexdigest()
            atomic_write(self.directory / entry.backup, before.content, 0o600, check=False)
        self.entries.append(entry)

    def document(self) -> dict[str, Any]:
        """The JSON form."""
        entries = []
        for entry in self.entries:
            item: dict[str, Any] = {"path": str(entry.path), "kind": entry.before.kind}
            if entry.before.kind == "file":
                assert entry.before.content is not None
                item.update(
                    backup=entry.backup,
                    sha256=entry.sha256,
                    size=len(entry.before.content),
                    mode=entry.before.mode,
                )
            if entry.before.kind == "link":
                item["target"] = entry.before.target
            item.update(uid=entry.before.uid, gid=entry.before.gid)
            entries.append(item)
        return {
            "tool": "codestream-bastion",
            "version": 1,
            "state": self.state,
            "nginx_root": self.nginx_root,
            "pid": self.pid,
            "started": self.started,
            "created_directories": [str(d) for d in self.created_dirs],
            "start": self.start.document() if self.start is not None else None,
            "entries": entries,
            "how_to_restore": (
                "Each entry names a path and what it was before: 'absent' (delete it), "
                "'link' (a symlink to 'target'), or 'file' (copy 'backup' back with 'mode'). "
                "'codestream-bastion apply' does this by itself for a journal not 'done'."
            ),
        }

    def save(self, state: str | None = None) -> None:
        """Write the journal atomically (optionally moving to ``state`` first)."""
        if state is not None:
            self.state = state
        data = (json.dumps(self.document(), indent=2) + "\n").encode("utf-8")
        atomic_write(self.directory / JOURNAL_NAME, data, 0o600, check=False)

    def discard(self) -> None:
        """Remove the journal and its backups."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def describe(self) -> str:
        """What the journal holds, for people (never file contents)."""
        paths = ", ".join(f"{e.path} (was {e.before.kind})" for e in self.entries) or "no paths"
        return (
            f"journal {self.directory} (state {self.state}, pid {self.pid}, "
            f"started {self.started}): {paths}"
        )


def _damaged(directory: Path, why: str, holds: str = "") -> JournalError:
    return JournalError(
        f"The install journal {directory} cannot be used: {why}."
        + (f" It holds: {holds}." if holds else ""),
        DISCARD_HINT,
    )


def _require(document: dict[str, Any], key: str, kind: type[Any], directory: Path) -> Any:
    value = document.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _damaged(directory, f"'{key}' is missing or not {kind.__name__}")
    return value


def _read_backup(directory: Path, name: str, size: int, digest: str, path: str) -> bytes:
    if not _BACKUP.match(name):
        raise _damaged(directory, f"the backup name {name!r} of {path} is not one it writes")
    backup = directory / name
    state = read_state(backup, max_bytes=size + 1)
    if state.kind != "file" or state.content is None:
        raise _damaged(directory, f"the backup of {path} ({backup}) is missing", path)
    if state.uid != os.geteuid():
        raise _damaged(directory, f"the backup {backup} is not ours (uid {state.uid})", path)
    if len(state.content) != size or hashlib.sha256(state.content).hexdigest() != digest:
        raise _damaged(directory, f"the backup of {path} ({backup}) is damaged", path)
    return state.content


def _start_record(raw: object, directory: Path) -> StartRecord | None:
    if raw is None:
        return None
    if not (
        isinstance(raw, dict)
        and raw.get("manager") in ("systemd", "nginx", "command")
        and isinstance(raw.get("enabled_before"), bool)
        and isinstance(raw.get("at"), (int, float))
        and not isinstance(raw.get("at"), bool)
        and (raw.get("pid") is None or (type(raw.get("pid")) is int and raw["pid"] > 0))
    ):
        raise _damaged(directory, "its record of the nginx start is damaged")
    return StartRecord(raw["manager"], raw["enabled_before"], float(raw["at"]), raw.get("pid"))


def load_journal(
    directory: Path, nginx_root: Path, managed: Callable[[Path], bool]
) -> Journal | None:
    """Read and validate the journal in ``directory``.

    Args:
        directory: A journal directory.
        nginx_root: The tree this run installs into.
        managed: Whether a path is one this install manages for the tree.

    Returns:
        The journal; ``None`` when the directory holds no journal at all (a
        run killed before writing one, which had changed nothing).

    Raises:
        JournalError: When it is damaged, partial, foreign or names other paths.
    """
    document = _read_document(directory)
    if document is None:
        return None
    state = _require(document, "state", str, directory)
    if state not in STATES:
        raise _damaged(directory, f"its state {state!r} is not one of {', '.join(STATES)}")
    root = _require(document, "nginx_root", str, directory)
    if root != os.path.realpath(nginx_root):
        raise _damaged(directory, f"it belongs to the nginx tree {root}, not {nginx_root}")
    journal = Journal(
        directory,
        root,
        state,
        pid=_require(document, "pid", int, directory),
        started=str(document.get("started", "?")),
    )
    journal.start = _start_record(document.get("start"), directory)
    raw_entries = _require(document, "entries", list, directory)
    holds = ", ".join(str(e.get("path")) for e in raw_entries if isinstance(e, dict))
    for raw in raw_entries:
        journal.entries.append(_entry(raw, directory, managed, holds))
    created = _require(document, "created_directories", list, directory)
    targets = [e.path for e in journal.entries]
    for text in created:
        if not isinstance(text, str) or not any(Path(text) in t.parents for t in targets):
            raise _damaged(directory, f"it names a directory {text!r} it did not need", holds)
        journal.created_dirs.append(Path(text))
    return journal


def _read_document(directory: Path) -> dict[str, Any] | None:
    """The journal's JSON document, read with bounds; ``None`` when there is none.

    Raises:
        JournalError: When the file is not ours alone, too large, cut short or foreign.
    """
    file = directory / JOURNAL_NAME
    try:
        st = os.lstat(file)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise _damaged(directory, f"{file} is not a regular file")
    if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise _damaged(directory, f"{file} is not ours alone (uid {st.st_uid})")
    if st.st_size > _MAX_JOURNAL:
        raise _damaged(directory, f"{file} is {st.st_size} bytes, too large for a journal")
    content = read_state(file, _MAX_JOURNAL).content or b""
    try:
        document = json.loads(content.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _damaged(directory, f"{file} is not complete JSON (cut short?)") from None
    if not isinstance(document, dict) or document.get("tool") != "codestream-bastion":
        raise _damaged(directory, f"{file} is not a codestream-bastion journal")
    return document


def _entry(raw: Any, directory: Path, managed: Callable[[Path], bool], holds: str) -> Entry:
    """One validated entry: a managed absolute path and what was there before.

    Raises:
        JournalError: When the entry is incomplete, unknown, or names another path.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise _damaged(directory, "an entry has no path", holds)
    text = raw["path"]
    path = Path(text)
    if not path.is_absolute() or os.path.normpath(text) != text or not managed(path):
        raise _damaged(directory, f"it names {text}, which this install does not manage", holds)
    kind = raw.get("kind")
    uid, gid = raw.get("uid"), raw.get("gid")
    uid = uid if isinstance(uid, int) else None
    gid = gid if isinstance(gid, int) else None
    if kind == "file":
        size, mode, digest = raw.get("size"), raw.get("mode"), raw.get("sha256")
        if not (
            isinstance(size, int)
            and isinstance(mode, int)
            and isinstance(digest, str)
            and 0 <= mode <= 0o7777
        ):
            raise _damaged(directory, f"the entry of {text} is incomplete", holds)
        data = _read_backup(directory, str(raw.get("backup")), size, digest, text)
        before = PathState("file", data, mode, uid, gid)
        return Entry(path, before, str(raw["backup"]), digest)
    if kind == "link" and isinstance(raw.get("target"), str):
        before = PathState("link", uid=uid, gid=gid, target=raw["target"])
        return Entry(path, before)
    if kind == "absent":
        return Entry(path, PathState("absent"))
    raise _damaged(directory, f"the entry of {text} has an unknown kind", holds)


def journal_dirs(journals: Path) -> list[Path]:
    """Every journal directory, oldest first (symlinks and files are ignored)."""
    if not journals.is_dir():
        return []
    found = []
    for child in journals.iterdir():
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(child).st_mode):
                found.append(child)
    return sorted(found)


def journal_text(directory: Path) -> str:
    """The text of ``directory``'s journal, through the bounded reader (no link followed).

    Raises:
        OSError: Missing, not a regular file, too large, unreadable.
        ValueError: Not UTF-8.
    """
    return read_bounded(directory / JOURNAL_NAME, _MAX_JOURNAL, follow=False).decode("utf-8")


def prune_done(journals: Path, keep: int = _KEEP_DONE) -> None:
    """Keep the backups of the last ``keep`` finished runs only."""
    done = []
    for directory in journal_dirs(journals):
        with contextlib.suppress(OSError, ValueError):
            text = journal_text(directory)
            if json.loads(text).get("state") == "done":
                done.append(directory)
    for directory in done[:-keep] if keep else done:
        shutil.rmtree(directory, ignore_errors=True)
