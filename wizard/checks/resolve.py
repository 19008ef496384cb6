"""Moved to :mod:`wizard.probes.dns`; this module keeps the old import path working."""

# TODO(issue 9): re-point after merge (then delete this module).
from __future__ import annotations

from wizard.probes.dns import (
    MAX_CNAME_HOPS,
    DnsAnswer,
    LookupStatus,
    Nameserver,
    lookup,
    parse_nameserver,
    resolve_addresses,
    system_nameservers,
)

__all__ = [
    "MAX_CNAME_HOPS",
    "DnsAnswer",
    "LookupStatus",
    "Nameserver",
    "lookup",
    "parse_nameserver",
    "resolve_addresses",
    "system_nameservers",
]
