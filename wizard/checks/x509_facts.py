"""Facts about X.509 certificates: names, issuers, CA flags, subjectAltName matching.

Pure functions over ``cryptography`` certificate objects, shared by the chain
and leaf checks and by the wizard's certificate list. Host names are compared
in their ASCII form (:mod:`wizard.hostnames`); wildcards follow RFC 6125.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from wizard.checks.context import CheckContext
from wizard.hostnames import to_ascii
from wizard.safetext import visible

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import (
        PublicKeyTypes,
    )

    _Ext = TypeVar("_Ext", bound=x509.ExtensionType)
else:
    _Ext = TypeVar("_Ext")


def check_time(ctx: CheckContext) -> datetime:
    """The time certificates are judged at: ``ctx.now`` (tests) or now, in UTC."""
    when = ctx.now or datetime.now(timezone.utc)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def get_extension(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    """The value of ``cert``'s extension of type ``kind``, or ``None`` when absent."""
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def name_label(name: x509.Name) -> str:
    """A short form of a distinguished name: its CN, else the whole RFC 4514 string."""
    from cryptography.x509.oid import NameOID

    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = cns[0].value if cns else None
    label = value if isinstance(value, str) and value else name.rfc4514_string() or "(empty)"
    return visible(label)  # whoever made the certificate chose these bytes


def san_names(cert: x509.Certificate) -> tuple[str, ...] | None:
    """The DNS names and IP addresses of the SAN, or ``None`` without a SAN."""
    from cryptography import x509

    san = get_extension(cert, x509.SubjectAlternativeName)
    if san is None:
        return None
    names = [visible(str(n)) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def is_ca(cert: x509.Certificate) -> bool:
    """Whether ``cert`` says it is a CA (basicConstraints CA:TRUE)."""
    from cryptography import x509

    constraints = get_extension(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def _key_id_mismatch(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when the child's AKI and the parent's SKI are both present and differ."""
    from cryptography import x509

    aki = get_extension(child, x509.AuthorityKeyIdentifier)
    ski = get_extension(parent, x509.SubjectKeyIdentifier)
    if aki is None or ski is None or aki.key_identifier is None:
        return False
    return aki.key_identifier != ski.key_identifier


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether ``parent`` signed ``child`` (names, key identifiers and signature)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    if child.issuer != parent.subject or _key_id_mismatch(child, parent):
        return False
    try:
        child.verify_directly_issued_by(parent)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # SHA-1/MD5 or an exotic key: the names and key ids matched; the weak
        # signature itself is reported by check_signature.
        return True
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Whether ``cert`` is issued by itself (name and signature)."""
    return issued_by(cert, cert)


def public_der(key: PublicKeyTypes) -> bytes:
    """The DER of a public key (SubjectPublicKeyInfo), to compare keys."""
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ascii_hostname(hostname: str) -> str | None:
    """``hostname`` as compared with certificates: lower case, IDN as punycode.

    Args:
        hostname: A name as typed, possibly with Unicode labels or a trailing dot.

    Returns:
        The A-label form (``xn--bcher-kva.example`` for ``Bücher.example``), an IP
        address unchanged, or ``None`` when it is not a usable host name.
    """
    name = hostname.strip().rstrip(".")
    if not name:
        return None
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        ascii_name = to_ascii(name)
    except ValueError:
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        return None
    return ascii_name.lower()


def shown_hostname(hostname: str, ascii_name: str) -> str:
    """The host name as typed, with its punycode form when that differs."""
    typed = hostname.strip().rstrip(".")
    return typed if typed.lower() == ascii_name else f"{typed} ({ascii_name})"


def san_matches(pattern: str, ascii_name: str) -> bool:
    """RFC 6125 matching of one SAN entry against a host name.

    A wildcard is only the whole left-most label and stands for exactly one
    label: ``*.example.com`` matches ``a.example.com`` but neither
    ``example.com`` nor ``a.b.example.com``; ``*.com`` matches nothing.

    Args:
        pattern: A SAN DNS name or IP address from a certificate.
        ascii_name: The host name from :func:`ascii_hostname`.

    Returns:
        Whether the entry covers the host name.
    """
    pattern = pattern.strip().rstrip(".").lower()
    if pattern.startswith("*."):
        suffix = pattern[2:]
        head, dot, rest = ascii_name.partition(".")
        return bool(head and dot) and rest == suffix and "*" not in suffix and "." in suffix
    if "*" in pattern:
        return False
    try:
        return ipaddress.ip_address(pattern) == ipaddress.ip_address(ascii_name)
    except ValueError:
        return pattern == ascii_name
