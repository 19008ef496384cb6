"""What every check needs from the outside world, passed in explicitly.

Checks never reach for globals: the resolvers, the trust store, the timeout
and the HTTP transport come in a :class:`CheckContext`, so tests and the demo
point them at loopback servers and the real run at the host's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.constants import SYSTEM_NGINX_ROOT
from wizard.probes.dns import Nameserver, parse_nameserver, system_nameservers

if TYPE_CHECKING:
    from wizard.checks.selinux import SelinuxHost

# Where distributions keep the system trust bundle, most common first.
SYSTEM_CA_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, Amazon Linux
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL (extracted)
    "/etc/ssl/cert.pem",  # Alpine, macOS
)
DEFAULT_PUBLIC_DNS: tuple[str, ...] = ("1.1.1.1", "8.8.8.8", "9.9.9.9")
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class CheckContext:
    """Dependencies of the checks.

    Attributes:
        nameservers: The bastion's own resolvers (system or ``--dns-server``).
        public_nameservers: Resolvers that stand for "the internet"
            (``--public-dns``), used to prove the name is publicly resolvable.
        ca_bundle: Trust store file; ``None`` means :func:`default_ca_bundle`.
        timeout: Bound, in seconds, on every network operation.
        lab: Non-public addresses and ports other than 443 become warnings.
        transport: An ``httpx.AsyncBaseTransport`` to use instead of the
            network (typed loosely so this module needs no httpx import).
        interface_addresses: The host's interface addresses; ``None`` means
            discover them (tests pass a list: a public address on an interface
            cannot be created here).
        now: The time certificates are judged at; ``None`` means now.
        nginx_root: The nginx configuration directory.
        nginx_binary: The nginx executable (name or path).
        selinux_host: How the ``selinux.*`` check asks the host; ``None`` means
            this host's commands and files (tests replay recorded outputs).
    """

    nameservers: tuple[Nameserver, ...] = ()
    public_nameservers: tuple[Nameserver, ...] = ()
    ca_bundle: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    lab: bool = False
    transport: Any = None
    interface_addresses: tuple[str, ...] | None = None
    now: datetime | None = None
    nginx_root: Path = SYSTEM_NGINX_ROOT
    nginx_binary: str = "nginx"
    selinux_host: SelinuxHost | None = None

    def trust_bundle(self) -> Path | None:
        """The CA bundle to trust: ``ca_bundle``, else the system default."""
        return self.ca_bundle if self.ca_bundle is not None else default_ca_bundle()


def default_ca_bundle() -> Path | None:
    """``SSL_CERT_FILE`` when set, else the system bundle (OpenSSL's, then known paths)."""
    import ssl

    env = os.environ.get("SSL_CERT_FILE")
    if env:
        return Path(env)
    cafile = ssl.get_default_verify_paths().cafile
    for candidate in (cafile, *SYSTEM_CA_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    return None


def build_context(
    *,
    dns_servers: list[str] | None = None,
    public_dns: list[str] | None = None,
    ca_bundle: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    lab: bool = False,
    nginx_root: str | None = None,
) -> CheckContext:
    """Build a context from command-line style values.

    Raises:
        ValueError: When a server address is not ``ADDR[:PORT]``.
    """
    local = tuple(parse_nameserver(s) for s in dns_servers) if dns_servers else None
    public = tuple(parse_nameserver(s) for s in (public_dns or DEFAULT_PUBLIC_DNS))
    return CheckContext(
        nameservers=local if local is not None else tuple(system_nameservers()),
        public_nameservers=public,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        timeout=timeout,
        lab=lab,
        nginx_root=Path(nginx_root) if nginx_root else SYSTEM_NGINX_ROOT,
    )
