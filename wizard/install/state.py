"""Where the install keeps its state: a root-owned 0700 directory per nginx tree.

The journal of a running apply, the backups of what it replaces and the
record of past runs live in
``/var/lib/codestream-bastion/<slug>-<sha256(realpath(nginx_root))[:12]>/``,
never in the working directory or an output directory (which other users may
control). ``apply --state-dir DIR`` or the environment variable
``CODESTREAM_BASTION_STATE_DIR`` moves the base directory (tests use it).

Before anything in it is trusted, every component of its path must belong to
root or the invoking user and be writable by nobody else
(:func:`wizard.fsutil.check_directory`), and the state directory itself must
be ours with mode 0700. Anything else is refused with what was found, why it
is not trusted, and what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from wizard.fsutil import UnsafePathError, check_directory, trusted_uids
from wizard.install.errors import InstallError, UnsafeStateError

STATE_ENV = "CODESTREAM_BASTION_STATE_DIR"
DEFAULT_BASE = Path("/var/lib/codestream-bastion")
JOURNALS = "journals"
LOCK_NAME = "lock"
RUNS_NAME = "runs.jsonl"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def state_base(override: str | Path | None = None) -> Path:
    """The base directory: ``override``, else ``$CODESTREAM_BASTION_STATE_DIR``, else /var/lib."""
    if override:
        return Path(override)
    env = os.environ.get(STATE_ENV, "")
    return Path(env) if env else DEFAULT_BASE


def tree_id(nginx_root: Path) -> str:
    """``<slug>-<12 hex>``: readable, and unique per real nginx tree path."""
    real = os.path.realpath(nginx_root)
    slug = _SLUG.sub("-", Path(real).name).strip("-.") or "root"
    return f"{slug[:40]}-{hashlib.sha256(real.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


@dataclass(frozen=True)
class StateDir:
    """The state directory of one nginx tree.

    Attributes:
        path: ``<base>/<tree id>``.
        nginx_root: The tree it belongs to.
    """

    path: Path
    nginx_root: Path

    @classmethod
    def for_root(cls, nginx_root: Path, base: str | Path | None = None) -> StateDir:
        """The state directory of ``nginx_root`` under :func:`state_base`."""
        return cls(state_base(base) / tree_id(nginx_root), Path(nginx_root))

    @property
    def journals(self) -> Path:
        """Where each apply's journal and backups go (one directory per run)."""
        return self.path / JOURNALS

    @property
    def lock_file(self) -> Path:
        """The file the run lock is taken on."""
        return self.path / LOCK_NAME

    @property
    def runs_file(self) -> Path:
        """One JSON line per apply that changed something."""
        return self.path / RUNS_NAME

    def exists(self) -> bool:
        """Whether the state directory exists (a fresh host has none)."""
        return os.path.lexists(self.path)

    def verify(self) -> None:
        """Refuse state that is not ours alone.

        Raises:
            UnsafeStateError: Naming the path, what was found and the fix.
        """
        try:
            check_directory(self.path.parent)
        except UnsafePathError as exc:
            raise UnsafeStateError(
                f"The install state under {self.path.parent} is not trusted: {exc.message}",
                exc.remedy + " The state directory must be writable by root alone "
                "(or pass --state-dir DIR with such a directory).",
            ) from None
        for path in (self.path, self.journals):
            if not os.path.lexists(path):
                continue
            st = os.lstat(path)
            problem = ""
            if stat.S_ISLNK(st.st_mode):
                problem = f"is a symbolic link to {os.readlink(path)}"
            elif not stat.S_ISDIR(st.st_mode):
                problem = "is not a directory"
            elif st.st_uid not in trusted_uids() or st.st_uid != os.geteuid():
                problem = f"belongs to uid {st.st_uid}, not to uid {os.geteuid()} (this run)"
            elif stat.S_IMODE(st.st_mode) & 0o077:
                problem = f"has mode {stat.S_IMODE(st.st_mode):04o}, not 0700"
            if problem:
                raise UnsafeStateError(
                    f"The install state {path} {problem}, so its journal and backups are not "
                    "trusted (another user could have planted them).",
                    f"Inspect it; if it is not yours, remove it ('rm -r {path}') and run again.",
                )

    def ensure(self) -> None:
        """Create the state directory (0700) when missing, then :meth:`verify` it.

        Raises:
            UnsafeStateError: When the state cannot be trusted.
            InstallError: When it cannot be created (not root, read-only).
        """
        try:
            self._ensure()
        except UnsafeStateError:
            raise
        except UnsafePathError as exc:
            raise UnsafeStateError(exc.message, exc.remedy) from None
        except OSError as exc:
            raise InstallError(
                f"Cannot create the install state {self.path}: {exc.strerror or exc}. "
                "Nothing was written.",
                "Run as root (sudo), or pass --state-dir DIR with a directory only you can write.",
                code="install.failed",
            ) from None

    def _ensure(self) -> None:
        """Create the state directory (0700) when missing, then :meth:`verify` it.

        Raises:
            UnsafeStateError: When the state cannot be trusted.
            OSError: When it cannot be created.
        """
        base = self.path.parent
        if not os.path.lexists(base):
            for parent in reversed(base.parents):
                if not parent.exists():
                    check_directory(parent.parent)
                    parent.mkdir(mode=0o755)
            check_directory(base.parent)
            base.mkdir(mode=0o700)
        self.verify()
        for path in (self.path, self.journals):
            if not os.path.lexists(path):
                path.mkdir(mode=0o700)
        self.verify()
