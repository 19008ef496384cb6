"""Where the server block goes so that nginx loads it: the tree's layout.

A Debian-style ``include .../sites-enabled/*`` in the ``http`` context means
the block goes to ``sites-available`` with a link in ``sites-enabled``; an
``include .../conf.d/*.conf`` means ``conf.d``; ``[output] nginx_conf`` names a
file that some ``http``-level include must already load. Only includes in the
``http`` context count, and only those that really point into the tree being
configured.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.constants import SERVER_CONF_NAME
from wizard.nginx.config import ConfigError, Directive, Tree, read_tree, resolve_include

LayoutStyle = Literal["debian", "conf.d", "custom"]


class LayoutError(ConfigError):
    """The tree has no place nginx would load the server block from.

    Attributes:
        message: What was found.
        remedy: What to change (usually the ``include`` line to add).
    """


@dataclass(frozen=True)
class Layout:
    """Where the server block goes in one nginx tree.

    Attributes:
        style: ``debian`` (``sites-available`` + link in ``sites-enabled``),
            ``conf.d``, or ``custom`` (``[output] nginx_conf`` names the file).
        root: The nginx configuration directory.
        config_file: The main configuration file (``<root>/nginx.conf``).
        server_block: The file to write the server block to.
        enabled_link: The symlink that enables it, or ``None`` when the file
            itself is included.
        include: The ``include`` directive (as written) that loads the block.
        directories: Directories that do not exist yet and must be created.
    """

    style: LayoutStyle
    root: Path
    config_file: Path
    server_block: Path
    enabled_link: Path | None
    include: str
    directories: tuple[Path, ...] = ()

    def describe(self) -> str:
        """One sentence for people: what goes where."""
        if self.enabled_link is not None:
            return (
                f"the server block goes to {self.server_block}, enabled by the link "
                f"{self.enabled_link} (loaded by 'include {self.include};')"
            )
        return f"the server block goes to {self.server_block} (loaded by 'include {self.include};')"


def _same_dir(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _include_covers(include: str, root: Path, directory: Path, name: str) -> bool:
    """Whether ``include`` loads a file called ``name`` from ``directory``."""
    full = resolve_include(include, root)
    head, tail = os.path.split(full)
    if glob.has_magic(head):
        return False
    if not _same_dir(head, directory):
        return False
    if not glob.has_magic(tail):
        return tail == name
    return fnmatch.fnmatchcase(name, tail) and not name.startswith(".")


def _include_matches_file(include: str, root: Path, target: Path) -> bool:
    return _include_covers(include, root, target.parent, target.name)


def _custom_layout(root: Path, target: Path, includes: Sequence[Directive]) -> Layout:
    config = root / "nginx.conf"
    for directive in includes:
        if _include_matches_file(directive.args[0], root, target):
            missing: tuple[Path, ...] = () if target.parent.is_dir() else (target.parent,)
            return Layout("custom", root, config, target, None, directive.args[0], missing)
    if target.parent.name == "sites-available":
        enabled = target.parent.parent / "sites-enabled"
        link = enabled / target.name
        for directive in includes:
            if _include_matches_file(directive.args[0], root, link):
                missing = tuple(d for d in (target.parent, enabled) if not d.is_dir())
                return Layout("custom", root, config, target, link, directive.args[0], missing)
    raise LayoutError(
        f"[output] nginx_conf = {str(target)!r}, but no 'include' in the http block of "
        f"{config} loads that file, so nginx would never read it.",
        f"Add 'include {target};' inside the http {{ }} block of {config}, or set "
        '[output] nginx_conf = "auto".',
    )


def _automatic_layout(root: Path, includes: Sequence[Directive]) -> Layout:
    config = root / "nginx.conf"
    enabled = root / "sites-enabled"
    available = root / "sites-available"
    for directive in includes:
        if _include_covers(directive.args[0], root, enabled, SERVER_CONF_NAME):
            if available.is_dir() or not enabled.is_dir():
                missing = tuple(d for d in (available, enabled) if not d.is_dir())
                return Layout(
                    "debian",
                    root,
                    config,
                    available / SERVER_CONF_NAME,
                    enabled / SERVER_CONF_NAME,
                    directive.args[0],
                    missing,
                )
            # sites-enabled without sites-available: write the file there directly.
            return Layout(
                "debian", root, config, enabled / SERVER_CONF_NAME, None, directive.args[0]
            )
    confd = root / "conf.d"
    for directive in includes:
        if _include_covers(directive.args[0], root, confd, SERVER_CONF_NAME):
            missing = () if confd.is_dir() else (confd,)
            return Layout(
                "conf.d", root, config, confd / SERVER_CONF_NAME, None, directive.args[0], missing
            )
    seen = ", ".join(f"'include {d.args[0]};'" for d in includes) or "none"
    raise LayoutError(
        f"{config} loads neither {enabled}/* nor {confd}/*.conf from its http block "
        f"(includes found there: {seen}), so a server block written to either would "
        "never be read.",
        f"Add 'include {confd}/*.conf;' inside the http {{ }} block of {config} "
        f"(or 'include {enabled}/*;' for the Debian layout), or set [output] nginx_conf "
        "to a file your configuration already includes.",
    )


def detect_layout(nginx_root: Path, nginx_conf: str = "auto", tree: Tree | None = None) -> Layout:
    """Find where the server block must go so that nginx loads it.

    Args:
        nginx_root: The nginx configuration directory (holds ``nginx.conf``).
        nginx_conf: ``[output] nginx_conf``: ``auto``, or the file to write.
        tree: The configuration already read (e.g. from ``nginx -T``); read
            from the files when ``None``.

    Returns:
        The layout; Debian style wins when the tree includes both
        ``sites-enabled`` and ``conf.d`` (as Debian's own ``nginx.conf`` does).

    Raises:
        LayoutError: When ``nginx.conf`` is missing, or nothing it includes in
            its ``http`` block would load the file; the remedy names the line to add.
    """
    root = Path(nginx_root)
    if tree is None:
        try:
            tree = read_tree(root)
        except ConfigError as exc:
            raise LayoutError(exc.message, exc.remedy) from exc
    includes = [d for d in tree.http_includes if d.args]
    if nginx_conf.strip() and nginx_conf.strip() != "auto":
        target = Path(nginx_conf.strip())
        if not target.is_absolute():
            target = root / target
        return _custom_layout(root, target, includes)
    return _automatic_layout(root, includes)
