"""The certificate step's helpers: summary, discovery, key matching, name matching."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.unit.conftest import HOST
from wizard.checks.cert_discovery import (
    CertificateSummary,
    discover_certificates,
    find_matching_key,
    summarize_certificate,
)
from wizard.checks.context import CheckContext
from wizard.checks.x509_facts import ascii_hostname, san_matches
from wizard.demo.ca import Issued, TestCA, cert_pem, key_pem


@pytest.fixture
def ctx(ca: TestCA, tmp_path: Path) -> CheckContext:
    return CheckContext(ca_bundle=ca.write_root(tmp_path / "trust" / "roots.pem"))


def letsencrypt_live(base: Path, issued: Issued, name: str = HOST) -> Path:
    """A Let's Encrypt style live directory: fullchain, cert, chain, privkey."""
    live = base / "letsencrypt" / "live" / name
    live.mkdir(parents=True)
    (live / "fullchain.pem").write_bytes(issued.fullchain_pem())
    (live / "cert.pem").write_bytes(cert_pem(issued.cert))
    (live / "chain.pem").write_bytes(b"".join(cert_pem(c) for c in issued.intermediates))
    (live / "privkey.pem").write_bytes(key_pem(issued.key))
    (live / "privkey.pem").chmod(0o600)
    return live


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("bastion.example.com", "bastion.example.com", True),
        ("Bastion.Example.com.", "bastion.example.com", True),
        ("*.example.com", "bastion.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.com", "example.com", False),
        ("b*.example.com", "bastion.example.com", False),
        ("*.*.example.com", "a.b.example.com", False),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", True),
        ("203.0.113.10", "203.0.113.10", True),
        ("203.0.113.10", "203.0.113.11", False),
        ("other.example.com", "bastion.example.com", False),
    ],
)
def test_san_matches(pattern: str, name: str, expected: bool) -> None:
    assert san_matches(pattern, name) is expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("bücher.example", "xn--bcher-kva.example"),
        ("Bastion.Example.COM.", "bastion.example.com"),
        (" bastion.example.com ", "bastion.example.com"),
        ("203.0.113.10", "203.0.113.10"),
        ("", None),
        ("bad name.example", None),
        ("a" * 64 + ".example", None),
        ("a..example", None),
    ],
)
def test_ascii_hostname(typed: str, expected: str | None) -> None:
    assert ascii_hostname(typed) == expected


# --------------------------------------------------------------------------- summary


def test_summary_of_a_good_certificate(good: Issued, ctx: CheckContext, tmp_path: Path) -> None:
    crt, _ = good.write(tmp_path, "site")
    summary = summarize_certificate(str(crt), HOST, ctx)
    assert summary == CertificateSummary(
        path=str(crt),
        subject=HOST,
        names=(HOST,),
        issuer="codestream-bastion Test Intermediate CA",
        not_after=good.cert.not_valid_after_utc,
        verdict=summary.verdict,
        status="ok",
    )
    assert "covers the host name" in summary.verdict


def test_summary_verdict_is_the_worst_problem(
    ca: TestCA, ctx: CheckContext, tmp_path: Path
) -> None:
    crt, _ = ca.issue([HOST], expired=True).write(tmp_path, "site")
    summary = summarize_certificate(str(crt), HOST, ctx)
    assert summary.status == "fail"
    assert "expired" in summary.verdict
    assert summary.names == (HOST,)


def test_summary_of_the_wrong_host(good: Issued, ctx: CheckContext, tmp_path: Path) -> None:
    crt, _ = good.write(tmp_path, "site")
    summary = summarize_certificate(str(crt), "other.example.org", ctx)
    assert summary.status == "fail"
    assert "does not cover other.example.org" in summary.verdict


@pytest.mark.parametrize("path", ["", "/nonexistent/cert.pem", "/"])
def test_summary_never_raises(path: str, ctx: CheckContext) -> None:
    summary = summarize_certificate(path, HOST, ctx)
    assert summary.status == "fail"
    assert summary.subject == ""
    assert summary.not_after is None
    assert summary.verdict


def test_summary_is_fast(good: Issued, ctx: CheckContext, tmp_path: Path) -> None:
    crt, _ = good.write(tmp_path, "site")
    started = time.monotonic()
    for _ in range(20):
        summarize_certificate(str(crt), HOST, ctx)
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- discovery


def test_discovers_server_certificates_and_skips_keys_and_cas(
    ca: TestCA, good: Issued, tmp_path: Path
) -> None:
    live = letsencrypt_live(tmp_path, good)
    ssl = tmp_path / "ssl"
    (ssl / "certs").mkdir(parents=True)
    (ssl / "private").mkdir()
    ca.write_root(ssl / "certs" / "Test_Root.pem")  # a CA: not offered
    site_crt, _ = ca.issue(["www.example.com"]).write(ssl / "certs", "www")
    (ssl / "private" / "www.pem").write_bytes(cert_pem(good.cert))  # private/ is skipped
    (ssl / "certs" / "server-key.pem").write_bytes(key_pem(good.key))
    (ssl / "certs" / "notes.txt").write_text("not a certificate")
    (ssl / "certs" / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAA\n")
    found = discover_certificates([tmp_path / "letsencrypt" / "live", ssl])
    assert found == [live / "fullchain.pem", live / "cert.pem", site_crt]


def test_discovery_depth_hidden_dirs_and_duplicates(good: Issued, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deeper = deep / "d"
    deeper.mkdir(parents=True)
    (deep / "ok.pem").write_bytes(good.fullchain_pem())  # depth 4: found
    (deeper / "too-deep.pem").write_bytes(good.fullchain_pem())  # depth 5: not
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hidden.pem").write_bytes(good.fullchain_pem())
    (tmp_path / "link.pem").symlink_to(deep / "ok.pem")
    # Files of a directory come before its subdirectories: the link is seen first.
    assert discover_certificates([tmp_path]) == [tmp_path / "link.pem"]
    # Depth counts from each root; a file seen through two roots is listed once.
    assert discover_certificates([deep, tmp_path]) == [deep / "ok.pem", deeper / "too-deep.pem"]


def test_discovery_is_bounded_and_never_raises(good: Issued, tmp_path: Path) -> None:
    for number in range(30):
        (tmp_path / f"site{number:02}.crt").write_bytes(cert_pem(good.cert))
    os.mkfifo(tmp_path / "fifo.pem")
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "gone.pem")
    found = discover_certificates(
        [tmp_path / "missing", tmp_path / "site00.crt", tmp_path], limit=5
    )
    assert len(found) == 5
    assert discover_certificates([]) == []


# --------------------------------------------------------------------------- key matching


def test_finds_letsencrypt_privkey(good: Issued, tmp_path: Path) -> None:
    live = letsencrypt_live(tmp_path, good)
    assert find_matching_key(str(live / "fullchain.pem")) == str(live / "privkey.pem")
    assert find_matching_key(str(live / "cert.pem")) == str(live / "privkey.pem")


def test_finds_same_stem_key(good: Issued, tmp_path: Path) -> None:
    crt, key = good.write(tmp_path, "bastion")
    assert find_matching_key(str(crt)) == str(key)


def test_finds_a_matching_key_in_another_directory(
    ca: TestCA, good: Issued, tmp_path: Path
) -> None:
    certs, private = tmp_path / "certs", tmp_path / "private"
    certs.mkdir()
    private.mkdir()
    crt = certs / "bastion.pem"
    crt.write_bytes(good.fullchain_pem())
    (private / "a-unrelated.key").write_bytes(key_pem(ca.issue([HOST]).key))
    (private / "server.key").write_bytes(key_pem(good.key))
    assert find_matching_key(str(crt)) is None
    assert find_matching_key(str(crt), [private]) == str(private / "server.key")


def test_skips_a_conventional_key_that_does_not_match(
    ca: TestCA, good: Issued, tmp_path: Path
) -> None:
    crt, _ = good.write(tmp_path, "bastion")
    (tmp_path / "bastion.key").write_bytes(key_pem(ca.issue([HOST]).key))
    (tmp_path / "real.pem").write_bytes(key_pem(good.key))
    assert find_matching_key(str(crt)) == str(tmp_path / "real.pem")


def test_encrypted_conventional_key_is_still_offered(good: Issued, tmp_path: Path) -> None:
    crt, key = good.write(tmp_path, "bastion", key_password=b"secret")
    assert find_matching_key(str(crt)) == str(key)


def test_unreadable_certificate_still_gets_the_conventional_key(tmp_path: Path) -> None:
    (tmp_path / "fullchain.pem").write_bytes(b"garbage")
    (tmp_path / "privkey.pem").write_bytes(b"garbage too")
    assert find_matching_key(str(tmp_path / "fullchain.pem")) == str(tmp_path / "privkey.pem")


@pytest.mark.parametrize("path", ["", "/nonexistent/cert.pem", "/"])
def test_find_matching_key_never_raises(path: str) -> None:
    assert find_matching_key(path) is None
