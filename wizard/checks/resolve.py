"""A small async DNS client that reports *why* a lookup failed.

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
from dataclasses import dataclass, field
from typing import Literal

LookupStatus = Literal[
    "ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "loop", "error"
]
MAX_CNAME_HOPS = 8


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    import dns.exception

    started = time.monotonic()
    deadline = started + timeout
    qname = name.rstrip(".").lower()
    chain: list[str] = [qname]
    if not servers:
        return DnsAnswer(qname, rdtype, "error", detail="no DNS server is configured")
    last_server = ""
    current = qname
    for _hop in range(MAX_CNAME_HOPS + 1):
        outcome: tuple[str, dict[str, list[str]], dict[str, str], int | None, bool] | None = None
        failure: tuple[LookupStatus, str] = ("timeout", "no answer")
        for server in servers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            last_server = str(server)
            try:
                outcome = await asyncio.wait_for(
                    _query_once(current, rdtype, server, remaining), timeout=remaining
                )
            except (TimeoutError, dns.exception.Timeout):
                failure = ("timeout", f"{server} did not answer within {timeout:g} s")
                continue
            except (OSError, dns.exception.DNSException, ValueError) as exc:
                failure = ("error", f"{server}: {exc.__class__.__name__}: {exc}")
                continue
            rcode = outcome[0]
            if rcode in ("SERVFAIL", "REFUSED"):
                status: LookupStatus = "servfail" if rcode == "SERVFAIL" else "refused"
                failure = (status, f"{server} answered {rcode} for {current}")
                outcome = None
                continue
            break
        elapsed = time.monotonic() - started
        if outcome is None:
            return DnsAnswer(
                qname, rdtype, failure[0], (), tuple(chain), last_server, failure[1], elapsed
            )
        rcode, records, cnames, ttl, recursive = outcome
        asked = current
        # Walk the part of the chain this response carries.
        while current in cnames:
            target = cnames[current]
            if target in chain:
                return DnsAnswer(
                    qname,
                    rdtype,
                    "loop",
                    (),
                    (*chain, target),
                    last_server,
                    "the CNAME chain loops: " + " -> ".join([*chain, target]),
                    elapsed,
                )
            chain.append(target)
            current = target
        if current in records:
            return DnsAnswer(
                qname,
                rdtype,
                "ok",
                tuple(records[current]),
                tuple(chain),
                last_server,
                "",
                elapsed,
                ttl,
            )
        if rcode == "NXDOMAIN":
            return DnsAnswer(
                qname,
                rdtype,
                "nxdomain",
                (),
                tuple(chain),
                last_server,
                f"{current} does not exist (NXDOMAIN from {last_server})",
                elapsed,
            )
        if current != asked and not recursive:
            # A CNAME without its target's records from an authoritative server
            # outside the target's zone: ask for the target next. A recursive
            # resolver would have included them, so there it means "no data".
            continue
        return DnsAnswer(
            qname,
            rdtype,
            "nodata",
            (),
            tuple(chain),
            last_server,
            f"{current} has no {rdtype} record",
            elapsed,
        )
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
