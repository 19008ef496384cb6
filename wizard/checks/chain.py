"""The certificate chain: which certificate is the leaf, its issuers, and path validation.

Path validation is done by ``cryptography.x509.verification`` (it enforces the
CA/Browser Forum rules); when it only says "failed", :func:`check_chain` says
*why*: self-signed, missing intermediate, wrong order. cryptography is imported
inside the functions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.checks.context import CheckContext
from wizard.checks.pem import FileProblem, load_trust_store
from wizard.checks.x509_facts import (
    ascii_hostname,
    check_time,
    is_ca,
    is_self_signed,
    issued_by,
    name_label,
    san_matches,
    san_names,
    shown_hostname,
)
from wizard.findings import Finding, counted, fail, ok

if TYPE_CHECKING:
    from cryptography import x509


_MAX_CHAIN = 10


_LE_REMEDY = (
    "Point the certificate at the full chain: with Let's Encrypt use fullchain.pem, "
    "not cert.pem; otherwise append your CA's intermediate certificate(s) after the "
    "server certificate (cat server.crt intermediate.crt > fullchain.crt)."
)
_PUBLIC_CA_REMEDY = (
    "Slack and Microsoft only trust certificates from public CAs: get one for the "
    "bastion's name, e.g. with Let's Encrypt (certbot certonly -d NAME)."
)


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


def pick_leaf(certs: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The server certificate: the first non-CA one, or a lone self-signed one."""
    for cert in certs:
        if not is_ca(cert):
            return cert
    if len(certs) == 1 and is_self_signed(certs[0]):
        return certs[0]  # `openssl req -x509` marks its certificates CA:TRUE
    return None


def issuing_chain(
    leaf: x509.Certificate, certs: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The leaf, then the certificates of ``certs`` that issue it, in issuing order."""
    chain = [leaf]
    while len(chain) < _MAX_CHAIN and not is_self_signed(chain[-1]):
        parent = next((c for c in certs if c not in chain and issued_by(chain[-1], c)), None)
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
    if pick_leaf(certs) is not None:
        return []
    shown = ", ".join(name_label(c.subject) for c in certs[:3]) + (
        ", ..." if len(certs) > 3 else ""
    )
    ascii_name = ascii_hostname(hostname)
    covered = ascii_name is not None and any(
        san_matches(n, ascii_name) for c in certs for n in san_names(c) or ()
    )
    detail = f"{counted(len(certs), 'CA certificate')}: {shown}; none is a server certificate"
    if ascii_name is not None and not covered:
        detail += f" and none names {shown_hostname(hostname, ascii_name)}"
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
    if is_ca(certs[0]) and len(certs) > 1:
        problem = f"the first certificate ({name_label(certs[0].subject)}) is a CA certificate"
    else:
        for number, (child, parent) in enumerate(zip(certs, certs[1:]), start=1):
            if not issued_by(child, parent):
                problem = (
                    f"certificate {number + 1} ({name_label(parent.subject)}) did not issue "
                    f"certificate {number} ({name_label(child.subject)})"
                )
                break
    if not problem:
        return []
    order = "; ".join(f"{n}. {name_label(c.subject)}" for n, c in enumerate(certs[:6], start=1))
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


def _verify_path(
    parsed: CertificateFile, roots: Sequence[x509.Certificate], hostname: str, when: datetime
) -> str | None:
    """Run ``cryptography.x509.verification``; ``None`` when the path validates."""
    from cryptography import x509
    from cryptography.x509 import verification

    ascii_name = ascii_hostname(hostname)
    if ascii_name is None:  # still validate the chain, against the certificate's own name
        ascii_name = next(iter(san_names(parsed.leaf) or ()), None)
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
    if any(issued_by(last, root) for root in roots):
        return None  # the chain reaches a trust anchor: something else failed
    if is_self_signed(last):
        return fail(
            "cert.untrusted",
            "The certificate's root CA is not in the trust store",
            f"The chain ends at {name_label(last.subject)}, which is not in {bundle}.",
            _PUBLIC_CA_REMEDY + f" If the CA is public, the trust store {bundle} is "
            "outdated (update ca-certificates) or pass --ca-bundle.",
        )
    namesakes = [c for c in (*parsed.certs, *roots) if c.subject == last.issuer]
    if last is parsed.leaf or namesakes:
        why = (
            f"a certificate named {name_label(last.issuer)} is there, but its key did not sign "
            f"{name_label(last.subject)} (a different or renewed intermediate)"
            if namesakes
            else f"its issuer {name_label(last.issuer)} is neither in the file nor in {bundle}"
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
        f"The chain ends at {name_label(last.subject)}, issued by {name_label(last.issuer)}, "
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
    if is_self_signed(leaf):
        return [
            fail(
                "cert.self_signed",
                "The certificate is self-signed",
                f"{name_label(leaf.subject)} is signed by its own key; no client trusts it.",
                _PUBLIC_CA_REMEDY,
            )
        ]
    try:
        bundle, roots = load_trust_store(ctx)
    except FileProblem as problem:
        return [problem.finding]
    when = check_time(ctx)
    error = _verify_path(parsed, roots, hostname, when)
    if error is None:
        names = ", ".join(san_names(leaf) or ())
        expiry = leaf.not_valid_after_utc
        return [
            ok(
                "cert.ok",
                "The certificate chains to the trust store and covers the host name",
                f"Subject: {name_label(leaf.subject)}; names: {names}; issuer: "
                f"{name_label(leaf.issuer)}; expires {expiry:%Y-%m-%d %H:%M} UTC "
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
