"""A small async DNS client that reports *why* a lookup failed (the probes' DNS).

dnspython's stub resolver folds NXDOMAIN, SERVFAIL, timeouts and refusals into
exceptions that are awkward to tell apart, and retries on its own schedule.
The checks need the distinction (each is a different finding with a different
remedy) and a hard deadline, so this module sends the queries itself with
``dns.asyncquery`` and follows CNAME chains explicitly, detecting loops.

dnspython is imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Optional

LookupStatus = Literal[
    "ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "loop", "error"
]
MAX_CNAME_HOPS = 8


@dataclass(frozen=True)
class Nameserver:
    """A DNS server address and port."""

    address: str
    port: int = 53

    def __str__(self) -> str:
        if ":" in self.address:
            return f"[{self.address}]:{self.port}" if self.port != 53 else self.address
        return f"{self.address}:{self.port}" if self.port != 53 else self.address


def parse_nameserver(text: str) -> Nameserver:
    """Parse ``ADDR``, ``ADDR:PORT``, ``[V6]:PORT`` or a bare IPv6 address.

    Raises:
        ValueError: With a message fit for a person when ``text`` is not one.
    """
    value = text.strip()
    port = 53
    host = value
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: missing ']' in a bracketed IPv6 address")
        host = value[1:end]
        rest = value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
            if not port_text.isdigit():
                raise ValueError(f"{text!r}: port must be a number")
            port = int(port_text)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        if not port_text.isdigit():
            raise ValueError(f"{text!r}: port must be a number")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"{text!r}: a DNS server must be an IP address (optionally :PORT)"
        ) from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port {port} is out of range")
    return Nameserver(host, port)


def system_nameservers(resolv_conf: str = "/etc/resolv.conf") -> list[Nameserver]:
    """The host's own resolvers, from ``resolv.conf`` (what nginx should use too)."""
    servers: list[Nameserver] = []
    try:
        with open(resolv_conf, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        address = parts[1].split("%", 1)[0]
                        ipaddress.ip_address(address)
                    except ValueError:
                        continue
                    servers.append(Nameserver(address))
    except OSError:
        return []
    return servers


@dataclass(frozen=True)
class DnsAnswer:
    """The outcome of one lookup, final records after CNAMEs were followed.

    Attributes:
        name: The name asked for (ASCII/punycode, no trailing dot).
        rdtype: ``A``, ``AAAA``, ``CNAME``, ...
        status: Why the lookup ended; ``ok`` only with at least one record.
        records: The final records as text (addresses for A/AAAA).
        cname_chain: Every name followed, starting with ``name``.
        server: The server that answered last.
        detail: A sentence for people when ``status`` is not ``ok``.
        elapsed: Seconds spent.
    """

    name: str
    rdtype: str
    status: LookupStatus
    records: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    server: str = ""
    detail: str = ""
    elapsed: float = 0.0
    ttl: int | None = field(default=None)


async def _query_once(
    name: str, rdtype: str, server: Nameserver, timeout: float
) -> tuple[str, dict[str, list[str]], dict[str, str], int | None, bool]:
    """One query to one server: (rcode text, records by owner, cnames, ttl, recursive)."""
    import dns.asyncquery
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdatatype

    query = dns.message.make_query(name, rdtype)
    response, _tcp = await dns.asyncquery.udp_with_fallback(
        query, server.address, timeout=timeout, port=server.port
    )
    rcode = dns.rcode.to_text(response.rcode())
    wanted = dns.rdatatype.from_text(rdtype)
    records: dict[str, list[str]] = {}
    cnames: dict[str, str] = {}
    ttl: int | None = None
    for rrset in response.answer:
        owner = rrset.name.to_text(omit_final_dot=True).lower()
        if rrset.rdtype == dns.rdatatype.CNAME and wanted != dns.rdatatype.CNAME:
            for rdata in rrset:
                cnames[owner] = rdata.target.to_text(omit_final_dot=True).lower()
        elif rrset.rdtype == wanted:
            ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
            records.setdefault(owner, []).extend(r.to_text() for r in rrset)
    recursive = bool(response.flags & dns.flags.RA)
    return rcode, records, cnames, ttl, recursive


_Outcome = tuple[str, dict[str, list[str]], dict[str, str], Optional[int], bool]


async def _ask_servers(
    name: str, rdtype: str, servers: Sequence[Nameserver], deadline: float, timeout: float
) -> tuple[_Outcome | None, LookupStatus, str, str]:
    """Ask ``servers`` in turn until one gives a usable answer, before ``deadline``.

    Returns:
        (the answer or ``None``, why none when ``None``, the detail, the last server asked).
    """
    import dns.exception

    failure: tuple[LookupStatus, str] = ("timeout", "no answer")
    last_server = ""
    for server in servers:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        last_server = str(server)
        try:
            outcome = await asyncio.wait_for(
                _query_once(name, rdtype, server, remaining), timeout=remaining
            )
        except (asyncio.TimeoutError, dns.exception.Timeout):
            failure = ("timeout", f"{server} did not answer within {timeout:g} s")
            continue
        except (OSError, dns.exception.DNSException, ValueError) as exc:
            failure = ("error", f"{server}: {exc.__class__.__name__}: {exc}")
            continue
        rcode = outcome[0]
        if rcode in ("SERVFAIL", "REFUSED"):
            status: LookupStatus = "servfail" if rcode == "SERVFAIL" else "refused"
            failure = (status, f"{server} answered {rcode} for {name}")
            continue
        return outcome, failure[0], failure[1], last_server
    return None, failure[0], failure[1], last_server


def _read_answer(
    base: DnsAnswer, outcome: _Outcome, chain: list[str]
) -> tuple[str, DnsAnswer | None]:
    """Follow the CNAMEs one response carries (extending ``chain``) and conclude if it can.

    Returns:
        The name reached, and the final answer, or ``None`` when the target must
        be asked for next (a CNAME from an authoritative server outside the
        target's zone: a recursive resolver would have included its records).
    """
    rcode, records, cnames, ttl, recursive = outcome
    asked = current = chain[-1]
    while current in cnames:
        target = cnames[current]
        if target in chain:
            detail = "the CNAME chain loops: " + " -> ".join([*chain, target])
            return current, replace(
                base, status="loop", cname_chain=(*chain, target), detail=detail
            )
        chain.append(target)
        current = target
    done = replace(base, cname_chain=tuple(chain))
    if current in records:
        return current, replace(done, status="ok", records=tuple(records[current]), ttl=ttl)
    if rcode == "NXDOMAIN":
        detail = f"{current} does not exist (NXDOMAIN from {base.server})"
        return current, replace(done, status="nxdomain", detail=detail)
    if current != asked and not recursive:
        return current, None
    return current, replace(done, status="nodata", detail=f"{current} has no {base.rdtype} record")


async def lookup(
    name: str, rdtype: str, servers: Sequence[Nameserver], timeout: float
) -> DnsAnswer:
    """Resolve ``name``/``rdtype`` through ``servers``, following CNAMEs.

    Servers are tried in order until one answers; the whole lookup, all hops
    and servers included, ends within ``timeout`` seconds.

    Args:
        name: An ASCII (punycode) domain name.
        rdtype: The record type, e.g. ``"A"``.
        servers: Resolvers to ask (the first that answers wins).
        timeout: Deadline for the whole lookup, in seconds.

    Returns:
        A :class:`DnsAnswer`; this function never raises for DNS trouble.
    """
    started = time.monotonic()
    deadline = started + timeout
    qname = name.rstrip(".").lower()
    chain: list[str] = [qname]
    if not servers:
        return DnsAnswer(qname, rdtype, "error", detail="no DNS server is configured")
    last_server = ""
    for _hop in range(MAX_CNAME_HOPS + 1):
        outcome, status, detail, asked = await _ask_servers(
            chain[-1], rdtype, servers, deadline, timeout
        )
        last_server = asked or last_server
        base = DnsAnswer(qname, rdtype, status, (), tuple(chain), last_server, detail)
        base = replace(base, elapsed=time.monotonic() - started)
        if outcome is None:
            return base
        _current, answer = _read_answer(replace(base, detail=""), outcome, chain)
        if answer is not None:
            return answer
    return DnsAnswer(
        qname,
        rdtype,
        "loop",
        (),
        tuple(chain),
        last_server,
        f"the CNAME chain is longer than {MAX_CNAME_HOPS} hops: " + " -> ".join(chain),
        time.monotonic() - started,
    )


async def resolve_addresses(
    host: str, servers: Sequence[Nameserver], timeout: float
) -> tuple[list[str], tuple[DnsAnswer, DnsAnswer]]:
    """The addresses of ``host`` (A and AAAA asked side by side), IPv4 first.

    Returns:
        Every address found, and the two answers (for saying why there is none).
    """
    a, aaaa = await asyncio.gather(
        lookup(host, "A", servers, timeout), lookup(host, "AAAA", servers, timeout)
    )
    addresses = [
        record for answer in (a, aaaa) if answer.status == "ok" for record in answer.records
    ]
    return addresses, (a, aaaa)
