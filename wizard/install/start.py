"""Start nginx when no master runs for the tree, the way the host does, and undo that start.

``dnf install nginx`` (RHEL, Rocky, Alma, Amazon Linux) leaves nginx neither
started nor enabled, so the first ``apply`` on such a host has no master to
reload. certbot's nginx installer starts nginx then; so does this one:

- :func:`plan_start` says, before anything is written, whether nginx must be
  started and with which command (the plan and the confirmation show it);
- the command is ``systemctl enable --now nginx`` where systemd manages this
  tree's nginx: systemd is the init system (``/run/systemd/system`` exists,
  sd_booted(3)), ``systemctl show nginx`` finds a loaded ``nginx.service``, and
  the configuration its ``ExecStart`` runs (``-c PATH``, else the binary's
  compiled ``--conf-path``) is this tree's ``nginx.conf``; anywhere else it is
  ``nginx -c <root>/nginx.conf [-p <root>/]``, which daemonises and returns;
- :func:`stop_started` undoes a start that failed its proof, or that a killed
  run left behind: ``systemctl stop nginx`` (and ``systemctl disable nginx``
  when the unit was not enabled before), else SIGTERM to the master whose pid
  file and ``/proc`` entry prove it is this tree's nginx. Nothing read from a
  journal is ever executed: only these fixed commands run.

The start itself and its proof (the same proof as a reload's,
:func:`wizard.install.reload.prove_reload`) are run by
:meth:`wizard.install.Installer.apply`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.nginx.command import COMMAND_TIMEOUT, config_test_message, nginx_argv, run_command
from wizard.nginx.master import (
    PROC,
    SYSTEMD_RUN_DIR,
    CommandRunner,
    master_state,
    parse_compiled_paths,
    pid_file,
)

Manager = Literal["systemd", "nginx", "command"]
"""Who starts nginx: its systemd unit, the nginx binary itself, or a command the caller gave."""

SYSTEMD_START = ("systemctl", "enable", "--now", "nginx")
STOP_WAIT = 10.0
"""Seconds to wait for a master to exit after it was told to stop."""
_UNIT_UP = ("active", "activating", "reloading", "deactivating")
_CONF_PATH = re.compile(r"--conf-path=(\S+)")
_EXEC_ARGV = re.compile(r"argv\[\]=(.*?) ; ")


@dataclass(frozen=True)
class StartPlan:
    """No nginx master runs for the tree: how it will be started.

    Attributes:
        argv: The start command.
        manager: ``systemd`` (the unit), ``nginx`` (the binary) or ``command`` (injected).
        why: What was found: the pid file and why it names no running master.
        pid_file: The pid file the started master writes.
        enabled_before: For ``systemd``: whether the unit was enabled at boot
            before (so undoing the start disables it again only when it was not).
    """

    argv: tuple[str, ...]
    manager: Manager
    why: str
    pid_file: Path
    enabled_before: bool = True

    @property
    def command(self) -> str:
        """The start command, as one would type it."""
        return " ".join(self.argv)

    def describe(self) -> str:
        """The line the plan and the confirmation show."""
        return f"nginx is not running: it will be started ({self.command})"


def parse_systemctl_show(output: str) -> dict[str, str]:
    """``systemctl show UNIT`` output (``Key=value`` lines) as a dict; the first of a key wins."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in found:
            found[key.strip()] = value.strip()
    return found


def unit_argv(exec_start: str) -> list[str]:
    """The command line of an ``ExecStart=`` property (``{ path=... ; argv[]=... ; ... }``).

    systemctl prints the arguments joined by spaces, unquoted; nginx's ``-c``
    path is one word in every packaged unit (RHEL's ``/usr/sbin/nginx``,
    Debian's ``/usr/sbin/nginx -g daemon on; master_process on;``).
    """
    match = _EXEC_ARGV.search(exec_start + " ; ")
    return match.group(1).split() if match else []


def unit_config_path(argv: Sequence[str], compiled_conf: str) -> str:
    """The configuration a unit's nginx command line loads: ``-c PATH``, else the compiled one."""
    words = list(argv)
    for index, word in enumerate(words):
        if word == "-c" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("-c") and len(word) > 2:
            return word[2:]
    return compiled_conf


def compiled_conf_path(nginx_v_output: str) -> str:
    """``--conf-path`` of ``nginx -V`` output (nginx's default ``<prefix>/conf/nginx.conf``)."""
    match = _CONF_PATH.search(nginx_v_output)
    if match:
        return match.group(1)
    return str(Path(parse_compiled_paths(nginx_v_output).prefix) / "conf" / "nginx.conf")


def _same_file(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


async def systemd_unit_for(
    root: Path,
    run: CommandRunner = run_command,
    run_dir: Path = SYSTEMD_RUN_DIR,
    timeout: float = COMMAND_TIMEOUT,
) -> dict[str, str] | None:
    """``systemctl show nginx`` when systemd manages the nginx of ``root``, else ``None``.

    Managed means: systemd is the init system, the ``nginx`` unit is loaded,
    and the configuration its ``ExecStart`` loads is ``<root>/nginx.conf``
    (a tree elsewhere, a copy or a test, is never the unit's).
    """
    if not await asyncio.to_thread(run_dir.is_dir):
        return None
    show = await run(["systemctl", "show", "nginx"], timeout)
    if not show.ok:
        return None
    unit = parse_systemctl_show(show.output)
    if unit.get("LoadState") != "loaded":
        return None
    argv = unit_argv(unit.get("ExecStart", ""))
    if not argv:
        return None
    version = await run([argv[0], "-V"], timeout)
    config = unit_config_path(argv, compiled_conf_path(version.output))
    return unit if _same_file(config, Path(root) / "nginx.conf") else None


async def plan_start(
    binary: str,
    root: Path,
    *,
    systemd: bool | None = None,
    start_command: Sequence[str] | None = None,
    run: CommandRunner = run_command,
    run_dir: Path = SYSTEMD_RUN_DIR,
    timeout: float = COMMAND_TIMEOUT,
    proc: Path = PROC,
) -> StartPlan | None:
    """How nginx will be started for ``root``; ``None`` when a master runs already.

    Args:
        binary: The nginx executable.
        root: The nginx tree (``nginx.conf`` inside).
        systemd: ``True``/``False`` decide the route; ``None`` asks systemd
            (:func:`systemd_unit_for`).
        start_command: A start command to use instead (the demo's own nginx).
        run: Runs ``nginx -V`` and ``systemctl show`` (tests inject recorded outputs).
        run_dir: ``/run/systemd/system``.
        timeout: Bound on each command.
        proc: ``/proc``.
    """
    version = await run([binary, "-V"], timeout)
    pids = pid_file(root, parse_compiled_paths(version.output))
    state = await asyncio.to_thread(master_state, pids, proc)
    if state.running:
        return None
    if start_command is not None:
        return StartPlan(tuple(start_command), "command", state.detail, pids)
    unit: dict[str, str] | None = None
    if systemd is None:
        unit = await systemd_unit_for(root, run, run_dir, timeout)
    elif systemd:
        show = await run(["systemctl", "show", "nginx"], timeout)
        unit = parse_systemctl_show(show.output) if show.ok else {}
    if unit is not None and unit.get("ActiveState") in _UNIT_UP:
        # systemd says its nginx runs though no pid file names a master (a unit with
        # another PIDFile, say): never start, and so never stop, what systemd runs.
        return None
    if unit is not None:
        # "enabled" (or "enabled-runtime", "static", ...) stays as it was; only a
        # unit this run enabled is disabled again when the start is undone.
        enabled = unit.get("UnitFileState", "") != "disabled"
        return StartPlan(SYSTEMD_START, "systemd", state.detail, pids, enabled)
    return StartPlan(tuple(nginx_argv(binary, root)), "nginx", state.detail, pids)


def process_start_time(pid: int, proc: Path = PROC) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from ``/proc``; ``None`` if gone."""
    try:
        stat_line = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
        ticks = int(stat_line.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        boot = next(
            int(line.split()[1])
            for line in (proc / "stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


async def _wait_gone(pid: int, pids: Path, proc: Path, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        state = await asyncio.to_thread(master_state, pids, proc)
        if not (state.running and state.pid == pid) and not (proc / str(pid)).exists():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)


async def stop_started(
    start: StartPlan,
    *,
    run: CommandRunner = run_command,
    timeout: float = COMMAND_TIMEOUT,
    proc: Path = PROC,
    wait: float = STOP_WAIT,
) -> str:
    """Stop the master a start left running (and disable a unit that was not enabled).

    Returns:
        One sentence for people: what was stopped, or why it could not be
        (``""`` when no master was left running).
    """
    if start.manager == "systemd":
        commands = [["systemctl", "stop", "nginx"]]
        if not start.enabled_before:
            commands.append(["systemctl", "disable", "nginx"])
        problems = []
        for argv in commands:
            result = await run(argv, timeout)
            if not result.ok:
                message = config_test_message(result.output) or f"exit {result.returncode}"
                problems.append(f"{' '.join(argv)} failed: {message}")
        done = " and ".join(" ".join(argv) for argv in commands)
        if problems:
            return "; ".join(problems) + ". Stop nginx by hand (systemctl stop nginx)."
        return f"The nginx this run had started was stopped again ({done})."
    state = await asyncio.to_thread(master_state, start.pid_file, proc)
    if not state.running or state.pid is None:
        return ""
    pid = state.pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # fast shutdown: this master never served the old files
    if await _wait_gone(pid, start.pid_file, proc, wait):
        return f"The nginx master {pid} this run had started was stopped again."
    return (
        f"The nginx master {pid} this run had started did not stop within {wait:g} s: stop it "
        f"by hand (kill {pid})."
    )
