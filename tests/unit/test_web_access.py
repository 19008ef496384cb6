"""``demo --web``: who may reach it, the options that go with it, the sessions' ports and cap.

The refusal is tested on the real command line in a subprocess: if the check
ever let ``--host 0.0.0.0`` through, the server would start listening, and the
bounded wait below fails instead of the test hanging.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.answers import load_answers
from wizard.constants import ANSWERS_NAME
from wizard.web.access import (
    check_host,
    host_allowed,
    is_loopback,
    origin_allowed,
    page_url,
    public_warning,
)
from wizard.web.sessions import PortBook, SessionBook, session_argv


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "demo", *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "bastion.example.com"])
def test_a_host_beyond_loopback_is_refused_without_public(host: str) -> None:
    result = run_cli("--web", "--host", host, "--port", "0")
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert f"refuses to listen on {host}" in result.stderr
    assert "no authentication" in result.stderr
    assert "--public" in result.stderr
    assert "ssh -L" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--public",),
        ("--port", "8001"),
        ("--host", "127.0.0.1"),
        ("--max-sessions", "2"),
    ],
)
def test_web_options_without_web_are_refused(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result
    assert f"{args[0]}: only with demo --web" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--web", "--check"), "cannot be combined with --check or --dir"),
        (("--web", "--dir", "/tmp/x"), "cannot be combined with --check or --dir"),
        (("--web", "--max-sessions", "0"), "--max-sessions must be between 1 and 16"),
        (("--web", "--port", "70000"), "use a port between 1 and 65535"),
    ],
)
def test_bad_web_usage_is_a_message(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.10.0.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_public(host: str) -> None:
    assert is_loopback(host)
    check_host(host, public=False)


def test_public_allows_any_host_and_says_what_it_means() -> None:
    assert not is_loopback("0.0.0.0")
    check_host("0.0.0.0", public=True)
    warning = public_warning("0.0.0.0")
    assert warning.startswith("WARNING")
    assert "no authentication" in warning
    assert "runs as root" in warning


def test_page_url() -> None:
    assert page_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert page_url("::1", 8000) == "http://[::1]:8000/"
    assert page_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/"


def test_ports_are_never_handed_out_twice_while_held() -> None:
    book = PortBook(reserved=())
    first = book.claim(2)
    second = book.claim(2)
    assert len(set(first) | set(second)) == 4
    assert book.held == set(first) | set(second)
    book.release(first)
    assert book.held == set(second)


def test_sessions_get_their_own_directory_ports_and_answers_up_to_the_cap(tmp_path: Path) -> None:
    book = SessionBook(tmp_path, limit=2, timeout=3.0, reserved_ports=(8000,))
    one, two = book.open(), book.open()
    assert one is not None
    assert two is not None
    assert one.directory != two.directory
    assert one.directory.parent == tmp_path
    assert set(one.ports).isdisjoint(two.ports)
    assert 8000 not in set(one.ports) | set(two.ports)
    answers = load_answers(one.directory / ANSWERS_NAME)
    assert answers.codestream.api_url.endswith(f":{one.ports[0]}")
    assert answers.bastion.listen_port == one.ports[1]
    assert one.argv == session_argv(one.directory, 3.0)
    assert "--session-dir" in one.argv
    assert book.full
    assert book.open() is None
    assert "The demo is full: 2 browser sessions" in book.refusal()
    assert "--max-sessions 2" in book.refusal()
    book.closing = True
    assert "stopping" in book.refusal()
    book.sweep()
    assert not tmp_path.exists()


def test_a_port_in_use_is_a_message_and_leaves_nothing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wizard", "demo", "--web", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, TMPDIR=str(tmp_path)),
            check=False,
        )
    assert result.returncode == 2, result
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port N (0: any free one)" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # its private directory is gone too


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8000", True),
        ("127.0.0.1:9000", True),  # an SSH tunnel's other local port
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("attacker.example:8000", False),  # DNS rebinding: their name, our address
        ("127.0.0.1.attacker.example", False),
        ("", False),
        (None, False),
    ],
)
def test_only_this_servers_names_are_served(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, listen_host="127.0.0.1", public=False) is allowed
    assert host_allowed(host, listen_host="127.0.0.1", public=True)


def test_another_sites_page_cannot_open_a_session() -> None:
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert origin_allowed(None, "127.0.0.1:8000")  # not a browser
    assert not origin_allowed("https://attacker.example", "127.0.0.1:8000")
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert not origin_allowed("null", "127.0.0.1:8000")
