"""Is a master running for a tree, and starting one the host's way, with the real nginx.

A tree under a temporary directory (its own ``nginx.conf``, pid file, logs and
temp paths; a loopback port): no master at first, then the start command
:func:`wizard.nginx.master.start_argv` chooses, run for real, daemonises a
master that :func:`wizard.nginx.master.master_state` sees through ``/proc``;
a held port makes the start fail with nginx's own message. Whether systemd
manages nginx is decided from ``systemctl show`` through an injected runner
(this machine has no systemd as PID 1), and said so below.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.nginx_harness import free_port, require_nginx
from wizard.nginx import CommandResult, run_command
from wizard.nginx.master import (
    CompiledPaths,
    find_master,
    master_state,
    parse_compiled_paths,
    pid_file,
    runtime_prefix,
    start_argv,
    systemd_manages_nginx,
    wait_for_master,
)

pytestmark = pytest.mark.nginx


def write_tree(root: Path, port: int, pid: str = "run/nginx.pid") -> Path:
    """A minimal tree like a distribution's: ``pid``, logs and temp paths inside ``root``."""
    for sub in ("run", "logs", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    pid_line = f"pid {pid};\n" if pid else ""
    (root / "nginx.conf").write_text(
        "worker_processes 1;\n"
        + pid_line
        + "error_log logs/error.log;\n"
        + "events { worker_connections 16; }\n"
        + "http {\n"
        + "    access_log off;\n"
        + "".join(
            f"    {kind}_temp_path tmp/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f'    server {{ listen 127.0.0.1:{port}; return 200 "up\\n"; }}\n'
        + "}\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, int, str]]:
    """A tree, its port and the nginx binary; any master started in it is stopped after."""
    binary = require_nginx()
    port = free_port()
    root = write_tree(tmp_path / "nginx", port)
    yield root, port, binary
    state = master_state(root / "run" / "nginx.pid")
    if state.running and state.pid is not None:  # only the master this test started
        os.kill(state.pid, signal.SIGTERM)


async def test_no_master_then_started_the_hosts_way_then_seen(
    tree: tuple[Path, int, str],
) -> None:
    root, port, binary = tree
    before = await find_master(binary, root)
    assert not before.running
    assert before.pid_file == root / "run" / "nginx.pid"
    assert "does not exist" in before.detail

    argv = await start_argv(binary, root)
    assert argv == [binary, "-c", str(root / "nginx.conf"), "-p", f"{root}/"]
    started = await asyncio.wait_for(run_command(argv, 10.0), 15.0)  # daemonises, returns
    assert started.ok, started.output

    state = await wait_for_master(before.pid_file)
    assert state.running, state.detail
    assert state.pid is not None
    # nginx writes its pid file before it retitles itself, so the title may lag a moment.
    for _ in range(50):
        if "nginx: master process" in state.detail:
            break
        await asyncio.sleep(0.02)
        state = master_state(before.pid_file)
    assert "nginx: master process" in state.detail
    with socket.create_connection(("127.0.0.1", port), 2.0) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert conn.recv(1024).startswith(b"HTTP/1.1 200")

    os.kill(state.pid, signal.SIGTERM)
    for _ in range(100):
        if not master_state(before.pid_file).running:
            break
        await asyncio.sleep(0.05)
    assert not master_state(before.pid_file).running


async def test_a_held_port_makes_the_start_fail_with_nginx_words(
    tree: tuple[Path, int, str],
) -> None:
    root, port, binary = tree
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        result = await run_command(await start_argv(binary, root), 10.0)
    assert not result.ok
    assert f"bind() to 127.0.0.1:{port} failed (98: Address" in result.output
    assert not master_state(root / "run" / "nginx.pid").running


def test_an_empty_or_stale_pid_file_is_no_master(tmp_path: Path) -> None:
    pid = tmp_path / "nginx.pid"
    pid.write_text("", encoding="ascii")  # what the failed reload complained about
    assert "holds no pid" in master_state(pid).detail
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its pid names no process now
    pid.write_text(f"{child.pid}\n", encoding="ascii")
    state = master_state(pid)
    assert not state.running
    assert state.pid == child.pid
    pid.write_text(f"{os.getpid()}\n", encoding="ascii")  # a live process, not nginx
    state = master_state(pid)
    assert not state.running
    assert "another program" in state.detail


def test_the_pid_file_comes_from_the_config_else_the_compiled_path(tmp_path: Path) -> None:
    rhel = CompiledPaths(prefix="/usr/share/nginx", pid_path="/run/nginx.pid")
    root = write_tree(tmp_path / "a", 1, pid="/run/elsewhere.pid")
    assert pid_file(root, rhel) == Path("/run/elsewhere.pid")
    root = write_tree(tmp_path / "b", 1, pid="")
    assert pid_file(root, rhel) == Path("/run/nginx.pid")
    relative = CompiledPaths(prefix="/usr/local/nginx", pid_path="logs/nginx.pid")
    assert pid_file(root, relative) == root / "logs/nginx.pid"  # -p <root>/ for other trees
    assert runtime_prefix(Path("/etc/nginx"), relative) == Path("/usr/local/nginx")


def test_compiled_paths_from_nginx_v() -> None:
    # `nginx -V` of RHEL 9's nginx package (excerpt of its configure arguments).
    rhel = (
        "nginx version: nginx/1.20.1\nbuilt with OpenSSL 3.0.1 14 Dec 2021\n"
        "configure arguments: --prefix=/usr/share/nginx --sbin-path=/usr/sbin/nginx "
        "--conf-path=/etc/nginx/nginx.conf --error-log-path=/var/log/nginx/error.log "
        "--pid-path=/run/nginx.pid --user=nginx --group=nginx"
    )
    assert parse_compiled_paths(rhel) == CompiledPaths("/usr/share/nginx", "/run/nginx.pid")
    assert parse_compiled_paths("") == CompiledPaths("/usr/local/nginx", "logs/nginx.pid")
    real = subprocess.run(
        [require_nginx(), "-V"], capture_output=True, text=True, timeout=10, check=False
    ).stderr
    assert parse_compiled_paths(real).pid_path.endswith("nginx.pid")


class SystemctlShow:
    """Replays ``systemctl show --property=LoadState --value nginx``.

    This machine has no systemd as PID 1, so the unit's answer is recorded:
    ``loaded`` where the nginx package installed its unit, ``not-found`` where not.
    """

    def __init__(self, load_state: str) -> None:
        self.load_state = load_state
        self.calls: list[list[str]] = []

    async def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        self.calls.append(list(argv))
        return CommandResult(0, self.load_state)


async def test_systemd_starts_the_system_tree_only_when_it_has_the_unit(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-systemd-system"
    run_dir.mkdir()
    loaded = SystemctlShow("loaded")
    system = Path("/etc/nginx")
    assert await start_argv("nginx", system, loaded, run_dir) == [
        "systemctl",
        "enable",
        "--now",
        "nginx",
    ]
    assert loaded.calls == [["systemctl", "show", "--property=LoadState", "--value", "nginx"]]
    assert await start_argv("nginx", system, SystemctlShow("not-found"), run_dir) == [
        "nginx",
        "-c",
        "/etc/nginx/nginx.conf",
    ]
    # Not booted with systemd, or a tree that is not /etc/nginx: never the unit.
    assert not await systemd_manages_nginx(system, loaded, tmp_path / "absent")
    other = SystemctlShow("loaded")
    assert not await systemd_manages_nginx(tmp_path, other, run_dir)
    assert other.calls == []
