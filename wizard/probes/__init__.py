"""Probes: asking the network (DNS, TLS, HTTP) and returning what it said, never a verdict.

- :mod:`~wizard.probes.dns`: an async DNS client that says *why* a lookup failed
  (:func:`lookup`, :func:`resolve_addresses`).
- :mod:`~wizard.probes.tls`: client contexts, the certificate a server presents
  (:func:`peer_certificate`) and how to describe it (:func:`describe_certificate`).
- :mod:`~wizard.probes.http`: one HTTP/1.1 request over TLS with the path sent
  verbatim (:func:`https_request`).

The checks (:mod:`wizard.checks`) turn what these return into findings; they
pass in the resolvers, trust store and timeouts (ARCHITECTURE.md, "Invariants").
"""

from __future__ import annotations

from wizard.probes.dns import (
    DnsAnswer,
    LookupStatus,
    Nameserver,
    lookup,
    parse_nameserver,
    resolve_addresses,
    system_nameservers,
)
from wizard.probes.http import MAX_RESPONSE, USER_AGENT, HttpResponse, https_request, parse_response
from wizard.probes.tls import (
    ProbeError,
    describe_certificate,
    describe_error,
    peer_certificate,
    unverified_context,
    verifying_context,
)

__all__ = [
    "MAX_RESPONSE",
    "USER_AGENT",
    "DnsAnswer",
    "HttpResponse",
    "LookupStatus",
    "Nameserver",
    "ProbeError",
    "describe_certificate",
    "describe_error",
    "https_request",
    "lookup",
    "parse_nameserver",
    "parse_response",
    "peer_certificate",
    "resolve_addresses",
    "system_nameservers",
    "unverified_context",
    "verifying_context",
]
