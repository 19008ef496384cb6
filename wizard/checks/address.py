"""Is the bastion's public IP address usable? (no network traffic)

Slack and Microsoft connect to the address the bastion's name resolves to, so
the address the admin chooses must be publicly routable: not private, shared
(CGNAT), loopback, link-local, documentation, benchmarking, multicast or
otherwise reserved. It should also be on one of this host's interfaces;
when it is not, the usual reason is a cloud's 1:1 NAT (AWS Elastic IP, GCP
external IP, Azure public IP), which is fine when the cloud maps it here.

:func:`ip_syntax_error` is cheap enough for keystroke validation;
:func:`check_public_ip` returns the findings (``ip.*`` codes).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import re
import socket
import struct
from typing import Union

from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, warn

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

SIOCGIFADDR = 0x8915
IF_INET6_PATH = "/proc/net/if_inet6"

# Ranges that are not publicly routable, most specific first, with the reason.
_NOT_PUBLIC: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "in 0.0.0.0/8, 'this network' (RFC 791), never a destination"),
    ("127.0.0.0/8", "a loopback address (127.0.0.0/8): it only ever reaches this machine"),
    ("10.0.0.0/8", "an RFC 1918 private address (10.0.0.0/8)"),
    ("172.16.0.0/12", "an RFC 1918 private address (172.16.0.0/12)"),
    ("192.168.0.0/16", "an RFC 1918 private address (192.168.0.0/16)"),
    ("100.64.0.0/10", "a carrier-grade NAT shared address (100.64.0.0/10, RFC 6598)"),
    ("169.254.0.0/16", "a link-local address (169.254.0.0/16): it only works on one link"),
    ("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24, RFC 6890)"),
    ("192.0.2.0/24", "a documentation address (TEST-NET-1, 192.0.2.0/24, RFC 5737)"),
    ("198.51.100.0/24", "a documentation address (TEST-NET-2, 198.51.100.0/24, RFC 5737)"),
    ("203.0.113.0/24", "a documentation address (TEST-NET-3, 203.0.113.0/24, RFC 5737)"),
    ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15, RFC 2544)"),
    ("192.88.99.0/24", "a deprecated 6to4 relay anycast address (192.88.99.0/24, RFC 7526)"),
    ("224.0.0.0/4", "a multicast address (224.0.0.0/4), not a host"),
    ("255.255.255.255/32", "the limited broadcast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4, 'future use')"),
    ("::1/128", "the IPv6 loopback address: it only ever reaches this machine"),
    ("fe80::/10", "an IPv6 link-local address (fe80::/10): it only works on one link"),
    ("fc00::/7", "an IPv6 unique-local address (fc00::/7, RFC 4193), the IPv6 private range"),
    ("fec0::/10", "a deprecated IPv6 site-local address (fec0::/10)"),
    ("2001:db8::/32", "an IPv6 documentation address (2001:db8::/32, RFC 3849)"),
    ("3fff::/20", "an IPv6 documentation address (3fff::/20, RFC 9637)"),
    ("2001:2::/48", "an IPv6 benchmarking address (2001:2::/48, RFC 5180)"),
    ("2001::/23", "an IPv6 IETF protocol assignment (2001::/23, RFC 2928)"),
    ("100::/64", "an IPv6 discard-only address (100::/64, RFC 6666)"),
    ("64:ff9b::/96", "a NAT64 translated address (64:ff9b::/96), not a host's own"),
    ("64:ff9b:1::/48", "a local-use NAT64 address (64:ff9b:1::/48, RFC 8215)"),
    ("ff00::/8", "an IPv6 multicast address (ff00::/8), not a host"),
)
_NETWORKS = tuple((ipaddress.ip_network(net), why) for net, why in _NOT_PUBLIC)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_DOTTED = re.compile(r"\d+(\.\d+)*")
_EXAMPLE = "e.g. 203.0.113.10 or 2001:db8::10"


# -- syntax --------------------------------------------------------------------


def _ipv4_problem(text: str) -> str:
    """Why a dotted-number text is not an IPv4 address."""
    parts = text.split(".")
    if len(parts) != 4:
        return f"{text!r} has {len(parts)} numbers; an IPv4 address has four, e.g. 203.0.113.10"
    for part in parts:
        if int(part) > 255:
            return f"{part} in {text!r} is out of range: each number must be 0 to 255"
    return f"{text!r} has a number with a leading zero, which is ambiguous: remove the zeros"


def ip_syntax_error(text: str) -> str | None:
    """Why ``text`` is not an IPv4 or IPv6 address, or ``None`` when it is.

    Cheap and offline: fit for validating every keystroke. Surrounding blanks,
    prefix lengths, ports, brackets and zone ids are refused with their own
    message: the value goes into configuration files as it is.

    Args:
        text: The address as typed.

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    if not text.strip():
        return f"enter the bastion's public IP address ({_EXAMPLE})"
    if text != text.strip():
        return "remove the blanks before or after the address"
    if text.startswith("[") or "%" in text:
        return "enter the bare address, without brackets or a zone id like %eth0"
    try:
        ipaddress.ip_address(text)
    except ValueError as exc:
        if _DOTTED.fullmatch(text):
            return _ipv4_problem(text)
        if "/" in text:
            return "enter a single address, without a prefix length like /24"
        if text.count(":") == 1 and "." in text:
            return "enter the address without a port (the bastion listens on 443)"
        if ":" in text:
            return f"{text!r} is not a valid IPv6 address ({exc})"
        return f"{text!r} is not an IP address: enter the numeric address ({_EXAMPLE})"
    return None


# -- classification ------------------------------------------------------------


def not_public_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not publicly routable, or ``None`` when it is.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged by the IPv4
    address they carry.

    Args:
        ip: The address; unspecified addresses are the caller's business.

    Returns:
        E.g. ``"an RFC 1918 private address (10.0.0.0/8)"``, or ``None``.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        inner = not_public_reason(ip.ipv4_mapped)
        return None if inner is None else f"IPv4-mapped {ip.ipv4_mapped}, {inner}"
    for network, why in _NETWORKS:
        if ip.version == network.version and ip in network:
            return why
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return "a reserved IPv6 address, outside the global unicast range 2000::/3"
    if not ip.is_global:
        return "a reserved address, not globally routable"
    return None


def effective_address(ip: IPAddress) -> IPAddress:
    """``ip``, or the IPv4 address an IPv4-mapped IPv6 address carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# -- interfaces ----------------------------------------------------------------


def _ipv4_of(sock: socket.socket, name: str) -> str | None:
    """The primary IPv4 address of interface ``name`` (``SIOCGIFADDR``), if any."""
    request = struct.pack("256s", name.encode()[:15])
    try:
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
    except OSError:  # no IPv4 address on this interface
        return None
    return socket.inet_ntoa(reply[20:24])


def _ipv4_addresses() -> list[str]:
    addresses: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            address = _ipv4_of(sock, name)
            if address is not None:
                addresses.append(address)
    return addresses


def _ipv6_addresses(path: str = IF_INET6_PATH) -> list[str]:
    """IPv6 addresses from ``/proc/net/if_inet6`` (32 hex digits first on each line)."""
    addresses: list[str] = []
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if fields and len(fields[0]) == 32:
                    with contextlib.suppress(ValueError):
                        addresses.append(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    except OSError:
        return []
    return addresses


def local_interface_addresses() -> list[str]:
    """This host's interface addresses, IPv4 then IPv6, without duplicates.

    IPv4 comes from ``SIOCGIFADDR`` on every interface of
    ``socket.if_nameindex()`` (the primary address of each; secondary
    addresses without a label are not seen), IPv6 from ``/proc/net/if_inet6``.
    Loopback addresses are included. Never raises: what cannot be read is
    left out.

    Returns:
        Addresses as text, e.g. ``["127.0.0.1", "10.0.0.5", "::1"]``.
    """
    found: list[str] = []
    for source in (_ipv4_addresses, _ipv6_addresses):
        try:
            found += [a for a in source() if a not in found]
        except Exception:  # noqa: S112 - discovery is best effort by contract
            continue
    return found


def host_addresses(ctx: CheckContext) -> frozenset[IPAddress]:
    """The host's addresses: ``ctx.interface_addresses`` when given, else discovered."""
    texts = (
        ctx.interface_addresses
        if ctx.interface_addresses is not None
        else local_interface_addresses()
    )
    addresses: set[IPAddress] = set()
    for text in texts:
        with contextlib.suppress(ValueError):
            addresses.add(effective_address(ipaddress.ip_address(text.split("%", 1)[0])))
    return frozenset(addresses)


# -- findings ------------------------------------------------------------------


def _sentence(text: str) -> str:
    """``'enter it'`` -> ``'Enter it.'``"""
    return text[:1].upper() + text[1:] + "."


def _not_public_finding(text: str, reason: str) -> Finding:
    title = f"{text} is not a public address"
    detail = (
        f"{text} is {reason}. Slack and Microsoft connect from the internet and cannot reach it."
    )
    return fail(
        "ip.not_public",
        title,
        detail,
        "Enter the public address Slack and Microsoft reach the bastion at: on a cloud, "
        "the instance's public, external or elastic IP; on premises, the firewall's "
        "public address that forwards TCP 443 here. Use --lab for a lab.",
    )


def _interface_finding(text: str, ip: IPAddress, ctx: CheckContext) -> Finding:
    local = host_addresses(ctx)
    if ip in local:
        return ok("ip.on_interface", f"{text} is on one of this host's interfaces")
    shown = ", ".join(sorted(str(a) for a in local if not a.is_loopback)) or "none"
    return warn(
        "ip.not_on_interface",
        f"{text} is not on any of this host's interfaces",
        f"This host's addresses: {shown}. That is expected behind 1:1 NAT, as with an "
        "AWS Elastic IP, a GCP external IP or an Azure public IP: the cloud translates "
        "the public address to the instance's private one, which the instance never "
        "sees on its interfaces.",
        f"If a cloud or firewall maps {text} to this host, make sure it forwards TCP 443 "
        "here (security group / firewall rule) and carry on. Otherwise enter one of this "
        "host's public addresses.",
    )


def check_public_ip(text: str, ctx: CheckContext) -> list[Finding]:
    """Check the bastion's public IP address offline.

    Args:
        text: The address as typed.
        ctx: Supplies ``interface_addresses`` (``None``: discover this host's).

    Returns:
        One ``ip.empty``, ``ip.invalid`` or ``ip.unspecified`` failure; or
        ``ip.not_public`` (``fail``; lab mode's relaxation is applied by the
        caller, :func:`wizard.findings.apply_lab_mode`) or ``ip.ok``; then
        ``ip.on_interface`` or ``ip.not_on_interface``.
    """
    problem = ip_syntax_error(text)
    if problem is not None:
        if not text.strip():
            return [fail("ip.empty", "No public IP address given", "", _sentence(problem))]
        return [
            fail(
                "ip.invalid",
                f"{text[:60]!r} is not an IP address",
                _sentence(problem),
                f"Enter the bastion's public IPv4 or IPv6 address ({_EXAMPLE}).",
            )
        ]
    ip = ipaddress.ip_address(text)
    effective = effective_address(ip)
    if effective.is_unspecified:
        return [
            fail(
                "ip.unspecified",
                f"{text} is the unspecified address",
                f"{text} means 'any address' when listening; nobody can connect to it.",
                f"Enter the bastion's own public address ({_EXAMPLE}).",
            )
        ]
    reason = not_public_reason(ip)
    if reason is not None:
        findings = [_not_public_finding(text, reason)]
    else:
        kind = "IPv4" if effective.version == 4 else "IPv6"
        findings = [ok("ip.ok", f"{text} is a public {kind} address")]
    return [*findings, _interface_finding(text, effective, ctx)]
