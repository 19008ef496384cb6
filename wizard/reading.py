"""The one bounded reader: every file the tool reads that someone else may have made.

A certificate, a key, a trust store, an answers file, a secret file, a
CodeStream configuration, an nginx file, a log: any of them may be
``/dev/zero``, a FIFO (opening one for reading waits for a writer, forever),
a sparse file of many GiB, or swapped for one between a check and the read.
So every read goes through :func:`open_regular`: opened ``O_NONBLOCK`` (a FIFO
opens at once), then judged by ``fstat`` on the open descriptor (what is
checked is what is read), a regular file or nothing. :func:`read_bounded`
then refuses a file over its cap after reading at most cap + 1 bytes;
:func:`read_head` and :func:`read_since` read only a part (a peek, a log's
tail). A refusal is a :class:`BoundedReadError` saying what the file is, for
the caller's message naming the file and the fix.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = [
    "BoundedReadError",
    "open_regular",
    "read_bounded",
    "read_bounded_stat",
    "read_head",
    "read_since",
]


class BoundedReadError(OSError):
    """A file the bounded reader refused or could not read.

    An :class:`OSError` so that callers handling ``OSError`` report it too.

    Attributes:
        path: The file.
        kind: ``missing``, ``directory``, ``special`` (a FIFO, socket or
            device), ``too_large``, ``link`` (with ``follow=False``),
            ``permission`` or ``error``.
        why: What was found, for a sentence ("it is not a regular file ...").
    """

    def __init__(self, path: Path, kind: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.kind = kind
        self.why = why
        self.strerror = why


_WHY_SPECIAL = "it is not a regular file (a FIFO, socket or device)"


def open_regular(path: Path | str, *, follow: bool = True) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading only if it is a regular file; the descriptor and its fstat.

    ``O_NONBLOCK``: a FIFO opens at once instead of waiting for a writer;
    ``fstat`` on the open descriptor: what is checked is what is read, even if
    the name was swapped in between. The caller closes the descriptor.

    Args:
        path: The file.
        follow: Follow a symbolic link at the last component; ``False`` opens
            with ``O_NOFOLLOW`` and refuses a link (kind ``link``).

    Raises:
        BoundedReadError: Missing, a directory, a FIFO, socket or device, a
            link (``follow=False``), permission denied, or another error.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    where = Path(path)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise BoundedReadError(where, "missing", "no such file") from None
    except IsADirectoryError:
        raise BoundedReadError(where, "directory", "it is a directory") from None
    except PermissionError as exc:
        raise BoundedReadError(where, "permission", exc.strerror or "permission denied") from None
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise BoundedReadError(where, "link", "it is a symbolic link") from None
        raise BoundedReadError(where, "error", exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise BoundedReadError(where, "error", exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BoundedReadError(where, "directory", "it is a directory")
        raise BoundedReadError(where, "special", _WHY_SPECIAL)
    return fd, info


def read_bounded(path: Path | str, limit: int, *, follow: bool = True) -> bytes:
    """The content of the regular file ``path``; :func:`read_bounded_stat` without the stat."""
    return read_bounded_stat(path, limit, follow=follow)[0]


def read_bounded_stat(
    path: Path | str, limit: int, *, follow: bool = True
) -> tuple[bytes, os.stat_result]:
    """The whole content of the regular file ``path``, refused above ``limit`` bytes.

    The one reader for every file the tool reads that someone else may have
    made: :func:`open_regular` (regular file by ``fstat``, ``O_NONBLOCK``), the
    size cap checked on the descriptor, then at most ``limit + 1`` bytes read,
    so that ``/dev/zero``, a FIFO, a file that grows while read or a huge file
    cost at most ``limit + 1`` bytes and no wait.

    Args:
        path: The file.
        limit: The largest size accepted, in bytes.
        follow: See :func:`open_regular`.

    Returns:
        The bytes and the ``fstat`` of the descriptor they were read from.

    Raises:
        BoundedReadError: See :func:`open_regular`; kind ``too_large`` above ``limit``.
    """
    fd, info = open_regular(path, follow=follow)
    too_large = BoundedReadError(
        Path(path), "too_large", f"it is over {limit:,} bytes (only that much is read)"
    )
    try:
        if info.st_size > limit:
            raise too_large
        data = _read_upto(fd, limit + 1, path)  # one byte more tells "too large"
    finally:
        os.close(fd)
    if len(data) > limit:
        raise too_large
    return data, info


def _read_upto(fd: int, count: int, path: Path | str) -> bytes:
    """At most ``count`` bytes from ``fd``, in chunks of at most 1 MiB."""
    chunks: list[bytes] = []
    left = count
    try:
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except BlockingIOError:
        raise BoundedReadError(Path(path), "special", _WHY_SPECIAL) from None
    except OSError as exc:
        raise BoundedReadError(Path(path), "error", exc.strerror or str(exc)) from None
    return b"".join(chunks)


def read_head(path: Path | str, limit: int) -> bytes:
    """The first ``limit`` bytes of the regular file ``path`` (less when it is shorter).

    For files read only in part (a peek at a certificate, an nginx file whose
    excess is ignored): :func:`open_regular`, then at most ``limit`` bytes.

    Raises:
        BoundedReadError: See :func:`open_regular`.
    """
    fd, _info = open_regular(path)
    try:
        return _read_upto(fd, limit, path)
    finally:
        os.close(fd)


def read_since(path: Path | str, offset: int, limit: int, *, last: bool = False) -> bytes:
    """What a log file got since it was ``offset`` bytes long, at most ``limit`` bytes.

    Through :func:`open_regular` (a FIFO or device in the log's place is
    refused at once). A file shorter than ``offset`` was rotated: it is read
    from its start.

    Args:
        path: The log file.
        offset: Its size when the caller started watching.
        limit: Read at most this much.
        last: Keep the last ``limit`` bytes instead of the first.

    Raises:
        BoundedReadError: See :func:`open_regular`.
    """
    fd, info = open_regular(path)
    try:
        start = offset if info.st_size >= offset else 0
        if last:
            start = max(start, info.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        return os.read(fd, limit)
    except OSError as exc:
        raise BoundedReadError(Path(path), "error", exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
