"""How the SELinux check asks the host: commands and file reads, replaceable in tests.

:class:`SelinuxHost` is part of the :class:`~wizard.checks.context.CheckContext`
(its ``selinux_host``), so it lives apart from the check
(:mod:`wizard.checks.selinux`), which the context does not import.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.nginx.command import CommandResult, run_command

__all__ = ["CommandRunner", "SelinuxHost", "read_file_label", "read_text_file"]

CommandRunner = Callable[[Sequence[str], float], Awaitable[CommandResult]]
"""Runs ``argv`` with a timeout (:func:`wizard.nginx.run_command`'s shape)."""


def read_file_label(path: Path) -> str | None:
    """The SELinux context of ``path`` (its ``security.selinux`` attribute), or ``None``."""
    try:
        raw = os.getxattr(path, "security.selinux")
    except OSError:  # no attribute (SELinux absent), no such file, unreadable
        return None
    return raw.rstrip(b"\x00").decode("ascii", errors="replace") or None


def read_text_file(path: Path) -> str | None:
    """The text of a small file such as ``/sys/fs/selinux/enforce``, or ``None``."""
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class SelinuxHost:
    """How the check asks the host (replaced in tests by recorded answers).

    Attributes:
        run: Runs a command (``getenforce``, ``getsebool``, ``matchpathcon``,
            ``semanage``) and returns its exit status and output.
        enforce_file: The kernel's enforcing switch (``1`` enforcing, ``0`` permissive).
        read_label: The ``security.selinux`` context of a file, or ``None``.
        read_text: Reads ``enforce_file``.
    """

    run: CommandRunner = run_command
    enforce_file: Path = field(default_factory=lambda: Path("/sys/fs/selinux/enforce"))
    read_label: Callable[[Path], str | None] = read_file_label
    read_text: Callable[[Path], str | None] = read_text_file
