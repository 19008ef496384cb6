"""Running nginx (and other host commands) with a timeout: ``nginx -t``, ``-T``, ``-v``.

Every subprocess of the tool goes through :func:`run_command`:
:func:`asyncio.create_subprocess_exec` (never a shell), stdin empty, a bound
on the time it may take, and the process killed (not left behind) when that
bound passes or the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.constants import SYSTEM_NGINX_ROOT

COMMAND_TIMEOUT = 30.0
"""Upper bound, in seconds, for one ``nginx -t`` or ``nginx -v`` run."""


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one subprocess run.

    Attributes:
        returncode: The exit status; ``None`` when it did not end in time or
            could not be started.
        output: Its standard output and error, decoded (only the standard
            output when the run kept them apart).
        errors: Its standard error, when the run kept it apart; else empty.
    """

    returncode: int | None
    output: str
    errors: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.returncode == 0


async def run_command(
    argv: Sequence[str],
    timeout: float,
    *,
    separate_errors: bool = False,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` with a timeout; stdin is empty.

    Args:
        argv: The program and its arguments (no shell is involved).
        timeout: Seconds before the process is killed.
        separate_errors: Keep standard error apart (in ``errors``) instead of
            merging it into ``output``; for output that is data (``nginx -T``).
        env: The whole environment of the command (default: this process's).
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if separate_errors else asyncio.subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )
    except OSError as exc:
        return CommandResult(None, f"cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        await _kill(process)
        return CommandResult(None, f"{' '.join(argv)} did not finish within {timeout:g} s")
    except asyncio.CancelledError:
        await _kill(process)
        raise
    errors = (err or b"").decode("utf-8", errors="replace").strip()
    output = out.decode("utf-8", errors="replace")
    return CommandResult(process.returncode, output if separate_errors else output.strip(), errors)


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(Exception):
        await process.wait()


def nginx_argv(binary: str, root: Path, *args: str) -> list[str]:
    """``nginx ARGS -c <root>/nginx.conf`` (plus ``-p <root>/`` outside ``/etc/nginx``)."""
    argv = [binary, *args, "-c", str(Path(root) / "nginx.conf")]
    if os.path.realpath(root) != str(SYSTEM_NGINX_ROOT):
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


async def config_dump(binary: str, root: Path, timeout: float = COMMAND_TIMEOUT) -> CommandResult:
    """``nginx -T`` of the tree at ``root``: the test, and on success the configuration.

    nginx prints every file it loaded, each headed by ``# configuration file
    PATH:``, on standard output (kept in ``output``) and its verdict on standard
    error (in ``errors``); it prints no configuration when the test fails.
    """
    return await run_command(nginx_argv(binary, root, "-T"), timeout, separate_errors=True)
