"""Do the name's CAA records let the CA issue for it? (``caa.*`` codes)

A CA must refuse to issue when the name's CAA records (RFC 8659) name other
CAs only, and Let's Encrypt counts every refused order against its rate
limits; so the ``certificate`` command asks before the CA does. The
relevant record set is the first one found climbing from the name towards
the root (``bastion.example.com``, then ``example.com``, then ``com``); no
record set anywhere means any CA may issue. Only ``issue`` properties matter
for a certificate without wildcards; an ``issue`` value names the CA's
domain, optionally followed by ``; parameters``, and an empty value (``";"``)
forbids every CA.

The lookups go to the public resolvers (``ctx.public_nameservers``), as the
CA's own resolver sees the public view, or to the local ones when no public
resolver is configured.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from wizard.checks.context import CheckContext
from wizard.checks.hostname import hostname_syntax_error, to_ascii_hostname
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.probes.dns import DnsAnswer, lookup

LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING_DIRECTORY = "https://acme-staging-v02.api.letsencrypt.org/directory"
KNOWN_CA_IDENTITIES: dict[str, str] = {
    # The CAA identity each CA documents (letsencrypt.org/docs/caa/).
    LETS_ENCRYPT_DIRECTORY: "letsencrypt.org",
    LETS_ENCRYPT_STAGING_DIRECTORY: "letsencrypt.org",
}


def ca_identity(acme_server: str) -> str | None:
    """The CAA issuer domain of the CA behind ``acme_server`` (``None``: not known here)."""
    return KNOWN_CA_IDENTITIES.get(acme_server.rstrip("/"))


@dataclass(frozen=True)
class CaaProperty:
    """One CAA record: ``flags tag "value"``."""

    flags: int
    tag: str
    value: str

    @property
    def issuer(self) -> str:
        """The CA domain an ``issue`` value names (empty: no CA may issue)."""
        return self.value.split(";", 1)[0].strip().lower().rstrip(".")


def parse_caa(text: str) -> CaaProperty | None:
    """A CAA record in zone-file form (``0 issue "letsencrypt.org"``); ``None`` if malformed."""
    try:
        parts = shlex.split(text)
    except ValueError:
        return None
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    return CaaProperty(int(parts[0]), parts[1].lower(), parts[2] if len(parts) > 2 else "")


def _lineage_names(name: str) -> list[str]:
    """``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``: where RFC 8659 looks, in order."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


async def _relevant_set(name: str, ctx: CheckContext) -> tuple[str, DnsAnswer | None, DnsAnswer]:
    """The first CAA record set climbing from ``name``: (owner, answer or ``None``, last asked)."""
    servers = ctx.public_nameservers or ctx.nameservers
    answer = DnsAnswer(name, "CAA", "error", detail="no DNS server is configured")
    for owner in _lineage_names(name):
        answer = await lookup(owner, "CAA", servers, ctx.timeout)
        if answer.status == "ok":
            return owner, answer, answer
        if answer.status not in ("nxdomain", "nodata"):
            return owner, None, answer  # cannot tell: the CA could not either
    return name, None, answer


def _forbids(name: str, owner: str, issuers: list[str], identity: str | None) -> Finding:
    allowed = ", ".join(sorted({i for i in issuers if i})) or "no CA at all"
    ca = identity or "the chosen CA"
    return fail(
        "caa.forbids",
        f"The CAA records of {owner} do not allow {ca} to issue for {name}",
        f"They allow: {allowed}. The CA must refuse the order (and it counts against its "
        "rate limits).",
        f'Add a CAA record at the DNS provider: {owner}. CAA 0 issue "{identity}"'
        if identity
        else "Add a CAA issue record for the chosen CA (its documentation names the value), "
        "or use a CA the records allow.",
    )


def judge_caa(
    name: str, owner: str, records: tuple[str, ...], identity: str | None
) -> list[Finding]:
    """The verdict on the relevant CAA record set of ``name`` (found at ``owner``)."""
    properties = [p for p in (parse_caa(r) for r in records) if p is not None]
    issue = [p for p in properties if p.tag == "issue"]
    shown = "; ".join(records)
    if not issue:
        return [
            ok(
                "caa.allows",
                f"The CAA records of {owner} do not restrict issuance for {name}",
                f"Records: {shown} (no 'issue' property).",
            )
        ]
    issuers = [p.issuer for p in issue]
    critical = [p for p in properties if p.flags & 128 and p.tag not in ("issue", "issuewild")]
    if critical:
        return [
            fail(
                "caa.critical_unknown",
                f"The CAA records of {owner} carry a critical property a CA may not understand",
                f"Records: {shown}. A CA must refuse to issue on an unknown critical property.",
                f"Remove the flag 128 from {critical[0].tag!r} (or the record) at the DNS "
                "provider.",
            )
        ]
    if identity is None:
        return [
            warn(
                "caa.unverified",
                f"Cannot tell whether the CAA records of {owner} allow this CA",
                f"They allow: {', '.join(sorted(set(issuers)))}; the CAA identity of the "
                "chosen ACME server is not known to this tool.",
                "Check that the CA's CAA identity (in its documentation) is among them.",
            )
        ]
    if identity in issuers:
        return [
            ok("caa.allows", f"The CAA records of {owner} allow {identity}", f"Records: {shown}.")
        ]
    return [_forbids(name, owner, issuers, identity)]


async def check_caa(hostname: str, acme_server: str, ctx: CheckContext) -> list[Finding]:
    """Check that CAA lets the CA of ``acme_server`` issue for ``hostname``.

    Returns:
        ``caa.none`` / ``caa.allows`` (ok), ``caa.unverified`` or
        ``caa.lookup_failed`` (warn), ``caa.forbids`` or ``caa.critical_unknown``
        (fail), or ``caa.skipped`` for an invalid name.
    """
    if hostname_syntax_error(hostname) is not None:
        return [skip("caa.skipped", "CAA not checked: the host name is not valid")]
    name = to_ascii_hostname(hostname)
    owner, found, last = await _relevant_set(name, ctx)
    if found is not None:
        return judge_caa(name, owner, found.records, ca_identity(acme_server))
    if last.status in ("nxdomain", "nodata"):
        return [
            ok(
                "caa.none",
                f"No CAA records for {name} or its parents: any CA may issue",
                "Looked up " + ", ".join(_lineage_names(name)) + ".",
            )
        ]
    return [
        warn(
            "caa.lookup_failed",
            f"The CAA records of {owner} could not be looked up",
            f"{last.detail or last.status}. A CA refuses to issue when its own CAA lookup fails.",
            "Check that the domain's name servers answer CAA queries (dig CAA "
            f"{owner} @1.1.1.1); some old DNS servers answer them with an error.",
        )
    ]
