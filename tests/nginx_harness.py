"""A real nginx for tests: a private prefix, ``nginx -t``, and a master on loopback.

Usage::

    binary = require_nginx()                       # skip (or fail under CI) when absent
    harness = NginxHarness(tmp_path / "nginx", binary=binary)
    conf = harness.write_conf(includes=[rendered_file])
    result = harness.test()                        # nginx -t; result.ok, result.output
    with harness.running(port):                    # nginx -g 'daemon off;' until the port accepts
        ...                                        # talk to 127.0.0.1:port
                                                   # stopped (SIGTERM, waited) on exit

Everything nginx writes (pid, logs, temp files) stays under the prefix. When
the tests run as root, ``user`` is set to root so the workers can read the
test certificates in the (0700) temporary directories.

nginx missing: :func:`require_nginx` skips with a clear reason, except when the
``CI`` environment variable is set, where a missing nginx is a failure (CI
installs it; a silent skip there would hide the whole integration suite).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from wizard.nginx import find_binary as find_nginx
from wizard.nginx import parse_nginx_v

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def require_nginx() -> str:
    """The nginx binary; skips the test when absent, fails it when ``CI`` is set."""
    binary = find_nginx()
    if binary is not None:
        return binary
    reason = "nginx is not installed (no 'nginx' on PATH nor in /usr/sbin)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: CI must install nginx (apt-get install nginx)")
    pytest.skip(f"{reason}; install nginx to run the real-nginx tests")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote(value: str | Path) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class NginxResult:
    """The outcome of one nginx invocation."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class NginxHarness:
    """An nginx with its own prefix directory.

    Args:
        prefix: Directory for the configuration, logs, pid and temp files
            (created when missing).
        binary: The nginx executable (see :func:`require_nginx`).
    """

    def __init__(self, prefix: Path, binary: str | None = None) -> None:
        self.prefix = Path(prefix)
        self.binary = binary or require_nginx()
        self.conf = self.prefix / "conf" / "nginx.conf"
        self.logs = self.prefix / "logs"
        self.process: subprocess.Popen[bytes] | None = None
        for sub in ("conf", "logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        version_text = subprocess.run(
            [self.binary, "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stderr
        version = parse_nginx_v(version_text).version
        self._has_e_option = version is not None and version >= (1, 19, 5)

    def write_conf(self, includes: Sequence[Path] = (), http_extra: str = "") -> Path:
        """Write a minimal ``nginx.conf`` that includes ``includes`` in ``http {}``.

        Args:
            includes: Server-block files (e.g. the rendered one).
            http_extra: More directives for the ``http`` block, verbatim.
        """
        lines = []
        if os.geteuid() == 0:
            user = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            lines.append(f"user {user} {group};")
        tmp = self.prefix / "tmp"
        lines += [
            "worker_processes 1;",
            f"error_log {_quote(self.logs / 'error.log')} info;",
            f"pid {_quote(self.logs / 'nginx.pid')};",
            "events { worker_connections 512; }",  # a burst test holds 40 clients and 40 upstreams
            "http {",
            f"    access_log {_quote(self.logs / 'access.log')} combined;",
            f"    client_body_temp_path {_quote(tmp / 'body')};",
            f"    proxy_temp_path {_quote(tmp / 'proxy')};",
            f"    fastcgi_temp_path {_quote(tmp / 'fastcgi')};",
            f"    uwsgi_temp_path {_quote(tmp / 'uwsgi')};",
            f"    scgi_temp_path {_quote(tmp / 'scgi')};",
        ]
        if http_extra:
            lines.append(http_extra)
        lines += [f"    include {_quote(path)};" for path in includes]
        lines.append("}")
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.conf

    def _command(self, *extra: str) -> list[str]:
        command = [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf)]
        if self._has_e_option:
            command += ["-e", "stderr"]
        return [*command, *extra]

    def test(self) -> NginxResult:
        """``nginx -t`` on the written configuration; the output is nginx's own message."""
        result = subprocess.run(
            self._command("-t"),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=30,
            check=False,
        )
        return NginxResult(result.returncode, (result.stderr + result.stdout).strip())

    def start(self, port: int, host: str = "127.0.0.1") -> None:
        """Start the master in the foreground; return once ``host:port`` accepts.

        Raises:
            RuntimeError: With nginx's output when it exits or does not listen in time.
        """
        if self.process is not None:
            raise RuntimeError("nginx is already running")
        output = self.logs / "master.out"
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                self._command("-g", "daemon off;"),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"nginx exited at start-up:\n{self._output()}")
            with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {host}:{port} in time:\n{self._output()}")

    def stop(self) -> None:
        """Terminate the master (and so its workers) and wait for it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    @contextlib.contextmanager
    def running(self, port: int, host: str = "127.0.0.1") -> Iterator[NginxHarness]:
        """Run nginx for the duration of a ``with`` block."""
        self.start(port, host)
        try:
            yield self
        finally:
            self.stop()

    def _output(self) -> str:
        parts = []
        for name in ("master.out", "error.log"):
            path = self.logs / name
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace").strip())
        return "\n".join(p for p in parts if p)


# -- masters started by the code under test -----------------------------------------


def masters_under(path: Path) -> list[int]:
    """The pids of nginx masters whose command line names a file under ``path``.

    A master started by ``apply`` (``nginx -c <tree>/nginx.conf -p <tree>/``)
    keeps that command line in its title (``nginx: master process ...``).
    """
    needle = str(Path(path))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (
                (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
            )
            if cmdline.startswith("nginx: master process") and needle in cmdline:
                found.append(int(entry.name))
    return found


def stop_masters_under(path: Path, wait: float = STOP_TIMEOUT) -> list[int]:
    """SIGTERM every nginx master under ``path`` (:func:`masters_under`), wait; return them."""
    pids = masters_under(path)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


# -- reading a rendered server block back (crossplane) -----------------------------


def nginx_unescape(token: str) -> str:
    """The value nginx sees for a crossplane token of a quoted argument.

    crossplane turns ``\\"`` into ``"`` but keeps every other backslash pair;
    nginx (``ngx_conf_read_token``) also turns ``\\\\`` into ``\\`` and ``\\'``
    into ``'``.
    """
    out: list[str] = []
    i = 0
    while i < len(token):
        char = token[i]
        if char == "\\" and i + 1 < len(token) and token[i + 1] in "\\\"'":
            out.append(token[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_server_blocks(conf_text: str, workdir: Path) -> list[list[dict[str, object]]]:
    """Parse a server-block file as nginx would include it in ``http {}``.

    Returns:
        The directives of each ``server`` block (crossplane's dicts, arguments
        unescaped as nginx would).

    Raises:
        AssertionError: When crossplane reports any error (syntax, context, arity).
    """
    import crossplane

    workdir.mkdir(parents=True, exist_ok=True)
    wrapper = workdir / "wrapper.conf"
    wrapper.write_text("events {}\nhttp {\n" + conf_text + "\n}\n", encoding="utf-8")
    payload = crossplane.parse(str(wrapper), single=True, comments=False)
    errors = payload["errors"] + [e for c in payload["config"] for e in c["errors"]]
    assert not errors, f"crossplane: {errors}"

    def unescape(directives: list[dict[str, object]]) -> list[dict[str, object]]:
        result = []
        for directive in directives:
            copy = dict(directive)
            copy["args"] = [nginx_unescape(str(a)) for a in directive["args"]]  # type: ignore[attr-defined]
            if "block" in directive:
                copy["block"] = unescape(directive["block"])  # type: ignore[arg-type]
            result.append(copy)
        return result

    parsed = unescape(payload["config"][0]["parsed"])
    http = [d for d in parsed if d["directive"] == "http"]
    assert len(http) == 1
    block = http[0]["block"]
    assert isinstance(block, list)
    servers = [d for d in block if d["directive"] == "server"]
    others = {str(d["directive"]) for d in block if d["directive"] != "server"}
    # The per-client limit zones belong to the http context (README.md, "Limits").
    assert others <= {"limit_req_zone", "limit_conn_zone"}, f"at http level: {others}"
    return [s["block"] for s in servers]  # type: ignore[misc]
