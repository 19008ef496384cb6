"""Finding certificates and their keys on this host, for the wizard's certificate step.

The wizard lists the certificates it finds in the usual places
(``/etc/letsencrypt/live``, ``/etc/ssl``, ``/etc/pki/tls``, ``/etc/nginx``, the
working directory) with a one-line verdict each, and finds the key that
matches the chosen certificate. The walk is bounded (depth, entries, files
peeked) and skips what is not a regular file. Only the TUI uses this module.

Another user may plant files where discovery looks (the working directory is
scanned): a name holding a control character is left out, every name a
certificate shows goes through :func:`wizard.safetext.visible`
(:func:`~wizard.checks.x509_facts.name_label`), and a certificate another user
could change is marked by its verdict (``cert.unsafe_path``, the first finding
of :func:`~wizard.checks.certificate.certificate_findings`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wizard.checks.chain import pick_leaf
from wizard.checks.context import CheckContext
from wizard.checks.pem import CERT_ROLE, FileProblem, parse_certificates, pem_blocks, read_capped
from wizard.checks.x509_facts import get_extension, is_ca, name_label, public_der, san_names
from wizard.findings import Status, worst_status
from wizard.reading import read_head
from wizard.safetext import has_control, visible

MAX_DISCOVERED = 50
"""Most certificate files :func:`discover_certificates` returns."""
DISCOVERY_DEPTH = 4
_MAX_SCANNED_ENTRIES = 5000  # per root
_MAX_KEY_CANDIDATES = 200
_PEEK_BYTES = 64 << 10

_CERT_SUFFIXES = (".pem", ".crt", ".cer")
_SKIPPED_DIRS = frozenset({"private", "node_modules", "__pycache__", "venv"})


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
        from wizard.checks.certificate import certificate_findings  # above this module

        findings, parsed = certificate_findings(path, hostname, ctx)
    except Exception as exc:  # the wizard's list must not break on one odd file
        why = visible(f"Could not be checked: {exc}")
        return CertificateSummary(path, "", (), "", None, why, "fail")
    status = worst_status(findings)
    verdict = next((f.title for f in findings if f.status == status), "No finding")
    if parsed is None:
        return CertificateSummary(path, "", (), "", None, verdict, status)
    leaf = parsed.leaf
    return CertificateSummary(
        path=path,
        subject=name_label(leaf.subject),
        names=san_names(leaf) or (),
        issuer=name_label(leaf.issuer),
        not_after=leaf.not_valid_after_utc,
        verdict=verdict,
        status=status,
    )


def _peek(path: Path) -> bytes:
    """The first bytes of a regular file, or ``b""``."""
    try:
        return read_head(path, _PEEK_BYTES)  # the bounded reader: regular files only
    except OSError:
        return b""


def _looks_like_server_certificate(path: Path) -> bool:
    """A PEM file whose first block is a certificate that is not a CA root or intermediate."""
    from cryptography import x509

    blocks = pem_blocks(_peek(path))
    if not blocks or blocks[0][0] != "CERTIFICATE":
        return False
    try:
        cert = x509.load_pem_x509_certificate(blocks[0][1])
        if not is_ca(cert):
            return True
        usage = get_extension(cert, x509.KeyUsage)
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
                # No real certificate path holds a control character: it would only be shown.
                if has_control(str(path)) or real in seen:
                    continue
                if not _looks_like_server_certificate(path):
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
    from wizard.checks.certificate import load_private_key  # above this module

    try:
        key = load_private_key(str(path))
    except (FileProblem, ValueError):
        return None
    return public_der(key.public_key()) == public


def _leaf_public_key(cert_path: str) -> bytes | None:
    try:
        certs = parse_certificates(read_capped(cert_path, CERT_ROLE), cert_path)
    except (FileProblem, ValueError):
        return None
    leaf = pick_leaf(certs)
    return None if leaf is None else public_der(leaf.public_key())


def _key_candidates(directories: Sequence[Path]) -> Iterator[Path]:
    count = 0
    for directory in directories:
        try:
            with os.scandir(directory) as scan:
                names = sorted(e.path for e in scan if e.is_file())
        except OSError:
            continue
        for name in names:
            if has_control(name):
                continue
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


# -- the certificate step's list: server certificates only (issue 19) -------------------------

TRUST_STORE_DIRS: tuple[str, ...] = (
    "/etc/ssl/certs",  # Debian, Ubuntu: the trust store's hashed links and bundle
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
    "/etc/ca-certificates",
    "/etc/pki/ca-trust",  # RHEL, Fedora
    "/etc/pki/tls/certs",  # RHEL: ca-bundle.crt
    "/etc/pki/trust",  # SUSE
    "/var/lib/ca-certificates",  # SUSE
)
_WIDE_LIMIT = 10 * MAX_DISCOVERED  # before the trust store and CA certificates are dropped


def trust_store_dirs(ctx: CheckContext) -> frozenset[str]:
    """Directories of the system's trust store (real paths): CA roots, never server certificates.

    The known ones, the directory of the trust bundle the checks use, and
    OpenSSL's certificate directory.
    """
    import ssl

    paths = ssl.get_default_verify_paths()
    dirs = [*TRUST_STORE_DIRS, paths.capath or "", paths.openssl_capath or ""]
    bundle = ctx.trust_bundle()
    if bundle is not None:
        dirs.append(str(Path(bundle).parent))
    return frozenset(os.path.realpath(d) for d in dirs if d)


def _inside(path: Path, dirs: frozenset[str]) -> bool:
    """Whether ``path`` (as named, or what it links to) lies in one of ``dirs``."""
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        parent = os.path.dirname(candidate)
        if any(parent == d or parent.startswith(d + os.sep) for d in dirs):
            return True
    return False


def _ca_without_names(path: Path) -> bool:
    """A CA:TRUE certificate without a subjectAltName: a CA root, not a server's.

    :func:`_looks_like_server_certificate` keeps CA:TRUE certificates without
    keyCertSign (``openssl req -x509`` makes such server certificates); old
    roots such as Go Daddy Class 2 have no key usage at all, but no server
    certificate lacks the names a client checks.
    """
    from cryptography import x509

    blocks = pem_blocks(_peek(path))
    try:
        cert = x509.load_pem_x509_certificate(blocks[0][1])
    except (ValueError, IndexError):
        return True
    return is_ca(cert) and get_extension(cert, x509.SubjectAlternativeName) is None


def discover_server_certificates(
    roots: Sequence[Path], ctx: CheckContext, *, limit: int = MAX_DISCOVERED
) -> list[Path]:
    """What the certificate step lists: :func:`discover_certificates`, server certificates only.

    Drops everything inside the trust store's directories (:func:`trust_store_dirs`)
    and CA certificates that :func:`discover_certificates` lets through, so a
    host without a certificate of its own shows none, rather than CA roots.
    """
    excluded = trust_store_dirs(ctx)
    found = discover_certificates(roots, limit=_WIDE_LIMIT)
    servers = [p for p in found if not _inside(p, excluded) and not _ca_without_names(p)]
    return servers[:limit]


def summary_matches(summary: CertificateSummary, hostname: str) -> bool:
    """Whether the summarised certificate names ``hostname`` (RFC 6125 wildcards)."""
    from wizard.checks.x509_facts import ascii_hostname, san_matches

    name = ascii_hostname(hostname)
    return name is not None and any(san_matches(pattern, name) for pattern in summary.names)
