"""Reload nginx, then prove it runs the new configuration.

``nginx -s reload`` and ``systemctl reload nginx`` exit 0 as soon as the
signal is sent; a reload that then fails (a port another process holds, say)
leaves the old configuration serving and only says so in the error log. So
after the reload command, :func:`prove_reload` looks for evidence:

1. the error log written since the reload has no ``[emerg]`` line and no bind
   failure (nginx's own words are kept for the message);
2. the master is alive and has started new worker processes (on a successful
   reload nginx replaces every worker; on a failed one it keeps the old);
3. a TLS handshake to the listen socket presents the chosen certificate.

The master, its pid file and workers are found with :mod:`wizard.nginx.master`.
When no master was running before the reload there is nothing to compare
against: the outcome says so instead of claiming success. After a *start*
(:mod:`wizard.install.start`, no master ran before) the same proof applies,
with "a master now owns the pid file and has workers" in place of "new
workers".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from wizard.nginx import parse_config, run_command
from wizard.nginx.config import MAX_FILE_BYTES
from wizard.nginx.master import (
    PROC,
    CompiledPaths,
    master_state,
    parse_compiled_paths,
    pid_file,
    runtime_prefix,
)
from wizard.reading import read_head, read_since

PROOF_WAIT = 5.0
"""Seconds to wait for new workers and the new listener after the reload."""
_ERROR_LOG_PATH = re.compile(r"--error-log-path=(\S+)")
_FAILURE = re.compile(r"\[emerg\]|bind\(\) to .* failed")
_MAX_LOG_READ = 256 * 1024


@dataclass(frozen=True)
class MasterSnapshot:
    """The nginx master of a tree just before the reload.

    Attributes:
        pid: The master's pid (``None``: no master runs).
        workers: Its worker pids.
        pid_file: The pid file read.
        error_log: The main error log (``None`` when logging elsewhere).
        log_offset: The error log's size before the reload.
        detail: What was found, for people.
    """

    pid: int | None
    workers: frozenset[int]
    pid_file: Path
    error_log: Path | None
    log_offset: int
    detail: str


@dataclass(frozen=True)
class ReloadProof:
    """What the evidence after a reload says.

    Attributes:
        ok: The new configuration is proven to run (or could not be checked:
            see ``notes``).
        message: One sentence for people when not ok.
        nginx_output: nginx's own lines (from the error log) when not ok.
        notes: What could not be proven, and why.
    """

    ok: bool
    message: str = ""
    nginx_output: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def worker_pids(master: int, proc: Path = PROC) -> frozenset[int]:
    """The pids whose parent is ``master`` (nginx's workers and cache processes)."""
    found = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir(proc):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat_line = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
                # pid (comm) state ppid ...: comm may hold spaces and parentheses.
                if int(stat_line.rsplit(")", 1)[1].split()[1]) == master:
                    found.add(int(entry.name))
    return frozenset(found)


def error_log_path(root: Path, compiled: CompiledPaths, nginx_v: str) -> Path | None:
    """The main-context ``error_log`` of the tree, else the compiled one."""
    config = Path(root) / "nginx.conf"
    try:
        text = read_head(config, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        text = ""
    logs = [
        d.args[0]
        for d in parse_config(text, config)
        if d.name == "error_log" and d.block is None and d.args
    ]
    if logs:
        path = logs[0]
    else:
        match = _ERROR_LOG_PATH.search(nginx_v)
        path = match.group(1) if match else "logs/error.log"
    if path == "stderr" or path.startswith(("syslog:", "memory:")):
        return None
    return Path(path) if os.path.isabs(path) else runtime_prefix(root, compiled) / path


async def snapshot_master(binary: str, root: Path, proc: Path = PROC) -> MasterSnapshot:
    """The master, its workers and the error log's size, before the reload."""
    version = await run_command([binary, "-V"], 10.0)
    compiled = parse_compiled_paths(version.output)
    pids = pid_file(root, compiled)
    log = error_log_path(root, compiled, version.output)

    def read() -> MasterSnapshot:
        """The /proc and file reads, off the event loop."""
        state = master_state(pids, proc)
        offset = 0
        if log is not None:
            with contextlib.suppress(OSError):
                offset = log.stat().st_size
        pid = state.pid if state.running else None
        workers = worker_pids(pid, proc) if pid is not None else frozenset()
        return MasterSnapshot(pid, workers, pids, log, offset, state.detail)

    return await asyncio.to_thread(read)


def new_log_lines(snapshot: MasterSnapshot) -> list[str]:
    """The error log's lines written since ``snapshot`` (at most the last 256 KiB read)."""
    if snapshot.error_log is None:
        return []
    try:
        data = read_since(snapshot.error_log, snapshot.log_offset, _MAX_LOG_READ)
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()


def failure_lines(snapshot: MasterSnapshot) -> list[str]:
    """The ``[emerg]`` and bind failure lines the error log got since ``snapshot``."""
    return [line for line in new_log_lines(snapshot) if _FAILURE.search(line)]


def _leaf_der(certificate: str) -> bytes | None:
    from wizard.checks.pem import leaf_der  # the one bounded certificate reader

    return leaf_der(certificate)


def presented_certificate(host: str, port: int, server_name: str, timeout: float) -> bytes:
    """The leaf certificate (DER) a TLS handshake to ``host:port`` presents.

    Raises:
        OSError: When the connection or handshake fails.
    """
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Identity is compared byte for byte below; trust is the proxy checks' job.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise OSError("the server presented no certificate")
    return der


@dataclass(frozen=True)
class Listener:
    """Where the new server block listens and what it must present.

    Attributes:
        host: The address to connect to.
        port: The listen port.
        server_name: SNI.
        certificate: The chosen certificate's path.
    """

    host: str
    port: int
    server_name: str
    certificate: str


async def prove_reload(
    before: MasterSnapshot,
    listener: Listener | None,
    *,
    wait: float = PROOF_WAIT,
    proc: Path = PROC,
    started: bool = False,
) -> ReloadProof:
    """Prove the reload (or, with ``started``, the start) took effect (see the module docstring).

    After a start there is no old master to compare with: the evidence is a
    master that owns the pid file and lives, with worker processes, then the
    same error log and TLS handshake evidence as after a reload.

    Args:
        before: :func:`snapshot_master` from just before the reload or start.
        listener: Where to check the certificate (``None``: no TLS check).
        wait: Seconds to wait for the evidence.
        proc: ``/proc``.
        started: nginx was started (no master ran before) rather than reloaded.
    """
    if started:
        return await _prove(before, listener, wait, proc, "start")
    if before.pid is None:
        return ReloadProof(
            True,
            notes=(
                f"No nginx master was running for this tree before the reload ({before.detail}), "
                "so the reload could not be proven; start nginx, then run "
                "'codestream-bastion check --post-install'.",
            ),
        )
    return await _prove(before, listener, wait, proc, "reload")


async def _prove(
    before: MasterSnapshot,
    listener: Listener | None,
    wait: float,
    proc: Path,
    event: str,
) -> ReloadProof:
    """The evidence loop of :func:`prove_reload`, after a ``reload`` or a ``start``."""
    deadline = time.monotonic() + wait
    failed = await _await_workers(before, wait, proc, event, deadline)
    if failed is not None:
        return failed
    if listener is None:
        return ReloadProof(True)
    return await _await_handshake(before, listener, event, deadline)


async def _await_workers(
    before: MasterSnapshot, wait: float, proc: Path, event: str, deadline: float
) -> ReloadProof | None:
    """Wait for new workers of the (same, or started) master; ``None`` once they run."""
    while True:
        failures = failure_lines(before)
        if failures:
            return ReloadProof(
                False,
                "nginx did not take the new configuration (its error log says why)"
                + ("; the old configuration kept serving." if event == "reload" else "."),
                "\n".join(failures[-10:]),
            )
        state = await asyncio.to_thread(master_state, before.pid_file, proc)
        if event == "start":
            # The pid file appears a moment after the start command returns.
            if not state.running or state.pid is None:
                if time.monotonic() >= deadline:
                    return ReloadProof(
                        False,
                        f"No nginx master runs {wait:g} s after the start ({state.detail}).",
                        "\n".join(new_log_lines(before)[-10:]),
                    )
                await asyncio.sleep(0.05)
                continue
            master = state.pid
        elif not state.running or state.pid != before.pid:
            return ReloadProof(
                False,
                f"The nginx master {before.pid} is gone after the reload ({state.detail}).",
                "\n".join(new_log_lines(before)[-10:]),
            )
        else:
            assert state.pid is not None  # running
            master = state.pid
        workers = await asyncio.to_thread(worker_pids, master, proc)
        if workers - before.workers:  # new workers: a start's first, or a reload's new ones
            return None
        if time.monotonic() >= deadline:
            return ReloadProof(
                False,
                f"nginx kept its old worker processes {wait:g} s after the reload: the new "
                "configuration was not taken."
                if event == "reload"
                else f"The nginx master {master} started no worker process within {wait:g} s.",
                "\n".join(new_log_lines(before)[-10:]),
            )
        await asyncio.sleep(0.05)


async def _await_handshake(
    before: MasterSnapshot, listener: Listener, event: str, deadline: float
) -> ReloadProof:
    """Wait until the listen socket presents the chosen certificate."""
    want = await asyncio.to_thread(_leaf_der, listener.certificate)
    if want is None:
        return ReloadProof(
            True, notes=(f"{listener.certificate} could not be read to compare the handshake.",)
        )
    problem = ""
    while True:
        try:
            got = await asyncio.to_thread(
                presented_certificate, listener.host, listener.port, listener.server_name, 2.0
            )
        except OSError as exc:
            problem = f"no TLS handshake on {listener.host}:{listener.port}: {exc}"
        else:
            if got == want:
                return ReloadProof(True)
            problem = (
                f"{listener.host}:{listener.port} presents another certificate than "
                f"{listener.certificate}"
            )
        if time.monotonic() >= deadline:
            lines = [line for line in new_log_lines(before) if "[" in line][-10:]
            return ReloadProof(
                False,
                f"After the {event}, {problem}: nginx does not serve the new server block.",
                "\n".join(lines),
            )
        await asyncio.sleep(0.1)
