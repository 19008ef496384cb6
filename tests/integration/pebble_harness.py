"""Pebble (Let's Encrypt's ACME test CA) on loopback, for the ``certificate`` tests.

:class:`Pebble` runs the Debian package's ``pebble`` with a configuration
under a temporary directory: its API on ``127.0.0.1`` with a certificate
from the demo's test CA (certbot trusts it through ``REQUESTS_CA_BUNDLE``),
its names resolved through a test DNS server (``-dnsserver``), HTTP-01
validated on a test port (``httpPort``). ``PEBBLE_VA_NOSLEEP=1``,
``PEBBLE_WFE_NONCEREJECT=0`` and ``PEBBLE_AUTHZREUSE=0`` keep it fast and
deterministic. Nothing leaves loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from wizard.demo.ca import TestCA


def require_tool(name: str) -> str:
    """The executable ``name``; skips the test when absent, fails it when ``CI`` is set."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin"]))
    if found is not None:
        return found
    reason = f"{name} is not installed"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: CI must install it (apt-get install {name})")
    pytest.skip(f"{reason}; apt-get install pebble certbot to run the ACME tests")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Pebble:
    """A running pebble: its directory URL, the CA bundle for certbot, its root and log.

    Args:
        directory: Where its configuration, certificate and log go.
        dns: ``ADDR:PORT`` of the DNS server it resolves names through.
        http_port: Where it sends HTTP-01 validation requests.
    """

    def __init__(self, directory: Path, dns: str, http_port: int) -> None:
        self.directory = directory
        self.http_port = http_port
        self.api_port, self.management_port = free_port(), free_port()
        ca = TestCA("Pebble API Test")
        cert, key = ca.issue(["localhost", "127.0.0.1"]).write(directory, "pebble-api")
        self.api_bundle = ca.write_root(directory / "pebble-api-ca.pem")
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.api_port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (directory / "pebble.json").write_text(json.dumps(config))
        self.log = directory / "pebble.log"
        env = dict(
            os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0"
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    require_tool("pebble"),
                    "-config",
                    str(directory / "pebble.json"),
                    "-dnsserver",
                    dns,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    @property
    def url(self) -> str:
        """The ACME directory URL."""
        return f"https://127.0.0.1:{self.api_port}/dir"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if b"ACME directory available" in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("pebble did not start: " + self.log.read_text(errors="replace"))

    def root_pem(self) -> bytes:
        """The root pebble issues under (its management endpoint ``/roots/0``)."""
        context = ssl.create_default_context(cafile=str(self.api_bundle))
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            data: bytes = response.read()
            return data

    def orders(self) -> int:
        """How many orders pebble has been sent so far (from its log)."""
        return self.log.read_bytes().count(b"POST /order-plz")

    def stop(self) -> None:
        """Stop pebble."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
