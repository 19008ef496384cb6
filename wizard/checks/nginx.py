"""Is nginx there, healthy, and where does the server block go? (``nginx.*`` codes)

Three questions, answered from the files and the binary on this host:

- Is nginx installed, which version, and does ``nginx -t`` pass on the
  configuration as it is *now* (before anything is written)? A tree that
  already fails cannot be reloaded, whatever the wizard adds.
- Which layout does the tree use? :func:`detect_layout` reads ``nginx.conf``
  and the files it includes: a Debian-style ``include .../sites-enabled/*``
  means the block goes to ``sites-available`` with a link in
  ``sites-enabled``; an ``include .../conf.d/*.conf`` means ``conf.d``. Only
  includes in the ``http`` context count, and only those that really point into
  the tree being configured.
- Does another enabled server block already claim the bastion's name on the
  listen port? :func:`find_conflicting_server_blocks` walks every file nginx
  would load, with a small tolerant tokenizer (comments, quotes, escapes,
  nested blocks, includes with globs, include cycles).

Subprocesses run through :func:`asyncio.create_subprocess_exec` with a timeout;
nothing here changes a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import glob
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.hostname import hostname_syntax_error
from wizard.findings import Finding, fail, ok, skip, warn

OWN_NAME = "codestream-bastion.conf"
"""The file name of the generated server block, in every layout."""
SYSTEM_ROOT = Path("/etc/nginx")
OLDEST_RECOMMENDED = (1, 18, 0)
"""Older nginx releases are out of support and lack parts of the TLS policy."""
COMMAND_TIMEOUT = 30.0
"""Upper bound, in seconds, for one ``nginx -t`` or ``nginx -v`` run."""
_MAX_INCLUDE_DEPTH = 16
_MAX_FILE_BYTES = 4 * 1024 * 1024
_INSTALL_REMEDY = (
    "Install nginx: 'apt-get install nginx' (Debian, Ubuntu) or 'dnf install nginx' "
    "(RHEL, Fedora, Amazon Linux); or pass the path of the nginx binary."
)

LayoutStyle = Literal["debian", "conf.d", "custom"]


class LayoutError(Exception):
    """The tree has no place nginx would load the server block from.

    Attributes:
        message: What was found.
        remedy: What to change (usually the ``include`` line to add).
    """

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


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


# -- a tolerant nginx configuration reader -------------------------------------------------


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


_SPECIAL = "{};"


def tokenize(text: str) -> Iterator[tuple[str, int, bool]]:
    """Split nginx configuration text into ``(token, line, quoted)``.

    Handles ``#`` comments, single and double quotes, backslash escapes and
    ``${var}`` (a ``{`` inside a word is part of the word). Never raises: an
    unterminated quote ends at the end of the text.
    """
    i = 0
    line = 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
            continue
        if ch.isspace():
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in _SPECIAL:
            yield ch, line, False
            i += 1
            continue
        start_line = line
        if ch in "\"'":
            quote = ch
            i += 1
            out: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    nxt = text[i + 1]
                    out.append(nxt if nxt in (quote, "\\") else "\\" + nxt)
                    line += nxt == "\n"
                    i += 2
                    continue
                line += text[i] == "\n"
                out.append(text[i])
                i += 1
            i += 1
            yield "".join(out), start_line, True
            continue
        out = []
        while i < n:
            ch = text[i]
            if ch.isspace() or ch in ";}" or (ch == "{" and not (out and out[-1] == "$")):
                break
            if ch == "\\" and i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
                continue
            if ch == "$" and i + 1 < n and text[i + 1] == "{":
                end = text.find("}", i)
                if end > 0:
                    out.append(text[i : end + 1])
                    i = end + 1
                    continue
            out.append(ch)
            i += 1
        yield "".join(out), start_line, False


def parse_config(text: str, file: Path) -> list[Directive]:
    """Parse configuration text into directives (tolerant: never raises).

    An unbalanced ``}`` is ignored, an unclosed block ends at the end of the text,
    and a directive without its ``;`` at the end of a block or file is kept.
    """
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
    return root


def _read_text(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def resolve_include(pattern: str, root: Path) -> str:
    """The absolute glob an ``include`` argument stands for.

    nginx takes relative include paths from the directory of the main
    configuration file, which is ``root`` here.
    """
    return pattern if os.path.isabs(pattern) else os.path.join(str(root), pattern)


def _expand(pattern: str, root: Path) -> list[Path]:
    full = resolve_include(pattern, root)
    if glob.has_magic(full):
        return [Path(p) for p in sorted(glob.glob(full)) if os.path.isfile(p)]
    return [Path(full)]


@dataclass
class _Walk:
    """State of one walk over a tree: where we are and what we found."""

    root: Path
    seen: set[str] = field(default_factory=set)
    http_includes: list[Directive] = field(default_factory=list)
    servers: list[Directive] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)


def _walk(
    directives: Sequence[Directive], context: tuple[str, ...], walk: _Walk, depth: int
) -> None:
    for directive in directives:
        if directive.name == "include" and directive.block is None and directive.args:
            if context == ("http",):
                walk.http_includes.append(directive)
            if depth >= _MAX_INCLUDE_DEPTH:
                continue
            for path in _expand(directive.args[0], walk.root):
                key = os.path.realpath(path)
                if key in walk.seen:
                    continue  # an include cycle, or the same file twice: read it once
                text = _read_text(path)
                if text is None:
                    walk.unreadable.append(path)
                    continue
                walk.seen.add(key)
                _walk(parse_config(text, path), context, walk, depth + 1)
                walk.seen.discard(key)
            continue
        if directive.block is None:
            continue
        if directive.name == "server" and context == ("http",):
            walk.servers.append(directive)
        _walk(directive.block, (*context, directive.name), walk, depth)


def read_tree(root: Path) -> _Walk:
    """Read ``<root>/nginx.conf`` and every file it includes.

    Raises:
        LayoutError: When ``nginx.conf`` cannot be read.
    """
    main = root / "nginx.conf"
    text = _read_text(main)
    if text is None:
        raise LayoutError(
            f"There is no readable nginx.conf in {root}.",
            "Install nginx (apt-get install nginx, or dnf install nginx), or pass "
            "--nginx-root with the directory that holds nginx.conf.",
        )
    walk = _Walk(root)
    walk.seen.add(os.path.realpath(main))
    _walk(parse_config(text, main), (), walk, 0)
    return walk


# -- layout ---------------------------------------------------------------------------------


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


def detect_layout(nginx_root: Path, nginx_conf: str = "auto") -> Layout:
    """Find where the server block must go so that nginx loads it.

    Args:
        nginx_root: The nginx configuration directory (holds ``nginx.conf``).
        nginx_conf: ``[output] nginx_conf``: ``auto``, or the file to write.

    Returns:
        The layout; Debian style wins when the tree includes both
        ``sites-enabled`` and ``conf.d`` (as Debian's own ``nginx.conf`` does).

    Raises:
        LayoutError: When ``nginx.conf`` is missing, or nothing it includes in
            its ``http`` block would load the file; the remedy names the line to add.
    """
    root = Path(nginx_root)
    walk = read_tree(root)
    config = root / "nginx.conf"
    includes = [d for d in walk.http_includes if d.args]
    if nginx_conf.strip() and nginx_conf.strip() != "auto":
        target = Path(nginx_conf.strip())
        if not target.is_absolute():
            target = root / target
        return _custom_layout(root, target, includes)
    enabled = root / "sites-enabled"
    available = root / "sites-available"
    for directive in includes:
        if _include_covers(directive.args[0], root, enabled, OWN_NAME):
            if available.is_dir() or not enabled.is_dir():
                missing = tuple(d for d in (available, enabled) if not d.is_dir())
                return Layout(
                    "debian",
                    root,
                    config,
                    available / OWN_NAME,
                    enabled / OWN_NAME,
                    directive.args[0],
                    missing,
                )
            # sites-enabled without sites-available: write the file there directly.
            return Layout("debian", root, config, enabled / OWN_NAME, None, directive.args[0])
    confd = root / "conf.d"
    for directive in includes:
        if _include_covers(directive.args[0], root, confd, OWN_NAME):
            missing = () if confd.is_dir() else (confd,)
            return Layout(
                "conf.d", root, config, confd / OWN_NAME, None, directive.args[0], missing
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


# -- conflicts ------------------------------------------------------------------------------


def _listen_port(args: Sequence[str]) -> int | None:
    """The TCP port of a ``listen`` directive (``None`` for a UNIX socket)."""
    if not args:
        return 80
    address = args[0]
    if address.startswith("unix:"):
        return None
    if address.isdigit():
        return int(address)
    if address.startswith("["):
        end = address.find("]")
        rest = address[end + 1 :] if end >= 0 else ""
        return int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 80
    _host, sep, port = address.rpartition(":")
    if sep and port.isdigit():
        return int(port)
    return 80


def _server_ports(server: Directive) -> set[int]:
    listens = [d for d in server.block or () if d.name == "listen"]
    if not listens:
        return {80}  # nginx's default when run as root
    return {p for d in listens if (p := _listen_port(d.args)) is not None}


def _server_names(server: Directive) -> set[str]:
    names: set[str] = set()
    for directive in server.block or ():
        if directive.name == "server_name":
            names.update(arg.lower().rstrip(".") for arg in directive.args)
    return names


def _ascii(hostname: str) -> str:
    from wizard.checks.hostname import to_ascii_hostname

    try:
        return to_ascii_hostname(hostname)
    except ValueError:
        return hostname.strip().rstrip(".").lower()


def server_claims(server: Directive, hostname: str, port: int) -> bool:
    """Whether the ``server`` block names ``hostname`` (IDN as punycode) and listens on ``port``."""
    return _ascii(hostname) in _server_names(server) and port in _server_ports(server)


def server_error_log(nginx_root: Path, hostname: str, port: int) -> tuple[Path | None, str]:
    """The error log nginx writes for requests to ``hostname:port``.

    The first server block that claims the name and port (the one nginx
    serves) decides; without an ``error_log`` of its own, the ``http`` block's,
    then the main one, of ``nginx.conf`` apply. A relative path is taken from
    ``nginx_root``.

    Returns:
        The file, or ``None`` and a sentence saying why there is none to read
        (no such server block, or a log that is not a file: ``stderr``, ``syslog:``).
    """
    root = Path(nginx_root)
    try:
        walk = read_tree(root)
    except LayoutError as exc:
        return None, exc.message
    server = next((s for s in walk.servers if server_claims(s, hostname, port)), None)
    if server is None:
        return None, (
            f"no server block in {root / 'nginx.conf'} claims {_ascii(hostname)} on port {port}"
        )
    main = parse_config(_read_text(root / "nginx.conf") or "", root / "nginx.conf")
    http = next((d.block for d in main if d.name == "http" and d.block is not None), [])
    for scope in (server.block or [], http, main):
        directive = next((d for d in scope if d.name == "error_log" and d.args), None)
        if directive is None:
            continue
        target = directive.args[0]
        if target == "stderr" or ":" in target.split("/", 1)[0]:
            return None, (
                f"{directive.file}:{directive.line} sends the error log to {target!r}, not a file"
            )
        return (Path(target) if os.path.isabs(target) else root / target), ""
    return (
        None,
        f"no error_log directive applies to the server block at {server.file}:{server.line}",
    )


def find_conflicting_server_blocks(
    nginx_root: Path, hostname: str, port: int, own_file: Path | None = None
) -> list[str]:
    """Other enabled server blocks that claim ``hostname`` on ``port``.

    Args:
        nginx_root: The nginx configuration directory.
        hostname: The bastion's name (IDN names compared in punycode).
        port: The listen port.
        own_file: The generated file (and, through symlinks, its link), ignored.

    Returns:
        One line per conflict: ``file:line`` of the ``server`` block and what it
        claims. Empty when there is none, or when ``nginx.conf`` is unreadable.
    """
    try:
        walk = read_tree(Path(nginx_root))
    except LayoutError:
        return []
    own = os.path.realpath(own_file) if own_file is not None else None
    wanted = _ascii(hostname)
    conflicts: list[str] = []
    for server in walk.servers:
        if own is not None and os.path.realpath(server.file) == own:
            continue
        if server.file.name == OWN_NAME and own is None:
            continue
        if server_claims(server, hostname, port):
            conflicts.append(
                f"{server.file}:{server.line}: a server block with server_name {wanted} "
                f"listening on port {port}"
            )
    return conflicts


# -- the binary -----------------------------------------------------------------------------


def find_binary(binary: str) -> str | None:
    """The full path of the nginx executable, or ``None`` when it is not installed."""
    if os.sep in binary:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    found = shutil.which(binary)
    if found is None:
        for directory in ("/usr/sbin", "/usr/local/sbin", "/sbin"):  # not on every PATH
            candidate = os.path.join(directory, binary)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return found


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one subprocess run.

    Attributes:
        returncode: The exit status; ``None`` when it did not end in time or
            could not be started.
        output: Its standard output and error, decoded.
    """

    returncode: int | None
    output: str

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.returncode == 0


async def run_command(argv: Sequence[str], timeout: float) -> CommandResult:
    """Run ``argv`` with a timeout; stdout and stderr are merged, stdin is empty."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as exc:
        return CommandResult(None, f"cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        await _kill(process)
        return CommandResult(None, f"{' '.join(argv)} did not finish within {timeout:g} s")
    except asyncio.CancelledError:
        await _kill(process)
        raise
    return CommandResult(process.returncode, out.decode("utf-8", errors="replace").strip())


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(Exception):
        await process.wait()


def nginx_argv(binary: str, root: Path, *args: str) -> list[str]:
    """``nginx ARGS -c <root>/nginx.conf`` (plus ``-p <root>/`` outside ``/etc/nginx``)."""
    argv = [binary, *args, "-c", str(Path(root) / "nginx.conf")]
    if os.path.realpath(root) != str(SYSTEM_ROOT):
        argv += ["-p", str(root).rstrip("/") + "/"]
    return argv


def config_test_message(output: str) -> str:
    """nginx's own words from ``nginx -t`` output: the ``[emerg]`` lines first."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    important = [line for line in lines if re.search(r"\[(emerg|alert|crit|error)\]", line)]
    return "\n".join(important or lines)


async def config_test(binary: str, root: Path, timeout: float = COMMAND_TIMEOUT) -> CommandResult:
    """``nginx -t`` of the tree at ``root``."""
    return await run_command(nginx_argv(binary, root, "-t"), timeout)


_VERSION = re.compile(r"nginx/(\d+)\.(\d+)\.(\d+)")


async def nginx_version(
    binary: str, timeout: float = COMMAND_TIMEOUT
) -> tuple[int, int, int] | None:
    """The version ``nginx -v`` reports, or ``None``."""
    result = await run_command([binary, "-v"], timeout)
    match = _VERSION.search(result.output)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


# -- the check ------------------------------------------------------------------------------


def _version_finding(version: tuple[int, int, int] | None, binary: str) -> Finding:
    if version is None:
        return warn(
            "nginx.version",
            "Could not tell the nginx version",
            f"'{binary} -v' did not print a version.",
            f"Run '{binary} -v' by hand; if it fails, reinstall nginx.",
        )
    text = ".".join(map(str, version))
    if version < OLDEST_RECOMMENDED:
        return warn(
            "nginx.version",
            f"nginx {text} is very old",
            f"nginx {text} is older than "
            f"{'.'.join(map(str, OLDEST_RECOMMENDED))}: it is out of support and may lack "
            "parts of the TLS policy (TLS 1.3, modern ciphers).",
            "Upgrade nginx from your distribution or from nginx.org's packages.",
        )
    return ok("nginx.version", f"nginx {text}")


def _layout_findings(answers: Answers, ctx: CheckContext) -> tuple[list[Finding], Layout | None]:
    try:
        layout = detect_layout(ctx.nginx_root, answers.output.nginx_conf)
    except LayoutError as exc:
        return [
            fail(
                "nginx.layout",
                "No place nginx would load the server block from",
                exc.message,
                exc.remedy,
            )
        ], None
    style = {"debian": "Debian layout", "conf.d": "conf.d layout", "custom": "Custom file"}[
        layout.style
    ]
    return [ok("nginx.layout", f"{style}: {layout.server_block}", layout.describe())], layout


def _conflict_findings(answers: Answers, ctx: CheckContext, layout: Layout) -> list[Finding]:
    bastion = answers.bastion
    if hostname_syntax_error(bastion.hostname) is not None:
        # hostname.* already failed; comparing an invalid name would only mislead.
        return [
            skip("nginx.conflict", "Server-name conflicts not checked: the host name is invalid")
        ]
    conflicts = find_conflicting_server_blocks(
        ctx.nginx_root, bastion.hostname, bastion.listen_port, layout.server_block
    )
    if conflicts:
        return [
            fail(
                "nginx.conflict",
                f"Another server block already claims {bastion.hostname} on port "
                f"{bastion.listen_port}",
                "; ".join(conflicts)
                + ". nginx would warn 'conflicting server name' and serve only the first "
                "block it read.",
                "Remove or disable that server block (on Debian, delete its link in "
                "sites-enabled), or change its server_name, then run again.",
            )
        ]
    return [
        ok(
            "nginx.conflict",
            f"No other server block claims {bastion.hostname} on port {bastion.listen_port}",
        )
    ]


async def check_nginx(answers: Answers, ctx: CheckContext) -> list[Finding]:
    """Check nginx on this host for the answers (``nginx.*`` findings).

    Args:
        answers: What the admin chose (hostname, listen port, output file).
        ctx: ``nginx_root`` and ``nginx_binary`` say which nginx.

    Returns:
        ``nginx.ok`` or ``nginx.missing``, ``nginx.version``, ``nginx.config_test``,
        ``nginx.layout`` and ``nginx.conflict``.
    """
    if not answers.exposes_bastion:
        return [skip("nginx.skipped", "No nginx needed: this mode exposes nothing")]
    findings: list[Finding] = []
    binary = find_binary(ctx.nginx_binary)
    test: CommandResult | None = None
    if binary is None:
        findings.append(
            fail(
                "nginx.missing",
                "nginx is not installed",
                f"No executable '{ctx.nginx_binary}' was found on PATH or in /usr/sbin.",
                _INSTALL_REMEDY,
            )
        )
    else:
        version, test = await asyncio.gather(
            nginx_version(binary, COMMAND_TIMEOUT),
            config_test(binary, ctx.nginx_root, COMMAND_TIMEOUT)
            if (ctx.nginx_root / "nginx.conf").is_file()
            else _no_test(),
        )
        findings.append(ok("nginx.ok", f"nginx found: {binary}"))
        findings.append(_version_finding(version, binary))
    layout_findings, layout = await asyncio.to_thread(_layout_findings, answers, ctx)
    findings += layout_findings
    if binary is not None and test is not None:
        argv = " ".join(nginx_argv(binary, ctx.nginx_root, "-t"))
        if test.ok:
            findings.append(ok("nginx.config_test", "nginx -t passes on the current configuration"))
        else:
            findings.append(
                fail(
                    "nginx.config_test",
                    "nginx -t fails on the configuration as it is now",
                    f"{argv}: {config_test_message(test.output)}",
                    "Fix the file and line nginx names above (the wizard has not written "
                    "anything yet), then run again: nginx cannot reload while its "
                    "configuration fails.",
                )
            )
    if layout is not None:
        findings += await asyncio.to_thread(_conflict_findings, answers, ctx, layout)
    return findings


async def _no_test() -> CommandResult | None:
    return None
