"""Reading certificate, key and trust-store files: bounded, never trusting the file.

Files are hostile input: every read is bounded (:data:`MAX_FILE_BYTES`),
directories, FIFOs and devices are refused without opening them for long, and
a bad file becomes a :class:`FileProblem` carrying the finding to report.
cryptography is imported inside the functions.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.checks.context import CheckContext
from wizard.constants import MAX_TRUST_STORE_BYTES
from wizard.findings import Finding, fail
from wizard.fsutil import UnsafePathError, check_readable_path
from wizard.reading import BoundedReadError, read_bounded

if TYPE_CHECKING:
    from cryptography import x509


MAX_FILE_BYTES = 1 << 20
"""Largest certificate or key file read (a real chain is a few KiB)."""

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


class FileProblem(Exception):
    """A file could not be used; ``finding`` says why and what to do."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.title)
        self.finding = finding


@dataclass(frozen=True)
class FileRole:
    """What a file is for: the words and codes its problems are reported with."""

    noun: str
    missing: str
    unreadable: str
    missing_remedy: str


CERT_ROLE = FileRole(
    "certificate",
    "cert.missing",
    "cert.unreadable",
    "Give the path of the PEM certificate chain nginx will serve, e.g. "
    "/etc/letsencrypt/live/NAME/fullchain.pem.",
)
KEY_ROLE = FileRole(
    "private key",
    "key.missing",
    "key.unreadable",
    "Give the path of the certificate's PEM private key, e.g. "
    "/etc/letsencrypt/live/NAME/privkey.pem.",
)
STORE_ROLE = FileRole(
    "trust store",
    "cert.trust_store",
    "cert.trust_store",
    "Install the system CA bundle (apt install ca-certificates, or dnf install "
    "ca-certificates) or pass --ca-bundle PATH with a PEM file of trusted roots.",
)


def unreadable(
    role: FileRole, path: str, why: str, remedy: str = "", detail: str = ""
) -> FileProblem:
    """The problem for a file that cannot be used for ``role``, with a remedy."""
    return FileProblem(
        fail(
            role.unreadable,
            f"The {role.noun} file cannot be used: {why}",
            f"{path}: {detail or why}.",
            remedy or f"Point to a readable PEM {role.noun} file. {role.missing_remedy}",
        )
    )


def _stat_regular(path: str, role: FileRole) -> os.stat_result:
    """Stat ``path`` and insist on a regular file, or raise :class:`FileProblem`."""
    if not path.strip():
        raise FileProblem(
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
        raise FileProblem(
            fail(
                role.missing,
                f"The {role.noun} file does not exist",
                f"{path} was not found{broken}.",
                role.missing_remedy,
            )
        ) from None
    except OSError as exc:
        raise unreadable(role, path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise unreadable(
            role,
            path,
            "it is a directory",
            f"Give the {role.noun} file inside the directory, not the directory itself. "
            f"{role.missing_remedy}",
        )
    if not stat.S_ISREG(info.st_mode):
        raise unreadable(role, path, "it is not a regular file (a FIFO, socket or device)")
    return info


def read_capped(path: str, role: FileRole, limit: int = MAX_FILE_BYTES) -> bytes:
    """The content of ``path``, at most ``limit`` bytes, or :class:`FileProblem`."""
    info = _stat_regular(path, role)
    too_big = unreadable(
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
        return read_bounded(path, limit)  # the one bounded reader (wizard.reading)
    except BoundedReadError as exc:
        if exc.kind == "too_large":
            raise too_big from None
        if exc.kind == "permission":
            raise unreadable(
                role,
                path,
                "permission denied",
                f"Run the wizard as root (sudo), or make the {role.noun} readable by this user.",
            ) from None
        raise unreadable(role, path, exc.why) from None


def swappable(path: str, code: str, noun: str) -> list[Finding]:
    """A failure when a user other than root or the invoker could change ``path``.

    nginx (or the check) loads the file as root at every reload: whoever owns
    the file or any directory on its way (as written, and through each link's
    own directory) could swap it for their own certificate, key or CA, or for
    a link to any file. The sshd ``StrictModes`` rule of
    :func:`wizard.fsutil.check_readable_path`.

    Args:
        path: The file (an empty path is not judged).
        code: The finding's code, e.g. ``cert.unsafe_path``.
        noun: What the file is, for the title ("certificate").

    Returns:
        One ``fail`` naming the path, its owner and how to move it, or nothing
        (also when the path cannot be examined: reading it says why).
    """
    if not path.strip():
        return []
    try:
        check_readable_path(Path(path))
    except UnsafePathError as exc:
        return [fail(code, f"Another user can change the {noun} file", exc.message, exc.remedy)]
    except OSError:
        return []
    return []


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Each PEM block of ``data`` as (label, whole block including the markers)."""
    return [(m.group(1).decode("ascii"), m.group(0)) for m in _PEM_BLOCK.finditer(data)]


def _is_der_certificate(data: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def parse_certificates(data: bytes, path: str) -> list[x509.Certificate]:
    """The certificates of a PEM file, in file order, or :class:`FileProblem`."""
    from cryptography import x509

    blocks = pem_blocks(data)
    if not blocks:
        if _is_der_certificate(data):
            quoted = shlex.quote(path)
            raise unreadable(
                CERT_ROLE,
                path,
                "it is a DER (binary) certificate; nginx needs PEM",
                f"Convert it: openssl x509 -inform der -in {quoted} -out {quoted}.pem",
            )
        kind = "binary data" if b"\0" in data or not data.isascii() else "text"
        raise unreadable(CERT_ROLE, path, f"it holds {kind}, not a PEM certificate")
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
            remedy = CERT_ROLE.missing_remedy
        raise FileProblem(
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
            raise unreadable(
                CERT_ROLE, path, f"certificate number {number} is corrupt ({exc})"
            ) from None
    return certs


def leaf_der(path: str) -> bytes | None:
    """The DER of the first certificate in the PEM file ``path``, or ``None``; never raises.

    What nginx presents from a ``ssl_certificate`` file: the first block. Read
    through :func:`read_capped` like every certificate file.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certs = x509.load_pem_x509_certificates(read_capped(path, CERT_ROLE))
    except (FileProblem, ValueError):
        return None
    return certs[0].public_bytes(Encoding.DER) if certs else None


@functools.lru_cache(maxsize=4)
def _parse_trust_store(path: str, _mtime_ns: int, _size: int) -> tuple[x509.Certificate, ...]:
    """The certificates of a trust store (cached while the file is unchanged)."""
    from cryptography import x509

    data = read_capped(path, STORE_ROLE, MAX_TRUST_STORE_BYTES)
    roots: list[x509.Certificate] = []
    for label, block in pem_blocks(data):
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue  # one bad entry must not make the whole store useless
    return tuple(roots)


def load_trust_store(ctx: CheckContext) -> tuple[Path, tuple[x509.Certificate, ...]]:
    """The path and certificates of the trust store, or a ``cert.trust_store`` problem."""
    bundle = ctx.trust_bundle()
    if bundle is None:
        raise FileProblem(
            fail(
                "cert.trust_store",
                "No trust store found",
                "Neither --ca-bundle nor SSL_CERT_FILE is set and no system CA bundle exists.",
                STORE_ROLE.missing_remedy,
            )
        )
    info = _stat_regular(str(bundle), STORE_ROLE)
    roots = _parse_trust_store(str(bundle), info.st_mtime_ns, info.st_size)
    if not roots:
        raise FileProblem(
            fail(
                "cert.trust_store",
                "The trust store holds no certificate",
                f"{bundle} has no PEM CERTIFICATE block.",
                STORE_ROLE.missing_remedy,
            )
        )
    return bundle, roots
