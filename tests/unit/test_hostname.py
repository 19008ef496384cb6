"""Host name syntax, IDN and look-alike checks (offline)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.checks.hostname import check_hostname, hostname_syntax_error, to_ascii_hostname
from wizard.findings import Finding, apply_lab_mode

LONG_LABEL = "a" * 64
NAME_300 = ".".join(["b" * 59] * 5)  # 299 characters, every label valid


def codes(findings: list[Finding]) -> dict[str, str]:
    return {f.code: f.status for f in findings}


@pytest.mark.parametrize(
    "name",
    [
        "bastion.example.com",
        "Bastion-Host.My-Company.COM",
        "bastion.example.com.",  # a final dot is accepted
        "a.b",
        "x1.example.com",
        ".".join(["c" * 63] * 3) + ".com",  # 63-character labels, 195 characters
    ],
)
def test_valid_names_pass(name: str) -> None:
    assert hostname_syntax_error(name) is None
    findings = check_hostname(name)
    assert codes(findings) == {"hostname.ok": "ok"}


def test_trailing_dot_is_stripped_and_case_folded() -> None:
    assert to_ascii_hostname("Bastion.Example.com.") == "bastion.example.com"


@pytest.mark.parametrize(
    ("name", "code", "named"),
    [
        ("", "hostname.empty", "no host name"),
        ("   ", "hostname.empty", "no host name"),
        ("bas tion.example.com", "hostname.invalid", "a space at position 4"),
        ("bastion.example.com;", "hostname.invalid", "';' at position 20"),
        ("bastion{.example.com", "hostname.invalid", "'{' at position 8"),
        ("bastion.example.com\nserver_name evil", "hostname.invalid", "a line break"),
        ("bastion\t.example.com", "hostname.invalid", "a tab"),
        ("bastion.example.com\u00a0", "hostname.invalid", "NO-BREAK SPACE"),
        ("bas\u200btion.example.com", "hostname.invalid", "ZERO WIDTH SPACE"),
        ("my_host.example.com", "hostname.invalid", "underscore"),
        ("-bastion.example.com", "hostname.invalid", "hyphen"),
        ("bastion-.example.com", "hostname.invalid", "hyphen"),
        ("bastion..example.com", "hostname.invalid", "label 2 is empty"),
        (".bastion.example.com", "hostname.invalid", "label 1 is empty"),
        ("bastion.example.com..", "hostname.invalid", "empty"),
        ("xn--zz.example.com", "hostname.invalid", "punycode"),
        ("1.2.3", "hostname.invalid", "all digits"),
        (f"{LONG_LABEL}.example.com", "hostname.label_too_long", "64 characters"),
        (NAME_300 + ".", "hostname.too_long", "299 characters"),
        ("bastion", "hostname.single_label", "not fully qualified"),
        ("bastion.", "hostname.single_label", "not fully qualified"),
        ("203.0.113.10", "hostname.ip_address", "IP address"),
        ("203.0.113.10.", "hostname.ip_address", "IP address"),
        ("2001:db8::10", "hostname.ip_address", "IP address"),
        ("[2001:db8::10]", "hostname.ip_address", "IP address"),
    ],
)
def test_invalid_names_fail_with_code_and_message(name: str, code: str, named: str) -> None:
    message = hostname_syntax_error(name)
    assert message is not None
    assert named.lower() in message.lower()
    findings = check_hostname(name)
    assert [(f.code, f.status) for f in findings] == [(code, "fail")]
    assert named.lower() in findings[0].detail.lower()
    assert findings[0].remedy
    assert "\n" not in findings[0].title
    with pytest.raises(ValueError, match=re.escape(message)):
        to_ascii_hostname(name)


def test_300_character_name_is_too_long() -> None:
    name = ".".join(["d" * 60] * 4) + "." + "e" * 56  # 300 characters
    assert len(name) == 300
    assert codes(check_hostname(name)) == {"hostname.too_long": "fail"}


def test_message_names_the_fix() -> None:
    message = hostname_syntax_error("my_host.example.com")
    assert message is not None
    assert "use a hyphen" in message
    message = hostname_syntax_error("bastion")
    assert message is not None
    assert "bastion.my-company.com" in message


def test_idn_is_shown_as_typed_and_checked_as_punycode() -> None:
    assert to_ascii_hostname("bücher.example") == "xn--bcher-kva.example"
    assert to_ascii_hostname("Bücher.Example.COM.") == "xn--bcher-kva.example.com"
    findings = check_hostname("bücher.example.com")
    assert codes(findings) == {"hostname.ok": "ok", "hostname.idn": "ok"}
    idn = next(f for f in findings if f.code == "hostname.idn")
    assert "bücher.example.com" in idn.title
    assert "xn--bcher-kva.example.com" in idn.title


def test_idna_2008_is_preferred() -> None:
    # IDNA 2003 maps 'ß' to 'ss'; IDNA 2008 (what registries use) keeps it.
    assert to_ascii_hostname("faß.de") == "xn--fa-hia.de"


def test_punycode_typed_is_shown_decoded() -> None:
    findings = check_hostname("xn--bcher-kva.example.com")
    idn = next(f for f in findings if f.code == "hostname.idn")
    assert "bücher.example.com" in idn.title


def test_full_width_characters_are_normalized() -> None:
    assert to_ascii_hostname("ｂａｓｔｉｏｎ．example．com") == "bastion.example.com"
    assert "hostname.idn" in codes(check_hostname("ｂａｓｔｉｏｎ．example．com"))


def test_ascii_names_have_no_idn_finding() -> None:
    assert "hostname.idn" not in codes(check_hostname("Bastion.Example.com"))


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("аррӏе.com", "reads as Latin 'apple'"),  # all Cyrillic
        ("pаypal.com", "mixes scripts"),  # Cyrillic 'а' in a Latin name
        ("bastion.exаmple.com", "mixes scripts"),
        ("gοοgle.com", "mixes scripts"),  # Greek omicrons
    ],
)
def test_lookalikes_warn(name: str, why: str) -> None:
    findings = check_hostname(name)
    assert codes(findings)["hostname.lookalike"] == "warn"
    lookalike = next(f for f in findings if f.code == "hostname.lookalike")
    assert why in lookalike.detail
    assert to_ascii_hostname(name) in lookalike.detail


@pytest.mark.parametrize(
    "name", ["bücher.example.com", "пример.рф", "例え.jp", "ドメイン名例.jp", "bastion.example.com"]
)
def test_genuine_names_are_not_lookalikes(name: str) -> None:
    assert "hostname.lookalike" not in codes(check_hostname(name))


@pytest.mark.parametrize(
    "name",
    [
        "bastion.local",
        "bastion.internal",
        "bastion.lan",
        "bastion.demo.test",
        "bastion.example",
        "bastion.invalid",
        "bastion.localhost",
        "bastion.home.arpa",
    ],
)
def test_reserved_tlds_warn_and_still_warn_in_lab(name: str) -> None:
    assert codes(check_hostname(name)) == {"hostname.ok": "ok", "hostname.reserved_tld": "warn"}
    lab = apply_lab_mode(check_hostname(name), lab=True)
    assert codes(lab) == {"hostname.ok": "ok", "hostname.reserved_tld": "warn"}
    assert lab[1].title.endswith("(accepted in lab mode)")


@pytest.mark.parametrize("name", ["bastion.example.com", "bastion.testing.io", "local.example.org"])
def test_public_tlds_are_not_reserved(name: str) -> None:
    assert "hostname.reserved_tld" not in codes(check_hostname(name))


@given(st.text(max_size=80))
def test_any_text_gives_a_message_or_a_safe_ascii_name(text: str) -> None:
    message = hostname_syntax_error(text)
    if message is None:
        name = to_ascii_hostname(text)
        assert re.fullmatch(r"[a-z0-9.-]+", name)
        assert len(name) <= 253
        assert all(1 <= len(label) <= 63 for label in name.split("."))
    else:
        assert "\n" not in message
        findings = check_hostname(text)
        assert len(findings) == 1
        assert findings[0].status == "fail"
