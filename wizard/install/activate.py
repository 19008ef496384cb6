"""After the writes: ``nginx -t``, then the reload or the start, each proven; and undoing them.

:func:`test_and_reload` is the last phase of an apply: the configuration
test, then the reload and its proof (:mod:`wizard.install.reload`), or, when
no master runs for the tree and the installer may start one, the start the
host's way (:mod:`wizard.install.start`) with the same proof; a start that
does not serve is stopped again. :func:`reload_restored` reloads nginx on the
files a rollback put back, and :func:`stop_recovered` stops a master that a
killed run had started. :class:`Nginx` is what they are given of the
installer (:class:`wizard.install.installer.Installer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from wizard.answers import Answers
from wizard.install.journal import Journal, StartRecord
from wizard.install.plan import Plan
from wizard.install.reload import (
    Listener,
    MasterSnapshot,
    failure_lines,
    prove_reload,
    snapshot_master,
)
from wizard.install.result import Outcome, fault_point
from wizard.install.start import Manager, StartPlan, process_start_time, stop_started
from wizard.nginx import config_test_message, run_command
from wizard.nginx.master import CommandRunner, wait_for_master

__all__ = [
    "Nginx",
    "listener_for",
    "reload_restored",
    "stop_recovered",
    "test_and_reload",
]


def listener_for(answers: Answers) -> Listener | None:
    """Where the new server block listens (for the handshake of the proof)."""
    bastion = answers.bastion
    if not answers.exposes_bastion or not bastion.certificate:
        return None
    host = "127.0.0.1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(bastion.public_ip).is_loopback:
            host = bastion.public_ip  # the block then listens on that address only
    return Listener(host, bastion.listen_port, bastion.hostname, bastion.certificate)


@dataclass(frozen=True)
class Nginx:
    """How an install drives nginx, from the installer's settings.

    Attributes:
        binary: The nginx executable.
        root: The configuration tree.
        timeout: Bound, in seconds, on each command.
        prove_wait: Seconds to wait for the proof of a reload or a start.
        run: Runs the start and stop commands (tests inject recorded outputs).
        test_argv: The ``nginx -t`` command line.
        listener: Where the new server block listens (the handshake of the proof).
        may_start: nginx is started when no master runs.
        reload_argv: The reload command, or ``None`` with why none is run.
        start_plan: How nginx would be started now (``None``: a master runs).
    """

    binary: str
    root: Path
    timeout: float
    prove_wait: float
    run: CommandRunner
    test_argv: list[str]
    listener: Listener | None
    may_start: bool
    reload_argv: Callable[[], Awaitable[tuple[list[str] | None, str]]]
    start_plan: Callable[[], Awaitable[StartPlan | None]]


async def test_and_reload(nginx: Nginx, plan: Plan, journal: Journal) -> Outcome:
    """``nginx -t``, then the reload and its proof, when nginx's configuration changed."""
    if not plan.nginx_changed:
        return Outcome()
    journal.save("testing")
    fault_point("testing")
    test = await run_command(nginx.test_argv, nginx.timeout)
    if not test.ok:
        return Outcome(
            failure=(
                "nginx -t failed with the new server block; every file was put back as it was.",
                config_test_message(test.output),
                "Read nginx's message above: it names the file and line. Fix the cause "
                "(often a certificate path nginx cannot read, or another file of the tree), "
                "then run apply again.",
            )
        )
    before = await snapshot_master(nginx.binary, nginx.root)
    if before.pid is None and nginx.may_start:
        start = plan.start
        if start is None or start.pid_file != before.pid_file:
            start = await nginx.start_plan()  # planned while a master ran, or elsewhere
        if start is not None:
            return await _start(nginx, start, journal, before)
    reload_argv, why_not = await nginx.reload_argv()
    if reload_argv is None:
        return Outcome(notes=(why_not,))
    journal.save("reloading")
    fault_point("reloading")
    reload = await run_command(reload_argv, nginx.timeout)
    command = " ".join(reload_argv)
    if not reload.ok:
        return Outcome(
            failure=(
                f"Reloading nginx failed ({command}); every file was put back as it was.",
                config_test_message(reload.output) or f"exit status {reload.returncode}",
                "Make sure nginx is running (systemctl status nginx, or start it with "
                "'nginx'), then run apply again.",
            )
        )
    proof = await prove_reload(before, nginx.listener, wait=nginx.prove_wait)
    if not proof.ok:
        return Outcome(
            failure=(
                f"Reloading nginx did not take effect ({command}): {proof.message} Every "
                "file was put back as it was.",
                proof.nginx_output,
                "Read nginx's message above (a port another process holds, a file nginx "
                "cannot read), fix the cause, then run apply again.",
            ),
            reload_sent=True,
        )
    return Outcome(reload=command, reloaded=not proof.notes, reload_sent=True, notes=proof.notes)


async def _start(
    nginx: Nginx, start: StartPlan, journal: Journal, before: MasterSnapshot
) -> Outcome:
    """No master runs: start nginx the host's way, prove it serves, else stop it again."""
    journal.start = StartRecord(start.manager, start.enabled_before, time.time())
    journal.save("starting")
    fault_point("starting")
    result = await nginx.run(list(start.argv), nginx.timeout)
    fault_point("started")
    command = start.command
    if not result.ok:
        # nginx's own words: the start command's output (the nginx binary prints
        # them), else the error log's (systemctl only says the unit failed).
        words = config_test_message(result.output) or f"exit status {result.returncode}"
        if "[emerg]" not in words:
            words = "\n".join([words, *failure_lines(before)[-10:]])
        stopped = await stop_started(start, run=nginx.run, timeout=nginx.timeout)
        return Outcome(
            failure=(
                f"nginx was not running, and starting it failed ({command}); every file "
                "was put back as it was.",
                words,
                "Read nginx's message above (another process holding the listen port: "
                "'ss -ltnp'; a file nginx may not read; SELinux), fix the cause, then run "
                "apply again.",
            ),
            code="install.start_failed",
            notes=(stopped,) if stopped else (),
        )
    master = await wait_for_master(start.pid_file, nginx.prove_wait)
    if master.running and master.pid is not None:
        # Recorded at once: recovery then stops exactly this master.
        journal.start = dataclasses.replace(journal.start, pid=master.pid)
        journal.save()
    proof = await prove_reload(before, nginx.listener, wait=nginx.prove_wait, started=True)
    if proof.ok:
        return Outcome(start=command, started=True, notes=proof.notes)
    stopped = await stop_started(start, run=nginx.run, timeout=nginx.timeout)
    return Outcome(
        failure=(
            f"nginx was not running; it was started ({command}) but does not serve the new "
            f"server block: {proof.message} Every file was put back as it was.",
            proof.nginx_output,
            "Read nginx's message above (a port another process holds, a file nginx "
            "cannot read), fix the cause, then run apply again.",
        ),
        code="install.start_failed",
        notes=(stopped,) if stopped else (),
    )


async def reload_restored(nginx: Nginx) -> str:
    """After a rollback, reload nginx once more so it runs the restored files."""
    argv, why_not = await nginx.reload_argv()
    if argv is None:
        return why_not
    result = await run_command(argv, nginx.timeout)
    if result.ok:
        return f"nginx was reloaded with the restored configuration ({' '.join(argv)})."
    return f"Reloading nginx with the restored configuration failed ({' '.join(argv)}): " + (
        config_test_message(result.output) or f"exit status {result.returncode}"
    )


async def stop_recovered(nginx: Nginx, records: Sequence[StartRecord]) -> list[str]:
    """After a recovery: stop the masters the undone runs had started (``records``).

    A master is stopped only when it is the one the run recorded (its pid),
    or, when the run was killed before it could record the pid, when the
    master started after the run began its start. Any other master (one
    an admin started since, say) is reloaded with the restored files
    instead, never stopped.
    """
    messages = []
    for record in records:
        snapshot = await snapshot_master(nginx.binary, nginx.root)
        if snapshot.pid is None:
            messages.append("No nginx master was left running by the interrupted run.")
            continue
        began = await asyncio.to_thread(process_start_time, snapshot.pid)
        ours = (
            snapshot.pid == record.pid
            if record.pid is not None
            else began is not None and began >= record.at - 2.0  # /proc's btime: whole s
        )
        if not ours:
            messages.append(
                f"The nginx master {snapshot.pid} was not started by the interrupted run: "
                "left running. " + await reload_restored(nginx)
            )
            continue
        manager = cast("Manager", record.manager)  # one of the three: load_journal checked
        start = StartPlan((), manager, "", snapshot.pid_file, record.enabled_before)
        stopped = await stop_started(start, run=nginx.run, timeout=nginx.timeout)
        messages.append(stopped or "No nginx master was left running by the interrupted run.")
    return messages
