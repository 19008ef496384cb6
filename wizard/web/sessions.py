"""The browser sessions of ``demo --web``: one demo each, its own ports, nothing left behind.

Every browser tab that connects gets a :class:`DemoSession`: a fresh directory
under the server's private root, two loopback ports that no other session
holds (the fake API's and the one the demo's nginx will listen on, written
into the session's answers before its process starts, so two sessions never
race for one port), and a ``codestream-bastion demo`` process of its own,
started in a new session and so in a process group of its own. That process
builds its demo environment (DNS servers, fake API, an nginx master) exactly
as the terminal demo does.

Ending a session (the tab closed, the wizard finished, or the server
stopping) goes from gentle to firm, each step bounded: the wizard is asked to
quit, then its process group gets SIGTERM (the demo then stops its nginx and
servers itself), then SIGKILL. nginx daemonises out of that group, so its
master is then stopped through the pid file in the session's directory in
any case, and the directory is removed. :class:`SessionBook` holds the
sessions, refuses new ones beyond the cap or while the server stops, and
:meth:`SessionBook.sweep` is the last resort once the server's loop is gone.

Nothing here imports Textual or textual-serve: :mod:`wizard.web.server`
connects these sessions to the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wizard.demo.environment import DemoFiles, demo_answers, free_port

__all__ = ["DemoSession", "PortBook", "SessionBook", "die_with_parent", "session_argv"]

QUIT_WAIT = 10.0
"""Seconds the wizard has to quit by itself when asked (its demo stops nginx meanwhile)."""
TERM_WAIT = 15.0
"""Seconds after SIGTERM: the demo's own clean-up stops nginx (up to ~8 s) and its servers."""
KILL_WAIT = 5.0
"""Seconds after SIGKILL for the process to be gone."""
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal a process gets when its parent dies (<linux/prctl.h>)."""


def session_argv(directory: Path, timeout: float) -> list[str]:
    """The command line of one session's demo: this Python, this package, no shell.

    ``--session-dir`` is ``demo --dir`` for a directory the server made and
    removes: the demo says nothing on stdout after the wizard (stdout is the
    browser's terminal) and does not offer to keep it.
    """
    return [
        sys.executable, "-m", "wizard", "demo",
        "--session-dir", str(directory), "--timeout", f"{timeout:g}",
    ]  # fmt: skip


def die_with_parent() -> None:
    """In a session's demo: get SIGTERM when the server dies, even by SIGKILL (Linux).

    The demo then stops its nginx and servers as on any SIGTERM, instead of
    running on with nobody to show its screen to. Elsewhere this does nothing.
    """
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        # The server died before the signal was asked for.
        os.kill(os.getpid(), signal.SIGTERM)


class PortBook:
    """Loopback ports handed to sessions; never one that another session holds.

    Args:
        reserved: Ports never handed out (the server's own).
    """

    def __init__(self, reserved: Iterable[int] = ()) -> None:
        self._reserved = frozenset(reserved)
        self._held: set[int] = set()

    def claim(self, count: int) -> tuple[int, ...]:
        """``count`` distinct ports, free on 127.0.0.1 now and held by no session."""
        ports: list[int] = []
        while len(ports) < count:
            port = free_port()
            if port not in self._held and port not in self._reserved:
                self._held.add(port)
                ports.append(port)
        return tuple(ports)

    def release(self, ports: Iterable[int]) -> None:
        """Give ports back when their session is over."""
        self._held.difference_update(ports)

    @property
    def held(self) -> frozenset[int]:
        """The ports sessions hold now."""
        return frozenset(self._held)


@dataclass
class DemoSession:
    """One browser session: its directory, its ports, its demo process.

    Attributes:
        number: Counts the sessions since the server started (1, 2, ...).
        directory: The session's demo directory (answers, certificates, nginx tree).
        ports: The fake API's port and the demo nginx's listen port.
        argv: The demo's command line.
        process: The demo process once spawned (its pid is its process group's id).
    """

    number: int
    directory: Path
    ports: tuple[int, ...]
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    _closing: asyncio.Task[None] | None = field(default=None, repr=False)

    async def spawn(self, env: dict[str, str]) -> asyncio.subprocess.Process:
        """Start the demo in a new session (its own process group), pipes for the browser."""
        pipe = asyncio.subprocess.PIPE
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=pipe, stdout=pipe, stderr=pipe, env=env, start_new_session=True
        )
        return self.process


class SessionBook:
    """The sessions of one ``demo --web`` server, at most ``limit`` at once.

    Args:
        root: The server's private directory (sessions are made under it).
        limit: The cap on concurrent sessions (``--max-sessions``).
        timeout: The demo's per-operation timeout (``--timeout``).
        reserved_ports: Ports no session gets (the server's own).
    """

    def __init__(
        self, root: Path, *, limit: int, timeout: float, reserved_ports: Iterable[int] = ()
    ) -> None:
        self.root = root
        self.limit = limit
        self.timeout = timeout
        self.ports = PortBook(reserved_ports)
        self.closing = False
        """Set when the server stops: no session opens any more."""
        self._sessions: dict[int, DemoSession] = {}
        self._opened = 0

    @property
    def sessions(self) -> list[DemoSession]:
        """The sessions open now."""
        return list(self._sessions.values())

    @property
    def full(self) -> bool:
        """No session may open now (the cap is reached or the server stops)."""
        return self.closing or len(self._sessions) >= self.limit

    def refusal(self) -> str:
        """Why no session opens, and what to do about it."""
        if self.closing:
            return "The demo server is stopping; no new session starts."
        return (
            f"The demo is full: {len(self._sessions)} browser sessions are running, the most "
            f"this server allows (--max-sessions {self.limit}). Close one of them and reload "
            "this page, or restart the server with a higher --max-sessions."
        )

    def open(self) -> DemoSession | None:
        """A new session with its directory and answers (``None`` when :attr:`full`)."""
        if self.full:
            return None
        self._opened += 1
        number = self._opened
        directory = Path(tempfile.mkdtemp(prefix=f"session-{number}-", dir=self.root))
        ports = self.ports.claim(2)
        demo_answers(DemoFiles(directory), ports=(ports[0], ports[1]))
        session = DemoSession(number, directory, ports, session_argv(directory, self.timeout))
        self._sessions[number] = session
        return session

    async def close(
        self, session: DemoSession, ask_quit: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """End ``session`` and everything it started; safe to call from several places.

        Args:
            session: The session.
            ask_quit: Asks the wizard to quit by itself (tried first when given).
        """
        if session._closing is None:
            session._closing = asyncio.ensure_future(self._close(session, ask_quit))
        await asyncio.shield(session._closing)

    async def close_all(self) -> None:
        """Refuse new sessions and end every open one, concurrently."""
        self.closing = True
        await asyncio.gather(*(self.close(session) for session in self.sessions))

    async def _close(
        self, session: DemoSession, ask_quit: Callable[[], Awaitable[object]] | None
    ) -> None:
        try:
            if session.process is not None:
                await _end_process(session.process, ask_quit)
            await asyncio.to_thread(_remove_leftovers, session.directory)
        finally:
            self.ports.release(session.ports)
            self._sessions.pop(session.number, None)

    def sweep(self) -> None:
        """The last resort, without an event loop: kill what is left, remove the root.

        Any process group of a session still alive is killed, any nginx master
        with a pid file under the root is stopped, and the root is removed.
        """
        for session in self.sessions:
            if session.process is not None:
                _signal_group(session.process.pid, signal.SIGKILL)
        if self.root.is_dir():
            for directory in self.root.iterdir():
                if directory.is_dir():
                    _remove_leftovers(directory)
        shutil.rmtree(self.root, ignore_errors=True)


async def _end_process(
    process: asyncio.subprocess.Process, ask_quit: Callable[[], Awaitable[object]] | None
) -> None:
    """Quit, then SIGTERM, then SIGKILL to the process group, each step bounded."""
    if ask_quit is not None and process.returncode is None:
        with contextlib.suppress(Exception):
            await ask_quit()
        await _wait_exit(process, QUIT_WAIT)
    for sig, wait in ((signal.SIGTERM, TERM_WAIT), (signal.SIGKILL, KILL_WAIT)):
        if process.returncode is not None:
            break
        _signal_group(process.pid, sig)
        await _wait_exit(process, wait)
    # A member of its group that outlived it (a check's subprocess) still holds
    # the group's id, so it cannot name anyone else's group yet.
    _signal_group(process.pid, signal.SIGKILL)


async def _wait_exit(process: asyncio.subprocess.Process, wait: float) -> None:
    # asyncio.wait() rather than wait_for(): its timeout raises nothing, and
    # asyncio.TimeoutError is not TimeoutError before Python 3.11.
    waiter = asyncio.ensure_future(process.wait())
    _done, pending = await asyncio.wait({waiter}, timeout=wait)
    for task in pending:
        task.cancel()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _remove_leftovers(directory: Path) -> None:
    """Stop the session's nginx master (it daemonised out of the group), remove the directory."""
    from wizard.demo.nginx import DemoNginx

    # The binary is not needed to stop a master: its pid file names it.
    DemoNginx(DemoFiles(directory).nginx_root, "nginx").stop()
    shutil.rmtree(directory, ignore_errors=True)
