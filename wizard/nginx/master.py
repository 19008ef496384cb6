"""Is an nginx master running for a tree, and how would this host start one?

``dnf install nginx`` (RHEL, Rocky, Alma, Amazon Linux) leaves nginx neither
started nor enabled, so the first ``apply`` on such a host finds no master to
reload (``nginx -s reload`` then fails with ``invalid PID number "" in
"/run/nginx.pid"``). These are the building blocks the install pipeline uses
to start nginx instead, the way the host does (certbot's nginx installer does
the same when a reload fails because nothing runs):

- :func:`pid_file` — the pid file the tree's nginx writes: the main-context
  ``pid`` directive of ``nginx.conf``, else the compiled ``--pid-path``, a
  relative path taken from the prefix nginx runs with;
- :func:`master_state` — whether that file names a live nginx master
  (``/proc/<pid>`` exists and is an nginx process, so a stale file whose pid
  was reused by something else does not count);
- :func:`start_argv` — ``systemctl enable --now nginx`` where systemd manages
  the nginx of ``/etc/nginx``, else ``nginx -c <root>/nginx.conf [-p <root>/]``
  (nginx daemonises itself and the command returns at once);
- :func:`wait_for_master` — after the start command, until the master has
  written its pid and lives.

Nothing here changes a file; only :func:`start_argv` runs a command
(``systemctl show``, through an injected runner).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.constants import SYSTEM_NGINX_ROOT
from wizard.nginx.command import CommandResult, nginx_argv, run_command
from wizard.nginx.config import MAX_FILE_BYTES, parse_config
from wizard.reading import read_head

SYSTEMD_RUN_DIR = Path("/run/systemd/system")
"""Exists when systemd is the init system (sd_booted(3))."""
PROC = Path("/proc")
START_WAIT = 5.0
"""Seconds to wait for a started master to write its pid file."""

CommandRunner = Callable[[Sequence[str], float], Awaitable[CommandResult]]

_COMPILED = re.compile(r"--(prefix|pid-path)=(\S+)")


@dataclass(frozen=True)
class CompiledPaths:
    """Paths built into the nginx binary (from ``nginx -V``).

    Attributes:
        prefix: ``--prefix`` (relative paths in the configuration start there).
        pid_path: ``--pid-path``, possibly relative to the prefix.
    """

    prefix: str = "/usr/local/nginx"  # nginx's own default when built without --prefix
    pid_path: str = "logs/nginx.pid"


def parse_compiled_paths(nginx_v_output: str) -> CompiledPaths:
    """``--prefix`` and ``--pid-path`` from ``nginx -V`` output (defaults when absent)."""
    found = dict(_COMPILED.findall(nginx_v_output))
    default = CompiledPaths()
    return CompiledPaths(
        found.get("prefix", default.prefix), found.get("pid-path", default.pid_path)
    )


async def compiled_paths(binary: str, timeout: float = 10.0) -> CompiledPaths:
    """Ask ``binary -V`` for its compiled paths."""
    return parse_compiled_paths((await run_command([binary, "-V"], timeout)).output)


def runtime_prefix(root: Path, compiled: CompiledPaths) -> Path:
    """The prefix nginx runs with for ``root``.

    The system tree runs with the compiled prefix; any other tree is started
    with ``-p <root>/`` (:func:`wizard.nginx.command.nginx_argv`).
    """
    if os.path.realpath(root) == str(SYSTEM_NGINX_ROOT):
        return Path(compiled.prefix)
    return Path(root)


def pid_file(root: Path, compiled: CompiledPaths) -> Path:
    """The pid file the nginx of tree ``root`` writes.

    The ``pid`` directive in the main context of ``<root>/nginx.conf`` wins
    (the last one, as nginx takes it); else the compiled ``--pid-path``.
    """
    config = Path(root) / "nginx.conf"
    try:
        text = read_head(config, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        text = ""
    pids = [d for d in parse_config(text, config) if d.name == "pid" and d.block is None and d.args]
    path = pids[-1].args[0] if pids else compiled.pid_path
    return Path(path) if os.path.isabs(path) else runtime_prefix(root, compiled) / path


@dataclass(frozen=True)
class MasterState:
    """Whether a master runs, and the evidence.

    Attributes:
        running: A live nginx master owns the pid file.
        pid: The pid the file holds (``None`` when missing or not a number).
        pid_file: The file read.
        detail: One sentence for people: what was found.
    """

    running: bool
    pid: int | None
    pid_file: Path
    detail: str


def master_state(pid_path: Path, proc: Path = PROC) -> MasterState:
    """Read ``pid_path`` and check ``/proc`` for a live nginx with that pid."""
    try:
        text = pid_path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return MasterState(
            False, None, pid_path, f"{pid_path} does not exist: nginx is not running"
        )
    except OSError as exc:
        return MasterState(False, None, pid_path, f"cannot read {pid_path}: {exc.strerror or exc}")
    if not text.isdigit() or int(text) <= 0:
        return MasterState(
            False, None, pid_path, f"{pid_path} holds no pid ({text!r}): nginx is not running"
        )
    pid = int(text)
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
        comm = (proc / str(pid) / "comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return MasterState(
            False, pid, pid_path, f"{pid_path} names pid {pid}, which is not running (stale file)"
        )
    command = cmdline.replace(b"\x00", b" ").decode("utf-8", errors="replace").strip()
    # nginx names its master "nginx: master process ..."; the executable name
    # (comm) is nginx's too. A pid reused by another program has neither.
    if not (command.startswith("nginx: master process") or comm.startswith("nginx")):
        return MasterState(
            False,
            pid,
            pid_path,
            f"{pid_path} names pid {pid}, which is now another program ({comm!r})",
        )
    return MasterState(True, pid, pid_path, f"nginx master {pid} runs ({command[:80]})")


async def find_master(
    binary: str, root: Path, compiled: CompiledPaths | None = None, proc: Path = PROC
) -> MasterState:
    """The master state of tree ``root``: :func:`pid_file`, then :func:`master_state`."""
    paths = compiled if compiled is not None else await compiled_paths(binary)
    return await asyncio.to_thread(master_state, pid_file(root, paths), proc)


def _system_tree_under_systemd(root: Path, run_dir: Path) -> bool:
    # systemd's nginx unit runs /etc/nginx; a tree elsewhere (a copy, a demo,
    # a test) is always started through its own nginx -c/-p, never the unit.
    return os.path.realpath(root) == str(SYSTEM_NGINX_ROOT) and run_dir.is_dir()


async def systemd_manages_nginx(
    root: Path,
    run: CommandRunner = run_command,
    run_dir: Path = SYSTEMD_RUN_DIR,
    timeout: float = 10.0,
) -> bool:
    """Whether systemd runs the nginx of ``root``: only ``/etc/nginx``, with an nginx unit."""
    if not await asyncio.to_thread(_system_tree_under_systemd, root, run_dir):
        return False
    result = await run(["systemctl", "show", "--property=LoadState", "--value", "nginx"], timeout)
    return result.ok and result.output.strip() == "loaded"


async def start_argv(
    binary: str,
    root: Path,
    run: CommandRunner = run_command,
    run_dir: Path = SYSTEMD_RUN_DIR,
) -> list[str]:
    """The command that starts nginx for ``root`` the way this host does.

    ``systemctl enable --now nginx`` where systemd manages nginx for
    ``/etc/nginx`` (started now and at boot, as the package expects); else
    the binary itself on the tree, which daemonises and returns.
    """
    if await systemd_manages_nginx(root, run, run_dir):
        return ["systemctl", "enable", "--now", "nginx"]
    return nginx_argv(binary, root)


async def wait_for_master(
    pid_path: Path, timeout: float = START_WAIT, proc: Path = PROC
) -> MasterState:
    """Poll until a live master owns ``pid_path``, or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        state = await asyncio.to_thread(master_state, pid_path, proc)
        if state.running or time.monotonic() >= deadline:
            return state
        await asyncio.sleep(0.05)
