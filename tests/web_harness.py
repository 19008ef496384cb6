"""``codestream-bastion demo --web`` for tests: the real server in a subprocess, and what it left.

    with WebDemo.start(tmp_path) as server:      # --port 0; its root lands under tmp_path
        server.url                                # http://127.0.0.1:PORT/ (from its own words)
        server.session_dirs()                     # one directory per browser session
        server.processes()                        # every process of its sessions, nginx included
    # leaving the block sends SIGTERM and waits; server.output is what it printed

The server's private root is made with ``tempfile`` under ``TMPDIR``, which the
harness points at the test's directory, so every process a session started
names a path under it (``demo --session-dir``, ``nginx -c``), or is the child
of one that does (nginx's workers). :func:`alive` treats a zombie as gone: in
a container nothing may reap an orphan the moment it dies.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
"""The server ends every session (quit, SIGTERM, SIGKILL, each bounded) before it exits."""


def require_chromium() -> tuple[str, str]:
    """Debian's Chromium and its driver; skips when absent, fails when ``CI`` is set."""
    browser, driver = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if browser.exists() and driver.exists():
        return str(browser), str(driver)
    reason = "Chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: ./dev test installs chromium and chromium-driver")
    pytest.skip(f"{reason}; apt-get install chromium chromium-driver to run the browser test")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _proc_table() -> list[tuple[int, int, str]]:
    """``(pid, parent pid, command line)`` of every process."""
    table = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            raw = (entry / "cmdline").read_bytes()
            cmdline = raw.replace(b"\x00", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            ppid = int(stat.rsplit(")", 1)[-1].split()[1])
            table.append((int(entry.name), ppid, cmdline))
    return table


def processes_under(path: Path) -> set[int]:
    """Live processes whose command line names ``path``, and their descendants."""
    table = _proc_table()
    found = {pid for pid, _, cmdline in table if str(path) in cmdline}
    grew = True
    while grew:
        more = {pid for pid, ppid, _ in table if ppid in found} - found
        found |= more
        grew = bool(more)
    return {pid for pid in found if alive(pid)}


@dataclass
class WebDemo:
    """A running ``demo --web`` server."""

    process: subprocess.Popen[str]
    base: Path
    url: str
    output: list[str] = field(default_factory=list)
    stopped: bool = False

    @classmethod
    @contextlib.contextmanager
    def start(cls, base: Path, *args: str) -> Iterator[WebDemo]:
        """Start it (``--port 0``) under ``base``; SIGTERM and wait when the block ends."""
        env = dict(os.environ, TMPDIR=str(base))
        process = subprocess.Popen(
            [sys.executable, "-m", "wizard", "demo", "--web", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        server = cls(process, base, "")
        try:
            server.url = server.wait_for(r"open (http://127\.0\.0\.1:\d+/) in a browser", 1)
            yield server
        finally:
            server.stop()

    def wait_for(self, pattern: str, group: int = 0, timeout: float = START_TIMEOUT) -> str:
        """Read the server's output until a line matches ``pattern``; that match's ``group``."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match.group(group)
        raise AssertionError(f"the server never said {pattern!r}:\n{''.join(self.output)}")

    @property
    def root(self) -> Path:
        """The server's private directory (the sessions' directories are in it)."""
        roots = list(self.base.glob("codestream-bastion-web-*"))
        assert len(roots) == 1, roots
        return roots[0]

    def session_dirs(self) -> list[Path]:
        """The directories of the sessions open now."""
        return sorted(path for path in self.root.glob("session-*") if path.is_dir())

    def processes(self) -> set[int]:
        """Every live process of the sessions (the demos, nginx masters and workers)."""
        return processes_under(self.base)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the server and wait for it; its exit status (idempotent)."""
        if self.stopped:
            return self.process.returncode
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            rest, _ = self.process.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
            raise AssertionError(f"the server did not stop:\n{''.join(self.output)}") from None
        if rest:
            self.output.append(rest)
        return self.process.returncode


def wait_until(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` every 0.1 s until true; fail naming ``what`` after ``timeout``."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
