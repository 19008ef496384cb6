"""Safe file writing shared by the answers file, the state file and the installer.

A file is written to a temporary sibling, flushed and fsynced, given its mode,
then renamed over the target: a reader (or nginx) sees either the old file or
the new one, never a partial one, even if the process is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    Args:
        path: The file to create or replace.
        data: The full new content.
        mode: Permission bits for the new file (set before the rename, so a
            secret is never readable by others, not even for a moment).

    Raises:
        OSError: When the directory is not writable or the disk is full; the
            target is then left exactly as it was.
    """
    path = Path(path)
    directory = path.parent
    tmp = directory / f".{path.name}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode & 0o777)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename or new link) to disk; best effort."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
