"""Can the CA be asked for a certificate now? (``acme.*`` codes, and the pre-check)

``codestream-bastion certificate`` (and the wizard's "Get a certificate")
asks these before any ACME server sees a request, because a CA counts every
failed validation against its rate limits (Let's Encrypt: 5 failures per
name per hour):

- the name's public A/AAAA records point at this host (:func:`check_dns`,
  the ``dns.*`` codes);
- certbot is installed (``acme.certbot_*``; how to install it per distribution);
- for HTTP-01, the port the CA calls is free (certbot ``--standalone``) or
  served by the nginx of the tree (``--webroot`` through a temporary server
  block), and nothing else holds it (``acme.port_*``);
- the CAA records allow the CA (:func:`check_caa`, the ``caa.*`` codes).

:func:`preflight` runs them together and says which certbot method fits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.checks.caa import check_caa
from wizard.checks.context import CheckContext
from wizard.checks.dns import check_dns
from wizard.checks.hostname import check_hostname
from wizard.findings import Finding, fail, has_failure, ok, skip
from wizard.probes.listeners import PortListeners, port_listeners

Challenge = Literal["http-01", "dns-01"]
Method = Literal["standalone", "webroot", "manual"]
CERTBOT_DIRS: tuple[str, ...] = ("/usr/bin", "/usr/local/bin", "/snap/bin", "/usr/sbin")
OS_RELEASE = Path("/etc/os-release")

# How each family of distributions installs certbot (their package names).
_INSTALL_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("debian", "ubuntu"), "apt-get install certbot"),
    (
        ("rhel", "centos", "rocky", "almalinux", "ol"),
        "dnf install epel-release && dnf install certbot",
    ),
    (("fedora",), "dnf install certbot"),
    (("amzn",), "dnf install certbot (Amazon Linux 2023) or pip install certbot"),
    (("suse", "opensuse", "sles"), "zypper install python3-certbot"),
    (("alpine",), "apk add certbot"),
    (("arch",), "pacman -S certbot"),
)


def find_certbot(search_path: str | None = None) -> str | None:
    """The certbot executable: on ``PATH`` (or ``search_path``), then the usual directories."""
    path = search_path if search_path is not None else os.environ.get("PATH", "")
    return shutil.which("certbot", path=os.pathsep.join([path, *CERTBOT_DIRS]))


def _os_release_ids(os_release: Path) -> list[str]:
    """``ID`` then the words of ``ID_LIKE`` from ``os-release`` (empty when unreadable)."""
    ids: list[str] = []
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ids
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids += value.strip().strip("\"'").lower().split()
    return ids


def certbot_install_hint(os_release: Path = OS_RELEASE) -> str:
    """The command that installs certbot on this distribution."""
    ids = _os_release_ids(os_release)
    for family, command in _INSTALL_HINTS:
        if any(i in family for i in ids):
            return command
    return "snap install --classic certbot (or your distribution's certbot package)"


def check_certbot(binary: str | None, os_release: Path = OS_RELEASE) -> Finding:
    """``acme.certbot_found``, or ``acme.certbot_missing`` with how to install it."""
    if binary is not None:
        return ok("acme.certbot_found", f"certbot is installed: {binary}")
    return fail(
        "acme.certbot_missing",
        "certbot is not installed",
        "This tool drives the host's certbot to get the certificate; it has no ACME client "
        "of its own.",
        f"Install it: {certbot_install_hint(os_release)}; then run this again.",
    )


@dataclass(frozen=True)
class PortVerdict:
    """What holds the HTTP-01 port, judged: the finding and the certbot method it allows."""

    finding: Finding
    method: Method | None


def judge_http_port(
    listeners: PortListeners, nginx_master: int | None, nginx_root: Path
) -> PortVerdict:
    """Free: ``--standalone``; held by the tree's nginx: ``--webroot``; else refused."""
    port = listeners.port
    if not listeners.listening:
        return PortVerdict(
            ok(
                "acme.port_free",
                f"Nothing listens on port {port}: certbot answers the challenge itself "
                "(--standalone)",
            ),
            "standalone",
        )
    if nginx_master is not None and nginx_master in listeners.pids:
        return PortVerdict(
            ok(
                "acme.port_nginx",
                f"nginx serves port {port}: the challenge goes through a temporary server "
                "block (--webroot)",
                f"The nginx master {nginx_master} of {nginx_root} holds the port; the block is "
                "installed like any change (journaled, nginx -t, reload) and removed after.",
            ),
            "webroot",
        )
    return PortVerdict(
        fail(
            "acme.port_busy",
            f"Port {port} is held by {listeners.describe()}, not by the nginx of {nginx_root}",
            "certbot can neither listen there (--standalone) nor serve the challenge through "
            "this tree's nginx (--webroot).",
            f"Stop that program while the certificate is issued, serve port {port} with the "
            "nginx of this tree (--nginx-root), or use --challenge dns-01.",
        ),
        None,
    )


async def check_http_port(port: int, ctx: CheckContext) -> PortVerdict:
    """Who holds the HTTP-01 ``port``, judged (see :func:`judge_http_port`)."""
    from wizard.nginx import find_binary
    from wizard.nginx.master import find_master

    listeners = await asyncio.to_thread(port_listeners, port)
    master: int | None = None
    if listeners.listening and find_binary(ctx.nginx_binary) is not None:
        state = await find_master(ctx.nginx_binary, ctx.nginx_root)
        master = state.pid if state.running else None
    return judge_http_port(listeners, master, ctx.nginx_root)


@dataclass(frozen=True)
class Preflight:
    """The pre-check's verdict.

    Attributes:
        findings: Every finding, in the order they are shown.
        method: The certbot method to use (``None`` when refused).
    """

    findings: tuple[Finding, ...]
    method: Method | None

    @property
    def ok(self) -> bool:
        """No finding failed: the CA may be asked."""
        return not has_failure(self.findings) and self.method is not None


async def preflight(
    hostname: str,
    public_ip: str,
    *,
    challenge: Challenge,
    http_port: int,
    acme_server: str,
    certbot: str | None,
    ctx: CheckContext,
) -> Preflight:
    """Everything checked before the CA is asked; nothing is changed.

    Args:
        hostname: The bastion's name (the certificate's only name).
        public_ip: The bastion's public address (``[bastion] public_ip``).
        challenge: ``http-01`` or ``dns-01``.
        http_port: Where the CA's HTTP-01 request arrives.
        acme_server: The ACME directory URL (its CA's CAA identity).
        certbot: The certbot executable, ``None`` when not installed.
        ctx: Resolvers, timeout, nginx tree.

    Returns:
        The findings as a real bastion gets them (the caller applies lab mode).
    """
    dns_findings, caa_findings = await asyncio.gather(
        check_dns(hostname, public_ip, ctx), check_caa(hostname, acme_server, ctx)
    )
    method: Method | None = "manual"
    if challenge == "http-01":
        verdict = await check_http_port(http_port, ctx)
        port_finding, method = verdict.finding, verdict.method
    else:
        port_finding = skip(
            "acme.port_skipped",
            "DNS-01: no port needs to be reachable",
            "The CA reads a TXT record under _acme-challenge instead.",
        )
    findings = [
        *check_hostname(hostname),
        *dns_findings,
        check_certbot(certbot),
        port_finding,
        *caa_findings,
    ]
    return Preflight(tuple(findings), method)
