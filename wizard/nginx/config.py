"""Read the nginx configuration as nginx loads it: every file, every include.

Two sources, one walker:

- **nginx's own view** (:func:`split_dump`): ``nginx -T`` prints every file it
  loaded, includes resolved and globs expanded, each headed by ``# configuration
  file PATH:``. When nginx is installed and the configuration passes its test,
  this is the truth, and :func:`read_tree` walks it.
- **the files** (the fallback): the same walk over the files on disk, following
  ``include`` the way nginx does (relative to the main file's directory, globs
  sorted, an include cycle read once). nginx's view cannot serve when nginx is
  not installed (``render`` and ``check`` on another machine), when the
  configuration does not pass ``nginx -t`` yet (the check still has to say where
  the server block would go and what conflicts with it), and before the
  wizard's own file exists (the layout decides where it will go). ARCHITECTURE.md
  ("The nginx adapter") says the same.

Either way the text is split into tokens by crossplane's lexer (nginx's
quoting, escapes, ``${var}`` and comments), and :func:`parse_config` builds the
directive tree tolerantly: an unbalanced brace or a missing ``;`` never raises,
because a half-edited file must still be read as far as it goes.
"""

from __future__ import annotations

import fnmatch
import functools
import glob
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wizard.reading import read_head

MAX_INCLUDE_DEPTH = 16
MAX_FILE_BYTES = 4 * 1024 * 1024
_CACHED_TEXT_BYTES = 256 * 1024
_DUMP_HEADER = re.compile(r"^# configuration file (.+):$", re.MULTILINE)


class ConfigError(Exception):
    """The main configuration file cannot be read.

    Attributes:
        message: What was found.
        remedy: What to do.
    """

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


@dataclass
class Directive:
    """One directive of an nginx configuration file.

    Attributes:
        name: The directive name, e.g. ``server_name``.
        args: Its arguments, unquoted.
        file: The file it is written in.
        line: Its 1-based line in that file.
        block: The directives of its block, or ``None`` when it has none.
    """

    name: str
    args: list[str]
    file: Path
    line: int
    block: list[Directive] | None = None


def tokenize(text: str) -> Iterator[tuple[str, int, bool]]:
    """Split nginx configuration text into ``(token, line, quoted)``, comments dropped.

    crossplane's lexer does the work; its public ``lex`` only reads a named file
    and raises on unbalanced braces, so the file-object lexer under it is used
    (pinned by the ``crossplane`` version range in pyproject.toml).
    """
    from crossplane.lexer import _lex_file_object

    for token, line, quoted in _lex_file_object(io.StringIO(text)):
        if not quoted and token.startswith("#"):
            continue
        yield token, line, quoted


@functools.lru_cache(maxsize=64)
def _parse_cached(text: str, file: Path) -> tuple[Directive, ...]:
    return _parse(text, file)


def parse_config(text: str, file: Path) -> list[Directive]:
    """Parse configuration text into directives (tolerant: never raises).

    An unbalanced ``}`` is ignored, an unclosed block ends at the end of the text,
    and a directive without its ``;`` at the end of a block or file is kept.

    The same text is parsed once per process (crossplane's lexer is pure
    Python; the check, the install plan and the error-log lookup read the same
    files): the directives returned are shared and must not be changed.
    """
    if len(text) > _CACHED_TEXT_BYTES:
        return list(_parse(text, file))
    return list(_parse_cached(text, file))


def _parse(text: str, file: Path) -> tuple[Directive, ...]:
    """Directives of ``text`` (see :func:`parse_config`)."""
    root: list[Directive] = []
    stack: list[list[Directive]] = [root]
    words: list[str] = []
    first_line = 0
    for word, line, quoted in tokenize(text):
        if not quoted and word == ";":
            if words:
                stack[-1].append(Directive(words[0], words[1:], file, first_line))
            words = []
        elif not quoted and word == "{":
            directive = Directive(words[0] if words else "", words[1:], file, first_line or line)
            directive.block = []
            stack[-1].append(directive)
            stack.append(directive.block)
            words = []
        elif not quoted and word == "}":
            if words:
                stack[-1].append(Directive(words[0], words[1:], file, first_line))
                words = []
            if len(stack) > 1:
                stack.pop()
        else:
            if not words:
                first_line = line
            words.append(word)
    if words:
        stack[-1].append(Directive(words[0], words[1:], file, first_line))
    return tuple(root)


def split_dump(output: str) -> dict[str, str]:
    """The files in ``nginx -T`` output: ``{path as nginx opened it: text}``, in load order."""
    files: dict[str, str] = {}
    headers = list(_DUMP_HEADER.finditer(output))
    for header, following in zip(headers, [*headers[1:], None]):
        end = following.start() if following is not None else len(output)
        path = os.path.normpath(header.group(1))
        files.setdefault(path, output[header.end() + 1 : end])
    return files


def resolve_include(pattern: str, root: Path) -> str:
    """The absolute glob an ``include`` argument stands for.

    nginx takes relative include paths from the directory of the main
    configuration file, which is ``root`` here.
    """
    return pattern if os.path.isabs(pattern) else os.path.join(str(root), pattern)


def _read_file(path: Path) -> str | None:
    try:
        data = read_head(path, MAX_FILE_BYTES)  # a FIFO or device included is not waited on
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def _expand_files(full: str) -> list[Path]:
    if glob.has_magic(full):
        return [Path(p) for p in sorted(glob.glob(full)) if os.path.isfile(p)]
    return [Path(full)]


@dataclass(frozen=True)
class _Source:
    """Where the walker gets file text from, and how it expands an include glob."""

    read: Callable[[Path], str | None]
    expand: Callable[[str], list[Path]]
    key: Callable[[Path], str]


_FILES = _Source(_read_file, _expand_files, lambda path: os.path.realpath(path))


def _dump_source(files: Mapping[str, str]) -> _Source:
    def expand(full: str) -> list[Path]:
        pattern = os.path.normpath(full)
        if glob.has_magic(pattern):
            return [Path(p) for p in sorted(files) if fnmatch.fnmatchcase(p, pattern)]
        return [Path(pattern)]

    return _Source(
        lambda path: files.get(os.path.normpath(path)),
        expand,
        lambda path: os.path.normpath(path),
    )


@dataclass
class Tree:
    """The configuration nginx loads from one root, walked.

    Attributes:
        root: The nginx configuration directory.
        source: ``nginx -T`` (nginx's own view) or ``files`` (read from disk).
        main: The directives of ``nginx.conf`` itself (includes not expanded).
        http_includes: The ``include`` directives of the ``http`` context.
        http_directives: Its other simple directives, from every file it includes
            (``limit_req_zone``, ...).
        servers: Every ``server`` block of the ``http`` context.
        unreadable: Included files that could not be read.
    """

    root: Path
    source: Literal["nginx -T", "files"] = "files"
    main: list[Directive] = field(default_factory=list)
    http_includes: list[Directive] = field(default_factory=list)
    http_directives: list[Directive] = field(default_factory=list)
    servers: list[Directive] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)


def _walk(
    directives: Sequence[Directive],
    context: tuple[str, ...],
    tree: Tree,
    source: _Source,
    seen: set[str],
    depth: int,
) -> None:
    for directive in directives:
        if directive.name == "include" and directive.block is None and directive.args:
            if context == ("http",):
                tree.http_includes.append(directive)
            if depth >= MAX_INCLUDE_DEPTH:
                continue
            for path in source.expand(resolve_include(directive.args[0], tree.root)):
                key = source.key(path)
                if key in seen:
                    continue  # an include cycle: read it once
                text = source.read(path)
                if text is None:
                    tree.unreadable.append(path)
                    continue
                seen.add(key)
                _walk(parse_config(text, path), context, tree, source, seen, depth + 1)
                seen.discard(key)
            continue
        if directive.block is None:
            if context == ("http",):
                tree.http_directives.append(directive)
            continue
        if directive.name == "server" and context == ("http",):
            tree.servers.append(directive)
        _walk(directive.block, (*context, directive.name), tree, source, seen, depth)


def read_tree(root: Path, dump: str | None = None) -> Tree:
    """Read ``<root>/nginx.conf`` and every file it includes.

    Args:
        root: The nginx configuration directory.
        dump: The standard output of a passing ``nginx -T`` of that tree, to walk
            nginx's own view instead of the files on disk.

    Raises:
        ConfigError: When ``nginx.conf`` cannot be read (or is not in the dump).
    """
    root = Path(root)
    main = root / "nginx.conf"
    source = _dump_source(split_dump(dump)) if dump is not None else _FILES
    text = source.read(main)
    if text is None:
        raise ConfigError(
            f"There is no readable nginx.conf in {root}.",
            "Install nginx (apt-get install nginx, or dnf install nginx), or pass "
            "--nginx-root with the directory that holds nginx.conf.",
        )
    tree = Tree(root, "nginx -T" if dump is not None else "files")
    tree.main = parse_config(text, main)
    _walk(tree.main, (), tree, source, {source.key(main)}, 0)
    return tree
