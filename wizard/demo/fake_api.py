"""A fake CodeStream API on loopback that answers like the real Express app.

:class:`FakeCodeStreamApi` is a real HTTP/1.1 server (HTTPS when given a
certificate and key) on ``127.0.0.1``, run by an asyncio loop in its own daemon
thread, so synchronous tests, asynchronous tests and the demo can all use it.
Every connection is its own task: a slow or hung client never holds up others,
and :meth:`FakeCodeStreamApi.stop` cancels them all. Requests are parsed by
h11 (the sans-IO HTTP/1.1 parser httpx uses); answers are written by hand,
byte for byte as Node and Express write them.

What it says, byte for byte where it matters (Express 4's ``finalhandler`` and
``encodeurl``, which CodeStream's API server runs on):

- ``POST`` to a bot endpoint (``/no-auth/provider-action/slack``,
  ``.../slack-events``, ``.../msteams``; Express routing is case-insensitive and
  ignores one trailing slash) is answered as CodeStream's routes do, per
  release: Slack's signature checked with the configured signing secret (403
  ``RAPI-1003`` or ``RAPI-1012`` when it fails), the challenge of a signed
  ``url_verification`` echoed, Teams' 401 without a token (:mod:`wizard.demo.bot_routes`).
- Every other request gets Express's default 404 from ``finalhandler``:
  ``Cannot <METHOD> <path>`` in a ``<pre>``, the path being the request target
  without its query, passed through ``encodeurl`` then ``escape-html``, with the
  headers ``Content-Security-Policy: default-src 'none'``,
  ``X-Content-Type-Options: nosniff`` and ``X-Powered-By: Express``.
- Every answer of the CodeStream persona, 404s and bot endpoints alike, carries
  ``X-CS-API-Version`` (the release), set by CodeStream's versioner middleware
  before any route runs (``api_server/modules/versioner/versioner.js``).

- Every ``Date`` header is the API's clock: this host's plus ``bot.clock_offset``.

The knobs :attr:`~FakeCodeStreamApi.delay`, :attr:`~FakeCodeStreamApi.persona`,
:attr:`~FakeCodeStreamApi.api_version` and :attr:`~FakeCodeStreamApi.bot` (the
signing secret, the app ids, the clock offset) may be changed while it runs, to
play other servers, other releases, other configurations and broken ones.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import email.utils
import hashlib
import json
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from wizard import compat
from wizard.constants import ALL_ENDPOINTS
from wizard.demo.bot_routes import BotSettings, bot_answer
from wizard.demo.service import Service

Persona = Literal["codestream", "other", "welcome", "reset", "garbage", "hang"]
"""Who the server plays.

- ``codestream``: the CodeStream API (the default).
- ``other``: some other web server: nginx's own 404 page.
- ``welcome``: some other web server: a ``200`` "Welcome to nginx!" page.
- ``reset``: reads the request, then resets the connection (TCP RST).
- ``garbage``: reads the request, answers bytes that are not HTTP, closes.
- ``hang``: reads the request and never answers.
"""

DEFAULT_API_VERSION = "15.6.1"
"""The release the fake API reports by default (the newest ``api-*`` tag of the sources)."""

PERSONAS: tuple[Persona, ...] = ("codestream", "other", "welcome", "reset", "garbage", "hang")
BOT_ENDPOINTS: tuple[str, ...] = ALL_ENDPOINTS
GARBAGE: bytes = b"SSH-2.0-OpenSSH_9.6p1\r\n\x00\x00\x01\x14\x0a\x14\xde\xad\xbe\xef"
"""What the ``garbage`` persona answers: an SSH banner, then binary."""

_MAX_HEAD, _MAX_BODY = 64 * 1024, 1024 * 1024
_START_TIMEOUT = 5.0
_STOP_TIMEOUT = 2.0
_TLS_HANDSHAKE_TIMEOUT = 10.0

# encodeurl: runs of characters that are not URL code points, and "%" not
# starting a valid escape; each run goes through JavaScript's encodeURI.
_ENCODE_CHARS = re.compile(
    r"(?:[^\x21\x25\x26-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7e]"
    r"|%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]))+"
)
_ENCODE_URI_SAFE = "-_.!~*'();,/?:@&=+$#"
_HTML_ESCAPES = {'"': "&quot;", "&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

_NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_NGINX_WELCOME = (
    "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
    "<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is "
    "successfully installed and working.</p>\n</body>\n</html>\n"
)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake API received (kept in :attr:`FakeCodeStreamApi.requests`).

    Attributes:
        method: The method as sent, e.g. ``GET``.
        path: The request target exactly as sent, query string included.
        headers: Every header as ``(name, value)``, in the order sent.
        body: The request body (de-chunked).
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass
class _Response:
    """An HTTP response to serialise."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    head_only: bool = False

    def wire(self, *, keep_alive: bool, now: float | None = None) -> bytes:
        """The response as bytes, with the headers Node adds (``Date`` at ``now``)."""
        lines = [f"HTTP/1.1 {self.status} {self.reason}", *(f"{k}: {v}" for k, v in self.headers)]
        lines.append(f"Date: {email.utils.formatdate(now, usegmt=True)}")
        if keep_alive:
            lines += ["Connection: keep-alive", "Keep-Alive: timeout=5"]
        else:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if self.head_only else head + self.body


class _BadRequest(Exception):
    """A request that cannot be parsed (answered 400, as Node does)."""


# -- Express, faithfully -------------------------------------------------------


def _encode_uri(text: str) -> str:
    """JavaScript's ``encodeURI`` (UTF-8 percent-encoding of all but URI characters)."""
    return quote(text, safe=_ENCODE_URI_SAFE, encoding="utf-8", errors="replace")


def encode_url(url: str) -> str:
    """The ``encodeurl`` package: percent-encode what is not a URL code point.

    Valid ``%XX`` escapes are left alone; a ``%`` that starts none becomes ``%25``.
    """
    return _ENCODE_CHARS.sub(lambda m: _encode_uri(m.group(0)), url)


def escape_html(text: str) -> str:
    """The ``escape-html`` package: escape ``"``, ``&``, ``'``, ``<`` and ``>``."""
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


def express_pathname(target: str) -> str:
    """The pathname ``parseurl`` gives for a request target: no query, no fragment.

    An absolute-form target (``http://host/path``) gives its path (``/`` if none).
    """
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*", target)
    path = target[match.end() :] if match else target
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    return path or ("/" if match else path)


def express_not_found_page(method: str, target: str) -> str:
    """The HTML document Express's ``finalhandler`` sends for an unrouted request."""
    message = f"Cannot {method} {encode_url(express_pathname(target))}"
    body = escape_html(message).replace("\n", "<br>").replace("  ", " &nbsp;")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Error</title>\n</head>\n<body>\n<pre>{body}</pre>\n</body>\n</html>\n"
    )


def _express_etag(body: bytes) -> str:
    """Express's default weak ETag: length in hex and a truncated SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324
    return f'W/"{len(body):x}-{digest[:27]}"'


def _express_send(status: int, value: object = None, text: str | None = None) -> _Response:
    """``res.status(status).send(...)``: an object as JSON, a string as HTML, else empty
    (``send(undefined)``: Node's ``Content-Length: 0``, no type, no ETag)."""
    headers = [("X-Powered-By", "Express")]
    body = b""
    if text is not None:
        body = text.encode("utf-8")
        headers.append(("Content-Type", "text/html; charset=utf-8"))
    elif value is not None:
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers.append(("Content-Type", "application/json; charset=utf-8"))
    headers.append(("Content-Length", str(len(body))))
    if body:
        headers.append(("ETag", _express_etag(body)))
    return _Response(status, HTTPStatus(status).phrase, headers, body)


def _express_not_found(method: str, target: str) -> _Response:
    """finalhandler's 404, with the header order Express and Node produce."""
    body = express_not_found_page(method, target).encode("utf-8")
    return _Response(
        404,
        "Not Found",
        [
            ("X-Powered-By", "Express"),
            ("Content-Security-Policy", "default-src 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ],
        body,
        head_only=method == "HEAD",
    )


def _bot_endpoint(target: str) -> str | None:
    """The bot endpoint ``target`` routes to (Express: case-insensitive, non-strict)."""
    path = express_pathname(target).lower()
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    return path if path in BOT_ENDPOINTS else None


def _codestream_response(
    request: RecordedRequest,
    api_version: str | None = DEFAULT_API_VERSION,
    bot: BotSettings | None = None,
    now: float | None = None,
) -> _Response:
    """The CodeStream API's answer to one request.

    ``api_version`` (``None``: no header) goes right after ``X-Powered-By``, as
    the versioner middleware sets it before the route or the 404 handler runs.
    """
    method, target = request.method, request.path
    endpoint = _bot_endpoint(target)
    if method == "POST" and endpoint is not None:
        clock = time.time() if now is None else now
        settings = bot or BotSettings()
        answer = bot_answer(endpoint, api_version, request.header, request.body, settings, clock)
        response = _express_send(answer.status, answer.json, answer.text)
    else:
        response = _express_not_found(method, target)
    if api_version is not None:
        response.headers.insert(1, ("X-CS-API-Version", api_version))
    return response


def _nginx_page(status: int, reason: str, page: str, method: str) -> _Response:
    body = page.encode("ascii")
    return _Response(
        status,
        reason,
        [
            ("Server", "nginx"),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(body))),
        ],
        body,
        head_only=method == "HEAD",
    )


# -- HTTP/1.1 requests, parsed by h11 ----------------------------------------------------------


def _keep_alive(request: RecordedRequest, version: str) -> bool:
    """Whether the connection stays open after answering (Node's rules)."""
    connection = (request.header("Connection") or "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


async def _read_request(
    reader: asyncio.StreamReader, buffered: bytes
) -> tuple[RecordedRequest, str, bytes] | None:
    """The next request on the connection, its HTTP version and the bytes read past it.

    h11 parses (request line, headers, ``Content-Length`` or chunked bodies,
    trailers); a fresh parser per request lets the answer and the keep-alive
    decision follow Node's rules rather than h11's. Like Node's parser, a first
    byte that cannot start a method (a TLS ClientHello's 0x16, say) is refused
    at once, without waiting for a head. ``None`` when the peer closed between
    requests.

    Raises:
        _BadRequest: For anything h11 refuses, or a body over the size limit.
    """
    import h11

    data = buffered.lstrip(b"\r\n")
    while not data:
        chunk = await reader.read(65536)
        if not chunk:
            return None
        data = chunk.lstrip(b"\r\n")
    if not _TOKEN.match(data[:1].decode("latin-1")):
        raise _BadRequest("not an HTTP request")
    parser = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
    parser.receive_data(data)
    head: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError as exc:
            raise _BadRequest(str(exc)) from None
        if event is h11.NEED_DATA:
            chunk = await reader.read(65536)
            if not chunk:
                raise _BadRequest("connection closed inside the request")
            parser.receive_data(chunk)
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _MAX_BODY:
                raise _BadRequest("body too large")
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            break
        else:
            raise _BadRequest(f"unexpected {type(event).__name__}")
    request = RecordedRequest(
        head.method.decode("latin-1"),
        head.target.decode("latin-1"),
        tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers.raw_items()),
        bytes(body),
    )
    return request, f"HTTP/{head.http_version.decode('ascii')}", parser.trailing_data[0]


_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"


# -- the server ----------------------------------------------------------------


class FakeCodeStreamApi(Service):
    """A CodeStream API stand-in on loopback, HTTPS when given a certificate.

    Args:
        cert_path: PEM certificate chain (leaf first); with ``key_path``, serve HTTPS.
        key_path: The certificate's private key (PEM, unencrypted).
        host: The loopback address to listen on.
        port: The TCP port; 0 picks a free one at start.

    Attributes:
        delay: Seconds to wait before answering each request (others go on).
        persona: Who to play; see :data:`Persona`.
        api_version: The release in ``X-CS-API-Version``; ``None`` sends no header
            (a proxy that strips it).
        bot: The bot routes' configuration: signing secret, app ids, clock offset.

    Raises:
        ValueError: When only one of ``cert_path`` and ``key_path`` is given.
    """

    def __init__(
        self,
        cert_path: Path | None = None,
        key_path: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if (cert_path is None) != (key_path is None):
            raise ValueError("give both cert_path and key_path for HTTPS, or neither for HTTP")
        self.delay: float = 0.0
        self.persona: Persona = "codestream"
        self.api_version: str | None = DEFAULT_API_VERSION
        self.bot = BotSettings()
        self._cert_path = cert_path
        self._key_path = key_path
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._tls: ssl.SSLContext | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- properties ------------------------------------------------------------

    @property
    def tls(self) -> bool:
        """True when serving HTTPS."""
        return self._cert_path is not None

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port (known once started when created with 0)."""
        if not self._port:
            raise RuntimeError("the fake API has no port until it is started")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``https://127.0.0.1:8443``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    # -- life cycle ------------------------------------------------------------

    def start(self) -> FakeCodeStreamApi:
        """Listen and start answering in a background thread.

        Returns:
            The server itself, for chaining.

        Raises:
            RuntimeError: When already started.
            OSError: When the address cannot be bound.
            ssl.SSLError: When the certificate or key cannot be loaded.
        """
        if self._thread is not None:
            raise RuntimeError("the fake API is already running")
        if self._cert_path is not None and self._key_path is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(self._cert_path, self._key_path)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="fake-codestream-api", daemon=True
        )
        self._thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
            future.result(_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every connection, hung ones included, and end the thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(_STOP_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        if not thread.is_alive():
            loop.close()
        self._thread = None
        self._loop = None
        self._server = None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, limit=_MAX_HEAD
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- connections -----------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve each connection in its own task, which :meth:`stop` cancels."""
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: TLS handshake, then requests until it closes."""
        sock = writer.get_extra_info("socket")
        try:
            if self._tls is not None:
                reader, writer = await compat.start_tls(
                    reader,
                    writer,
                    self._tls,
                    handshake_timeout=_TLS_HANDSHAKE_TIMEOUT,
                    limit=_MAX_HEAD,
                )
            buffered: bytes | None = b""
            while buffered is not None:
                buffered = await self._serve_one(reader, writer, sock, buffered)
            await _close(writer)
        except _BadRequest:
            writer.write(_BAD_REQUEST)
            await _close(writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            writer.transport.abort()
        except asyncio.CancelledError:
            writer.transport.abort()
            raise

    async def _serve_one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sock: Any,
        buffered: bytes,
    ) -> bytes | None:
        """Read and answer one request.

        Returns:
            The bytes already read of the next request when the connection stays
            open (keep-alive), else ``None``.
        """
        received = await _read_request(reader, buffered)
        if received is None:
            return None
        request, version, rest = received
        with self._lock:
            self._requests.append(request)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        persona = self.persona
        if persona == "hang":
            await asyncio.Event().wait()  # until stop() cancels this task
        if persona == "reset":
            _reset(sock)
            writer.transport.abort()
            return None
        if persona == "garbage":
            writer.write(GARBAGE)
            await writer.drain()
            return None
        keep_alive = _keep_alive(request, version)
        now = time.time() + self.bot.clock_offset
        writer.write(self._respond(persona, request, now).wire(keep_alive=keep_alive, now=now))
        await writer.drain()
        return rest if keep_alive else None

    def _respond(self, persona: Persona, request: RecordedRequest, now: float) -> _Response:
        """The HTTP answer of an answering persona, at the API's clock ``now``."""
        if persona == "other":
            return _nginx_page(404, "Not Found", _NGINX_404, request.method)
        if persona == "welcome":
            return _nginx_page(200, "OK", _NGINX_WELCOME, request.method)
        return _codestream_response(request, self.api_version, self.bot, now)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Flush and close gracefully (TLS close_notify, then FIN); abort if that stalls."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), _STOP_TIMEOUT)
    except (ConnectionError, ssl.SSLError, asyncio.TimeoutError):
        writer.transport.abort()


def _reset(sock: Any) -> None:
    """Make closing ``sock`` send a TCP RST instead of a FIN (SO_LINGER, 0 s)."""
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
