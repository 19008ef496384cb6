"""The plan: what an apply would change, and the only diff (CLI, JSON and TUI alike).

A :class:`Plan` is computed without writing anything. Its :meth:`Plan.diff` is
the one diff every output shows, and every secret value in it is masked, on
``-`` lines as well as ``+`` lines: the secrets of the new answers, and those
found in what is there now (an older snippet or answers file), by value and by
key name. A symlink in the way is described, never read through.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wizard.answers import MASK, SECRET_KEYS, Answers, reveal
from wizard.compat import tomllib
from wizard.fsutil import PathState
from wizard.nginx import Layout
from wizard.safetext import visible

if TYPE_CHECKING:
    from wizard.install.start import StartPlan

Role = Literal[
    "nginx", "snippet", "next-steps", "slack-manifest", "answers", "renew-hook", "monitor", "other"
]
Action = Literal["created", "updated", "unchanged", "removed"]

_SECRET_KEY = re.compile(r"secret|password|passwd|token|signing", re.IGNORECASE)
_JSON_SECRET = re.compile(r'("(?P<key>[^"\\]*)"\s*:\s*)"(?P<value>(?:[^"\\]|\\.)*)"', re.IGNORECASE)
_TOML_SECRET = re.compile(
    r"^(?P<head>[-+ ]?\s*(?P<key>[A-Za-z0-9_\-]+)\s*=\s*)(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*')"
)
_PLACEHOLDER = re.compile(r"^<[A-Z0-9_]+>$")
_MIN_SECRET = 3  # shorter values are masked by key only (they would match everywhere)


def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not key.endswith("_file")


def _walk_json(value: Any, found: set[str], under_secret: bool = False) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _walk_json(item, found, under_secret or _secret_key(str(key)))
    elif isinstance(value, list):
        for item in value:
            _walk_json(item, found, under_secret)
    elif isinstance(value, str) and under_secret and value and not _PLACEHOLDER.match(value):
        found.add(value)


def secrets_in(content: bytes | None) -> set[str]:
    """Secret values held in a file now there: a JSON snippet or a TOML answers file."""
    if not content or len(content) > 1024 * 1024:
        return set()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return set()
    found: set[str] = set()
    try:
        _walk_json(json.loads(text), found)
        return found
    except (ValueError, RecursionError):
        pass
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError):
        return found
    for dotted in SECRET_KEYS:
        table, key = dotted.split(".")
        section = data.get(table)
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, str) and value and not _PLACEHOLDER.match(value):
            found.add(value)
    return found


def answers_secrets(answers: Answers) -> set[str]:
    """The secret values of ``answers`` (as plain strings)."""
    values = set()
    for dotted in SECRET_KEYS:
        table, key = dotted.split(".")
        value = reveal(getattr(getattr(answers, table), key))
        if value:
            values.add(value)
    return values


@dataclass(frozen=True)
class Masker:
    """Masks secret values in lines of text, by value and by key name.

    Attributes:
        values: Secret values to hide wherever they appear.
    """

    values: frozenset[str]

    def line(self, line: str) -> str:
        """``line`` with every secret replaced by ``********``."""
        for value in sorted(self.values, key=len, reverse=True):
            if len(value) >= _MIN_SECRET and value in line:
                line = line.replace(value, MASK)
            for quoted in (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
                if len(quoted) >= _MIN_SECRET and quoted in line:
                    line = line.replace(quoted, MASK)

        def json_sub(match: re.Match[str]) -> str:
            """A JSON ``"key": "value"`` pair, its value masked when the key names a secret."""
            if not _secret_key(match["key"]) or _PLACEHOLDER.match(match["value"]):
                return match.group(0)
            return f'{match.group(1)}"{MASK}"' if match["value"] else match.group(0)

        line = _JSON_SECRET.sub(json_sub, line)
        toml = _TOML_SECRET.match(line)
        if toml and _secret_key(toml["key"]) and len(toml["value"]) > 2:
            line = f'{toml["head"]}"{MASK}"' + line[toml.end() :]
        return line

    def text(self, text: str) -> str:
        """Every line of ``text`` masked."""
        return "".join(self.line(part) for part in text.splitlines(keepends=True))


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def file_diff(path: Path, current: PathState, content: bytes, mode: int, masker: Masker) -> str:
    """The diff of writing ``content`` (mode ``mode``) over ``current``, secrets masked."""
    old = current.content if current.kind == "file" else None
    head = ""
    if current.kind == "file" and current.mode != mode:
        head = f"mode {path}: {current.mode or 0:04o} -> {mode:04o}\n"
    elif current.kind == "absent":
        head = f"new file {path} (mode {mode:04o})\n"
    elif current.kind == "link":
        head = (
            f"{path} is a symbolic link to {current.target}; it is replaced by a regular file "
            "(the link's target was not read, so the diff starts from nothing)\n"
        )
    if old == content:
        return head
    if (old is not None and not _is_text(old)) or not _is_text(content):
        old_lines = len(old.splitlines()) if old is not None else 0
        return (
            head + f"--- {path}: {old_lines} lines replaced by {len(content.splitlines())} "
            "(content not shown: binary content)\n"
        )
    old_text = (old or b"").decode("utf-8").splitlines(keepends=True)
    new_text = content.decode("utf-8").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old_text,
        new_text,
        fromfile=f"{path} (current)" if old is not None else "/dev/null",
        tofile=f"{path} (new)",
    )
    shown = "".join(masker.line(x if x.endswith("\n") else x + "\n") for x in lines)
    # The current file may hold anything: its control characters are shown, never sent.
    return head + visible(shown, lines=True)


@dataclass(frozen=True)
class FileChange:
    """One file of the plan.

    Attributes:
        path: Where it goes.
        content: The new bytes.
        mode: The new permission bits.
        role: What it is (``nginx`` files need ``nginx -t`` and a reload).
        current: What is there now.
        diff: The diff from what is there (every secret masked).
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
    def action(self) -> Action:
        """``created``, ``updated`` or ``unchanged`` (the JSON contract's words)."""
        if not self.changed:
            return "unchanged"
        return "created" if self.current.kind == "absent" else "updated"

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
    def action(self) -> Action:
        """``created``, ``updated`` or ``unchanged``."""
        if not self.changed:
            return "unchanged"
        return "created" if self.current.kind == "absent" else "updated"

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
class Plan:
    """Everything an apply would do, computed without writing.

    Attributes:
        layout: The nginx layout (``None`` when the mode exposes nothing).
        files: Every file, changed or not, nginx files first.
        links: The ``sites-enabled`` link, if the layout has one.
        directories: Directories that must be created first.
        conflicts: Other server blocks that claim the name on the port.
        state_dir: Where the journal and backups of this tree go.
        release: The API release the snippet was written for (``None``: unknown).
        start: No nginx master runs for the tree: how apply will start it
            (``None``: a master runs, or nginx's configuration does not change).
    """

    layout: Layout | None
    files: tuple[FileChange, ...]
    links: tuple[LinkChange, ...]
    directories: tuple[Path, ...]
    conflicts: tuple[str, ...]
    state_dir: Path
    release: str | None = None
    start: StartPlan | None = None

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

    def actions(self) -> list[tuple[Path, Action]]:
        """Every target with what applying does to it (the JSON ``files`` list)."""
        out: list[tuple[Path, Action]] = [(f.path, f.action) for f in self.files]
        out += [(link.path, link.action) for link in self.links]
        return out

    def summary(self) -> list[str]:
        """One line per target: status and path."""
        lines = [f"  create directory {d}" for d in self.directories]
        for change in self.files:
            lines.append(f"  {change.status:<9} {change.path} (mode {change.mode:04o})")
        for link in self.links:
            lines.append(f"  {link.status:<9} {link.path} -> {link.target}")
        if self.start is not None and self.nginx_changed:
            lines.append(f"  {self.start.describe()}")
        return lines

    def diff(self) -> str:
        """The diff of every change, every secret value masked."""
        parts = [f.diff for f in self.files if f.changed]
        parts += [link.diff for link in self.links if link.changed]
        return "".join(parts)


InstallPlan = Plan
"""The name the wizard's screens and older callers use."""


def masker_for(answers: Answers, currents: Iterable[PathState]) -> Masker:
    """A masker for the new answers' secrets and those in the files there now."""
    values = answers_secrets(answers)
    for current in currents:
        if current.kind == "file":
            values |= secrets_in(current.content)
    return Masker(frozenset(values))
