"""The certificate and key checks, on real files issued by the test CA."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from tests.unit.conftest import HOST
from wizard.checks import context
from wizard.checks.certificate import check_certificate, check_validity
from wizard.checks.chain import check_chain_order
from wizard.checks.context import CheckContext
from wizard.checks.pem import MAX_FILE_BYTES
from wizard.demo.ca import Issued, TestCA, cert_pem, generate_key, key_pem
from wizard.findings import Finding

ALL_CODES = (
    "cert.ok",
    "cert.missing",
    "cert.unreadable",
    "cert.not_certificate",
    "cert.not_leaf",
    "cert.self_signed",
    "cert.untrusted",
    "cert.missing_intermediate",
    "cert.chain_order",
    "cert.hostname_mismatch",
    "cert.expired",
    "cert.not_yet_valid",
    "cert.expiring_soon",
    "cert.weak_key",
    "cert.weak_signature",
    "cert.no_server_auth",
    "cert.no_san",
    "cert.trust_store",
    "key.ok",
    "key.missing",
    "key.unreadable",
    "key.mismatch",
    "key.encrypted",
    "key.permissions",
)


@pytest.fixture
def roots(ca: TestCA, tmp_path: Path) -> Path:
    return ca.write_root(tmp_path / "trust" / "roots.pem")


@pytest.fixture
def ctx(roots: Path) -> CheckContext:
    return CheckContext(ca_bundle=roots)


def statuses(findings: list[Finding]) -> dict[str, str]:
    """Code -> status (each code appears at most once in these checks)."""
    codes = [f.code for f in findings]
    assert len(codes) == len(set(codes)), codes
    return {f.code: f.status for f in findings}


def assert_actionable(findings: list[Finding]) -> None:
    for finding in findings:
        if finding.status in ("warn", "fail"):
            assert finding.remedy.strip(), finding
        assert "\n" not in finding.title, finding


async def check(
    issued: Issued, tmp_path: Path, ctx: CheckContext, hostname: str = HOST, **write: Any
) -> dict[str, str]:
    crt, key = issued.write(tmp_path / "site", "site", **write)
    findings = await check_certificate(str(crt), str(key), hostname, ctx)
    assert_actionable(findings)
    return statuses(findings)


def by_code(findings: list[Finding], code: str) -> Finding:
    return next(f for f in findings if f.code == code)


# --------------------------------------------------------------------------- good input


GOOD_CASES: dict[str, tuple[list[str], str, dict[str, Any]]] = {
    "plain name": ([HOST], HOST, {}),
    "one of several names": (["www.example.com", HOST], HOST, {}),
    "wildcard": (["*.example.com"], HOST, {}),
    "host typed in upper case with a trailing dot": ([HOST], "Bastion.Example.COM.", {}),
    "IDN typed in Unicode, punycode SAN": (["xn--bcher-kva.example"], "bücher.example", {}),
    "IDN typed as punycode": (["xn--bcher-kva.example"], "xn--bcher-kva.example", {}),
    "RSA 2048 key": ([HOST], HOST, {"key_kind": "rsa2048"}),
    "IP address": (["203.0.113.10"], "203.0.113.10", {}),
}


@pytest.mark.parametrize("case", GOOD_CASES, ids=list(GOOD_CASES))
async def test_good_certificate_yields_only_ok_findings(
    case: str, ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    names, hostname, knobs = GOOD_CASES[case]
    result = await check(ca.issue(names, **knobs), tmp_path, ctx, hostname)
    assert result == {"cert.ok": "ok", "key.ok": "ok"}


async def test_good_chain_with_root_appended_is_fine(
    ca: TestCA, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = good.write(tmp_path, "site")
    crt.write_bytes(crt.read_bytes() + ca.root_pem())
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    assert statuses(findings) == {"cert.ok": "ok", "key.ok": "ok"}


async def test_ok_detail_names_subject_sans_issuer_and_expiry(
    good: Issued, tmp_path: Path, ctx: CheckContext, roots: Path
) -> None:
    crt, key = good.write(tmp_path, "site")
    detail = by_code(await check_certificate(str(crt), str(key), HOST, ctx), "cert.ok").detail
    assert HOST in detail
    assert "Intermediate CA" in detail
    assert f"{good.cert.not_valid_after_utc:%Y-%m-%d}" in detail
    assert str(roots) in detail


# --------------------------------------------------------------------------- defects


DEFECTS: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
    # name: (issue knobs, write knobs, code, status)
    "self-signed": ({"self_signed": True}, {}, "cert.self_signed", "fail"),
    "leaf without intermediate": (
        {}, {"include_intermediates": False}, "cert.missing_intermediate", "fail"
    ),
    "reversed chain": ({}, {"reverse": True}, "cert.chain_order", "fail"),
    "expired": ({"expired": True}, {}, "cert.expired", "fail"),
    "not yet valid": ({"not_yet_valid": True}, {}, "cert.not_yet_valid", "fail"),
    "expires in 10 days": ({"valid_days": 10}, {}, "cert.expiring_soon", "warn"),
    "RSA 1024": ({"key_kind": "rsa1024"}, {}, "cert.weak_key", "fail"),
    "SHA-1 signature": ({"signature_hash": "sha1"}, {}, "cert.weak_signature", "fail"),
    "MD5 signature": ({"signature_hash": "md5"}, {}, "cert.weak_signature", "fail"),
    "clientAuth only": ({"server_auth": False}, {}, "cert.no_server_auth", "fail"),
    "CN only": ({"with_san": False}, {}, "cert.no_san", "fail"),
    "encrypted key": ({}, {"key_password": b"secret"}, "key.encrypted", "fail"),
    "key readable by others": ({}, {"key_mode": 0o644}, "key.permissions", "warn"),
    "key readable by group": ({}, {"key_mode": 0o640}, "key.permissions", "warn"),
}  # fmt: skip


@pytest.mark.parametrize("case", DEFECTS, ids=list(DEFECTS))
async def test_defect_is_reported(case: str, ca: TestCA, tmp_path: Path, ctx: CheckContext) -> None:
    knobs, write, code, status = DEFECTS[case]
    result = await check(ca.issue([HOST], **knobs), tmp_path, ctx, **write)
    assert result[code] == status


@pytest.mark.parametrize(
    "case",
    ["self-signed", "leaf without intermediate", "expired", "not yet valid", "CN only"],
)
async def test_path_validation_failure_gives_no_ok_and_no_vague_untrusted(
    case: str, ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    knobs, write, code, _ = DEFECTS[case]
    result = await check(ca.issue([HOST], **knobs), tmp_path, ctx, **write)
    assert "cert.ok" not in result
    assert "cert.untrusted" not in result
    assert [c for c in result if c.startswith("cert.")] == [code]


async def test_cn_only_is_not_also_a_hostname_mismatch(
    ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    result = await check(ca.issue([HOST], with_san=False), tmp_path, ctx)
    assert "cert.hostname_mismatch" not in result


async def test_missing_intermediate_points_to_fullchain(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = good.write(tmp_path, "cert", include_intermediates=False)
    finding = by_code(
        await check_certificate(str(crt), str(key), HOST, ctx), "cert.missing_intermediate"
    )
    assert "fullchain.pem" in finding.remedy
    assert "Intermediate CA" in finding.detail


async def test_wrong_intermediate_with_the_same_name_is_a_missing_intermediate(
    ca: TestCA, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    twin = TestCA()  # same names, different keys: like a renewed intermediate
    assert twin.intermediate is not None
    assert good.intermediates[0].subject == twin.intermediate.subject
    crt = tmp_path / "site.crt"
    crt.write_bytes(cert_pem(good.cert) + cert_pem(twin.intermediate))
    key = tmp_path / "site.key"
    key.write_bytes(key_pem(good.key))
    key.chmod(0o600)
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    finding = by_code(findings, "cert.missing_intermediate")
    assert "did not sign" in finding.detail
    assert "cert.ok" not in statuses(findings)


async def test_chain_order_remedy_and_detail(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = good.write(tmp_path, "site", reverse=True)
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    finding = by_code(findings, "cert.chain_order")
    assert "1. codestream-bastion Test Intermediate CA; 2. bastion.example.com" in finding.detail
    assert "server certificate first" in finding.remedy
    # The key belongs to the server certificate, wherever it is in the file.
    assert statuses(findings)["key.ok"] == "ok"


def test_chain_order_flags_an_unrelated_second_certificate(ca: TestCA, good: Issued) -> None:
    other = TestCA("Other").issue(["x.example.com"])
    assert check_chain_order([good.cert, *good.intermediates]) == []
    (finding,) = check_chain_order([good.cert, other.cert])
    assert "did not issue certificate 1" in finding.detail


async def test_untrusted_ca_names_the_trust_store(
    tmp_path: Path, ctx: CheckContext, roots: Path
) -> None:
    foreign = TestCA("Private Corp").issue([HOST])
    crt, key = foreign.write(tmp_path, "site")
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    finding = by_code(findings, "cert.untrusted")
    assert finding.status == "fail"
    assert str(roots) in finding.detail
    assert "Private Corp" in finding.detail
    assert "cert.ok" not in statuses(findings)


async def test_untrusted_root_included_in_the_file(tmp_path: Path, ctx: CheckContext) -> None:
    foreign_ca = TestCA("Private Corp")
    crt, key = foreign_ca.issue([HOST]).write(tmp_path, "site")
    crt.write_bytes(crt.read_bytes() + foreign_ca.root_pem())
    finding = by_code(await check_certificate(str(crt), str(key), HOST, ctx), "cert.untrusted")
    assert "not in the trust store" in finding.title


async def test_intermediate_only_file_is_not_a_server_certificate(
    ca: TestCA, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_bytes(cert_pem(good.intermediates[0]))
    _, key = good.write(tmp_path, "site")
    result = statuses(await check_certificate(str(chain), str(key), HOST, ctx))
    assert result["cert.not_leaf"] == "fail"
    assert result["key.mismatch"] == "skip"


# --------------------------------------------------------------------------- host names


@pytest.mark.parametrize(
    ("san", "hostname"),
    [
        ("*.example.com", "example.com"),  # a wildcard does not cover the apex
        ("*.example.com", "a.b.example.com"),  # nor two labels
        ("other.example.com", HOST),
        ("xn--bcher-kva.example", "bucher.example"),
    ],
)
async def test_hostname_mismatch(
    san: str, hostname: str, ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    result = await check(ca.issue([san]), tmp_path, ctx, hostname)
    assert result["cert.hostname_mismatch"] == "fail"
    assert "cert.ok" not in result
    assert "cert.untrusted" not in result


async def test_mismatch_detail_lists_names_and_shows_punycode(
    ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = ca.issue(["www.example.com", "api.example.com"]).write(tmp_path, "site")
    findings = await check_certificate(str(crt), str(key), "bücher.example", ctx)
    finding = by_code(findings, "cert.hostname_mismatch")
    assert "bücher.example (xn--bcher-kva.example)" in finding.title
    assert "www.example.com, api.example.com" in finding.detail


async def test_unusable_hostname_is_skipped_but_chain_still_validated(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    result = await check(good, tmp_path, ctx, hostname="")
    assert result["cert.hostname_mismatch"] == "skip"
    assert result["cert.ok"] == "ok"


# --------------------------------------------------------------------------- time


async def test_validity_is_judged_at_ctx_now(good: Issued, tmp_path: Path, roots: Path) -> None:
    end = good.cert.not_valid_after_utc
    soon = CheckContext(ca_bundle=roots, now=end - dt.timedelta(days=5))
    later = CheckContext(ca_bundle=roots, now=end + dt.timedelta(days=1))
    before = CheckContext(
        ca_bundle=roots, now=good.cert.not_valid_before_utc - dt.timedelta(days=1)
    )
    assert (await check(good, tmp_path, soon))["cert.expiring_soon"] == "warn"
    assert (await check(good, tmp_path, later))["cert.expired"] == "fail"
    assert (await check(good, tmp_path, before))["cert.not_yet_valid"] == "fail"


def test_expired_intermediate_is_named(good: Issued) -> None:
    when = good.intermediates[0].not_valid_after_utc + dt.timedelta(days=1)
    (finding,) = check_validity([good.cert, *good.intermediates], when)
    assert finding.code == "cert.expired"
    assert "Intermediate CA expired" in finding.detail


def test_expiring_soon_boundary(good: Issued) -> None:
    end = good.cert.not_valid_after_utc
    assert check_validity([good.cert], end - dt.timedelta(days=31)) == []
    (finding,) = check_validity([good.cert], end - dt.timedelta(days=29))
    assert finding.code == "cert.expiring_soon"


# --------------------------------------------------------------------------- trust store


async def test_ssl_cert_file_is_honoured_without_ca_bundle(
    good: Issued, roots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(roots))
    assert (await check(good, tmp_path, CheckContext()))["cert.ok"] == "ok"
    other = TestCA("Elsewhere").write_root(tmp_path / "other-roots.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    crt, key = good.write(tmp_path / "again", "site")
    findings = await check_certificate(str(crt), str(key), HOST, CheckContext())
    assert str(other) in by_code(findings, "cert.untrusted").detail


async def test_ca_bundle_wins_over_ssl_cert_file(
    good: Issued, ctx: CheckContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    assert (await check(good, tmp_path, ctx))["cert.ok"] == "ok"


def _store_missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.pem"


def _store_empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.pem"
    path.write_text("# no certificates here\n")
    return path


def _store_directory(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize("make", [_store_missing, _store_empty, _store_directory])
async def test_unusable_trust_store(
    make: Callable[[Path], Path], good: Issued, tmp_path: Path
) -> None:
    ctx = CheckContext(ca_bundle=make(tmp_path))
    crt, key = good.write(tmp_path / "site", "site")
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    result = statuses(findings)
    assert result["cert.trust_store"] == "fail"
    assert "--ca-bundle" in by_code(findings, "cert.trust_store").remedy
    assert "cert.ok" not in result
    assert "cert.untrusted" not in result


async def test_no_trust_store_at_all(
    good: Issued, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(context, "SYSTEM_CA_BUNDLES", ())
    no_openssl_default = ssl.DefaultVerifyPaths(None, None, "", "", "", "")  # type: ignore[arg-type]
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: no_openssl_default)
    result = await check(good, tmp_path, CheckContext())
    assert result["cert.trust_store"] == "fail"


# --------------------------------------------------------------------------- hostile files


def _write(name: str, data: bytes) -> Callable[[Path], str]:
    def make(tmp_path: Path) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return make


def _big_file(tmp_path: Path) -> str:
    path = tmp_path / "huge.pem"
    with path.open("wb") as handle:
        handle.write(b"-----BEGIN CERTIFICATE-----\n")
        handle.truncate(10 * 1024 * 1024)
    return str(path)


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.pem"
    os.mkfifo(path)
    return str(path)


def _corrupt_pem(tmp_path: Path) -> str:
    path = tmp_path / "corrupt.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    return str(path)


CSR_PEM = b"-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n"
HOSTILE: dict[str, tuple[Callable[[Path], str], str]] = {
    "empty path": (lambda _: "", "cert.missing"),
    "missing file": (lambda tmp: str(tmp / "nope.pem"), "cert.missing"),
    "directory": (lambda tmp: str(tmp), "cert.unreadable"),
    "FIFO": (_fifo, "cert.unreadable"),
    "binary garbage": (_write("garbage.pem", os.urandom(4096)), "cert.unreadable"),
    "empty file": (_write("empty.pem", b""), "cert.unreadable"),
    "text, not PEM": (_write("notes.pem", b"hello\n"), "cert.unreadable"),
    "10 MB file": (_big_file, "cert.unreadable"),
    "corrupt PEM certificate": (_corrupt_pem, "cert.unreadable"),
    "CSR": (_write("req.pem", CSR_PEM), "cert.not_certificate"),
}  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
async def test_hostile_certificate_file_gives_one_finding(
    case: str, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    make, code = HOSTILE[case]
    _, key = good.write(tmp_path / "keys", "site")
    findings = await check_certificate(make(tmp_path), str(key), HOST, ctx)
    assert_actionable(findings)
    cert_findings = [f for f in findings if f.area == "cert"]
    assert [(f.code, f.status) for f in cert_findings] == [(code, "fail")]
    result = statuses(findings)
    assert result["key.mismatch"] == "skip"
    assert result["key.ok"] == "ok"


async def test_private_key_given_as_certificate(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    _, key = good.write(tmp_path, "site")
    findings = await check_certificate(str(key), str(key), HOST, ctx)
    finding = by_code(findings, "cert.not_certificate")
    assert finding.status == "fail"
    assert "private key" in finding.title
    assert statuses(findings)["key.mismatch"] == "skip"


async def test_der_certificate_is_explained(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    der = tmp_path / "site.cer"
    der.write_bytes(good.cert.public_bytes(serialization.Encoding.DER))
    _, key = good.write(tmp_path, "site")
    finding = by_code(await check_certificate(str(der), str(key), HOST, ctx), "cert.unreadable")
    assert "DER" in finding.title
    assert "openssl x509 -inform der" in finding.remedy


async def test_ten_megabyte_file_is_not_read_whole(tmp_path: Path, ctx: CheckContext) -> None:
    finding = by_code(
        await check_certificate(_big_file(tmp_path), "", HOST, ctx), "cert.unreadable"
    )
    assert "too large" in finding.title
    assert f"{MAX_FILE_BYTES:,}" in finding.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
async def test_unreadable_certificate_mode_000(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = good.write(tmp_path, "site")
    crt.chmod(0)
    finding = by_code(await check_certificate(str(crt), str(key), HOST, ctx), "cert.unreadable")
    assert "permission denied" in finding.title


async def test_permission_denied_is_reported_even_as_root(
    good: Issued, tmp_path: Path, ctx: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    crt, key = good.write(tmp_path, "site")
    real_open = os.open

    def deny(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path) == str(crt):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    finding = by_code(findings, "cert.unreadable")
    assert "permission denied" in finding.title
    assert "sudo" in finding.remedy


def _five_hundred_roots() -> bytes:
    keys = [generate_key("ec256") for _ in range(3)]
    now = dt.datetime.now(dt.timezone.utc)
    pems = []
    for number in range(500):
        key = keys[number % len(keys)]
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Unrelated Root {number}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(number + 1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        pems.append(cert_pem(cert))
    return b"".join(pems)


async def test_bundle_of_500_roots_as_certificate(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    bundle = tmp_path / "ca-certificates.crt"
    bundle.write_bytes(_five_hundred_roots())
    _, key = good.write(tmp_path, "site")
    started = time.monotonic()
    findings = await check_certificate(str(bundle), str(key), HOST, ctx)
    assert time.monotonic() - started < 5
    assert_actionable(findings)
    cert_findings = [f for f in findings if f.area == "cert"]
    assert [(f.code, f.status) for f in cert_findings] == [("cert.not_leaf", "fail")]
    assert "500 CA certificates" in cert_findings[0].detail
    assert HOST in cert_findings[0].detail
    assert statuses(findings)["key.mismatch"] == "skip"


# --------------------------------------------------------------------------- the key


async def test_key_of_another_certificate(
    ca: TestCA, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, _ = good.write(tmp_path, "site")
    _, other_key = ca.issue([HOST]).write(tmp_path, "other")
    findings = await check_certificate(str(crt), str(other_key), HOST, ctx)
    result = statuses(findings)
    assert result["key.mismatch"] == "fail"
    assert "key.ok" not in result
    assert result["cert.ok"] == "ok"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda tmp: str(tmp / "nope.key"), "key.missing"),
        (lambda _: "", "key.missing"),
        (lambda tmp: str(tmp), "key.unreadable"),
        (_write("garbage.key", os.urandom(2048)), "key.unreadable"),
        (_corrupt_pem, "key.unreadable"),
    ],
    ids=["missing", "empty path", "directory", "garbage", "certificate instead of key"],
)
async def test_unusable_key(
    make: Callable[[Path], str], code: str, good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, _ = good.write(tmp_path / "site", "site")
    findings = await check_certificate(str(crt), make(tmp_path), HOST, ctx)
    assert_actionable(findings)
    result = statuses(findings)
    assert result[code] == "fail"
    assert result["key.mismatch"] == "skip"
    assert "key.ok" not in result
    assert "key.permissions" not in result  # no noise about a file that is not a key
    assert result["cert.ok"] == "ok"


async def test_certificate_given_as_key_says_so(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, _ = good.write(tmp_path, "site")
    finding = by_code(await check_certificate(str(crt), str(crt), HOST, ctx), "key.unreadable")
    assert "certificate, not a private key" in finding.title


async def test_legacy_encrypted_key(good: Issued, tmp_path: Path, ctx: CheckContext) -> None:
    crt, key = good.write(tmp_path, "site")
    key.write_bytes(
        good.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    findings = await check_certificate(str(crt), str(key), HOST, ctx)
    finding = by_code(findings, "key.encrypted")
    assert "ssl_password_file" in finding.detail
    assert statuses(findings)["key.mismatch"] == "skip"


async def test_encrypted_key_with_loose_permissions_gets_both(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    result = await check(good, tmp_path, ctx, key_password=b"secret", key_mode=0o644)
    assert result["key.encrypted"] == "fail"
    assert result["key.permissions"] == "warn"


async def test_permissions_remedy_is_chmod_600(
    good: Issued, tmp_path: Path, ctx: CheckContext
) -> None:
    crt, key = good.write(tmp_path, "site", key_mode=0o644)
    finding = by_code(await check_certificate(str(crt), str(key), HOST, ctx), "key.permissions")
    assert finding.remedy.startswith(f"chmod 600 {key}")
    assert "0644" in finding.detail


async def test_traditional_rsa_key_is_accepted(
    ca: TestCA, tmp_path: Path, ctx: CheckContext
) -> None:
    issued = ca.issue([HOST], key_kind="rsa2048")
    crt, key = issued.write(tmp_path, "site")
    key.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    assert statuses(await check_certificate(str(crt), str(key), HOST, ctx)) == {
        "cert.ok": "ok",
        "key.ok": "ok",
    }


def test_every_code_is_exercised_somewhere() -> None:
    source = Path(__file__).read_text()
    for code in ALL_CODES:
        assert source.count(f'"{code}"') >= 2, code
