"""One run at a time per nginx tree: an ``fcntl.flock`` on the state directory's lock file.

The lock is held from recovery to the end of the reload. A second run (the
``apply`` command or the wizard's Install step) waits a short, bounded time,
then gives up naming the holder: its pid, command and since when (read from
the lock file, where the holder writes them). ``flock`` locks die with their
process, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from wizard.install.errors import LockedError

DEFAULT_WAIT = 5.0
"""Seconds a second run waits for the lock (``apply --lock-wait``)."""
_POLL = 0.1


def _holder_text(raw: bytes) -> str:
    try:
        info = json.loads(raw.decode("utf-8"))
        return (
            f"pid {int(info['pid'])} ({str(info.get('command', '?'))[:120]}), "
            f"since {info.get('since', '?')}"
        )
    except (ValueError, KeyError, TypeError):
        return "a process that did not say who it is"


class RunLock:
    """The advisory lock of one nginx tree.

    Args:
        path: The lock file (inside the verified state directory).
        tree: The nginx tree, for messages.
        wait: Seconds to wait for another holder before giving up.
    """

    def __init__(self, path: Path, tree: Path, wait: float = DEFAULT_WAIT) -> None:
        self.path = path
        self.tree = tree
        self.wait = wait
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, waiting at most :attr:`wait` seconds.

        Raises:
            LockedError: Naming the holder, when the wait ran out.
        """
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder_text(os.pread(fd, 4096, 0))
                    os.close(fd)
                    raise LockedError(
                        f"Another codestream-bastion run is installing into {self.tree}: "
                        f"{holder}. Waited {self.wait:g} s for it.",
                        "Let it finish and run again (or wait longer with --lock-wait SECONDS). "
                        "The lock is released when that process ends.",
                    ) from None
                time.sleep(_POLL)
        info = {
            "pid": os.getpid(),
            "command": " ".join(sys.argv)[:500],
            "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (the holder record is left; it names no live holder)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
