"""The ``server`` blocks of a tree: which claim a name and port, and where they log.

Names are compared as nginx compares them: lower case, without the final dot,
IDN names in punycode (:func:`wizard.hostnames.to_ascii_lenient`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.constants import SERVER_CONF_NAME
from wizard.hostnames import to_ascii_lenient
from wizard.nginx.config import ConfigError, Directive, Tree, read_tree


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


def server_claims(server: Directive, hostname: str, port: int) -> bool:
    """Whether the ``server`` block names ``hostname`` (IDN as punycode) and listens on ``port``."""
    return to_ascii_lenient(hostname) in _server_names(server) and port in _server_ports(server)


def serving_block(tree: Tree, hostname: str, port: int) -> Directive | None:
    """The server block nginx serves ``hostname:port`` with: the first that claims both."""
    return next((s for s in tree.servers if server_claims(s, hostname, port)), None)


@dataclass(frozen=True)
class ServerLimits:
    """The per-client limits one server block applies (``limit_req``, ``limit_conn``).

    Attributes:
        where: ``file:line`` of the server block.
        requests: Each ``limit_req`` in the block or its locations, as
            ``zone=NAME rate=RATE burst=N`` (the rate from its ``limit_req_zone``).
        connections: Each ``limit_conn``, as ``zone=NAME N``.
    """

    where: str
    requests: tuple[str, ...]
    connections: tuple[str, ...]

    @property
    def any(self) -> bool:
        """Whether any limit applies."""
        return bool(self.requests or self.connections)


def _nested(directives: Sequence[Directive]) -> Iterator[Directive]:
    for directive in directives:
        yield directive
        yield from _nested(directive.block or ())


def server_limits(tree: Tree, server: Directive) -> ServerLimits:
    """The ``limit_req`` and ``limit_conn`` of ``server`` and its locations, with their rates."""
    rates: dict[str, str] = {}
    for declared in (d for d in tree.http_directives if d.name == "limit_req_zone"):
        named = dict(a.split("=", 1) for a in declared.args if "=" in a)
        rates[named.get("zone", "").split(":", 1)[0]] = named.get("rate", "?")
    requests: list[str] = []
    connections: list[str] = []
    for directive in _nested(server.block or ()):
        if directive.name == "limit_req":
            named = dict(a.split("=", 1) for a in directive.args if "=" in a)
            zone = named.get("zone", "?")
            burst = named.get("burst", "0")
            text = f"zone={zone} rate={rates.get(zone, '?')} burst={burst}"
            requests += [] if text in requests else [text]
        elif directive.name == "limit_conn" and len(directive.args) == 2:
            text = f"zone={directive.args[0]} {directive.args[1]}"
            connections += [] if text in connections else [text]
    return ServerLimits(f"{server.file}:{server.line}", tuple(requests), tuple(connections))


def server_error_log(
    nginx_root: Path, hostname: str, port: int, tree: Tree | None = None
) -> tuple[Path | None, str]:
    """The error log nginx writes for requests to ``hostname:port``.

    The first server block that claims the name and port (the one nginx
    serves) decides; without an ``error_log`` of its own, the ``http`` block's,
    then the main one, of ``nginx.conf`` apply. A relative path is taken from
    ``nginx_root``.

    Args:
        nginx_root: The nginx configuration directory.
        hostname: The bastion's name.
        port: The listen port.
        tree: The configuration already read; read from the files when ``None``.

    Returns:
        The file, or ``None`` and a sentence saying why there is none to read
        (no such server block, or a log that is not a file: ``stderr``, ``syslog:``).
    """
    root = Path(nginx_root)
    if tree is None:
        try:
            tree = read_tree(root)
        except ConfigError as exc:
            return None, exc.message
    server = serving_block(tree, hostname, port)
    if server is None:
        return None, (
            f"no server block in {root / 'nginx.conf'} claims {to_ascii_lenient(hostname)} "
            f"on port {port}"
        )
    http = next((d.block for d in tree.main if d.name == "http" and d.block is not None), [])
    for scope in (server.block or [], http, tree.main):
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
    nginx_root: Path,
    hostname: str,
    port: int,
    own_file: Path | None = None,
    tree: Tree | None = None,
) -> list[str]:
    """Other enabled server blocks that claim ``hostname`` on ``port``.

    Args:
        nginx_root: The nginx configuration directory.
        hostname: The bastion's name (IDN names compared in punycode).
        port: The listen port.
        own_file: The generated file (and, through symlinks, its link), ignored.
        tree: The configuration already read (e.g. from ``nginx -T``); read
            from the files when ``None``.

    Returns:
        One line per conflict: ``file:line`` of the ``server`` block and what it
        claims. Empty when there is none, or when ``nginx.conf`` is unreadable.
    """
    if tree is None:
        try:
            tree = read_tree(Path(nginx_root))
        except ConfigError:
            return []
    own = os.path.realpath(own_file) if own_file is not None else None
    wanted = to_ascii_lenient(hostname)
    conflicts: list[str] = []
    for server in tree.servers:
        if own is not None and os.path.realpath(server.file) == own:
            continue
        if server.file.name == SERVER_CONF_NAME and own is None:
            continue
        if server_claims(server, hostname, port):
            conflicts.append(
                f"{server.file}:{server.line}: a server block with server_name {wanted} "
                f"listening on port {port}"
            )
    return conflicts
