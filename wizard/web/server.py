"""``demo --web``: the demo wizard in a browser, through textual-serve, on loopback.

textual-serve runs a Textual app as a subprocess per browser tab and relays
its screen over a websocket to xterm.js in the page. :class:`DemoWebServer`
keeps textual-serve's protocol and page script and changes four things:

- **The page is ours** (``templates/``): textual-serve's stock page loads its
  font from a web-font host; this one uses the Roboto Mono that textual-serve
  ships in its own static directory, and nothing on it names another host, so
  the demo works in a room without internet.
- **Each tab is a session** of :class:`~wizard.web.sessions.SessionBook`: its
  own directory, ports and ``codestream-bastion demo`` process in a process
  group of its own (textual-serve would start one shell command, the same for
  every tab, in the server's group); a cap on how many run at once, with a
  message in the page and in the terminal when full.
- **Stopping stops everything**: Ctrl+C or SIGTERM ends every session and the
  demo environment it started (its nginx included) before the server exits;
  a second Ctrl+C does not cut that short.
- **It says the URL to open** once it really listens, and little else.

Only :mod:`wizard.commands.demo_web` imports this module, so textual-serve
(the optional ``web`` extra) is needed only by ``demo --web``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import socket
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from wizard.web.access import host_allowed, origin_allowed, page_url
from wizard.web.sessions import DemoSession, SessionBook

__all__ = ["DemoWebServer", "serve_demo"]

TEMPLATES = Path(__file__).resolve().with_name("templates")
"""Our page (``app_index.html``) and the "full" page (``full.html``)."""
TITLE = "CodeStream bastion: guided demo"
SHUTDOWN_TIMEOUT = 5.0
"""Seconds aiohttp waits for the requests still open once every session has ended."""
HEARTBEAT = 15.0
"""Seconds between websocket pings (textual-serve's value): a vanished tab is noticed."""

log = logging.getLogger("codestream-bastion.web")


def say(text: str) -> None:
    """One line on the server's console (the presenter's terminal)."""
    print(f"codestream-bastion demo --web: {text}", flush=True)


class SessionAppService(AppService):
    """textual-serve's app service, running one session's demo process.

    textual-serve starts ``command`` through a shell in the server's process
    group; this starts the session's own command line, without a shell, in a
    process group of its own (:meth:`DemoSession.spawn`), so that ending the
    session can end everything its demo started.
    """

    def __init__(self, session: DemoSession, **kwargs: Any) -> None:
        super().__init__(shlex.join(session.argv), **kwargs)
        self.session = session

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        process = await self.session.spawn(self._build_environment(width=width, height=height))
        assert process.stdin is not None
        self._process = process
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the demo's screen until it ends, then close the page's terminal.

        textual-serve closes the websocket only when the app says it exits; a
        demo that died some other way must not leave a frozen screen behind.
        """
        try:
            await super().run()
        finally:
            with contextlib.suppress(Exception):
                await self.remote_close()

    async def ask_quit(self) -> None:
        """Ask the wizard to quit, as textual-serve does when a tab goes away."""
        await self.send_meta({"type": "quit"})


def terminal_text(message: str) -> bytes:
    """A message for the page's terminal (wrapped, bold), when no session starts."""
    lines = textwrap.wrap(message, 72)
    return ("\r\n\x1b[1m" + "\r\n".join(lines) + "\x1b[0m\r\n").encode("utf-8")


class DemoWebServer(Server):
    """textual-serve's server with our page, one session per tab, and a clean stop.

    Args:
        book: The sessions (their root, the cap).
        host: Where to listen (checked by :func:`wizard.web.access.check_host`).
        port: The TCP port.
        public: ``--public``: any ``Host`` is accepted (still not another site's websocket).
    """

    def __init__(self, book: SessionBook, *, host: str, port: int, public: bool = False) -> None:
        self.url = page_url(host, port)
        super().__init__(
            "codestream-bastion demo",
            host=host,
            port=port,
            title=TITLE,
            public_url=self.url.rstrip("/"),
            templates_path=TEMPLATES,
        )
        self.book = book
        self.public = public
        self._sockets: set[web.WebSocketResponse] = set()
        self._stopping = False

    def initialize_logging(self) -> None:
        """Warnings and errors only: no access log, no banner."""
        logging.basicConfig(
            level=logging.WARNING, format="codestream-bastion demo --web: %(message)s"
        )

    def request_exit(self) -> None:
        """Ctrl+C, SIGTERM or SIGHUP: stop every session, then the server (once)."""
        if self._stopping:
            say("still stopping the sessions' demos; a moment.")
            return
        self._stopping = True
        say("stopping every session and its demo environment ...")
        raise GracefulExit()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._only_this_server)
        return app

    @web.middleware
    async def _only_this_server(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Refuse another name for this server (DNS rebinding) and another site's websocket."""
        host = request.headers.get("Host")
        if not host_allowed(host, listen_host=self.host, public=self.public):
            raise web.HTTPMisdirectedRequest(text="This is not the address of this demo server.")
        if not origin_allowed(request.headers.get("Origin"), host):
            raise web.HTTPForbidden(text="Only this server's own page may open a session.")
        return await handler(request)

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: the URL is announced once the server listens (:meth:`announce`)."""

    def announce(self, *_ignored: object) -> None:
        """Say where to point the browser (called by aiohttp once it listens)."""
        say(f"open {self.url} in a browser.")
        say(
            "each browser tab gets its own demo (DNS servers, fake CodeStream API and nginx, "
            f"all on loopback); at most {self.book.limit} at once."
        )
        say("press Ctrl+C to stop it and every demo it started.")

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session (its nginx included), then close the pages' sockets."""
        # A demo ended before it painted is expected now, not "failed to start".
        logging.getLogger("textual-serve").setLevel(logging.CRITICAL)
        await self.book.close_all()
        for websocket in list(self._sockets):
            with contextlib.suppress(Exception):
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")
        say("every session has ended; nothing of theirs is running.")

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, or a page saying why no session can start now (HTTP 503)."""
        if self.book.full:
            return aiohttp_jinja2.render_template(
                "full.html", request, {"title": TITLE, "message": self.book.refusal()}, status=503
            )
        response: web.StreamResponse = await super().handle_index(request)
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab's terminal: a session of its own, ended when the tab or the demo goes."""
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        await websocket.prepare(request)
        session = self.book.open()
        if session is None:
            await websocket.send_bytes(terminal_text(self.book.refusal()))
            await websocket.close()
            return websocket
        say(f"session {session.number} started (its demo in {session.directory}).")
        self._sockets.add(websocket)
        service = SessionAppService(
            session,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        try:
            await service.start(_size(request, "width", 80), _size(request, "height", 24))
            await self._process_messages(websocket, service)
        except Exception:
            log.exception("session %d failed", session.number)
        finally:
            self._sockets.discard(websocket)
            await self.book.close(session, service.ask_quit)
            await websocket.close()
            say(f"session {session.number} ended; its demo environment is stopped.")
        return websocket

    def serve(self, debug: bool = False) -> None:
        """Listen until Ctrl+C or SIGTERM; every session has ended when this returns.

        Raises:
            OSError: The address cannot be listened on (in use, not on this host).
        """
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # SIGHUP too: the presenter's SSH session dropping must not orphan the demos.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=self.announce,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )


def _size(request: web.Request, name: str, default: int) -> int:
    """The terminal size the page asks for, within sane bounds."""
    return min(max(to_int(request.query.get(name, str(default)), default), 10), 500)


def serve_demo(*, host: str, port: int, limit: int, timeout: float, public: bool = False) -> int:
    """Serve the demo until stopped; returns the exit status.

    Args:
        host: Where to listen (already checked).
        port: The port (0: any free one).
        limit: The cap on concurrent sessions.
        timeout: The demos' per-operation timeout.
        public: ``--public`` was given.

    Raises:
        ValueError: The address cannot be listened on (the message says why and what to do).
    """
    try:
        port = port or _free_port(host.strip("[]"))
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from None
    root = Path(tempfile.mkdtemp(prefix="codestream-bastion-web-"))
    book = SessionBook(root, limit=limit, timeout=timeout, reserved_ports=(port,))
    try:
        DemoWebServer(book, host=host, port=port, public=public).serve()
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from None
    finally:
        # Whatever happened to the loop: nothing of any session stays behind.
        book.sweep()
    return 0


def _free_port(host: str) -> int:
    """A TCP port free on ``host`` now (IPv4 or IPv6, as the address is)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.bind(address)
        port: int = sock.getsockname()[1]
        return port


def _cannot_listen(host: str, port: int, exc: OSError) -> ValueError:
    return ValueError(
        f"demo --web cannot listen on {host}:{port}: {exc.strerror or exc}; choose another "
        "port with --port N (0: any free one), or another --host"
    )
