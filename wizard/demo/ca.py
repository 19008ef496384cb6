"""A test certificate authority that issues CA/B-Forum-conformant certificates.

Good certificates follow the rules ``cryptography.x509.verification`` enforces
(non-critical SAN, serverAuth EKU, AKI/SKI, a CA with basicConstraints and
keyCertSign), so a passing check means what it would on a real bastion. Every
defect the certificate checks must detect has a knob on :meth:`TestCA.issue`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from wizard.fsutil import atomic_write

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

KeyKind = Literal["ec256", "rsa2048", "rsa1024"]
HashKind = Literal["sha256", "sha1", "md5"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _validity(
    valid_from: dt.datetime | None, valid_days: int, *, expired: bool, not_yet_valid: bool
) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of a leaf's validity (default: from an hour ago, for ``valid_days``)."""
    now = _now()
    start = valid_from or now - dt.timedelta(hours=1)
    if expired:
        start = now - dt.timedelta(days=valid_days + 1)
    if not_yet_valid:
        start = now + dt.timedelta(days=1)
    return start, start + dt.timedelta(days=valid_days)


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    """SAN entries: IP addresses as ``IPAddress``, anything else as ``DNSName``."""
    from cryptography import x509

    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    return alt


def generate_key(kind: KeyKind = "ec256") -> CertificateIssuerPrivateKeyTypes:
    """A fresh private key of the given kind."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    size = 2048 if kind == "rsa2048" else 1024
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def key_pem(key: CertificateIssuerPrivateKeyTypes, password: bytes | None = None) -> bytes:
    """PEM (PKCS#8) of ``key``, encrypted when ``password`` is given."""
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of one certificate."""
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Issued:
    """A leaf certificate, its key and the intermediates that chain it.

    Attributes:
        cert: The leaf.
        key: Its private key.
        intermediates: Issuing CAs below the root, nearest first.
    """

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    intermediates: tuple[x509.Certificate, ...] = ()

    def fullchain_pem(self, *, include_intermediates: bool = True, reverse: bool = False) -> bytes:
        """The leaf then its intermediates (what nginx's ``ssl_certificate`` wants)."""
        certs = [self.cert, *(self.intermediates if include_intermediates else ())]
        if reverse:
            certs.reverse()
        return b"".join(cert_pem(c) for c in certs)

    def write(
        self,
        directory: Path,
        stem: str,
        *,
        include_intermediates: bool = True,
        reverse: bool = False,
        key_password: bytes | None = None,
        key_mode: int = 0o600,
    ) -> tuple[Path, Path]:
        """Write ``STEM.crt`` (full chain) and ``STEM.key``; return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        crt = directory / f"{stem}.crt"
        key = directory / f"{stem}.key"
        atomic_write(
            crt, self.fullchain_pem(include_intermediates=include_intermediates, reverse=reverse)
        )
        atomic_write(key, key_pem(self.key, key_password), key_mode)
        return crt, key


_SHA256_RSA_OID = bytes.fromhex("06092a864886f70d01010b")
_WEAK_RSA_OIDS = {
    "sha1": bytes.fromhex("06092a864886f70d010105"),
    "md5": bytes.fromhex("06092a864886f70d010104"),
}


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _resign_with_weak_hash(
    cert: x509.Certificate, issuer_key: CertificateIssuerPrivateKeyTypes, kind: HashKind
) -> x509.Certificate:
    """Re-sign ``cert`` with SHA-1 or MD5.

    cryptography refuses to build such certificates (rightly), but the checks
    must be shown one. The RSA signature OIDs for SHA-256, SHA-1 and MD5 have
    the same length, so the TBS bytes can be patched in place and signed with
    the raw RSA primitive, which still accepts the old hashes.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if not isinstance(issuer_key, rsa.RSAPrivateKey):
        raise TypeError("weak signatures need an RSA issuer")
    weak_oid = _WEAK_RSA_OIDS[kind]
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_RSA_OID, weak_oid, 1)
    algorithm = hashes.SHA1() if kind == "sha1" else hashes.MD5()  # noqa: S303
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), algorithm)
    algorithm_id = _der(0x30, weak_oid + b"\x05\x00")
    der = _der(0x30, tbs + algorithm_id + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


class TestCA:
    """A root CA with one intermediate, issuing leaf certificates.

    Args:
        name: Common name prefix of the CA certificates.
        with_intermediate: Issue leaves from an intermediate (as public CAs do)
            rather than from the root directly.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "codestream-bastion Test", *, with_intermediate: bool = True):
        self.root_key = generate_key("ec256")
        self.root = self._make_ca(f"{name} Root CA", self.root_key, None, None)
        self.intermediate_key: CertificateIssuerPrivateKeyTypes | None = None
        self.intermediate: x509.Certificate | None = None
        if with_intermediate:
            self.intermediate_key = generate_key("ec256")
            self.intermediate = self._make_ca(
                f"{name} Intermediate CA", self.intermediate_key, self.root, self.root_key
            )

    @staticmethod
    def _make_ca(
        common_name: str,
        key: CertificateIssuerPrivateKeyTypes,
        issuer: x509.Certificate | None,
        issuer_key: CertificateIssuerPrivateKeyTypes | None,
    ) -> x509.Certificate:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        signing_key = issuer_key or key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
                critical=True,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                critical=False,
            )
        )
        return builder.sign(signing_key, hashes.SHA256())

    @property
    def issuer(self) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
        """The certificate and key that sign leaves."""
        if self.intermediate is not None and self.intermediate_key is not None:
            return self.intermediate, self.intermediate_key
        return self.root, self.root_key

    def root_pem(self) -> bytes:
        """The root certificate, for a trust bundle."""
        return cert_pem(self.root)

    def write_root(self, path: Path) -> Path:
        """Write the root to ``path`` (a one-certificate trust bundle)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, self.root_pem())
        return path

    def _signer(
        self,
        subject: x509.Name,
        key: CertificateIssuerPrivateKeyTypes,
        signature_hash: HashKind,
        *,
        self_signed: bool,
    ) -> tuple[
        x509.Name,
        CertificateIssuerPrivateKeyTypes,
        CertificateIssuerPrivateKeyTypes,
        tuple[x509.Certificate, ...],
    ]:
        """(issuer name, issuer key, leaf key, intermediates) for a new leaf.

        SHA-1/MD5 signatures need an RSA signer: a self-signed leaf gets an RSA
        key, a CA-issued one a one-off RSA intermediate.
        """
        if self_signed:
            if signature_hash != "sha256":
                key = generate_key("rsa2048")
            return subject, key, key, ()
        if signature_hash != "sha256":
            rsa_key = generate_key("rsa2048")
            legacy = self._make_ca("Legacy RSA Intermediate", rsa_key, self.root, self.root_key)
            return legacy.subject, rsa_key, key, (legacy,)
        issuer_cert, issuer_key = self.issuer
        intermediates = (self.intermediate,) if self.intermediate is not None else ()
        return issuer_cert.subject, issuer_key, key, intermediates

    def issue(
        self,
        names: Sequence[str],
        *,
        valid_from: dt.datetime | None = None,
        valid_days: int = 90,
        expired: bool = False,
        not_yet_valid: bool = False,
        key_kind: KeyKind = "ec256",
        signature_hash: HashKind = "sha256",
        server_auth: bool = True,
        self_signed: bool = False,
        with_san: bool = True,
        common_name: str | None = None,
    ) -> Issued:
        """Issue a leaf for ``names`` (DNS names or IP addresses).

        Args:
            names: Subject alternative names; ``*.example.test`` for a wildcard.
            valid_from: Start of validity (default: one hour ago).
            valid_days: Length of validity.
            expired: Make it end yesterday.
            not_yet_valid: Make it start tomorrow.
            key_kind: ``rsa1024`` for a weak key.
            signature_hash: ``sha1`` or ``md5`` for a weak signature (RSA issuer
                used automatically, as EC with MD5 does not exist).
            server_auth: Include the serverAuth EKU (else clientAuth only).
            self_signed: Sign the leaf with its own key.
            with_san: Include the SAN extension (CN-only certificates are invalid).
            common_name: Subject CN (default: the first name).
        """
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        start, end = _validity(valid_from, valid_days, expired=expired, not_yet_valid=not_yet_valid)
        key = generate_key(key_kind)
        cn = common_name if common_name is not None else (names[0] if names else "unnamed")
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        issuer_name, issuer_key, key, intermediates = self._signer(
            subject, key, signature_hash, self_signed=self_signed
        )
        eku = (
            [ExtendedKeyUsageOID.SERVER_AUTH] if server_auth else [ExtendedKeyUsageOID.CLIENT_AUTH]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        )
        if with_san and names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(_general_names(names)), critical=False
            )
        cert = builder.sign(issuer_key, hashes.SHA256())
        if signature_hash != "sha256":
            cert = _resign_with_weak_hash(cert, issuer_key, signature_hash)
        return Issued(cert, key, intermediates)
