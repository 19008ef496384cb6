"""Install the bastion's files safely, the way certbot's installers do.

:class:`Installer` follows certbot's Installer life cycle: *prepare* (find the
nginx layout, render the files), :meth:`~Installer.plan` (what would change,
with a unified diff per file), then :meth:`~Installer.apply`:

1. refuse when another server block claims the name, or when a file changed
   since the plan was made;
2. back up everything that will be replaced into a timestamped directory
   (``<nginx_root>/.codestream-bastion-backup/<stamp>/``) together with a
   journal (``manifest.json``) written *before* the first change;
3. write every file atomically (:func:`wizard.fsutil.atomic_write`) with its
   mode, and the ``sites-enabled`` link atomically (new link, then rename);
4. ``nginx -t``; only if it passes, reload nginx (``systemctl reload nginx``
   where systemd runs nginx, else ``nginx -s reload``; both overridable);
5. on *any* failure, put every file back exactly as it was (bytes, mode,
   owner, links) and report nginx's own message (certbot's ``rollback``).

A process killed half-way leaves every target either old or new (each write
is atomic) and the journal in state ``writing``: :meth:`Installer.recover`
(run by ``apply`` first) puts the old files back from the backup.

certbot's Installer interface maps as: ``prepare`` -> :meth:`Installer.prepare`
(nginx present, layout found), ``config_test`` -> :meth:`Installer.config_test`,
``save`` -> :meth:`Installer.apply` (which also tests and reloads), ``rollback``
-> :meth:`Installer.rollback` (in-process) and :meth:`Installer.recover` (after
a crash).

Everything returns data (:class:`InstallPlan`, :class:`InstallResult`) so the
TUI can show it; only :func:`run_apply`, the ``apply`` command, prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from wizard.answers import Answers, AnswersError, dumps_answers, loads_answers
from wizard.checks.context import CheckContext
from wizard.checks.nginx import (
    COMMAND_TIMEOUT,
    CommandResult,
    Layout,
    LayoutError,
    config_test_message,
    detect_layout,
    find_binary,
    find_conflicting_server_blocks,
    nginx_argv,
    run_command,
)
from wizard.fsutil import atomic_write, fsync_directory

if TYPE_CHECKING:
    from wizard.render import NginxFeatures

ANSWERS_NAME = "answers.toml"
"""The answers file written beside the snippet (what ``apply`` installed)."""
BACKUP_DIR_NAME = ".codestream-bastion-backup"
MANIFEST_NAME = "manifest.json"
SYSTEMD_RUN_DIR = Path("/run/systemd/system")
SYSTEM_NGINX_ROOT = Path("/etc/nginx")
DEFAULT_LOG_DIR = "/var/log/nginx"

Role = Literal["nginx", "snippet", "next-steps", "slack-manifest", "answers", "other"]
EntryKind = Literal["absent", "file", "link", "other"]


class InstallError(Exception):
    """The install cannot even be planned (no usable layout, unrenderable answers).

    Attributes:
        message: What is wrong.
        remedy: What to do about it.
    """

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


# -- what is on disk -------------------------------------------------------------------------


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
        target: Where a symlink points (as stored in the link).
    """

    kind: EntryKind
    content: bytes | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    target: str | None = None

    @classmethod
    def of(cls, path: Path) -> PathState:
        """Read the state of ``path`` (a symlink is not followed)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return cls("absent")
        import stat

        if stat.S_ISLNK(st.st_mode):
            return cls("link", uid=st.st_uid, gid=st.st_gid, target=os.readlink(path))
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as handle:
                content = handle.read()
            return cls("file", content, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        return cls("other", mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)

    def same_as(self, other: PathState) -> bool:
        """Whether both describe the same thing (ownership aside)."""
        return (self.kind, self.content, self.mode, self.target) == (
            other.kind,
            other.content,
            other.mode,
            other.target,
        )


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    """One file of the plan.

    Attributes:
        path: Where it goes.
        content: The new bytes.
        mode: The new permission bits.
        role: What it is (``nginx`` files need ``nginx -t`` and a reload).
        current: What is there now.
        diff: A unified diff from the current content (secrets are not shown).
    """

    path: Path
    content: bytes
    mode: int
    role: Role
    current: PathState
    diff: str

    @property
    def changed(self) -> bool:
        """Whether writing it would change anything."""
        return not (
            self.current.kind == "file"
            and self.current.content == self.content
            and self.current.mode == self.mode
        )

    @property
    def status(self) -> str:
        """``new``, ``changed``, ``mode`` (permissions only) or ``unchanged``."""
        if self.current.kind == "absent":
            return "new"
        if not self.changed:
            return "unchanged"
        if self.current.kind == "file" and self.current.content == self.content:
            return "mode"
        return "changed"

    @property
    def current_content(self) -> bytes | None:
        """The bytes there now, ``None`` when the file does not exist."""
        return self.current.content if self.current.kind == "file" else None


@dataclass(frozen=True)
class LinkChange:
    """The symlink that enables the server block (Debian's ``sites-enabled``).

    Attributes:
        path: The link.
        target: What it must point to.
        current: What is there now.
    """

    path: Path
    target: str
    current: PathState

    @property
    def changed(self) -> bool:
        """Whether creating it would change anything."""
        return not (self.current.kind == "link" and self.current.target == self.target)

    @property
    def status(self) -> str:
        """``new``, ``changed`` or ``unchanged``."""
        if self.current.kind == "absent":
            return "new"
        return "changed" if self.changed else "unchanged"

    @property
    def diff(self) -> str:
        """A line for people describing the change."""
        if not self.changed:
            return ""
        if self.current.kind == "link":
            return f"link {self.path}: -> {self.current.target}  becomes  -> {self.target}\n"
        if self.current.kind == "file":
            return f"link {self.path} -> {self.target} (replaces a regular file, backed up)\n"
        return f"link {self.path} -> {self.target} (new)\n"


@dataclass(frozen=True)
class InstallPlan:
    """Everything :meth:`Installer.apply` would do, computed without writing.

    Attributes:
        layout: The nginx layout (``None`` when the mode exposes nothing).
        files: Every file, changed or not, nginx files first.
        links: The ``sites-enabled`` link, if the layout has one.
        directories: Directories that must be created first.
        conflicts: Other server blocks that claim the name on the port.
        backup_root: Where backups go.
    """

    layout: Layout | None
    files: tuple[FileChange, ...]
    links: tuple[LinkChange, ...]
    directories: tuple[Path, ...]
    conflicts: tuple[str, ...]
    backup_root: Path

    @property
    def changed(self) -> bool:
        """Whether applying would change anything at all."""
        return (
            any(f.changed for f in self.files)
            or any(link.changed for link in self.links)
            or bool(self.directories)
        )

    @property
    def nginx_changed(self) -> bool:
        """Whether nginx's configuration changes (``nginx -t`` and a reload needed)."""
        return any(f.changed for f in self.files if f.role == "nginx") or any(
            link.changed for link in self.links
        )

    @property
    def targets(self) -> tuple[Path, ...]:
        """Every path the plan may write."""
        return tuple(f.path for f in self.files) + tuple(link.path for link in self.links)

    def summary(self) -> list[str]:
        """One line per target: status and path."""
        lines = [f"  create directory {d}" for d in self.directories]
        for change in self.files:
            mode = f" (mode {change.mode:04o})"
            lines.append(f"  {change.status:<9} {change.path}{mode}")
        for link in self.links:
            lines.append(f"  {link.status:<9} {link.path} -> {link.target}")
        return lines

    def diff(self) -> str:
        """The unified diff of every change (secrets summarised, not shown)."""
        parts = [f.diff for f in self.files if f.changed]
        parts += [link.diff for link in self.links if link.changed]
        return "".join(parts)


@dataclass(frozen=True)
class InstallResult:
    """What :meth:`Installer.apply` did.

    Attributes:
        ok: True when everything was written and nginx reloaded (or nothing
            needed to change).
        changed: True when files were changed (and kept).
        message: One paragraph for people.
        written: The paths written (empty after a rollback).
        backup_dir: Where the replaced files were saved (kept after success).
        nginx_output: nginx's own message when ``nginx -t`` or the reload failed.
        rolled_back: True when the changes were undone.
        reload: The reload command run, or why none was.
        notes: Anything else people should know (e.g. nginx not running).
        remedy: What to do after a failure.
    """

    ok: bool
    changed: bool
    message: str
    written: tuple[Path, ...] = ()
    backup_dir: Path | None = None
    nginx_output: str = ""
    rolled_back: bool = False
    reload: str = ""
    notes: tuple[str, ...] = ()
    remedy: str = ""


# -- helpers ----------------------------------------------------------------------------------


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _file_diff(path: Path, current: PathState, content: bytes, mode: int, secret: bool) -> str:
    old = current.content if current.kind == "file" else None
    head = ""
    if current.kind == "file" and current.mode != mode:
        head = f"mode {path}: {current.mode or 0:04o} -> {mode:04o}\n"
    elif current.kind == "absent":
        head = f"new file {path} (mode {mode:04o})\n"
    elif current.kind == "link":
        head = f"{path} is a symlink to {current.target}; it is replaced by a regular file\n"
    if old == content:
        return head
    if secret or (old is not None and not _is_text(old)) or not _is_text(content):
        old_lines = len(old.splitlines()) if old is not None else 0
        why = "it holds secrets" if secret else "binary content"
        return (
            head + f"--- {path}: {old_lines} lines replaced by {len(content.splitlines())} "
            f"(content not shown: {why})\n"
        )
    old_text = (old or b"").decode("utf-8").splitlines(keepends=True)
    new_text = content.decode("utf-8").splitlines(keepends=True)
    lines = list(
        difflib.unified_diff(
            old_text,
            new_text,
            fromfile=f"{path} (current)" if old is not None else "/dev/null",
            tofile=f"{path} (new)",
        )
    )
    return head + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _chown(path: Path, state: PathState) -> None:
    """Give ``path`` the owner ``state`` recorded (best effort, never follows links)."""
    if state.uid is None or state.gid is None:
        return
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if (st.st_uid, st.st_gid) != (state.uid, state.gid):
            os.lchown(path, state.uid, state.gid)


def atomic_symlink(path: Path, target: str) -> None:
    """Make ``path`` a symlink to ``target`` atomically (replacing what is there)."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


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
        atomic_symlink(path, state.target)
    else:
        assert state.content is not None
        assert state.mode is not None
        atomic_write(path, state.content, state.mode)
    _chown(path, state)


def _remove_tmp_leftovers(path: Path) -> None:
    """Remove ``.NAME.tmp-PID`` files a killed writer may have left beside ``path``."""
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{path.name}.tmp-*"):
            with contextlib.suppress(OSError):
                os.unlink(candidate)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


# -- the journal -------------------------------------------------------------------------------


@dataclass
class _Journal:
    """The backup directory and its manifest, written before the first change."""

    directory: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    created_dirs: list[str] = field(default_factory=list)
    state: str = "writing"

    def save(self) -> None:
        document = {
            "tool": "codestream-bastion",
            "state": self.state,
            "created_directories": self.created_dirs,
            "entries": self.entries,
            "how_to_restore": (
                "Each entry names a path and what it was before: 'absent' (delete it), "
                "'link' (a symlink to 'target'), or 'file' (copy 'backup' back with "
                "'mode'). 'codestream-bastion apply' does this by itself when it finds "
                "a journal in state 'writing'."
            ),
        }
        atomic_write(
            self.directory / MANIFEST_NAME,
            (json.dumps(document, indent=2) + "\n").encode("utf-8"),
            0o600,
        )

    def add(self, path: Path, state: PathState) -> None:
        entry: dict[str, Any] = {"path": str(path), "kind": state.kind}
        if state.kind == "file":
            assert state.content is not None
            backup = f"{len(self.entries) + 1:04d}-{path.name}"
            atomic_write(self.directory / backup, state.content, 0o600)
            entry.update(backup=backup, mode=state.mode)
        if state.kind == "link":
            entry["target"] = state.target
        entry.update(uid=state.uid, gid=state.gid)
        self.entries.append(entry)


def _read_journal(directory: Path) -> tuple[str, list[tuple[Path, PathState]], list[Path]] | None:
    try:
        document = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    restores: list[tuple[Path, PathState]] = []
    for entry in document.get("entries", []):
        path = Path(entry["path"])
        kind = entry["kind"]
        uid, gid = entry.get("uid"), entry.get("gid")
        if kind == "file":
            content = (directory / entry["backup"]).read_bytes()
            restores.append((path, PathState("file", content, entry["mode"], uid, gid)))
        elif kind == "link":
            restores.append((path, PathState("link", uid=uid, gid=gid, target=entry["target"])))
        elif kind == "absent":
            restores.append((path, PathState("absent")))
    created = [Path(p) for p in document.get("created_directories", [])]
    return str(document.get("state", "")), restores, created


@dataclass(frozen=True)
class _Outcome:
    """After the writes: a failure ``(message, nginx output, remedy)``, or the reload run."""

    failure: tuple[str, str, str] | None = None
    reload: str = ""
    notes: tuple[str, ...] = ()


# -- the installer ------------------------------------------------------------------------------


class Installer:
    """Install the rendered files into an nginx tree and an output directory.

    Args:
        answers: What the admin chose.
        ctx: ``nginx_root``, ``nginx_binary`` and the timeout.
        features: What the installed nginx supports (``render.detect_nginx_features``).
        resolvers: DNS servers for nginx's ``resolver`` (``ADDR[:PORT]``).
        ca_bundle: Trust bundle for the upstream when ``upstream_ca`` is empty.
        systemd: Whether systemd runs nginx; ``None`` detects it
            (``/run/systemd/system`` and ``systemctl is-active nginx``).
        reload_command: The reload command to run instead of the detected one.
        test_command: The config test to run instead of ``nginx -t -c ... [-p ...]``.
        output_dir: Where the snippet, next steps and answers go (default: the
            current directory).
        backup_root: Where backups go (default ``<nginx_root>/.codestream-bastion-backup``).
        log_dir: Directory for the server block's own logs.
        command_timeout: Bound, in seconds, on ``nginx -t`` and the reload.
        release: The CodeStream release the live probe found (``X-CS-API-Version``),
            for the snippet (``render_all(..., release=...)``; ``[codestream]
            release`` overrides it).
    """

    def __init__(
        self,
        answers: Answers,
        ctx: CheckContext,
        *,
        features: NginxFeatures,
        resolvers: Sequence[str],
        ca_bundle: str | None,
        systemd: bool | None = None,
        reload_command: Sequence[str] | None = None,
        test_command: Sequence[str] | None = None,
        output_dir: Path | None = None,
        backup_root: Path | None = None,
        log_dir: str = DEFAULT_LOG_DIR,
        command_timeout: float = COMMAND_TIMEOUT,
        release: str | None = None,
    ) -> None:
        self.answers = answers
        self.ctx = ctx
        self.features = features
        self.resolvers = list(resolvers)
        self.ca_bundle = ca_bundle
        self.systemd = systemd
        self.reload_command = list(reload_command) if reload_command is not None else None
        self.test_command = list(test_command) if test_command is not None else None
        self.output_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        self._backup_root = backup_root
        self.log_dir = log_dir
        self.command_timeout = command_timeout
        self.release = release

    # -- prepare / plan ---------------------------------------------------------------------

    @property
    def backup_root(self) -> Path:
        """Where backups (and interrupted-run journals) are kept."""
        if self._backup_root is not None:
            return self._backup_root
        if self.answers.exposes_bastion:
            return self.ctx.nginx_root / BACKUP_DIR_NAME
        return self.output_dir / BACKUP_DIR_NAME

    @property
    def binary(self) -> str:
        """The nginx executable to test and reload with."""
        return find_binary(self.ctx.nginx_binary) or self.features.binary or self.ctx.nginx_binary

    def layout(self) -> Layout | None:
        """The nginx layout (``None`` when the mode exposes nothing).

        Raises:
            InstallError: When nginx would load the server block from nowhere.
        """
        if not self.answers.exposes_bastion:
            return None
        try:
            return detect_layout(self.ctx.nginx_root, self.answers.output.nginx_conf)
        except LayoutError as exc:
            raise InstallError(exc.message, exc.remedy) from None

    def prepare(self) -> Layout | None:
        """certbot's ``prepare``: check nginx is there and find the layout.

        Returns:
            The layout (``None`` when the mode exposes nothing).

        Raises:
            InstallError: When nginx is missing or has no usable layout.
        """
        if not self.answers.exposes_bastion:
            return None
        if find_binary(self.ctx.nginx_binary) is None and self.test_command is None:
            raise InstallError(
                f"nginx is not installed (no '{self.ctx.nginx_binary}' found).",
                "Install nginx: 'apt-get install nginx' (Debian, Ubuntu) or "
                "'dnf install nginx' (RHEL, Fedora).",
            )
        return self.layout()

    async def config_test(self) -> CommandResult:
        """certbot's ``config_test``: ``nginx -t`` of the tree as it is now."""
        return await run_command(self.config_test_argv(), self.command_timeout)

    def _output_path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.output_dir / path

    def _answers_hold_secrets(self) -> bool:
        a = self.answers
        secrets = (a.slack.client_secret, a.slack.signing_secret, a.msteams.app_password)
        return any(value.strip() for value in secrets)

    def _answers_bytes(self, path: Path) -> tuple[bytes, int]:
        """The answers file to write; an equivalent existing file is kept as it is."""
        new = dumps_answers(self.answers).encode("utf-8")
        current = PathState.of(path)
        if current.kind == "file" and current.content is not None:
            try:
                existing = loads_answers(current.content.decode("utf-8"), str(path))
            except (AnswersError, UnicodeDecodeError):  # unusable: replaced (and backed up)
                existing = None
            if existing == self.answers and current.mode is not None:
                return current.content, current.mode
        return new, 0o600

    def plan(self) -> InstallPlan:
        """Everything :meth:`apply` would write, with diffs; nothing is written.

        Raises:
            InstallError: When there is no usable layout or the answers cannot be
                rendered (the message names the key and the fix).
        """
        from wizard.render import (
            NEXT_STEPS_NAME,
            SERVER_CONF_NAME,
            SLACK_MANIFEST_NAME,
            RenderError,
            render_all,
        )

        layout = self.prepare()
        try:
            rendered = render_all(
                self.answers,
                features=self.features,
                resolvers=self.resolvers,
                ca_bundle=self.ca_bundle,
                log_dir=self.log_dir,
                release=self.release,
            )
        except RenderError as exc:
            raise InstallError(str(exc), "Fix the answers named above and run again.") from None
        roles: dict[str, Role] = {
            self.answers.output.snippet: "snippet",
            NEXT_STEPS_NAME: "next-steps",
            SLACK_MANIFEST_NAME: "slack-manifest",
        }
        files: list[FileChange] = []
        links: list[LinkChange] = []
        directories: list[Path] = []
        conflicts: list[str] = []
        targets: list[tuple[Path, bytes, int, Role]] = []
        for item in rendered:
            if item.name == SERVER_CONF_NAME:
                if layout is None:
                    continue
                targets.append((layout.server_block, item.content, item.mode, "nginx"))
            else:
                role = roles.get(item.name, "other")
                targets.append((self._output_path(item.name), item.content, item.mode, role))
        answers_path = self.output_dir / ANSWERS_NAME
        answers_bytes, answers_mode = self._answers_bytes(answers_path)
        targets.append((answers_path, answers_bytes, answers_mode, "answers"))
        for path, content, mode, role in targets:
            current = PathState.of(path)
            if current.kind == "other":
                raise InstallError(
                    f"{path} exists and is not a regular file (a directory?).",
                    "Move it out of the way, or choose another output directory.",
                )
            secret = (role == "snippet" and mode & 0o077 == 0) or (
                role == "answers" and self._answers_hold_secrets()
            )
            diff = _file_diff(path, current, content, mode, secret)
            files.append(FileChange(path, content, mode, role, current, diff))
        if layout is not None:
            directories = [d for d in layout.directories if not d.is_dir()]
            if layout.enabled_link is not None:
                current = PathState.of(layout.enabled_link)
                if current.kind == "other":
                    raise InstallError(
                        f"{layout.enabled_link} exists and is not a file or a link.",
                        "Move it out of the way and run again.",
                    )
                links.append(LinkChange(layout.enabled_link, str(layout.server_block), current))
            hostname = self.answers.bastion.hostname
            conflicts = find_conflicting_server_blocks(
                self.ctx.nginx_root, hostname, self.answers.bastion.listen_port, layout.server_block
            )
        for parent in {f.path.parent for f in files} | set(directories):
            # Every missing ancestor too, so a rollback removes all it created.
            while not parent.is_dir() and parent != parent.parent:
                if parent not in directories:
                    directories.append(parent)
                parent = parent.parent
        directories.sort(key=lambda p: len(p.parts))
        return InstallPlan(
            layout,
            tuple(files),
            tuple(links),
            tuple(directories),
            tuple(conflicts),
            self.backup_root,
        )

    # -- commands ---------------------------------------------------------------------------

    def config_test_argv(self) -> list[str]:
        """The ``nginx -t`` command line."""
        if self.test_command is not None:
            return list(self.test_command)
        return nginx_argv(self.binary, self.ctx.nginx_root, "-t")

    async def reload_argv(self) -> tuple[list[str] | None, str]:
        """The reload command, or ``None`` with the reason none is run."""
        if self.reload_command is not None:
            return list(self.reload_command), ""
        systemd = self.systemd
        if systemd is None:
            # systemd's nginx unit runs /etc/nginx; a tree elsewhere (a copy, a
            # demo, a test) is reloaded through its own nginx -c/-p, never the unit.
            system_tree = self.ctx.nginx_root.resolve() == SYSTEM_NGINX_ROOT
            systemd = system_tree and await asyncio.to_thread(SYSTEMD_RUN_DIR.is_dir)
        if systemd:
            active = await run_command(
                ["systemctl", "is-active", "--quiet", "nginx"], self.command_timeout
            )
            if active.ok:
                return ["systemctl", "reload", "nginx"], ""
            return None, (
                "nginx is not running under systemd, so nothing was reloaded: start it with "
                "'systemctl enable --now nginx'."
            )
        return nginx_argv(self.binary, self.ctx.nginx_root, "-s", "reload"), ""

    # -- apply / rollback -------------------------------------------------------------------

    def _stale(self, plan: InstallPlan) -> list[Path]:
        stale = [f.path for f in plan.files if not PathState.of(f.path).same_as(f.current)]
        stale += [
            link.path for link in plan.links if not PathState.of(link.path).same_as(link.current)
        ]
        return stale

    def _open_journal(self, plan: InstallPlan) -> tuple[_Journal, bool]:
        root = plan.backup_root
        root_existed = root.is_dir()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = root / _stamp()
        directory.mkdir(mode=0o700)
        return _Journal(directory), root_existed

    def rollback(self, plan: InstallPlan, journal: _Journal | None = None) -> list[str]:
        """Put every target of ``plan`` back as it was when the plan was made.

        Returns:
            Problems met (empty when everything is back byte for byte).
        """
        problems: list[str] = []
        for link in reversed(plan.links):
            try:
                if not PathState.of(link.path).same_as(link.current):
                    restore_state(link.path, link.current)
            except OSError as exc:
                problems.append(f"{link.path}: {exc.strerror or exc}")
        for change in reversed(plan.files):
            try:
                if not PathState.of(change.path).same_as(change.current):
                    restore_state(change.path, change.current)
                _remove_tmp_leftovers(change.path)
            except OSError as exc:
                problems.append(f"{change.path}: {exc.strerror or exc}")
        created = journal.created_dirs if journal is not None else []
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        return problems

    def _discard_journal(self, journal: _Journal, root_existed: bool) -> None:
        shutil.rmtree(journal.directory, ignore_errors=True)
        if not root_existed:
            with contextlib.suppress(OSError):
                journal.directory.parent.rmdir()

    def _write(self, plan: InstallPlan, journal: _Journal) -> list[Path]:
        for directory in plan.directories:
            if not directory.is_dir():
                # Record before creating: a crash right after still cleans it up.
                journal.created_dirs.append(str(directory))
                journal.save()
                directory.mkdir(mode=0o755)
        written: list[Path] = []
        for change in plan.files:
            if change.changed:
                atomic_write(change.path, change.content, change.mode)
                if change.current.kind == "file":
                    _chown(change.path, change.current)  # keep the owner of a replaced file
                written.append(change.path)
        for link in plan.links:
            if link.changed:
                atomic_symlink(link.path, link.target)
                written.append(link.path)
        return written

    async def apply(self, plan: InstallPlan) -> InstallResult:
        """Back up, write, ``nginx -t``, reload; on any failure put everything back.

        Args:
            plan: From :meth:`plan`, unchanged on disk since.

        Returns:
            What happened; ``ok`` is false after a refusal or a rollback, with
            nginx's own message in ``nginx_output``.
        """
        if plan.conflicts:
            return InstallResult(
                False,
                False,
                "Refused: another server block already claims this name and port: "
                + "; ".join(plan.conflicts),
                remedy="Remove or disable that server block, or change its server_name.",
            )
        stale = self._stale(plan)
        if stale:
            return InstallResult(
                False,
                False,
                "Refused: these files changed since the plan was made: "
                + ", ".join(map(str, stale)),
                remedy="Plan again (review the new diff) and apply that plan.",
            )
        if not plan.changed:
            return InstallResult(
                True,
                False,
                "Nothing to change: every file is already installed exactly as planned.",
            )
        try:
            journal, root_existed = self._open_journal(plan)
        except OSError as exc:
            return InstallResult(
                False,
                False,
                f"Cannot create the backup directory under {plan.backup_root}: "
                f"{exc.strerror or exc}. Nothing was written.",
                remedy=_write_remedy(exc),
            )
        written: list[Path] = []
        try:
            for change in plan.files:
                if change.changed:
                    journal.add(change.path, change.current)
            for link in plan.links:
                if link.changed:
                    journal.add(link.path, link.current)
            journal.save()
            written = self._write(plan, journal)
            outcome = await self._test_and_reload(plan, journal)
        except BaseException as exc:
            problems = self.rollback(plan, journal)
            if not problems:
                self._discard_journal(journal, root_existed)
            if not isinstance(exc, Exception):
                raise
            return self._failed(
                f"Writing failed: {exc}", "", problems, journal, remedy=_write_remedy(exc)
            )
        if outcome.failure is not None:
            message, output, remedy = outcome.failure
            problems = self.rollback(plan, journal)
            if not problems:
                self._discard_journal(journal, root_existed)
            return self._failed(message, output, problems, journal, remedy=remedy)
        reload_text = outcome.reload
        journal.state = "done"
        with contextlib.suppress(OSError):
            journal.save()
        return InstallResult(
            True,
            True,
            f"Installed {len(written)} file(s); "
            + (f"nginx reloaded ({reload_text})." if reload_text else "nginx not reloaded.")
            if plan.nginx_changed
            else f"Installed {len(written)} file(s); nginx's configuration is unchanged.",
            tuple(written),
            journal.directory,
            reload=reload_text,
            notes=outcome.notes,
        )

    async def _test_and_reload(self, plan: InstallPlan, journal: _Journal) -> _Outcome:
        """``nginx -t`` then the reload, when nginx's configuration changed."""
        if not plan.nginx_changed:
            return _Outcome()
        journal.state = "testing"
        journal.save()
        argv = self.config_test_argv()
        test = await run_command(argv, self.command_timeout)
        if not test.ok:
            return _Outcome(
                failure=(
                    "nginx -t failed with the new server block; every file was put back as it was.",
                    config_test_message(test.output),
                    "Read nginx's message above: it names the file and line. Fix the cause "
                    "(often a certificate path nginx cannot read, or another file of the tree), "
                    "then run apply again.",
                )
            )
        reload_argv, why_not = await self.reload_argv()
        if reload_argv is None:
            return _Outcome(notes=(why_not,))
        journal.state = "reloading"
        journal.save()
        reload = await run_command(reload_argv, self.command_timeout)
        if not reload.ok:
            return _Outcome(
                failure=(
                    f"Reloading nginx failed ({' '.join(reload_argv)}); every file was put back as "
                    "it was.",
                    config_test_message(reload.output) or f"exit status {reload.returncode}",
                    "Make sure nginx is running (systemctl status nginx, or start it with "
                    "'nginx'), then run apply again.",
                )
            )
        return _Outcome(reload=" ".join(reload_argv))

    def _failed(
        self,
        message: str,
        output: str,
        problems: list[str],
        journal: _Journal,
        *,
        remedy: str,
    ) -> InstallResult:
        if problems:
            return InstallResult(
                False,
                True,
                message
                + " Putting the old files back FAILED for: "
                + "; ".join(problems)
                + f". The originals are in {journal.directory} (see its manifest.json).",
                nginx_output=output,
                rolled_back=False,
                backup_dir=journal.directory,
                remedy="Copy the files back from the backup directory by hand, then run "
                "'nginx -t'.",
            )
        return InstallResult(
            False, False, message, nginx_output=output, rolled_back=True, remedy=remedy
        )

    # -- recovery ---------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Undo an apply that was killed half-way (a journal not marked ``done``).

        Returns:
            One message per interrupted run that was undone (empty when none).
        """
        root = self.backup_root
        messages: list[str] = []
        if not root.is_dir():
            return messages
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            journal = _read_journal(directory)
            if journal is None:
                if not (directory / MANIFEST_NAME).exists():
                    # Killed before its journal existed: nothing had been changed yet.
                    shutil.rmtree(directory, ignore_errors=True)
                continue
            state, restores, created = journal
            if state == "done":
                continue
            problems: list[str] = []
            for path, previous in reversed(restores):
                try:
                    if not PathState.of(path).same_as(previous):
                        restore_state(path, previous)
                    _remove_tmp_leftovers(path)
                except OSError as exc:
                    problems.append(f"{path}: {exc.strerror or exc}")
            for created_dir in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(created_dir)
            if problems:
                messages.append(
                    f"An interrupted apply could not be fully undone ({'; '.join(problems)}); "
                    f"the originals are in {directory}."
                )
                continue
            shutil.rmtree(directory, ignore_errors=True)
            note = (
                " nginx may have been reloaded with the new files before the interruption: "
                "reload it once more."
                if state == "reloading"
                else ""
            )
            messages.append(
                f"An earlier apply was interrupted (journal {directory.name}, state {state}); "
                f"its {len(restores)} file(s) were put back as they were.{note}"
            )
        with contextlib.suppress(OSError):
            if not any(root.iterdir()):
                root.rmdir()
        return messages


def _write_remedy(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "Run as root (sudo), or choose directories you can write."
    if isinstance(exc, OSError):
        return "Check free disk space and permissions, then run apply again."
    return "This is unexpected: please report it with the message above."


# -- the apply command ----------------------------------------------------------------------


def _ask(stdin: TextIO, stdout: TextIO) -> bool | None:
    """Ask for confirmation; ``None`` when there is nobody to ask."""
    isatty = getattr(stdin, "isatty", None)
    if not (isatty and isatty()):
        return None
    stdout.write("Write these files and reload nginx? [y/N] ")
    stdout.flush()
    line = stdin.readline()
    if not line:
        return None
    return line.strip().lower() in ("y", "yes")


def print_result(result: InstallResult, stdout: TextIO) -> None:
    """Write an :class:`InstallResult` for people."""
    stdout.write(("" if result.ok else "FAILED: ") + result.message + "\n")
    if result.nginx_output:
        stdout.write("nginx said:\n")
        for line in result.nginx_output.splitlines():
            stdout.write(f"  {line}\n")
    for note in result.notes:
        stdout.write(f"Note: {note}\n")
    if result.backup_dir is not None and result.ok and result.changed:
        stdout.write(f"Backup of the replaced files: {result.backup_dir}\n")
    if result.remedy and not result.ok:
        stdout.write(f"Fix: {result.remedy}\n")


async def run_apply(
    answers: Answers,
    ctx: CheckContext,
    *,
    yes: bool,
    dry_run: bool,
    stdout: TextIO,
    stdin: TextIO | None = None,
    installer: Installer | None = None,
    output_dir: Path | None = None,
) -> int:
    """The ``apply`` command: check, plan, show the diff, confirm, install.

    Args:
        answers: The loaded answers.
        ctx: The check context (``nginx_root`` says which tree).
        yes: Do not ask before writing.
        dry_run: Show the plan and write nothing.
        stdout: Where to report.
        stdin: Where to read the confirmation (default ``sys.stdin``).
        installer: An installer to use (tests inject reload/test commands);
            default: one built from ``ctx`` and the detected nginx.
        output_dir: Where the snippet, next steps and answers go (default: the
            current directory).

    Returns:
        0 when installed (or nothing to change, or a dry run); 1 when a check
        failed, a conflict or a refusal stopped it, or the install failed and was
        rolled back; 2 when confirmation was needed but nobody could give it.
    """
    from wizard.checks.nginx import check_nginx
    from wizard.engine import run_checks, sort_findings
    from wizard.findings import has_failure
    from wizard.report import print_findings

    if installer is None:
        from wizard.render import detect_nginx_features

        features = await asyncio.to_thread(detect_nginx_features, ctx.nginx_binary)
        bundle = ctx.trust_bundle()
        installer = Installer(
            answers,
            ctx,
            features=features,
            resolvers=[str(server) for server in ctx.nameservers],
            ca_bundle=str(bundle) if bundle is not None else None,
            output_dir=output_dir,
        )
    for message in await asyncio.to_thread(installer.recover):
        stdout.write(message + "\n")
    checks, nginx = await asyncio.gather(run_checks(answers, ctx), check_nginx(answers, ctx))
    if any(f.area == "nginx" for f in checks):
        nginx = []  # the engine already ran the nginx checks
    findings = sort_findings([*checks, *nginx])
    print_findings(findings, stdout, as_json=False)
    if has_failure(findings):
        stdout.write("\nNot applying: fix the failed checks above first. Nothing was written.\n")
        return 1
    try:
        plan = await asyncio.to_thread(installer.plan)
    except InstallError as exc:
        stdout.write(f"\nCannot install: {exc.message}\n")
        if exc.remedy:
            stdout.write(f"Fix: {exc.remedy}\n")
        return 1
    stdout.write("\nPlanned changes:\n" + "\n".join(plan.summary()) + "\n")
    if plan.conflicts:
        stdout.write(
            "\nRefused: another server block already claims "
            f"{answers.bastion.hostname} on port {answers.bastion.listen_port}:\n"
            + "".join(f"  {c}\n" for c in plan.conflicts)
            + "Remove or disable it, then run again. Nothing was written.\n"
        )
        return 1
    if not plan.changed:
        stdout.write("\nNothing to change: everything is already installed as planned.\n")
        return 0
    stdout.write("\n" + plan.diff())
    if dry_run:
        stdout.write("\nDry run: nothing was written.\n")
        return 0
    if not yes:
        answer = _ask(stdin if stdin is not None else sys.stdin, stdout)
        if answer is None:
            stdout.write(
                "\nRefused: no terminal to confirm on. Pass --yes to apply without asking "
                "(or --dry-run to only show the plan). Nothing was written.\n"
            )
            return 2
        if not answer:
            stdout.write("Not applied. Nothing was written.\n")
            return 1
    result = await installer.apply(plan)
    stdout.write("\n")
    print_result(result, stdout)
    return 0 if result.ok else 1
