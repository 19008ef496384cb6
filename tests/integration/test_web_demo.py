"""``demo --web`` with two browser sessions side by side, over real websockets: both run, both stop.

The real server (a subprocess, as a presenter starts it) and real sessions:
each websocket gets a ``codestream-bastion demo`` of its own with its DNS
servers, fake API and nginx master. No browser is needed to prove the
process side; the browser test (``test_web_browser.py``) walks the wizard.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.nginx_harness import require_nginx
from tests.web_harness import WebDemo, alive, processes_under
from wizard.answers import load_answers
from wizard.constants import ANSWERS_NAME

pytestmark = pytest.mark.nginx

WELCOME = b"Which messaging providers?"


async def read_until(websocket: aiohttp.ClientWebSocketResponse, needle: bytes) -> bytes:
    """The terminal's bytes up to and including ``needle`` (the wizard painted it)."""
    seen = b""
    while needle not in seen:
        message = await asyncio.wait_for(websocket.receive(), 90)
        assert message.type == aiohttp.WSMsgType.BINARY, (message, seen[-500:])
        seen += message.data
    return seen


async def read_to_close(websocket: aiohttp.ClientWebSocketResponse) -> bytes:
    """What the terminal still gets until the server closes the socket."""
    rest = b""
    while True:
        message = await websocket.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return rest
        rest += message.data


async def until(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` without blocking the loop; fail naming ``what``."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.1)


def nginx_master(session: Path) -> int | None:
    """The live nginx master of a session (its pid file), or ``None``."""
    try:
        pid = int((session / "nginx" / "nginx.pid").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def session_ports(session: Path) -> set[int]:
    """The fake API's port and nginx's listen port of a session's answers."""
    answers = load_answers(session / ANSWERS_NAME)
    api_port = urlsplit(answers.codestream.api_url).port
    assert api_port is not None
    assert answers.bastion.listen_port is not None
    return {api_port, answers.bastion.listen_port}


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_two_sessions_side_by_side_run_and_both_stop(tmp_path: Path) -> None:
    require_nginx()
    with WebDemo.start(tmp_path, "--max-sessions", "2") as server:
        ws_url = server.url + "ws?width=100&height=30"
        async with aiohttp.ClientSession() as http:
            one = await http.ws_connect(ws_url)
            two = await http.ws_connect(ws_url)
            # Both wizards paint, each in its own process with its own demo.
            await asyncio.gather(read_until(one, WELCOME), read_until(two, WELCOME))
            await until(lambda: len(server.session_dirs()) == 2, 10, "two session directories")
            first, second = server.session_dirs()
            root = server.root
            await until(
                lambda: nginx_master(first) and nginx_master(second), 120, "both demos' nginx"
            )
            assert session_ports(first).isdisjoint(session_ports(second))
            api_ports = [
                urlsplit(load_answers(s / ANSWERS_NAME).codestream.api_url).port
                for s in (first, second)
            ]
            await until(lambda: all(accepts(p) for p in api_ports if p), 60, "both fake APIs")
            # The demo, its nginx master and worker (the worker follows the master's pid file).
            await until(
                lambda: len(processes_under(first)) >= 3 and len(processes_under(second)) >= 3,
                30,
                "both demos' nginx workers",
            )
            first_pids, second_pids = processes_under(first), processes_under(second)
            assert first_pids.isdisjoint(second_pids)

            # Another name for this address (DNS rebinding), another site's page: refused.
            async with http.get(server.url, headers={"Host": "attacker.example"}) as page:
                assert page.status == 421
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused_origin:
                await http.ws_connect(ws_url, origin="http://attacker.example")
            assert refused_origin.value.status == 403
            assert len(server.session_dirs()) == 2

            # The cap: a third tab is told so, on the page and in its terminal.
            async with http.get(server.url) as page:
                assert page.status == 503
                assert "The demo is full: 2 browser sessions" in await page.text()
            three = await http.ws_connect(ws_url)
            refused = await asyncio.wait_for(three.receive(), 10)
            assert b"The demo is full" in refused.data
            assert await asyncio.wait_for(read_to_close(three), 10) == b""
            assert len(server.session_dirs()) == 2

            # One tab goes: its demo ends with everything it started; the other runs on.
            await one.close()
            await until(
                lambda: not first.exists() and not any(alive(pid) for pid in first_pids),
                60,
                "the first session's processes and directory to go",
            )
            await until(lambda: len(server.session_dirs()) == 1, 30, "the server to forget it")
            assert all(alive(pid) for pid in second_pids)

            # Ctrl+C on the server: the session still open ends with it.
            code = await asyncio.to_thread(server.stop, signal.SIGINT)
            assert code == 0, "".join(server.output)
            await asyncio.wait_for(read_to_close(two), 10)
    output = "".join(server.output)
    assert not any(alive(pid) for pid in first_pids | second_pids), output
    assert processes_under(tmp_path) == set(), output
    assert not root.exists()
    assert "session 1 ended; its demo environment is stopped." in output
    assert "session 2 ended; its demo environment is stopped." in output


async def test_a_server_killed_outright_leaves_no_demo_running(tmp_path: Path) -> None:
    """kill -9 gives the server no chance to clean up: each demo ends itself (parent death)."""
    require_nginx()
    with WebDemo.start(tmp_path) as server:
        async with aiohttp.ClientSession() as http:
            tab = await http.ws_connect(server.url + "ws?width=100&height=30")
            await read_until(tab, WELCOME)
            (session,) = server.session_dirs()
            await until(lambda: nginx_master(session), 120, "the demo's nginx")
            await until(lambda: len(processes_under(session)) >= 3, 30, "the nginx worker")
            pids = processes_under(session)
            server.process.kill()
            await until(lambda: not any(alive(pid) for pid in pids), 30, "the demo to end itself")
            assert processes_under(tmp_path) == set()
            # The demo removed its own directory on the way out.
            assert not session.exists()
