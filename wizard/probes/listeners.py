"""Who listens on a TCP port of this host? (for the ACME HTTP-01 pre-check)

certbot's ``--standalone`` needs the HTTP-01 port free; its ``--webroot``
needs a web server that already serves it. The kernel's socket tables
(``/proc/net/tcp`` and ``tcp6``) say which sockets listen on the port, and the
``/proc/<pid>/fd`` links say which processes hold them (root sees them all).
A bind attempt on the wildcard address settles "free" where ``/proc`` is not
readable. Returns data only; :mod:`wizard.checks.acme` judges it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column
_MAX_PIDS = 100_000  # a bound on the /proc walk


@dataclass(frozen=True)
class PortListeners:
    """What holds a TCP port in the listening state.

    Attributes:
        port: The port asked about.
        listening: Some socket listens on it (any address, IPv4 or IPv6).
        pids: The processes holding those sockets (empty when not visible).
        programs: Their executable names (``/proc/<pid>/comm``), in ``pids`` order.
    """

    port: int
    listening: bool
    pids: tuple[int, ...] = ()
    programs: tuple[str, ...] = ()

    def describe(self) -> str:
        """``"nginx (pid 12, 13)"``: the holders for people, or ``"an unknown program"``."""
        if not self.pids:
            return "an unknown program"
        names: dict[str, list[int]] = {}
        for index, pid in enumerate(self.pids):
            names.setdefault(self.programs[index] or "?", []).append(pid)
        return ", ".join(
            f"{name} (pid {', '.join(map(str, pids))})" for name, pids in sorted(names.items())
        )


def _listening_inodes(port: int, proc: Path) -> set[str] | None:
    """Inodes of the sockets listening on ``port``; ``None`` when the tables are unreadable."""
    inodes: set[str] = set()
    readable = False
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        readable = True
        for line in lines.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            _address, _sep, hex_port = fields[1].rpartition(":")
            with contextlib.suppress(ValueError):
                if int(hex_port, 16) == port:
                    inodes.add(fields[9])
    return inodes if readable else None


def _holders(inodes: set[str], proc: Path) -> list[tuple[int, str]]:
    """The processes that hold one of the socket ``inodes``, with their names."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    found: list[tuple[int, str]] = []
    try:
        entries = [e for e in os.listdir(proc) if e.isdigit()][:_MAX_PIDS]
    except OSError:
        return found
    for entry in sorted(entries, key=int):
        fd_dir = proc / entry / "fd"
        try:
            links = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to read
        for fd in links:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target in wanted:
                try:
                    comm = (proc / entry / "comm").read_text(errors="replace").strip()
                except OSError:
                    comm = ""
                found.append((int(entry), comm))
                break
    return found


def _bind_refused(port: int) -> bool:
    """Whether binding the wildcard address on ``port`` fails because it is in use."""
    for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):  # noqa: S104
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            continue  # no IPv6 here, or no right to bind a low port: not "in use"
    return False


def port_listeners(port: int, proc: Path = PROC) -> PortListeners:
    """Which processes listen on TCP ``port`` (any address), read from ``proc``.

    Args:
        port: The TCP port.
        proc: The proc file system (tests give a planted copy).
    """
    inodes = _listening_inodes(port, proc)
    if inodes is None:
        return PortListeners(port, _bind_refused(port))
    if not inodes:
        return PortListeners(port, False)
    holders = _holders(inodes, proc)
    return PortListeners(
        port, True, tuple(pid for pid, _ in holders), tuple(name for _, name in holders)
    )
