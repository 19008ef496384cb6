"""A real DNS server on loopback, for the demo and the tests.

:class:`DnsServer` speaks the DNS protocol over UDP and TCP on one port of
``127.0.0.1`` (or ``::1``), built on dnspython. It answers like a recursive
resolver would: it follows CNAMEs inside its own data and puts the chain and
the final records in the answer section, says NXDOMAIN for names it does not
know and NOERROR with no data for known names without the asked type. Large
answers over UDP are truncated (TC flag), so clients retry over TCP.

The server runs an asyncio loop in its own daemon thread, so synchronous
tests, asynchronous tests and a Textual app can all use it, and each query is
answered in its own task: a ``delay`` on every answer never holds up the
others. Knobs switch failures on and off while it runs: ``delay``,
``servfail``, ``refuse`` and ``silent``.

Example:
    >>> zone = {"bastion.demo.test": [("A", "203.0.113.10")]}
    >>> with DnsServer(zone) as server:  # doctest: +SKIP
    ...     ctx = CheckContext(nameservers=(server.nameserver,))
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, NamedTuple, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from wizard.demo.service import Service
from wizard.probes.dns import Nameserver

Zone = Mapping[str, list[tuple[str, str]]]
"""Names to their records, each a ``(rdtype, text)`` pair in zone-file syntax."""

MAX_CHAIN = 16
"""CNAMEs followed for one answer at most: a loop ends the answer, never hangs."""

DEFAULT_TTL = 300
_UDP_PLAIN_SIZE = 512
_TCP_MAX_SIZE = 65535
_START_TIMEOUT = 5.0
_BIND_ATTEMPTS = 20


class ReceivedQuery(NamedTuple):
    """A query the server received (kept in :attr:`DnsServer.queries`).

    Attributes:
        name: The name asked for, lower case, without the final dot.
        rdtype: The record type, e.g. ``"A"``.
        transport: ``"udp"`` or ``"tcp"``.
    """

    name: str
    rdtype: str
    transport: str


def normalize_name(name: str) -> str:
    """A name as the server keys it: lower case, no final dot, no blanks around."""
    return name.strip().rstrip(".").lower()


def _parse_rdatas(rdtype: str, values: Iterable[str]) -> list[dns.rdata.Rdata]:
    """Parse zone-file texts of one type; relative names are taken as absolute.

    Raises:
        ValueError: When a value is not valid for ``rdtype``.
    """
    parsed: list[dns.rdata.Rdata] = []
    for text in values:
        try:
            parsed.append(
                dns.rdata.from_text(
                    dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
                )
            )
        except (dns.exception.DNSException, ValueError) as exc:
            raise ValueError(f"{rdtype} record {text!r} is not valid: {exc}") from exc
    return parsed


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """Bind a UDP and a TCP socket to the same port (any free one when ``port`` is 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _attempt in range(_BIND_ATTEMPTS):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            udp.bind((host, port))
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((host, udp.getsockname()[1]))
            tcp.listen(64)
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError(f"no port on {host} is free for both UDP and TCP")


class _UdpProtocol(asyncio.DatagramProtocol):
    """Hands every datagram to the server as its own task."""

    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport does not inherit DatagramTransport; it has its API.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._server.spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[Any, ...]) -> None:
        wire = await self._server.respond(data, "udp")
        if wire is not None and self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(wire, addr)


class DnsServer(Service):
    """A DNS server on loopback answering from an in-memory zone.

    Args:
        zone: Initial records: names to lists of ``(rdtype, text)`` pairs,
            e.g. ``{"alias.demo.test": [("CNAME", "bastion.demo.test")]}``.
            A name with an empty list exists but has no records.
        host: The loopback address to listen on (``127.0.0.1`` or ``::1``).
        port: The port for both UDP and TCP; 0 picks a free one at start.

    Attributes:
        delay: Seconds to wait before every answer (other queries go on).
        servfail: Names answered with SERVFAIL.
        refuse: Names answered with REFUSED.
        silent: When true, no query gets any answer (a firewalled resolver).
        ttl: The TTL given to every record.
        queries: Every query received, oldest first.

    Raises:
        ValueError: When a record in ``zone`` is not valid for its type.
    """

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.delay: float = 0.0
        self.servfail: set[str] = set()
        self.refuse: set[str] = set()
        self.silent: bool = False
        self.ttl: int = DEFAULT_TTL
        self.queries: list[ReceivedQuery] = []
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, list[dns.rdata.Rdata]]] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        for name, entries in (zone or {}).items():
            self._load_name(name, entries)

    # -- records -------------------------------------------------------------

    def _load_name(self, name: str, entries: list[tuple[str, str]]) -> None:
        by_type: dict[str, list[str]] = {}
        for rdtype, text in entries:
            by_type.setdefault(rdtype.upper(), []).append(text)
        with self._lock:
            self._records.setdefault(normalize_name(name), {})
        for rdtype, texts in by_type.items():
            self.set_records(name, rdtype, texts)

    def set_records(self, name: str, rdtype: str, values: Iterable[str]) -> None:
        """Replace the ``rdtype`` records of ``name`` (creating the name if new).

        Args:
            name: The owner name (any case, final dot optional).
            rdtype: The record type, e.g. ``"A"``, ``"AAAA"``, ``"CNAME"``.
            values: Zone-file texts; empty removes that type (the name stays).

        Raises:
            ValueError: When a value is not valid for ``rdtype``.
        """
        kind = rdtype.upper()
        parsed = _parse_rdatas(kind, values)
        with self._lock:
            types = self._records.setdefault(normalize_name(name), {})
            if parsed:
                types[kind] = parsed
            else:
                types.pop(kind, None)

    def clear(self, name: str) -> None:
        """Forget ``name`` entirely: it answers NXDOMAIN from now on."""
        with self._lock:
            self._records.pop(normalize_name(name), None)

    # -- life cycle ----------------------------------------------------------

    @property
    def port(self) -> int:
        """The port serving UDP and TCP (known once started when created with 0)."""
        if not self._port:
            raise RuntimeError("the DNS server has no port until it is started")
        return self._port

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._host

    @property
    def nameserver(self) -> Nameserver:
        """The server as a :class:`~wizard.probes.dns.Nameserver` for a check context."""
        return Nameserver(self._host, self.port)

    def start(self) -> DnsServer:
        """Bind the sockets and start answering in a background thread.

        Returns:
            The server itself, for chaining.

        Raises:
            RuntimeError: When already started, or when the loop failed to start.
            OSError: When the address or port cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the DNS server is already running")
        udp, tcp = _bind_pair(self._host, self._port)
        self._port = udp.getsockname()[1]
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run, args=(udp, tcp), name=f"dns-server-{self._port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the DNS server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop answering, close the sockets and end the thread (idempotent)."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(event.set)
        thread.join(_START_TIMEOUT)
        self._thread = None
        self._loop = None
        self._stop_event = None

    def _run(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(udp, tcp))
        except BaseException as exc:  # reported to start(); the thread must end quietly
            self._error = exc
            self._ready.set()
        finally:
            udp.close()
            tcp.close()
            loop.close()

    async def _serve(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), sock=udp
        )
        server = await asyncio.start_server(self._handle_tcp, sock=tcp)
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            transport.close()
            server.close()
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Cancel pending answers and end the TCP connections cleanly."""
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.transport.abort()  # the handler's read ends, the handler returns
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)
        # A connection accepted in the last moment has a handler task that has not
        # run yet (so it is in neither set): end every other task of this private
        # loop too, as asyncio.run does, so none is destroyed while pending.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task of the server's loop, cancelled at stop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- protocol ------------------------------------------------------------

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read length-prefixed queries off one connection; answer each as its own task."""
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        self._writers.add(writer)
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                wire = await reader.readexactly(length)
                self.spawn(self._reply_tcp(wire, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _reply_tcp(self, data: bytes, writer: asyncio.StreamWriter) -> None:
        wire = await self.respond(data, "tcp")
        if wire is not None and not writer.is_closing():
            writer.write(struct.pack("!H", len(wire)) + wire)

    async def respond(self, data: bytes, transport: str) -> bytes | None:
        """The wire answer to the query ``data``, or ``None`` to stay silent.

        Args:
            data: The query as received.
            transport: ``"udp"`` (answers over 512 bytes, or the client's EDNS
                size, are truncated) or ``"tcp"``.
        """
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append(
            ReceivedQuery(normalize_name(question.name.to_text()), qtype, transport)
        )
        if self.silent:
            return None
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        response = self._answer(query, question.name, qtype)
        limit = _TCP_MAX_SIZE if transport == "tcp" else max(_UDP_PLAIN_SIZE, query.payload)
        return response.to_wire(max_size=limit, prefer_truncation=True)

    def _answer(
        self, query: dns.message.Message, qname: dns.name.Name, qtype: str
    ) -> dns.message.Message:
        """Build the response to one question, as a recursive resolver would."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        key = normalize_name(qname.to_text())
        if key in {normalize_name(n) for n in self.refuse}:
            response.set_rcode(dns.rcode.REFUSED)
        elif key in {normalize_name(n) for n in self.servfail}:
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            with self._lock:
                response.set_rcode(self._follow(response, qname, qtype))
        return response

    def _follow(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: str
    ) -> dns.rcode.Rcode:
        """Add the CNAME chain and the final records to ``response``; return the rcode.

        A chain that comes back to a name already in it, or grows beyond
        :data:`MAX_CHAIN`, ends the answer there: the client sees the loop.
        """
        current = qname
        seen: set[str] = set()
        for _hop in range(MAX_CHAIN):
            key = normalize_name(current.to_text())
            seen.add(key)
            types = self._records.get(key)
            if types is None:
                return dns.rcode.NXDOMAIN
            if qtype in types:
                self._add(response, current, types[qtype])
                return dns.rcode.NOERROR
            cnames = types.get("CNAME")
            if not cnames:
                return dns.rcode.NOERROR
            self._add(response, current, cnames)
            target: dns.name.Name = cnames[0].target  # type: ignore[attr-defined]
            if normalize_name(target.to_text()) in seen:
                break
            current = target
        return dns.rcode.NOERROR

    def _add(
        self, response: dns.message.Message, owner: dns.name.Name, rdatas: list[dns.rdata.Rdata]
    ) -> None:
        response.answer.append(dns.rrset.from_rdata_list(owner, self.ttl, rdatas))
