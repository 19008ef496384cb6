"""The bastion's TLS certificate and private key, checked as Slack and Microsoft would.

Slack's and Microsoft's bot connectors only talk to a bastion whose certificate
chains to a public CA, names the bastion in its subjectAltName, is in date and
uses modern algorithms. The chain (leaf, issuers, path validation) is checked
by :mod:`wizard.checks.chain`; this module checks the leaf itself (name, dates,
key strength, signature, serverAuth usage) and the key by hand: readable, not
encrypted (nginx would need ``ssl_password_file``), matching the certificate,
and not readable by group or others. :func:`check_certificate` runs them all.

Files are hostile input: they are read through :mod:`wizard.checks.pem`
(bounded, refusing what is not a regular file), and nothing here raises for a
bad file: each problem is a finding with a remedy. The wizard's certificate
list lives in :mod:`wizard.checks.cert_discovery`.

cryptography is imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from wizard.checks.chain import (
    CertificateFile,
    check_chain,
    check_chain_order,
    check_not_ca_bundle,
    issuing_chain,
    pick_leaf,
)
from wizard.checks.context import CheckContext
from wizard.checks.pem import (
    CERT_ROLE,
    KEY_ROLE,
    FileProblem,
    parse_certificates,
    pem_blocks,
    read_capped,
    swappable,
    unreadable,
)
from wizard.checks.x509_facts import (
    ascii_hostname,
    check_time,
    get_extension,
    is_self_signed,
    name_label,
    public_der,
    san_matches,
    san_names,
    shown_hostname,
)
from wizard.findings import Finding, fail, ok, skip, warn

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import (
        PrivateKeyTypes,
    )


EXPIRY_WARNING = timedelta(days=30)
"""A certificate ending sooner than this gets a ``cert.expiring_soon`` warning."""
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


def check_hostname_in_san(leaf: x509.Certificate, hostname: str) -> list[Finding]:
    """``cert.no_san`` / ``cert.hostname_mismatch``: the SAN must name the bastion.

    Args:
        leaf: The server certificate.
        hostname: The bastion's public name as typed (Unicode allowed).

    Returns:
        A failure (or a skip without a usable name), or nothing when it matches.
    """
    names = san_names(leaf)
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
            f"The certificate does not cover {shown_hostname(hostname, ascii_name)}",
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
        who = name_label(cert.subject)
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
    weak = [
        f"{name_label(c.subject)}: {why}" for c in chain if (why := _key_weakness(c)) is not None
    ]
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
    return algorithm.name.upper() if isinstance(algorithm, (hashes.SHA1, hashes.MD5)) else None


def check_signature(chain: Sequence[x509.Certificate]) -> list[Finding]:
    """``cert.weak_signature``: no SHA-1 or MD5 signatures in the chain.

    A root's signature on itself is not checked by anyone and is ignored.

    Args:
        chain: The leaf and the issuers provided in the file.

    Returns:
        One failure naming the weakly signed certificates, or nothing.
    """
    weak = [
        f"{name_label(c.subject)} is signed with {name}"
        for c in chain
        if not is_self_signed(c) and (name := _weak_hash(c)) is not None
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

    usage = get_extension(leaf, x509.ExtendedKeyUsage)
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


def load_certificate_file(cert_path: str, hostname: str) -> CertificateFile | Finding:
    """Read and parse the certificate file; a finding when that is all there is to say."""
    try:
        certs = parse_certificates(read_capped(cert_path, CERT_ROLE), cert_path)
    except FileProblem as problem:
        return problem.finding
    leaf = pick_leaf(certs)
    if leaf is None:
        return check_not_ca_bundle(certs, hostname)[0]
    return CertificateFile(cert_path, tuple(certs), leaf, issuing_chain(leaf, certs))


def certificate_findings(
    cert_path: str, hostname: str, ctx: CheckContext
) -> tuple[list[Finding], CertificateFile | None]:
    """Every ``cert.*`` finding, and the parsed file when it could be read."""
    unsafe = swappable(cert_path, "cert.unsafe_path", "certificate")
    try:
        parsed = load_certificate_file(cert_path, hostname)
        if isinstance(parsed, Finding):
            return [*unsafe, parsed], None
        findings = [
            *check_chain_order(parsed.certs),
            *check_hostname_in_san(parsed.leaf, hostname),
            *check_validity(parsed.chain, check_time(ctx)),
            *check_key_strength(parsed.chain),
            *check_signature(parsed.chain),
            *check_server_auth(parsed.leaf),
        ]
        explained = any(f.status == "fail" for f in findings)
        chain = check_chain(parsed, hostname, ctx, explained=explained)
        return [*unsafe, *chain, *findings], parsed
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


def load_private_key(key_path: str) -> PrivateKeyTypes:
    """The key in ``key_path``, or :class:`FileProblem` (missing, unreadable, encrypted)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = read_capped(key_path, KEY_ROLE)
    blocks = [(label, block) for label, block in pem_blocks(data) if "PRIVATE KEY" in label]
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
        raise unreadable(KEY_ROLE, key_path, why, remedy)
    label, block = blocks[0]
    encrypted = FileProblem(
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
        raise unreadable(KEY_ROLE, key_path, f"the key is corrupt or unsupported ({exc})") from None


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
    if public_der(key.public_key()) == public_der(leaf.public_key()):
        return []
    return [
        fail(
            "key.mismatch",
            "The private key does not belong to the certificate",
            f"The public key in {key_path} differs from the certificate "
            f"{name_label(leaf.subject)}'s; nginx would refuse to start.",
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
        key = load_private_key(key_path)
    except FileProblem as problem:
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
    cert_findings, parsed = certificate_findings(cert_path, hostname, ctx)
    unsafe = swappable(key_path, "key.unsafe_path", "private key")
    key_findings = _key_findings(key_path, parsed)
    if unsafe:  # never "key.ok" for a key another user can swap
        key_findings = [f for f in key_findings if f.code != "key.ok"]
    return [*cert_findings, *unsafe, *key_findings]


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


def leaf_not_after(path: str) -> datetime | None:
    """The end of validity of the server certificate in ``path``; ``None`` if unreadable.

    For monitoring (the certificate expiry metric); never raises on a bad file.
    """
    try:
        parsed = load_certificate_file(path, "")
    except Exception:  # a metric must not break the check's report
        return None
    return parsed.leaf.not_valid_after_utc if isinstance(parsed, CertificateFile) else None
