"""Does the bastion's name resolve, publicly, to the chosen address?

Slack and Microsoft look the bastion's name up through public DNS and connect
to every address they get, over IPv4 or IPv6. This check asks the bastion's
own resolvers (``ctx.nameservers``) and, separately, each resolver standing
for the internet (``ctx.public_nameservers``), for A and AAAA records, all at
once, each lookup bounded by ``ctx.timeout``. It then reports what the local
resolver says (the name, its CNAME chain, or precisely why it failed), whether
the public resolvers can see the name and agree with the local one (split
horizon), and whether the addresses are the chosen public IP and nothing else.

Names are looked up in their ASCII (punycode) form; a syntactically invalid
name is not looked up at all (``dns.skipped``).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wizard.checks.address import IPAddress, effective_address, host_addresses, ip_syntax_error
from wizard.checks.context import CheckContext
from wizard.checks.hostname import hostname_syntax_error, to_ascii_hostname
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.probes.dns import DnsAnswer, LookupStatus, Nameserver, lookup

RDTYPES: tuple[str, str] = ("A", "AAAA")
# Which of a name's two lookups (A, AAAA) speaks for both: the most telling first.
_PRIORITY: tuple[LookupStatus, ...] = (
    "ok", "loop", "nxdomain", "servfail", "refused", "timeout", "error", "nodata"
)  # fmt: skip
_CONCLUSIVE: frozenset[LookupStatus] = frozenset({"ok", "loop", "nxdomain", "nodata"})
_SHORT: dict[str, str] = {
    "nxdomain": "NXDOMAIN",
    "nodata": "no A/AAAA record",
    "loop": "CNAME loop",
    "timeout": "no answer (timeout)",
    "servfail": "SERVFAIL",
    "refused": "REFUSED",
}
_GRACE = 0.5  # seconds past ctx.timeout before a lookup is abandoned outright


@dataclass(frozen=True)
class _Resolution:
    """What one resolver (or the local set of resolvers) said about the name."""

    label: str
    a: DnsAnswer
    aaaa: DnsAnswer

    @property
    def answers(self) -> tuple[DnsAnswer, DnsAnswer]:
        return self.a, self.aaaa

    @property
    def outcome(self) -> DnsAnswer:
        """The answer that speaks for both lookups (see ``_PRIORITY``)."""
        return min(self.answers, key=_rank)

    @property
    def resolved(self) -> bool:
        return self.outcome.status == "ok"

    @property
    def conclusive(self) -> bool:
        """The resolver answered (records, NXDOMAIN, no data or a loop)."""
        return self.outcome.status in _CONCLUSIVE

    @property
    def addresses(self) -> frozenset[IPAddress]:
        found: set[IPAddress] = set()
        for answer in self.answers:
            if answer.status == "ok":
                found.update(effective_address(ipaddress.ip_address(r)) for r in answer.records)
        return frozenset(found)

    def summary(self) -> str:
        """``"public resolver 127.0.0.1:5353: NXDOMAIN"``: one line for people."""
        status = self.outcome.status
        if self.resolved:
            said = _join(self.addresses)
        else:
            said = _SHORT.get(status) or self.outcome.detail or status
        return f"{self.label}: {said}"


def _rank(answer: DnsAnswer) -> int:
    """Position of the answer's status in ``_PRIORITY`` (unknown statuses last)."""
    status = answer.status
    return _PRIORITY.index(status) if status in _PRIORITY else len(_PRIORITY)


def _join(addresses: Iterable[IPAddress]) -> str:
    """Addresses sorted IPv4 first, comma separated (``"none"`` when empty)."""
    ordered = sorted(addresses, key=lambda a: (a.version, int(a)))
    return ", ".join(str(a) for a in ordered) or "none"


# -- lookups -------------------------------------------------------------------


async def _bounded_lookup(
    name: str, rdtype: str, servers: Sequence[Nameserver], timeout: float
) -> DnsAnswer:
    """:func:`lookup`, abandoned as a timeout should it overrun its own deadline."""
    try:
        return await asyncio.wait_for(lookup(name, rdtype, servers, timeout), timeout + _GRACE)
    except asyncio.TimeoutError:
        where = ", ".join(map(str, servers))
        return DnsAnswer(
            name,
            rdtype,
            "timeout",
            server=where,
            detail=f"{where} did not answer within {timeout:g} s",
        )


async def _resolve_everywhere(
    name: str, ctx: CheckContext
) -> tuple[_Resolution, list[_Resolution]]:
    """A and AAAA from the local resolvers and from each public one, all concurrently."""
    local_label = "local resolver " + (", ".join(map(str, ctx.nameservers)) or "(none)")
    sources: list[tuple[str, Sequence[Nameserver]]] = [(local_label, ctx.nameservers)]
    sources += [(f"public resolver {ns}", (ns,)) for ns in ctx.public_nameservers]
    answers = await asyncio.gather(
        *(
            _bounded_lookup(name, rdtype, servers, ctx.timeout)
            for _label, servers in sources
            for rdtype in RDTYPES
        )
    )
    results = [
        _Resolution(label, answers[2 * i], answers[2 * i + 1])
        for i, (label, _servers) in enumerate(sources)
    ]
    return results[0], results[1:]


# -- the local resolver --------------------------------------------------------


def _resolved_findings(name: str, local: _Resolution) -> list[Finding]:
    chain = next(a.cname_chain for a in local.answers if a.status == "ok")
    lines = [f"{a.rdtype}: {', '.join(a.records) or '(none)'}" for a in local.answers]
    if len(chain) > 1:
        lines.append("CNAME chain: " + " -> ".join(chain))
    lines.append(f"answered by the {local.label}")
    findings = [
        ok(
            "dns.resolves",
            f"{name} resolves to {_join(local.addresses)}",
            "; ".join(lines) + ".",
        )
    ]
    if len(chain) > 1:
        findings.append(
            ok(
                "dns.cname_chain",
                f"CNAME chain: {' -> '.join(chain)}",
                f"{name} is an alias; the certificate must still name {name} itself.",
            )
        )
    return findings


_ADD_RECORD = (
    "Create an A record (or AAAA for IPv6) for {name} pointing to the bastion's public IP, "
    "at the DNS provider of its domain."
)
# Why the local resolver gave no address: status -> (code, title, remedy), formatted
# with {name}, {server} and {timeout}.
_LOCAL_FAILURES: dict[str, tuple[str, str, str]] = {
    "loop": (
        "dns.cname_loop",
        "The CNAME chain of {name} loops",
        "Fix the CNAME records so the chain ends at a name with an A/AAAA record.",
    ),
    "nxdomain": ("dns.nxdomain", "{name} does not exist in DNS (NXDOMAIN)", _ADD_RECORD),
    "nodata": ("dns.no_address", "{name} has no A or AAAA record", _ADD_RECORD),
    "timeout": (
        "dns.timeout",
        "No answer from {server} for {name} within {timeout:g} s",
        "Check that {server} is the right resolver (--dns-server) and that this host may "
        "reach that address and port over UDP and TCP; on a slow link raise --timeout.",
    ),
    "servfail": (
        "dns.servfail",
        "{server} answered SERVFAIL for {name}",
        "The resolver failed to resolve the name: usually the domain's name servers are "
        "unreachable or its DNSSEC signatures are broken. Check the domain's delegation and "
        "DNSSEC (dig +trace {name}), or use another resolver.",
    ),
    "refused": (
        "dns.refused",
        "{server} refused to resolve {name} (REFUSED)",
        "Use a resolver that serves this host (--dns-server), or allow this host in the "
        "resolver's access list.",
    ),
}
_LOCAL_ERROR = (
    "dns.error",
    "DNS lookup of {name} failed",
    "Check the resolvers in /etc/resolv.conf or given with --dns-server.",
)


def _local_failure(name: str, local: _Resolution, ctx: CheckContext) -> Finding:
    """The one finding explaining why the local resolver gave no address."""
    answer = local.outcome
    code, title, remedy = _LOCAL_FAILURES.get(answer.status, _LOCAL_ERROR)
    values = {"name": name, "server": answer.server or local.label, "timeout": ctx.timeout}
    return fail(
        code,
        title.format(**values),
        f"{answer.detail}; asked the {local.label}.",
        remedy.format(**values),
    )


def _local_findings(name: str, local: _Resolution, ctx: CheckContext) -> list[Finding]:
    if local.resolved:
        return _resolved_findings(name, local)
    return [_local_failure(name, local, ctx)]


# -- the public resolvers ------------------------------------------------------


def _not_public(name: str, public: list[_Resolution]) -> Finding:
    title = f"{name} does not resolve through public DNS"
    detail = (
        "Slack and Microsoft resolve the name through public DNS, which said: "
        + "; ".join(r.summary() for r in public)
        + "."
    )
    return fail(
        "dns.not_public",
        title,
        detail,
        f"Publish an A record for {name} at the public DNS provider of its domain (not only "
        "on the internal DNS server), then wait for its TTL to pass.",
    )


def _public_findings(
    name: str, local: _Resolution, public: list[_Resolution], ctx: CheckContext
) -> list[Finding]:
    """Is the name public, do the public resolvers agree among themselves and with ours?"""
    if not public:
        return [skip("dns.public_skipped", "No public resolver configured: public DNS not checked")]
    answered = [r for r in public if r.conclusive]
    if not answered:
        return [
            warn(
                "dns.public_unreachable",
                "No public resolver answered: public resolvability not proven",
                "; ".join(r.summary() for r in public) + ".",
                "Allow this host to reach the public resolvers on UDP/TCP port 53 (or name "
                "reachable ones with --public-dns), or check the name from another machine: "
                f"dig +short {name} @1.1.1.1.",
            )
        ]
    resolved = [r for r in answered if r.resolved]
    findings = [
        ok(
            "dns.public_resolves",
            f"{name} resolves through public DNS",
            "; ".join(r.summary() for r in public) + ".",
        )
        if resolved
        else _not_public(name, public)
    ]
    if len({r.addresses for r in answered}) > 1:
        findings.append(
            warn(
                "dns.public_inconsistent",
                f"Public resolvers disagree about {name}",
                "; ".join(r.summary() for r in answered) + ".",
                "A recent DNS change may still be propagating: wait for the old records' TTL "
                "to pass and check again. If it persists, check the domain's name servers agree.",
            )
        )
    findings += _split_horizon(name, local, answered)
    return findings


def _split_horizon(name: str, local: _Resolution, answered: list[_Resolution]) -> list[Finding]:
    differing = [r for r in answered if r.addresses != local.addresses]
    if not local.conclusive or not differing:
        return []
    return [
        warn(
            "dns.split_horizon",
            f"Public DNS and this host's resolver disagree about {name}",
            f"{local.summary()}; " + "; ".join(r.summary() for r in differing) + ".",
            "Fine if the internal DNS serves its own view on purpose; what matters for Slack "
            f"and Microsoft is the public view: make the public A/AAAA records of {name} point "
            "to the bastion's public IP.",
        )
    ]


# -- the chosen address --------------------------------------------------------


def _observed(local: _Resolution, public: list[_Resolution]) -> tuple[frozenset[IPAddress], str]:
    """The addresses the internet sees (public if any resolved, else local) and from whom."""
    resolved = [r for r in public if r.resolved]
    if resolved:
        return frozenset().union(*(r.addresses for r in resolved)), "public DNS"
    return local.addresses, f"the {local.label}"


def _mismatch(
    name: str, public_ip: str, chosen: IPAddress, seen: frozenset[IPAddress], source: str
) -> Finding:
    kind = "A" if chosen.version == 4 else "AAAA"
    same_family = {a for a in seen if a.version == chosen.version}
    if chosen in same_family:
        return ok("dns.matches", f"{name} resolves to the chosen address {public_ip}")
    return fail(
        "dns.mismatch",
        f"{name} does not resolve to the chosen address {public_ip}",
        f"According to {source} it resolves to {_join(seen)}"
        + ("" if same_family else f" (no {kind} record)")
        + ". Slack and Microsoft would connect there instead.",
        f"Point the {kind} record of {name} at {public_ip}"
        + (
            f", or, if {_join(same_family)} is really the bastion's address, enter that one."
            if same_family
            else "."
        ),
    )


def _elsewhere(name: str, chosen: IPAddress, strays: set[IPAddress], source: str) -> list[Finding]:
    """Warnings for addresses that are neither the chosen one nor on this host.

    Every such AAAA record is reported. A records are only when the chosen
    address is IPv4: with an IPv6 address chosen, an A record may well be
    this host's own address behind 1:1 NAT, which cannot be seen from here.
    """
    findings: list[Finding] = []
    v6 = {a for a in strays if a.version == 6}
    v4 = strays - v6 if chosen.version == 4 else set()
    if v6:
        findings.append(
            warn(
                "dns.aaaa_elsewhere",
                f"{name} has AAAA records that are not this host: {_join(v6)}",
                f"According to {source}. Slack and Microsoft connect over IPv6 when a name "
                "has AAAA records, and would reach another machine.",
                f"Remove those AAAA records of {name}, or point them at this host's public "
                "IPv6 address.",
            )
        )
    if v4:
        findings.append(
            warn(
                "dns.extra_addresses",
                f"{name} also resolves to addresses that are not this host: {_join(v4)}",
                f"According to {source}. Clients pick any of a name's addresses, so some "
                "requests from Slack and Microsoft would go to another machine.",
                f"Remove the A records of {name} that do not point to the bastion.",
            )
        )
    return findings


def _address_findings(
    name: str, public_ip: str, local: _Resolution, public: list[_Resolution], ctx: CheckContext
) -> list[Finding]:
    seen, source = _observed(local, public)
    if not seen:
        return []  # why there is no address was reported above
    if ip_syntax_error(public_ip) is not None:
        return [
            skip("dns.match_skipped", "No valid public IP chosen: its DNS records not compared")
        ]
    chosen = effective_address(ipaddress.ip_address(public_ip))
    strays = set(seen - {chosen} - host_addresses(ctx))
    return [
        _mismatch(name, public_ip, chosen, seen, source),
        *_elsewhere(name, chosen, strays, source),
    ]


# -- entry point ---------------------------------------------------------------


async def check_dns(hostname: str, public_ip: str, ctx: CheckContext) -> list[Finding]:
    """Check that ``hostname`` resolves, publicly, to ``public_ip`` and nothing else.

    Args:
        hostname: The bastion's name as typed (Unicode allowed).
        public_ip: The address chosen for the bastion (compared with the records
            when it is a valid IP address).
        ctx: Supplies the local and public resolvers, the timeout and
            this host's interface addresses.

    Returns:
        Findings with ``dns.*`` codes; see the module and README.md, "Check codes".
        Never raises for DNS trouble: every failure is a finding.
    """
    problem = hostname_syntax_error(hostname)
    if problem is not None:
        return [
            skip(
                "dns.skipped",
                "DNS not checked: the host name is not valid",
                f"Fix the host name first: {problem}.",
            )
        ]
    name = to_ascii_hostname(hostname)
    local, public = await _resolve_everywhere(name, ctx)
    return [
        *_local_findings(name, local, ctx),
        *_public_findings(name, local, public, ctx),
        *_address_findings(name, public_ip, local, public, ctx),
    ]
