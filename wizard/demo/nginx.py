"""A real nginx for the demo: a master process under the demo's nginx root.

In ``codestream-bastion demo`` the Install step writes the generated server
block into ``<demo>/nginx/conf.d/``, tests it with ``nginx -t`` and reloads
this master, which then listens on the demo's loopback port; the Test step
then proves the whole path (DNS, TLS, nginx, the API) for real. Everything
(pid file, logs, temporary files) stays under the demo directory, and
:meth:`DemoNginx.stop` ends the master when the demo exits.

The demo's launcher (:class:`wizard.demo.environment.DemoLauncher`) starts and
stops it, through :func:`start_demo_nginx`;
:class:`wizard.demo.environment.DemoFiles` lays out the tree, so `demo --check`
sees the same nginx configuration.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class DemoNginxError(Exception):
    """The demo's nginx could not be started (the message says why)."""


def nginx_missing_note() -> str:
    """What the demo says when there is no nginx to run."""
    return (
        "nginx is not installed here, so Install and Test are skipped. For the real "
        "end-to-end proof, install it ('apt-get install nginx' or 'dnf install nginx'; "
        "it need not run) and start the demo again."
    )


def _quote(path: Path) -> str:
    """A path as an nginx double-quoted string (demo paths have no quotes or $)."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _worker_user() -> str:
    """The ``user`` line for a master started as root (nginx needs one then)."""
    if os.geteuid() != 0:
        return ""
    for user, group in (("nobody", "nogroup"), ("nobody", "nobody")):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            grp.getgrnam(group)
            return f"user {user} {group};\n"
    return "user root;\n"


def demo_nginx_conf(root: Path) -> str:
    """The demo's ``nginx.conf``: conf.d layout, everything under ``root``."""
    temp = root / "temp"
    return (
        "# nginx.conf of the codestream-bastion demo: a master under this directory,\n"
        "# listening only where the installed server block says (loopback).\n"
        + _worker_user()
        + "worker_processes 1;\n"
        f"pid {_quote(root / 'nginx.pid')};\n"
        f"error_log {_quote(root / 'logs' / 'error.log')};\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {_quote(root / 'logs' / 'access.log')};\n"
        f"    client_body_temp_path {_quote(temp / 'client_body')};\n"
        f"    proxy_temp_path {_quote(temp / 'proxy')};\n"
        f"    fastcgi_temp_path {_quote(temp / 'fastcgi')};\n"
        f"    uwsgi_temp_path {_quote(temp / 'uwsgi')};\n"
        f"    scgi_temp_path {_quote(temp / 'scgi')};\n"
        f"    include {_quote(root / 'conf.d' / '*.conf')};\n"
        "}\n"
    )


class DemoNginx:
    """An nginx master for the demo.

    Args:
        root: The demo's nginx root (``nginx.conf`` is written there if missing).
        binary: The nginx executable.
    """

    def __init__(self, root: Path, binary: str) -> None:
        self.root = root.resolve()
        self.binary = binary
        self._started = False

    @classmethod
    def find(cls, root: Path, binary: str = "nginx") -> DemoNginx | None:
        """A demo nginx when an nginx executable is installed, else ``None``."""
        from wizard.nginx.binary import find_binary

        found = find_binary(binary)
        return None if found is None else cls(root, found)

    @property
    def config(self) -> Path:
        """The main configuration file."""
        return self.root / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        """Where the master writes its pid."""
        return self.root / "nginx.pid"

    @property
    def log_dir(self) -> Path:
        """Where the logs go (also the generated server block's)."""
        return self.root / "logs"

    def _argv(self, *args: str) -> list[str]:
        return [
            self.binary,
            "-e",
            str(self.log_dir / "error.log"),
            *args,
            "-c",
            str(self.config),
            "-p",
            f"{self.root}/",
        ]

    def test_argv(self) -> list[str]:
        """``nginx -t`` of the demo tree."""
        return self._argv("-t")

    def start_argv(self) -> list[str]:
        """Start the demo master (it daemonises and the command returns)."""
        return self._argv()

    def reload_argv(self) -> list[str]:
        """Reload the demo master (never the system's nginx)."""
        return self._argv("-s", "reload")

    def prepare(self) -> None:
        """Lay out the tree: ``nginx.conf`` (unless present), ``conf.d``, logs, temp.

        A present ``nginx.conf`` that does not name this root (a ``--dir`` that
        was moved or copied) is written again: its master would write its pid
        elsewhere, and could then be neither found nor stopped.
        """
        for directory in (self.root, self.root / "conf.d", self.log_dir, self.root / "temp"):
            directory.mkdir(parents=True, exist_ok=True)
        try:
            current = self.config.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            current = ""
        if str(self.pid_file) not in current:
            self.config.write_text(demo_nginx_conf(self.root), encoding="utf-8")

    def pid(self) -> int | None:
        """The running master's pid, or ``None``."""
        try:
            pid = int(self.pid_file.read_text(encoding="ascii").strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self) -> None:
        """Start the master (it listens nowhere until a server block is installed).

        Raises:
            DemoNginxError: With nginx's own message when it does not start.
        """
        self.prepare()
        if self.pid() is not None:
            self._started = True
            return
        try:
            result = subprocess.run(
                self.start_argv(),
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DemoNginxError(f"nginx did not start: {exc}") from None
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip()
            raise DemoNginxError(f"nginx did not start: {message}")
        deadline = time.monotonic() + START_TIMEOUT
        while self.pid() is None:
            if time.monotonic() > deadline:
                raise DemoNginxError(f"nginx started but wrote no pid to {self.pid_file}")
            time.sleep(0.05)
        self._started = True

    def stop(self) -> None:
        """Stop the master gracefully, then firmly; never raises."""
        pid = self.pid()
        if pid is None:
            return
        steps = ((signal.SIGQUIT, STOP_TIMEOUT), (signal.SIGTERM, 2.0), (signal.SIGKILL, 1.0))
        for sig, wait in steps:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    return
                time.sleep(0.05)


def start_demo_nginx(root: Path, binary: str) -> tuple[DemoNginx | None, str]:
    """Find and start the demo's nginx master under ``root``; never raises.

    Args:
        root: The demo's nginx root.
        binary: The nginx binary (name or path).

    Returns:
        The running master and ``""``; or ``None`` and why Install and Test are
        skipped (nginx is not installed, or it did not start).
    """
    nginx = DemoNginx.find(root, binary)
    if nginx is None:
        return None, nginx_missing_note()
    try:
        nginx.start()
    except DemoNginxError as exc:
        nginx.stop()
        return None, f"{exc}. Install and Test are skipped."
    return nginx, ""
