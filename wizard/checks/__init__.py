"""UI-free live validation, one module per requirement.

Each module exposes functions that take their dependencies (resolvers, trust
store, timeouts, transport) through a :class:`~wizard.checks.context.CheckContext`
and return :class:`~wizard.findings.Finding` lists. ARCHITECTURE.md maps each
finding area (``cert.*``, ``nginx.*``, ...) to its module.

Nothing is imported here: each check loads its heavy libraries only when it runs.
"""

from __future__ import annotations

# The check modules (submodules, imported on use).
__all__ = [
    "address",
    "api_url",
    "cert_discovery",
    "certificate",
    "chain",
    "context",
    "dns",
    "fingerprint",
    "firewall",
    "hostname",
    "listen",
    "mode",
    "nginx",
    "pem",
    "proxy",
    "renewal",
    "secrets",
    "selinux",
    "upstream",
    "upstream_failures",
    "x509_facts",
]
