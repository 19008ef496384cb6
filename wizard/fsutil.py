"""Safe file writing for a tool that runs as root on a shared host.

Every file the tool writes (``render --out``, ``apply``'s outputs, the TUI's
``./codestream-bastion/``, the answers file, the install state) goes through
:func:`atomic_write`:

- the directory is checked first, in the spirit of OpenSSH's ``StrictModes``:
  every directory from ``/`` down to it must belong to root or to the invoking
  user and must not be writable by anyone else (a sticky directory such as
  ``/tmp`` is accepted, but only when the target is absent or ours), because
  whoever can write a directory can swap the names in it;
- the temporary file is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` under a
  random name (:func:`tempfile.mkstemp`), so a planted file or symlink is never
  opened or followed, and nobody else can hold a descriptor to it;
- its mode (and owner, when asked) is set on the descriptor before the first
  byte is written, so a secret is never readable by others, not even briefly;
- the data is flushed and fsynced, then renamed over the target: a reader (or
  nginx) sees either the old file or the new one, never a partial one.

:func:`read_state` reads what a path is without following a symlink (a
symlink is reported as such, never read through).

:func:`check_readable_path` applies the same StrictModes rule to a file that
root will trust (a certificate, a key, what a root timer reads): the file and
every directory on its way, as written and through each link's own directory.
Reading itself is :mod:`wizard.reading` (the one bounded reader).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TMP_SUFFIX = ".tmp"
EntryKind = Literal["absent", "file", "link", "other"]


class UnsafePathError(PermissionError):
    """A directory that someone other than root or the invoking user can change.

    A :class:`PermissionError` so callers that handle ``OSError`` report it too.

    Attributes:
        path: The directory (or file) that is not trusted.
        message: What was found and why it is not trusted.
        remedy: What to do about it.
        owner: The uid that owns ``path``, when known.
    """

    def __init__(self, path: Path, message: str, remedy: str, *, owner: int | None = None) -> None:
        super().__init__(f"{message} {remedy}")
        self.path = path
        self.message = message
        self.remedy = remedy
        self.owner = owner

    def __str__(self) -> str:
        return f"{self.message} {self.remedy}"


def trusted_uids() -> frozenset[int]:
    """Owners whose files and directories are trusted: root and the invoking user.

    Under ``sudo`` the invoking user is ``SUDO_UID`` (the clone's owner); the
    variable is only believed when we run as root through sudo, where it was
    set by sudo itself.
    """
    uids = {0, os.getuid(), os.geteuid()}
    sudo = os.environ.get("SUDO_UID", "")
    if os.geteuid() == 0 and sudo.isdigit():
        uids.add(int(sudo))
    return frozenset(uids)


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _check_component(
    component: Path,
    st: os.stat_result,
    directory: Path,
    *,
    uids: frozenset[int] | None = None,
    reading: bool = False,
) -> None:
    """Refuse one step of a path that a user other than ``uids`` could change.

    Args:
        component: The directory (or, when ``reading``, the file itself).
        st: Its ``lstat``.
        directory: What is being written into, or read, for the message.
        uids: The trusted owners (default :func:`trusted_uids`).
        reading: ``directory`` is a file about to be read: the last step may be
            a file, and the words say that the file could be swapped.
    """
    trusted = trusted_uids() if uids is None else uids
    is_dir = stat.S_ISDIR(st.st_mode)
    if not is_dir and not reading:
        raise NotADirectoryError(f"{component} is not a directory")
    if not is_dir and not stat.S_ISREG(st.st_mode):
        return  # a device or FIFO: the bounded reader refuses it, whoever owns it
    mode = stat.S_IMODE(st.st_mode)
    if reading:
        doing = f"{directory} can be changed by another user"
        fix = (
            f"Move {directory} into a directory only root can write (each directory "
            f"above it owned by root, not writable by group or others), or "
            f"'chown root {component}' and 'chmod go-w {component}'."
        )
    else:
        doing = f"Refused to write into {directory}"
        fix = ""
    if st.st_uid not in trusted:
        raise UnsafePathError(
            component,
            f"{doing}: {component} belongs to {_owner_name(st.st_uid)}, who could "
            + ("swap the files in it for links." if is_dir else "rewrite it."),
            fix or f"Use a directory owned by root or by you (or 'chown root {component}').",
            owner=st.st_uid,
        )
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not (is_dir and mode & stat.S_ISVTX):
        who = "everyone" if mode & stat.S_IWOTH else "its group"
        raise UnsafePathError(
            component,
            f"{doing}: {component} is writable by {who} (mode {mode:04o}), who could "
            + ("swap the files in it for links." if is_dir else "rewrite it."),
            fix or f"Use a directory only root or you can write, or 'chmod go-w {component}'.",
            owner=st.st_uid,
        )


def _walk(
    path: Path,
    directory: Path,
    depth: int = 0,
    *,
    uids: frozenset[int] | None = None,
    reading: bool = False,
) -> Path:
    """Check every directory on the way to ``path``, following links only from trusted places.

    Each component is checked as written (lexically); a symbolic link is only
    followed from a directory already checked, and its target is walked the
    same way. With ``reading``, the last component may be a file, and is
    checked too.

    Returns:
        The real path reached.
    """
    if depth > 40:  # as the kernel's ELOOP
        raise OSError(f"too many symbolic links on the way to {directory}")
    current = Path("/")
    _check_component(current, os.stat(current), directory, uids=uids, reading=reading)
    for part in Path(os.path.abspath(path)).parts[1:]:
        step = current / part
        st = os.lstat(step)
        if stat.S_ISLNK(st.st_mode):
            # The link sits in ``current``, already checked: only a trusted user could
            # have put it there. Its target is checked the same way.
            target = os.readlink(step)
            current = _walk(current / target, directory, depth + 1, uids=uids, reading=reading)
            continue
        _check_component(step, st, directory, uids=uids, reading=reading)
        current = step
    return current


def check_readable_path(path: Path, *, uids: frozenset[int] | None = None) -> None:
    """Refuse a file to read that a user other than root or the invoker could change.

    The sshd ``StrictModes`` rule of :func:`check_directory`, for a file the
    tool reads and root later trusts (a certificate and key nginx loads, the
    ``upstream_ca``, the answers file a root timer reads): every directory
    from ``/`` down, as written and through each symbolic link (the link's own
    directory first, then its target), and the file itself must belong to a
    trusted user and be writable by nobody else (a sticky directory such as
    ``/tmp`` is accepted on the way, the file in it must still be trusted).

    Args:
        path: The file (or directory, e.g. an nginx root).
        uids: The trusted owners; default :func:`trusted_uids`, ``{0}`` for
            what a root service reads.

    Raises:
        UnsafePathError: Naming the path, the component at fault, its owner and
            how to move the file.
        OSError: When the path cannot be examined (missing, permission denied).
    """
    _walk(Path(path), Path(path), uids=uids, reading=True)


def check_directory(directory: Path, target: Path | None = None) -> None:
    """Refuse a directory that users other than root or the invoker could change.

    Every directory on the way is checked, as written and through each symbolic
    link (a link is only followed from a directory already trusted): it must be
    owned by a trusted user (:func:`trusted_uids`) and not writable by group or
    others, unless it is sticky (``/tmp``). In a sticky directory that others
    can write, ``target`` must be absent or ours.

    Args:
        directory: Where a file is about to be written (must exist).
        target: The file that will be replaced, if known.

    Raises:
        UnsafePathError: Naming the directory, what was found and the fix.
        OSError: When the directory cannot be examined.
    """
    real = _walk(Path(directory), Path(directory))
    mode = stat.S_IMODE(os.stat(real).st_mode)
    if target is None or not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return
    try:
        owner = os.lstat(real / target.name).st_uid
    except FileNotFoundError:
        return
    if owner not in trusted_uids():
        raise UnsafePathError(
            real / target.name,
            f"Refused to replace {real / target.name}: it belongs to "
            f"{_owner_name(owner)} in the shared directory {real}.",
            "Remove it (or choose another output directory) and run again.",
        )


def atomic_write(
    path: Path,
    data: bytes,
    mode: int = 0o644,
    *,
    owner: tuple[int, int] | None = None,
    check: bool = True,
    durable: bool = True,
) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    Args:
        path: The file to create or replace.
        data: The full new content.
        mode: Permission bits, set on the descriptor before any byte is written.
        owner: ``(uid, gid)`` to give the file, also before any byte (root only).
        check: Check the directory first (:func:`check_directory`); only the
            install state, whose directory was checked once, skips it.
        durable: Flush the file and its directory to disk before returning. Only
            the demo's own throwaway files skip it: an fsync waits for every
            pending write of the file system (40 ms and more while an earlier
            demo's directory is being removed), and it came before the first frame.

    Raises:
        UnsafePathError: When the directory can be changed by other users.
        OSError: When the directory is not writable or the disk is full; the
            target is then left exactly as it was.
    """
    path = Path(path)
    directory = path.parent
    if check:
        check_directory(directory, path)
    # mkstemp: a random name opened with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600.
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        if owner is not None:
            os.fchown(fd, *owner)
        os.fchmod(fd, mode & 0o7777)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_directory(directory)


def atomic_symlink(path: Path, target: str, *, check: bool = True) -> None:
    """Make ``path`` a symlink to ``target`` atomically (replacing what is there).

    The new link is made under a random name (``symlink`` never follows or
    reuses an existing name: it fails instead), then renamed over ``path``.
    """
    path = Path(path)
    if check:
        check_directory(path.parent, path)
    while True:
        # os.urandom, as secrets.token_hex is, without importing hashlib before the first frame.
        tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}{TMP_SUFFIX}"
        try:
            os.symlink(target, tmp)
            break
        except FileExistsError:
            continue
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def remove_tmp_leftovers(path: Path) -> None:
    """Remove temporary files a killed writer left beside ``path`` (ours only, never links)."""
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{path.name}.*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                st = os.lstat(candidate)
                if st.st_uid == os.geteuid() and (
                    stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
                ):
                    os.unlink(candidate)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename or new link) to disk; best effort."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True)
class PathState:
    """What a path is right now, enough to put it back byte for byte.

    Attributes:
        kind: ``absent``, ``file`` (regular file), ``link`` (symlink) or
            ``other`` (a directory or device: never touched).
        content: The bytes of a regular file.
        mode: Its permission bits.
        uid: Its owner.
        gid: Its group.
        target: Where a symlink points (as stored in the link; never followed).
    """

    kind: EntryKind
    content: bytes | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    target: str | None = None

    def same_as(self, other: PathState) -> bool:
        """Whether both describe the same thing (ownership aside)."""
        return (self.kind, self.content, self.mode, self.target) == (
            other.kind,
            other.content,
            other.mode,
            other.target,
        )


def read_state(path: Path, max_bytes: int | None = None) -> PathState:
    """Read what ``path`` is, never following a symlink.

    A regular file is opened with ``O_NOFOLLOW|O_NONBLOCK`` and checked with
    ``fstat`` on the open descriptor, so what is read is what was checked.

    Args:
        path: The path.
        max_bytes: Read at most this much (``None``: all).
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return PathState("absent")
    if stat.S_ISLNK(st.st_mode):
        return PathState("link", uid=st.st_uid, gid=st.st_gid, target=os.readlink(path))
    if not stat.S_ISREG(st.st_mode):
        return PathState("other", mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped since the lstat
            return PathState("other", mode=stat.S_IMODE(info.st_mode), uid=info.st_uid)
        chunks: list[bytes] = []
        remaining = max_bytes if max_bytes is not None else -1
        while remaining != 0:
            chunk = os.read(fd, 1 << 20 if remaining < 0 else min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            if remaining > 0:
                remaining -= len(chunk)
    finally:
        os.close(fd)
    return PathState("file", b"".join(chunks), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
