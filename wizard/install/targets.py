"""What an install writes where, read before anything is written.

The pieces of :meth:`wizard.install.installer.Installer.plan`: which paths an
install manages (:func:`is_managed`, also what a journal may name), the
directories it writes into (refused when other users can change them), what
is at each target now (bounded reads), and on the nginx side the
``sites-enabled`` link, the directories to create and the server blocks that
already claim the name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from wizard.answers import Answers, AnswersError, dumps_answers, loads_answers
from wizard.constants import (
    ACME_CONF_NAME,
    ANSWERS_NAME,
    NEXT_STEPS_NAME,
    SERVER_CONF_NAME,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.fsutil import PathState, UnsafePathError, check_directory, read_state
from wizard.install.errors import InstallError
from wizard.install.monitor import SERVICE_NAME, TIMER_NAME
from wizard.install.plan import LinkChange, Plan
from wizard.install.renew_hook import renew_hook_path
from wizard.nginx import Layout, find_conflicting_server_blocks

__all__ = [
    "MAX_CURRENT",
    "answers_bytes",
    "check_directories",
    "is_managed",
    "missing_directories",
    "nginx_changes",
    "read_currents",
    "stale_targets",
]

MAX_CURRENT = 16 * 1024 * 1024
"""A target larger than this is not one of ours (and is read only that far)."""


def is_managed(path: Path, answers: Answers, nginx_root: Path) -> bool:
    """Whether ``path`` is one this install manages for its nginx tree.

    The server block and its link (in any layout of the tree, or the
    configured path), and the output files by name (the snippet, next
    steps, manifests, Teams package, answers), wherever they were written.
    """
    from wizard.provider_files import TEAMS_PACKAGE_NAME

    root = Path(os.path.realpath(nginx_root))
    nginx_targets = {
        base / folder / SERVER_CONF_NAME
        for base in (root, Path(nginx_root))
        for folder in ("sites-available", "sites-enabled", "conf.d")
    }
    custom = answers.output.nginx_conf
    if custom not in ("", "auto"):
        nginx_targets.add(Path(custom))
        nginx_targets.add(root / "sites-enabled" / Path(custom).name)
    names = {
        answers.output.snippet,
        "codestream-messaging.json",
        NEXT_STEPS_NAME,
        SLACK_MANIFEST_NAME,
        SLACK_EVENTS_MANIFEST_NAME,
        TEAMS_PACKAGE_NAME,
        ANSWERS_NAME,
        SERVICE_NAME,
        TIMER_NAME,
    }
    hook = renew_hook_path(answers)  # apply --renew-hook's, of this certificate
    # certificate's temporary HTTP-01 block (install/acme_webroot.py), inside the tree only
    acme_block = path.name == ACME_CONF_NAME and str(path).startswith(str(root) + os.sep)
    return (
        path in nginx_targets
        or path.name in names
        or acme_block
        or (hook is not None and path == hook)
    )


def check_directories(targets: Iterable[Path]) -> None:
    """Refuse, before anything is written, a target directory other users can change.

    A directory still to be created is judged by its nearest existing ancestor.

    Raises:
        InstallError: ``install.unsafe_path``, naming the directory and the fix.
    """
    for path in targets:
        directory, target = path.parent, path
        while not directory.is_dir() and directory != directory.parent:
            directory, target = directory.parent, directory
        try:
            check_directory(directory, target)
        except UnsafePathError as exc:
            raise InstallError(exc.message, exc.remedy, code="install.unsafe_path") from None


def read_currents(targets: Iterable[Path]) -> list[PathState]:
    """What is at each target now, read with a bound.

    Raises:
        InstallError: When a target cannot be read, is not a regular file, or
            is too large to be one this tool wrote.
    """
    currents: list[PathState] = []
    for path in targets:
        try:
            current = read_state(path, MAX_CURRENT + 1)
        except OSError as exc:
            raise InstallError(
                f"{path} cannot be read to compare: {exc.strerror or exc}.",
                "Check its permissions (run as root), or move it out of the way.",
            ) from None
        if current.kind == "other":
            raise InstallError(
                f"{path} exists and is not a regular file (a directory or device).",
                "Move it out of the way, or choose another output directory.",
            )
        if current.content is not None and len(current.content) > MAX_CURRENT:
            # Read only in part, it could not be backed up whole: not one of ours.
            raise InstallError(
                f"{path} is larger than {MAX_CURRENT >> 20} MiB: not a file this tool wrote.",
                "Move it out of the way, or choose another output directory.",
            )
        currents.append(current)
    return currents


def answers_bytes(answers: Answers, current: PathState) -> tuple[bytes, int]:
    """The answers file to write; an equivalent existing file is kept as it is."""
    new = dumps_answers(answers).encode("utf-8")
    if current.kind == "file" and current.content is not None:
        try:
            existing = loads_answers(current.content.decode("utf-8"), ANSWERS_NAME)
        except (AnswersError, UnicodeDecodeError):  # unusable: replaced (and backed up)
            existing = None
        if existing == answers and current.mode is not None:
            return current.content, current.mode
    return new, 0o600


def nginx_changes(
    layout: Layout, answers: Answers, nginx_root: Path
) -> tuple[list[LinkChange], list[Path], list[str]]:
    """The ``sites-enabled`` link, the layout's missing directories, and conflicting blocks.

    Raises:
        InstallError: When the link's path holds something else than a file or a link.
    """
    directories = [d for d in layout.directories if not d.is_dir()]
    links: list[LinkChange] = []
    if layout.enabled_link is not None:
        current = read_state(layout.enabled_link, 0)
        if current.kind == "other":
            raise InstallError(
                f"{layout.enabled_link} exists and is not a file or a link.",
                "Move it out of the way and run again.",
            )
        links.append(LinkChange(layout.enabled_link, str(layout.server_block), current))
    conflicts = find_conflicting_server_blocks(
        nginx_root,
        answers.bastion.hostname,
        answers.bastion.listen_port,
        layout.server_block,
    )
    return links, directories, conflicts


def missing_directories(files: Sequence[Path], directories: Sequence[Path]) -> list[Path]:
    """Every directory to create, shallowest first.

    ``directories`` and the missing parents of ``files`` and of those, with
    every missing ancestor, so that a rollback removes all it created.
    """
    found = list(directories)
    for parent in {f.parent for f in files} | set(directories):
        while not parent.is_dir() and parent != parent.parent:
            if parent not in found:
                found.append(parent)
            parent = parent.parent
    found.sort(key=lambda p: len(p.parts))
    return found


def stale_targets(plan: Plan) -> list[Path]:
    """The targets of ``plan`` that changed on disk since it was made."""
    stale = [
        f.path for f in plan.files if not read_state(f.path, MAX_CURRENT + 1).same_as(f.current)
    ]
    stale += [
        link.path for link in plan.links if not read_state(link.path, 0).same_as(link.current)
    ]
    return stale
