"""The bastion's TLS certificate and private key, checked as Slack and Microsoft would.

Slack's and Microsoft's bot connectors only talk to a bastion whose certificate
chains to a public CA, names the bastion in its subjectAltName, is in date and
uses modern algorithms. Path validation itself is done by
``cryptography.x509.verification`` (which enforces the CA/Browser Forum rules);
when it only says "failed", the individual checks below say *why*: self-signed,
missing intermediate, wrong order, wrong name, dates, weak key or signature,
missing serverAuth usage. The key is checked by hand: readable, not encrypted
(nginx would need ``ssl_password_file``), matching the certificate, and not
readable by group or others.

Files are hostile input: every read is bounded (:data:`MAX_FILE_BYTES`),
directories, FIFOs and devices are refused without opening them for long, and
nothing here raises for a bad file: each problem is a finding with a remedy.

cryptography is imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import re
import shlex
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from wizard.checks.context import CheckContext
from wizard.findings import Finding, Status, fail, ok, skip, warn, worst_status

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import (
        PrivateKeyTypes,
        PublicKeyTypes,
    )

    _Ext = TypeVar("_Ext", bound=x509.ExtensionType)
else:
    _Ext = TypeVar("_Ext")

MAX_FILE_BYTES = 1 << 20
"""Largest certificate or key file read (a real chain is a few KiB)."""
MAX_TRUST_STORE_BYTES = 16 << 20
"""Largest trust store read (the system bundle is about 200 KiB)."""
EXPIRY_WARNING = timedelta(days=30)
"""A certificate ending sooner than this gets a ``cert.expiring_soon`` warning."""
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
MAX_DISCOVERED = 50
"""Most certificate files :func:`discover_certificates` returns."""
DISCOVERY_DEPTH = 4
_MAX_SCANNED_ENTRIES = 5000  # per root
_MAX_KEY_CANDIDATES = 200
_PEEK_BYTES = 64 << 10
_MAX_CHAIN = 10

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_CERT_SUFFIXES = (".pem", ".crt", ".cer")
_SKIPPED_DIRS = frozenset({"private", "node_modules", "__pycache__", "venv"})

_LE_REMEDY = (
    "Point the certificate at the full chain: with Let's Encrypt use fullchain.pem, "
    "not cert.pem; otherwise append your CA's intermediate certificate(s) after the "
    "server certificate (cat server.crt intermediate.crt > fullchain.crt)."
)
_PUBLIC_CA_REMEDY = (
    "Slack and Microsoft only trust certificates from public CAs: get one for the "
    "bastion's name, e.g. with Let's Encrypt (certbot certonly -d NAME)."
)


# --------------------------------------------------------------------------- files


class _FileProblem(Exception):
    """A file could not be used; ``finding`` says why and what to do."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.title)
        self.finding = finding


@dataclass(frozen=True)
class _Role:
    """What a file is for: the words and codes its problems are reported with."""

    noun: str
    missing: str
    unreadable: str
    missing_remedy: str


_CERT_ROLE = _Role(
    "certificate",
    "cert.missing",
    "cert.unreadable",
    "Give the path of the PEM certificate chain nginx will serve, e.g. "
    "/etc/letsencrypt/live/NAME/fullchain.pem.",
)
_KEY_ROLE = _Role(
    "private key",
    "key.missing",
    "key.unreadable",
    "Give the path of the certificate's PEM private key, e.g. "
    "/etc/letsencrypt/live/NAME/privkey.pem.",
)
_STORE_ROLE = _Role(
    "trust store",
    "cert.trust_store",
    "cert.trust_store",
    "Install the system CA bundle (apt install ca-certificates, or dnf install "
    "ca-certificates) or pass --ca-bundle PATH with a PEM file of trusted roots.",
)


def _unreadable(
    role: _Role, path: str, why: str, remedy: str = "", detail: str = ""
) -> _FileProblem:
    return _FileProblem(
        fail(
            role.unreadable,
            f"The {role.noun} file cannot be used: {why}",
            f"{path}: {detail or why}.",
            remedy or f"Point to a readable PEM {role.noun} file. {role.missing_remedy}",
        )
    )


def _stat_regular(path: str, role: _Role) -> os.stat_result:
    """Stat ``path`` and insist on a regular file, or raise :class:`_FileProblem`."""
    if not path.strip():
        raise _FileProblem(
            fail(
                role.missing,
                f"No {role.noun} file given",
                "The path is empty.",
                role.missing_remedy,
            )
        )
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        broken = " (a broken symbolic link)" if os.path.islink(path) else ""
        raise _FileProblem(
            fail(
                role.missing,
                f"The {role.noun} file does not exist",
                f"{path} was not found{broken}.",
                role.missing_remedy,
            )
        ) from None
    except OSError as exc:
        raise _unreadable(role, path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise _unreadable(
            role,
            path,
            "it is a directory",
            f"Give the {role.noun} file inside the directory, not the directory itself. "
            f"{role.missing_remedy}",
        )
    if not stat.S_ISREG(info.st_mode):
        raise _unreadable(role, path, "it is not a regular file (a FIFO, socket or device)")
    return info


def _read_capped(path: str, role: _Role, limit: int = MAX_FILE_BYTES) -> bytes:
    """The content of ``path``, at most ``limit`` bytes, or :class:`_FileProblem`."""
    info = _stat_regular(path, role)
    too_big = _unreadable(
        role,
        path,
        "it is too large",
        f"A PEM {role.noun} file is a few KiB: point to the right file, not an archive "
        f"or a log. {role.missing_remedy}",
        f"it is over {limit:,} bytes, far more than any {role.noun} (only that much is read)",
    )
    if info.st_size > limit:
        raise too_big
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the stat, do not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        raise _unreadable(
            role,
            path,
            "permission denied",
            f"Run the wizard as root (sudo), or make the {role.noun} readable by this user.",
        ) from None
    except OSError as exc:
        raise _unreadable(role, path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _unreadable(role, path, exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise too_big
    return data


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Each PEM block of ``data`` as (label, whole block including the markers)."""
    return [(m.group(1).decode("ascii"), m.group(0)) for m in _PEM_BLOCK.finditer(data)]


def _is_der_certificate(data: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def _parse_certificates(data: bytes, path: str) -> list[x509.Certificate]:
    """The certificates of a PEM file, in file order, or :class:`_FileProblem`."""
    from cryptography import x509

    blocks = _pem_blocks(data)
    if not blocks:
        if _is_der_certificate(data):
            quoted = shlex.quote(path)
            raise _unreadable(
                _CERT_ROLE,
                path,
                "it is a DER (binary) certificate; nginx needs PEM",
                f"Convert it: openssl x509 -inform der -in {quoted} -out {quoted}.pem",
            )
        kind = "binary data" if b"\0" in data or not data.isascii() else "text"
        raise _unreadable(_CERT_ROLE, path, f"it holds {kind}, not a PEM certificate")
    cert_blocks = [block for label, block in blocks if label == "CERTIFICATE"]
    if not cert_blocks:
        labels = sorted({label for label, _ in blocks})
        if any("PRIVATE KEY" in label for label in labels):
            title = "The certificate file holds a private key, not a certificate"
            remedy = (
                "This is the key: give it as the private key, and give the certificate "
                "chain (e.g. fullchain.pem) as the certificate."
            )
        else:
            title = "The certificate file holds no certificate"
            remedy = _CERT_ROLE.missing_remedy
        raise _FileProblem(
            fail(
                "cert.not_certificate",
                title,
                f"{path} contains PEM blocks {', '.join(labels)} but no CERTIFICATE.",
                remedy,
            )
        )
    certs: list[x509.Certificate] = []
    for number, block in enumerate(cert_blocks, start=1):
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise _unreadable(
                _CERT_ROLE, path, f"certificate number {number} is corrupt ({exc})"
            ) from None
    return certs


@functools.lru_cache(maxsize=4)
def _parse_trust_store(path: str, _mtime_ns: int, _size: int) -> tuple[x509.Certificate, ...]:
    """The certificates of a trust store (cached while the file is unchanged)."""
    from cryptography import x509

    data = _read_capped(path, _STORE_ROLE, MAX_TRUST_STORE_BYTES)
    roots: list[x509.Certificate] = []
    for label, block in _pem_blocks(data):
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue  # one bad entry must not make the whole store useless
    return tuple(roots)


def _load_trust_store(ctx: CheckContext) -> tuple[Path, tuple[x509.Certificate, ...]]:
    """The path and certificates of the trust store, or a ``cert.trust_store`` problem."""
    bundle = ctx.trust_bundle()
    if bundle is None:
        raise _FileProblem(
            fail(
                "cert.trust_store",
                "No trust store found",
                "Neither --ca-bundle nor SSL_CERT_FILE is set and no system CA bundle exists.",
                _STORE_ROLE.missing_remedy,
            )
        )
    info = _stat_regular(str(bundle), _STORE_ROLE)
    roots = _parse_trust_store(str(bundle), info.st_mtime_ns, info.st_size)
    if not roots:
        raise _FileProblem(
            fail(
                "cert.trust_store",
                "The trust store holds no certificate",
                f"{bundle} has no PEM CERTIFICATE block.",
                _STORE_ROLE.missing_remedy,
            )
        )
    return bundle, roots


# --------------------------------------------------------------------------- helpers


def _now(ctx: CheckContext) -> datetime:
    when = ctx.now or datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _ext(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _label(name: x509.Name) -> str:
    """A short form of a distinguished name: its CN, else the whole RFC 4514 string."""
    from cryptography.x509.oid import NameOID

    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = cns[0].value if cns else None
    return value if isinstance(value, str) and value else name.rfc4514_string() or "(empty)"


def _san_names(cert: x509.Certificate) -> tuple[str, ...] | None:
    """The DNS names and IP addresses of the SAN, or ``None`` without a SAN."""
    from cryptography import x509

    san = _ext(cert, x509.SubjectAlternativeName)
    if san is None:
        return None
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509

    constraints = _ext(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def _key_id_mismatch(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when the child's AKI and the parent's SKI are both present and differ."""
    from cryptography import x509

    aki = _ext(child, x509.AuthorityKeyIdentifier)
    ski = _ext(parent, x509.SubjectKeyIdentifier)
    if aki is None or ski is None or aki.key_identifier is None:
        return False
    return aki.key_identifier != ski.key_identifier


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
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


def _is_self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def _public_der(key: PublicKeyTypes) -> bytes:
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
        ascii_name = _to_ascii(name)
    except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        return None
    return ascii_name.lower()


def _to_ascii(name: str) -> str:
    """IDNA 2008 with UTS #46 mapping when ``idna`` is there (httpx brings it), else IDNA 2003."""
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        return name.encode("idna").decode("ascii")
    return idna.encode(name, uts46=True).decode("ascii")


def _shown(hostname: str, ascii_name: str) -> str:
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


# --------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class CertificateFile:
    """A parsed certificate file, as the individual checks take it.

    Attributes:
        path: Where it was read from.
        certs: All its certificates, in file order.
        leaf: The server certificate (the first non-CA one).
        chain: The leaf, then the file's certificates that issue it, in issuing order.
    """

    path: str
    certs: tuple[x509.Certificate, ...]
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _pick_leaf(certs: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The server certificate: the first non-CA one, or a lone self-signed one."""
    for cert in certs:
        if not _is_ca(cert):
            return cert
    if len(certs) == 1 and _is_self_signed(certs[0]):
        return certs[0]  # `openssl req -x509` marks its certificates CA:TRUE
    return None


def _issuing_chain(
    leaf: x509.Certificate, certs: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    chain = [leaf]
    while len(chain) < _MAX_CHAIN and not _is_self_signed(chain[-1]):
        parent = next((c for c in certs if c not in chain and _issued_by(chain[-1], c)), None)
        if parent is None:
            break
        chain.append(parent)
    return tuple(chain)


def check_not_ca_bundle(certs: Sequence[x509.Certificate], hostname: str) -> list[Finding]:
    """``cert.not_leaf`` when the file holds only CA certificates (a CA bundle, ``chain.pem``).

    Args:
        certs: The certificates of the file.
        hostname: The bastion's name, to say whether any certificate names it.

    Returns:
        One failure, or nothing when the file has a server certificate.
    """
    if _pick_leaf(certs) is not None:
        return []
    shown = ", ".join(_label(c.subject) for c in certs[:3]) + (", ..." if len(certs) > 3 else "")
    ascii_name = ascii_hostname(hostname)
    covered = ascii_name is not None and any(
        san_matches(n, ascii_name) for c in certs for n in _san_names(c) or ()
    )
    detail = f"{len(certs)} CA certificate(s): {shown}; none is a server certificate"
    if ascii_name is not None and not covered:
        detail += f" and none names {_shown(hostname, ascii_name)}"
    return [
        fail(
            "cert.not_leaf",
            "The certificate file holds CA certificates, not a server certificate",
            detail + ". This looks like a CA bundle or an intermediate-only file (chain.pem).",
            "Choose the file with the bastion's own certificate first, e.g. "
            "/etc/letsencrypt/live/NAME/fullchain.pem.",
        )
    ]


def check_chain_order(certs: Sequence[x509.Certificate]) -> list[Finding]:
    """``cert.chain_order``: the server certificate first, each followed by its issuer.

    Args:
        certs: The certificates of the file, in file order.

    Returns:
        One failure naming the first misplaced certificate, or nothing.
    """
    problem = ""
    if _is_ca(certs[0]) and len(certs) > 1:
        problem = f"the first certificate ({_label(certs[0].subject)}) is a CA certificate"
    else:
        for number, (child, parent) in enumerate(pairwise(certs), start=1):
            if not _issued_by(child, parent):
                problem = (
                    f"certificate {number + 1} ({_label(parent.subject)}) did not issue "
                    f"certificate {number} ({_label(child.subject)})"
                )
                break
    if not problem:
        return []
    order = "; ".join(f"{n}. {_label(c.subject)}" for n, c in enumerate(certs[:6], start=1))
    return [
        fail(
            "cert.chain_order",
            "The certificates in the file are in the wrong order",
            f"nginx sends them as they are in the file, and {problem}. Order found: {order}.",
            "Put the server certificate first, then its intermediate, then that one's "
            "issuer (cat server.crt intermediate.crt > fullchain.crt); with Let's "
            "Encrypt use fullchain.pem as it is.",
        )
    ]


def check_hostname_in_san(leaf: x509.Certificate, hostname: str) -> list[Finding]:
    """``cert.no_san`` / ``cert.hostname_mismatch``: the SAN must name the bastion.

    Args:
        leaf: The server certificate.
        hostname: The bastion's public name as typed (Unicode allowed).

    Returns:
        A failure (or a skip without a usable name), or nothing when it matches.
    """
    names = _san_names(leaf)
    if names is None:
        return [
            fail(
                "cert.no_san",
                "The certificate has no subjectAltName (common name only)",
                f"Subject: {leaf.subject.rfc4514_string()}. Clients ignore the common name "
                "and require the name in the subjectAltName extension.",
                "Reissue the certificate with the bastion's name as a subjectAltName "
                "(certbot does this; with openssl add -addext "
                '"subjectAltName=DNS:NAME").',
            )
        ]
    ascii_name = ascii_hostname(hostname)
    if ascii_name is None:
        return [
            skip(
                "cert.hostname_mismatch",
                "Host name not checked against the certificate",
                f"{hostname!r} is not a usable host name.",
            )
        ]
    if any(san_matches(name, ascii_name) for name in names):
        return []
    return [
        fail(
            "cert.hostname_mismatch",
            f"The certificate does not cover {_shown(hostname, ascii_name)}",
            f"Its names: {', '.join(names) or '(none)'}. A wildcard covers exactly one "
            "label: *.example.com covers a.example.com, not example.com or a.b.example.com.",
            f"Use a certificate issued for {ascii_name} (e.g. certbot certonly -d "
            f"{ascii_name}), or correct the bastion host name.",
        )
    ]


def check_validity(chain: Sequence[x509.Certificate], when: datetime) -> list[Finding]:
    """``cert.expired`` / ``cert.not_yet_valid`` / ``cert.expiring_soon`` over the chain.

    Args:
        chain: The leaf and the issuers provided in the file.
        when: The moment judged (timezone-aware).

    Returns:
        At most one finding per code, naming every certificate concerned.
    """
    expired, early, soon = [], [], []
    for cert in chain:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        who = _label(cert.subject)
        if end < when:
            expired.append(f"{who} expired on {end:%Y-%m-%d %H:%M} UTC")
        elif start > when:
            early.append(f"{who} is valid from {start:%Y-%m-%d %H:%M} UTC")
        elif end - when < EXPIRY_WARNING:
            soon.append(f"{who} expires on {end:%Y-%m-%d %H:%M} UTC ({(end - when).days} days)")
    findings: list[Finding] = []
    if expired:
        findings.append(
            fail(
                "cert.expired",
                "The certificate has expired",
                "; ".join(expired) + ".",
                "Renew it (certbot renew, or ask your CA) and reload nginx; if an "
                "intermediate expired, download the current chain from the CA.",
            )
        )
    if early:
        findings.append(
            fail(
                "cert.not_yet_valid",
                "The certificate is not valid yet",
                "; ".join(early) + f"; the time judged is {when:%Y-%m-%d %H:%M} UTC.",
                "Check this host's clock (timedatectl; enable NTP), or wait until the start date.",
            )
        )
    if soon:
        findings.append(
            warn(
                "cert.expiring_soon",
                "The certificate expires within 30 days",
                "; ".join(soon) + ".",
                "Renew it now and make renewal automatic (systemctl list-timers "
                "'certbot*'; certbot renew --dry-run), with an nginx reload after renewal.",
            )
        )
    return findings


def _key_weakness(cert: x509.Certificate) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return None if key.key_size >= MIN_RSA_BITS else f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
        return None if bits >= MIN_EC_BITS else f"EC {key.curve.name} ({bits} bits)"
    return f"a {type(key).__name__.lstrip('_')} key, which public TLS clients do not accept"


def check_key_strength(chain: Sequence[x509.Certificate]) -> list[Finding]:
    """``cert.weak_key``: RSA keys of at least 2048 bits, EC keys of at least 256.

    Args:
        chain: The leaf and the issuers provided in the file.

    Returns:
        One failure naming the weak keys, or nothing.
    """
    weak = [f"{_label(c.subject)}: {why}" for c in chain if (why := _key_weakness(c)) is not None]
    if not weak:
        return []
    return [
        fail(
            "cert.weak_key",
            "The certificate's key is too weak",
            "; ".join(weak) + f". The minimum is RSA {MIN_RSA_BITS} or EC P-256.",
            "Reissue the certificate with a new key: an ECDSA P-256 key (certbot "
            "--key-type ecdsa) or RSA 2048 or more.",
        )
    ]


def _weak_hash(cert: x509.Certificate) -> str | None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes

    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name.upper() if isinstance(algorithm, hashes.SHA1 | hashes.MD5) else None


def check_signature(chain: Sequence[x509.Certificate]) -> list[Finding]:
    """``cert.weak_signature``: no SHA-1 or MD5 signatures in the chain.

    A root's signature on itself is not checked by anyone and is ignored.

    Args:
        chain: The leaf and the issuers provided in the file.

    Returns:
        One failure naming the weakly signed certificates, or nothing.
    """
    weak = [
        f"{_label(c.subject)} is signed with {name}"
        for c in chain
        if not _is_self_signed(c) and (name := _weak_hash(c)) is not None
    ]
    if not weak:
        return []
    return [
        fail(
            "cert.weak_signature",
            "The certificate chain uses a weak signature (SHA-1/MD5)",
            "; ".join(weak) + ". Clients reject these signatures.",
            "Reissue the certificate from a CA that signs with SHA-256 or better "
            "(any current public CA, e.g. Let's Encrypt).",
        )
    ]


def check_server_auth(leaf: x509.Certificate) -> list[Finding]:
    """``cert.no_server_auth``: an extendedKeyUsage, when present, must allow serverAuth.

    Args:
        leaf: The server certificate.

    Returns:
        One failure, or nothing.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    usage = _ext(leaf, x509.ExtendedKeyUsage)
    if usage is None or ExtendedKeyUsageOID.SERVER_AUTH in usage:
        return []
    found = ", ".join(getattr(oid, "_name", oid.dotted_string) for oid in usage) or "(none)"
    return [
        fail(
            "cert.no_server_auth",
            "The certificate is not for TLS servers (no serverAuth usage)",
            f"Its extended key usages: {found}.",
            "Reissue it as a TLS server certificate (extendedKeyUsage serverAuth), "
            "e.g. from Let's Encrypt.",
        )
    ]


def _verify_path(
    parsed: CertificateFile, roots: Sequence[x509.Certificate], hostname: str, when: datetime
) -> str | None:
    """Run ``cryptography.x509.verification``; ``None`` when the path validates."""
    from cryptography import x509
    from cryptography.x509 import verification

    ascii_name = ascii_hostname(hostname)
    if ascii_name is None:  # still validate the chain, against the certificate's own name
        ascii_name = next(iter(_san_names(parsed.leaf) or ()), None)
    if ascii_name is None:
        return "no name to validate against"
    subject: verification.Subject
    try:
        subject = x509.IPAddress(ipaddress.ip_address(ascii_name))
    except ValueError:
        subject = x509.DNSName(ascii_name)
    others = [c for c in parsed.certs if c is not parsed.leaf]
    try:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(list(roots)))
            .time(when)
            .build_server_verifier(subject)
        )
        verifier.verify(parsed.leaf, others)
    except (verification.VerificationError, ValueError) as exc:
        return str(exc)
    return None


def _explain_path(
    parsed: CertificateFile, roots: Sequence[x509.Certificate], bundle: Path
) -> Finding | None:
    """Why the leaf does not chain to ``roots``, when the chain itself is the cause."""
    last = parsed.chain[-1]
    if any(_issued_by(last, root) for root in roots):
        return None  # the chain reaches a trust anchor: something else failed
    if _is_self_signed(last):
        return fail(
            "cert.untrusted",
            "The certificate's root CA is not in the trust store",
            f"The chain ends at {_label(last.subject)}, which is not in {bundle}.",
            _PUBLIC_CA_REMEDY + f" If the CA is public, the trust store {bundle} is "
            "outdated (update ca-certificates) or pass --ca-bundle.",
        )
    namesakes = [c for c in (*parsed.certs, *roots) if c.subject == last.issuer]
    if last is parsed.leaf or namesakes:
        why = (
            f"a certificate named {_label(last.issuer)} is there, but its key did not sign "
            f"{_label(last.subject)} (a different or renewed intermediate)"
            if namesakes
            else f"its issuer {_label(last.issuer)} is neither in the file nor in {bundle}"
        )
        return fail(
            "cert.missing_intermediate",
            "The intermediate certificate is missing",
            f"{parsed.path} does not let clients build the chain: {why}.",
            _LE_REMEDY,
        )
    return fail(
        "cert.untrusted",
        "The certificate does not chain to the trust store",
        f"The chain ends at {_label(last.subject)}, issued by {_label(last.issuer)}, "
        f"which is not in {bundle}.",
        _PUBLIC_CA_REMEDY + " If the CA is public, append its intermediates or pass "
        "--ca-bundle with its root.",
    )


def check_chain(
    parsed: CertificateFile, hostname: str, ctx: CheckContext, *, explained: bool = False
) -> list[Finding]:
    """``cert.ok`` when the path validates for the host name, else why not.

    Args:
        parsed: The certificate file.
        hostname: The bastion's name (a subjectAltName must match it).
        ctx: Gives the trust store and the time.
        explained: Other checks already reported a failure; a validation failure
            without a chain-specific cause then adds nothing.

    Returns:
        ``cert.ok``; or ``cert.self_signed``, ``cert.trust_store``,
        ``cert.missing_intermediate`` or ``cert.untrusted``; or nothing.
    """
    leaf = parsed.leaf
    if _is_self_signed(leaf):
        return [
            fail(
                "cert.self_signed",
                "The certificate is self-signed",
                f"{_label(leaf.subject)} is signed by its own key; no client trusts it.",
                _PUBLIC_CA_REMEDY,
            )
        ]
    try:
        bundle, roots = _load_trust_store(ctx)
    except _FileProblem as problem:
        return [problem.finding]
    when = _now(ctx)
    error = _verify_path(parsed, roots, hostname, when)
    if error is None:
        names = ", ".join(_san_names(leaf) or ())
        expiry = leaf.not_valid_after_utc
        return [
            ok(
                "cert.ok",
                "The certificate chains to the trust store and covers the host name",
                f"Subject: {_label(leaf.subject)}; names: {names}; issuer: "
                f"{_label(leaf.issuer)}; expires {expiry:%Y-%m-%d %H:%M} UTC "
                f"(in {(expiry - when).days} days); trust store: {bundle}.",
            )
        ]
    cause = _explain_path(parsed, roots, bundle)
    if cause is not None:
        return [cause]
    if explained:
        return []
    return [
        fail(
            "cert.untrusted",
            "The certificate does not pass path validation",
            f"Against the trust store {bundle}: {error[:300]}.",
            _PUBLIC_CA_REMEDY,
        )
    ]


def _load_certificate_file(cert_path: str, hostname: str) -> CertificateFile | Finding:
    """Read and parse the certificate file; a finding when that is all there is to say."""
    try:
        certs = _parse_certificates(_read_capped(cert_path, _CERT_ROLE), cert_path)
    except _FileProblem as problem:
        return problem.finding
    leaf = _pick_leaf(certs)
    if leaf is None:
        return check_not_ca_bundle(certs, hostname)[0]
    return CertificateFile(cert_path, tuple(certs), leaf, _issuing_chain(leaf, certs))


def _certificate_findings(
    cert_path: str, hostname: str, ctx: CheckContext
) -> tuple[list[Finding], CertificateFile | None]:
    """Every ``cert.*`` finding, and the parsed file when it could be read."""
    try:
        parsed = _load_certificate_file(cert_path, hostname)
        if isinstance(parsed, Finding):
            return [parsed], None
        findings = [
            *check_chain_order(parsed.certs),
            *check_hostname_in_san(parsed.leaf, hostname),
            *check_validity(parsed.chain, _now(ctx)),
            *check_key_strength(parsed.chain),
            *check_signature(parsed.chain),
            *check_server_auth(parsed.leaf),
        ]
        explained = any(f.status == "fail" for f in findings)
        return [*check_chain(parsed, hostname, ctx, explained=explained), *findings], parsed
    except ValueError as exc:  # a malformed extension surfaces lazily, as ValueError
        return [
            fail(
                "cert.unreadable",
                "The certificate could not be analysed",
                f"{cert_path}: {exc}.",
                "The certificate is malformed: reissue it or point to another file.",
            )
        ], None


# --------------------------------------------------------------------------- the key


def _load_private_key(key_path: str) -> PrivateKeyTypes:
    """The key in ``key_path``, or :class:`_FileProblem` (missing, unreadable, encrypted)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = _read_capped(key_path, _KEY_ROLE)
    blocks = [(label, block) for label, block in _pem_blocks(data) if "PRIVATE KEY" in label]
    quoted = shlex.quote(key_path)
    if not blocks:
        try:
            serialization.load_der_private_key(data, None)
            why = "it is a DER (binary) key; nginx needs PEM"
            remedy = f"Convert it: openssl pkey -inform der -in {quoted} -out {quoted}.pem"
        except (ValueError, TypeError, UnsupportedAlgorithm):
            why = "it holds no PEM private key"
            if b"-----BEGIN CERTIFICATE-----" in data:
                why = "it holds a certificate, not a private key"
            remedy = ""
        raise _unreadable(_KEY_ROLE, key_path, why, remedy)
    label, block = blocks[0]
    encrypted = _FileProblem(
        fail(
            "key.encrypted",
            "The private key is encrypted with a passphrase",
            f"{key_path} ({label}) needs a passphrase: nginx would ask for it at every "
            "start, or need ssl_password_file.",
            f"Store it decrypted, readable by root only: openssl pkey -in {quoted} -out "
            f"{quoted}.plain && chmod 600 {quoted}.plain, then use that file.",
        )
    )
    if label == "ENCRYPTED PRIVATE KEY" or b"ENCRYPTED" in block.split(b"\n\n", 1)[0]:
        raise encrypted
    try:
        return serialization.load_pem_private_key(block, password=None)
    except TypeError:
        raise encrypted from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _unreadable(
            _KEY_ROLE, key_path, f"the key is corrupt or unsupported ({exc})"
        ) from None


def check_key_permissions(key_path: str) -> list[Finding]:
    """``key.permissions``: the key must not be accessible to group or others.

    Args:
        key_path: The private key file.

    Returns:
        A warning, or nothing (also when the file cannot be examined).
    """
    try:
        mode = stat.S_IMODE(os.stat(key_path).st_mode)
    except OSError:
        return []
    if not mode & 0o077:
        return []
    return [
        warn(
            "key.permissions",
            "The private key is accessible to group or others",
            f"{key_path} has mode {mode:04o}; anyone who reads it can impersonate the bastion.",
            f"chmod 600 {shlex.quote(key_path)} (owned by root).",
        )
    ]


def check_key_matches(leaf: x509.Certificate, key: PrivateKeyTypes, key_path: str) -> list[Finding]:
    """``key.mismatch``: the key's public half must be the certificate's.

    Args:
        leaf: The server certificate.
        key: The private key.
        key_path: Where the key was read (for the message).

    Returns:
        One failure, or nothing when they match.
    """
    if _public_der(key.public_key()) == _public_der(leaf.public_key()):
        return []
    return [
        fail(
            "key.mismatch",
            "The private key does not belong to the certificate",
            f"The public key in {key_path} differs from the certificate "
            f"{_label(leaf.subject)}'s; nginx would refuse to start.",
            "Use the key generated with this certificate (Let's Encrypt: privkey.pem in "
            "the same live directory as fullchain.pem).",
        )
    ]


def _key_kind(key: PrivateKeyTypes) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}-bit key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name} key"
    return f"{type(key).__name__.lstrip('_')} key"


def _key_findings(key_path: str, parsed: CertificateFile | None) -> list[Finding]:
    """Every ``key.*`` finding; the match needs a readable certificate."""
    try:
        key = _load_private_key(key_path)
    except _FileProblem as problem:
        not_compared = skip(
            "key.mismatch", "Key not compared with the certificate", "The key could not be loaded."
        )
        # An encrypted key is still a key: its permissions matter; anything else is noise.
        exposed = check_key_permissions(key_path) if problem.finding.code == "key.encrypted" else []
        return [problem.finding, not_compared, *exposed]
    findings = check_key_permissions(key_path)
    if parsed is None:
        return [
            ok("key.ok", "The private key is readable and not encrypted", _key_kind(key)),
            skip(
                "key.mismatch",
                "Key not compared with the certificate",
                "The certificate could not be read.",
            ),
            *findings,
        ]
    mismatch = check_key_matches(parsed.leaf, key, key_path)
    if mismatch:
        return [*mismatch, *findings]
    return [
        ok(
            "key.ok",
            "The private key matches the certificate",
            f"{_key_kind(key)} in {key_path}, not encrypted.",
        ),
        *findings,
    ]


def _check_sync(cert_path: str, key_path: str, hostname: str, ctx: CheckContext) -> list[Finding]:
    cert_findings, parsed = _certificate_findings(cert_path, hostname, ctx)
    return [*cert_findings, *_key_findings(key_path, parsed)]


async def check_certificate(
    cert_path: str, key_path: str, hostname: str, ctx: CheckContext
) -> list[Finding]:
    """Check the bastion's certificate chain and private key.

    The file work and path validation run in a worker thread.

    Args:
        cert_path: The PEM certificate chain nginx will serve (``ssl_certificate``).
        key_path: Its PEM private key (``ssl_certificate_key``).
        hostname: The bastion's public name as typed (IDN allowed).
        ctx: Gives the trust store (``ca_bundle``, ``SSL_CERT_FILE`` or the
            system bundle) and the moment to judge validity at (``now``).

    Returns:
        ``cert.*`` findings, then ``key.*`` findings. When the certificate cannot
        be read only that is reported for it, and ``key.mismatch`` is a skip.
    """
    return await asyncio.to_thread(_check_sync, cert_path, key_path, hostname, ctx)


# --------------------------------------------------------------------------- wizard helpers


@dataclass(frozen=True)
class CertificateSummary:
    """One line's worth about a certificate file, for the wizard's list.

    Attributes:
        path: The file.
        subject: The leaf's subject (its CN when it has one); empty when unreadable.
        names: The leaf's subjectAltNames.
        issuer: The leaf's issuer (CN when present).
        not_after: End of the leaf's validity, or ``None``.
        verdict: One line: what is wrong, or that it is good for the host name.
        status: The worst status among the certificate findings.
    """

    path: str
    subject: str
    names: tuple[str, ...]
    issuer: str
    not_after: datetime | None
    verdict: str
    status: Status


def summarize_certificate(path: str, hostname: str, ctx: CheckContext) -> CertificateSummary:
    """Summarise a certificate file for ``hostname``; never raises.

    Args:
        path: A certificate file.
        hostname: The bastion's name (may be empty when not chosen yet).
        ctx: Gives the trust store and the time.

    Returns:
        The summary; its verdict is the title of the most severe finding.
    """
    try:
        findings, parsed = _certificate_findings(path, hostname, ctx)
    except Exception as exc:  # the wizard's list must not break on one odd file
        return CertificateSummary(path, "", (), "", None, f"Could not be checked: {exc}", "fail")
    status = worst_status(findings)
    verdict = next((f.title for f in findings if f.status == status), "No finding")
    if parsed is None:
        return CertificateSummary(path, "", (), "", None, verdict, status)
    leaf = parsed.leaf
    return CertificateSummary(
        path=path,
        subject=_label(leaf.subject),
        names=_san_names(leaf) or (),
        issuer=_label(leaf.issuer),
        not_after=leaf.not_valid_after_utc,
        verdict=verdict,
        status=status,
    )


def leaf_not_after(path: str) -> datetime | None:
    """The end of validity of the server certificate in ``path``; ``None`` if unreadable.

    For monitoring (the certificate expiry metric); never raises on a bad file.
    """
    try:
        parsed = _load_certificate_file(path, "")
    except Exception:  # a metric must not break the check's report
        return None
    return parsed.leaf.not_valid_after_utc if isinstance(parsed, CertificateFile) else None


def _peek(path: Path) -> bytes:
    """The first bytes of a regular file, or ``b""``."""
    try:
        if not path.is_file():
            return b""
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            return handle.read(_PEEK_BYTES)
    except OSError:
        return b""


def _looks_like_server_certificate(path: Path) -> bool:
    """A PEM file whose first block is a certificate that is not a CA root or intermediate."""
    from cryptography import x509

    blocks = _pem_blocks(_peek(path))
    if not blocks or blocks[0][0] != "CERTIFICATE":
        return False
    try:
        cert = x509.load_pem_x509_certificate(blocks[0][1])
        if not _is_ca(cert):
            return True
        usage = _ext(cert, x509.KeyUsage)
    except ValueError:
        return False
    # `openssl req -x509` makes CA:TRUE server certificates without keyCertSign.
    return usage is None or not usage.key_cert_sign


def _is_candidate_name(name: str) -> bool:
    lower = name.lower()
    if "key" in lower:
        return False
    return lower.endswith(_CERT_SUFFIXES) or "fullchain" in lower


def _walk(root: Path) -> Iterator[Path]:
    """Files under ``root`` up to :data:`DISCOVERY_DEPTH` deep, fullchain files first."""
    stack: list[tuple[Path, int]] = [(root, 1)]
    budget = _MAX_SCANNED_ENTRIES
    while stack:
        directory, depth = stack.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: ("fullchain" not in e.name, e.name))
        except OSError:
            continue
        subdirs: list[tuple[Path, int]] = []
        for entry in entries:
            budget -= 1
            if budget < 0:
                return
            try:
                if entry.is_dir(follow_symlinks=False):
                    if (
                        depth < DISCOVERY_DEPTH
                        and not entry.name.startswith(".")
                        and (entry.name not in _SKIPPED_DIRS)
                    ):
                        subdirs.append((Path(entry.path), depth + 1))
                elif _is_candidate_name(entry.name):
                    yield Path(entry.path)
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def discover_certificates(roots: Sequence[Path], *, limit: int = MAX_DISCOVERED) -> list[Path]:
    """Server certificate files under ``roots``, for the wizard to offer; never raises.

    Looks for ``*.pem``, ``*.crt``, ``*.cer`` and ``fullchain`` files up to four
    levels deep, skipping keys, CA certificates and bundles, hidden and
    ``private`` directories, and files seen through another root.

    Args:
        roots: Directories to search, e.g. ``/etc/letsencrypt/live``, ``/etc/ssl``,
            ``/etc/pki/tls``, ``/etc/nginx`` and the current directory.
        limit: At most this many files are returned.

    Returns:
        The files in root order, fullchain files first within a directory.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for root in roots:
        try:
            for path in _walk(Path(root)):
                real = os.path.realpath(path)
                if real in seen or not _looks_like_server_certificate(path):
                    continue
                seen.add(real)
                found.append(path)
                if len(found) >= limit:
                    return found
        except (OSError, ValueError):
            continue
    return found


def _key_match(path: Path, public: bytes) -> bool | None:
    """Whether the key in ``path`` has public key ``public``; ``None`` when it cannot tell."""
    try:
        key = _load_private_key(str(path))
    except (_FileProblem, ValueError):
        return None
    return _public_der(key.public_key()) == public


def _leaf_public_key(cert_path: str) -> bytes | None:
    try:
        certs = _parse_certificates(_read_capped(cert_path, _CERT_ROLE), cert_path)
    except (_FileProblem, ValueError):
        return None
    leaf = _pick_leaf(certs)
    return None if leaf is None else _public_der(leaf.public_key())


def _key_candidates(directories: Sequence[Path]) -> Iterator[Path]:
    count = 0
    for directory in directories:
        try:
            with os.scandir(directory) as scan:
                names = sorted(e.path for e in scan if e.is_file())
        except OSError:
            continue
        for name in names:
            lower = os.path.basename(name).lower()
            if lower.endswith((".key", ".pem")) or "key" in lower:
                yield Path(name)
                count += 1
                if count >= _MAX_KEY_CANDIDATES:
                    return


def find_matching_key(cert_path: str, candidates_dirs: Sequence[Path] | None = None) -> str | None:
    """The private key file that goes with a certificate; never raises.

    Tried in order: Let's Encrypt's ``privkey.pem`` beside the certificate, the
    same stem with ``.key`` or ``-key.pem``, then any key in the certificate's
    directory or in ``candidates_dirs`` whose public key is the certificate's.
    A conventionally named key is returned unless it provably does not match
    (an encrypted one cannot be compared and is still returned).

    Args:
        cert_path: The certificate file.
        candidates_dirs: More directories to look in, e.g. ``/etc/ssl/private``.

    Returns:
        The key's path, or ``None``.
    """
    try:
        cert = Path(cert_path)
        public = _leaf_public_key(cert_path)
        named = [cert.with_name("privkey.pem"), cert.with_suffix(".key")]
        named.append(cert.with_name(f"{cert.stem}-key.pem"))
        for candidate in named:
            if candidate != cert and candidate.is_file():
                matches = None if public is None else _key_match(candidate, public)
                if matches is not False:
                    return str(candidate)
        if public is None:
            return None
        for candidate in _key_candidates([cert.parent, *(candidates_dirs or ())]):
            if candidate not in named and candidate != cert and _key_match(candidate, public):
                return str(candidate)
    except (OSError, ValueError):
        return None
    return None
