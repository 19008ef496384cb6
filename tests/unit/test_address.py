"""Public IP address checks (offline) and interface discovery.

A public address cannot be put on an interface of the test machine, so the
"chosen address is on this host" cases pass ``interface_addresses`` in the
context; nothing here sends a packet.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from wizard.checks.address import (
    check_public_ip,
    host_addresses,
    ip_syntax_error,
    local_interface_addresses,
    not_public_reason,
)
from wizard.checks.context import CheckContext
from wizard.findings import Finding, apply_lab_mode

PUBLIC_V4 = "44.1.2.3"  # any public address: classified, never contacted
PUBLIC_V6 = "2606:4700:4700::1111"
ON_HOST = CheckContext(interface_addresses=("127.0.0.1", "10.0.0.5", PUBLIC_V4, PUBLIC_V6))
BEHIND_NAT = CheckContext(interface_addresses=("127.0.0.1", "10.0.0.5"))


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.status) for f in findings]


@pytest.mark.parametrize("text", ["203.0.113.10", "10.0.0.1", "2001:db8::10", "::ffff:10.0.0.1"])
def test_valid_syntax(text: str) -> None:
    assert ip_syntax_error(text) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("999.1.1.1", "999"),
        ("1.2.999.1", "0 to 255"),
        ("1.2.3", "four"),
        ("1.2.3.4.5", "four"),
        ("010.1.1.1", "leading zero"),
        ("bastion.example.com", "not an IP address"),
        ("1.2.3.4/24", "prefix length"),
        ("1.2.3.4:443", "port"),
        ("[2001:db8::1]", "brackets"),
        ("fe80::1%eth0", "zone id"),
        (" 1.2.3.4", "blanks"),
        ("1.2.3.4\n", "blanks"),
        ("2001:db8:::1", "IPv6"),
    ],
)
def test_invalid_syntax_is_explained(text: str, named: str) -> None:
    message = ip_syntax_error(text)
    assert message is not None
    assert named in message
    findings = check_public_ip(text, ON_HOST)
    assert codes(findings) == [("ip.invalid", "fail")]
    assert named in findings[0].detail
    assert "\n" not in findings[0].title


def test_empty() -> None:
    assert codes(check_public_ip("", ON_HOST)) == [("ip.empty", "fail")]
    assert codes(check_public_ip("  ", ON_HOST)) == [("ip.empty", "fail")]


@pytest.mark.parametrize("text", ["0.0.0.0", "::", "::ffff:0.0.0.0"])
def test_unspecified(text: str) -> None:
    assert codes(check_public_ip(text, ON_HOST)) == [("ip.unspecified", "fail")]
    assert codes(check_public_ip(text, CheckContext(lab=True))) == [("ip.unspecified", "fail")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10.1.2.3", "RFC 1918"),
        ("172.16.0.1", "RFC 1918"),
        ("172.31.255.254", "RFC 1918"),
        ("192.168.1.10", "RFC 1918"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("127.0.0.1", "loopback"),
        ("127.8.8.8", "loopback"),
        ("169.254.169.254", "link-local"),
        ("192.0.2.10", "documentation"),
        ("198.51.100.10", "documentation"),
        ("203.0.113.10", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.1", "benchmarking"),
        ("224.0.0.251", "multicast"),
        ("239.1.1.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("0.1.2.3", "this network"),
        ("192.0.0.9", "IETF protocol assignment"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("2001:db8::10", "documentation"),
        ("2001:2::1", "benchmarking"),
        ("ff02::1", "multicast"),
        ("4000::1", "global unicast"),
        ("::ffff:10.0.0.1", "IPv4-mapped 10.0.0.1, an RFC 1918"),
        ("::ffff:203.0.113.7", "IPv4-mapped 203.0.113.7, a documentation"),
    ],
)
def test_not_public_fails_with_the_precise_reason(text: str, reason: str) -> None:
    findings = check_public_ip(text, ON_HOST)
    assert codes(findings)[0] == ("ip.not_public", "fail")
    assert {code for code, _ in codes(findings)[1:]} <= {"ip.on_interface", "ip.not_on_interface"}
    assert reason in findings[0].detail
    assert text in findings[0].title


def test_not_public_is_a_warning_in_lab_mode() -> None:
    lab = CheckContext(lab=True, interface_addresses=("10.0.0.5",))
    findings = apply_lab_mode(check_public_ip("10.0.0.5", lab), lab.lab)
    assert codes(findings) == [("ip.not_public", "warn"), ("ip.on_interface", "ok")]
    assert findings[0].title == "10.0.0.5 is not a public address (accepted in lab mode)"
    assert "RFC 1918" in findings[0].detail


@pytest.mark.parametrize("text", [PUBLIC_V4, PUBLIC_V6, "::ffff:44.1.2.3"])
def test_public_on_interface(text: str) -> None:
    assert codes(check_public_ip(text, ON_HOST)) == [("ip.ok", "ok"), ("ip.on_interface", "ok")]


@pytest.mark.parametrize("text", [PUBLIC_V4, PUBLIC_V6])
def test_public_not_on_interface_explains_nat(text: str) -> None:
    findings = check_public_ip(text, BEHIND_NAT)
    assert codes(findings) == [("ip.ok", "ok"), ("ip.not_on_interface", "warn")]
    warning = findings[1]
    assert "1:1 NAT" in warning.detail
    assert "AWS Elastic IP" in warning.detail
    assert "10.0.0.5" in warning.detail  # the host's own addresses are listed
    assert "443" in warning.remedy


def test_empty_interface_list_is_used_as_given() -> None:
    ctx = CheckContext(interface_addresses=())
    assert host_addresses(ctx) == frozenset()
    assert codes(check_public_ip(PUBLIC_V4, ctx))[-1] == ("ip.not_on_interface", "warn")


def test_good_input_has_no_problem_codes() -> None:
    found = {f.code for f in check_public_ip(PUBLIC_V4, ON_HOST)}
    assert found.isdisjoint(
        {"ip.empty", "ip.invalid", "ip.unspecified", "ip.not_public", "ip.not_on_interface"}
    )


def test_not_public_reason_of_public_addresses_is_none() -> None:
    for text in (PUBLIC_V4, PUBLIC_V6, "45.6.7.8", "::ffff:45.6.7.8"):
        assert not_public_reason(ipaddress.ip_address(text)) is None


def test_local_interface_addresses_are_discovered() -> None:
    found = local_interface_addresses()
    assert "127.0.0.1" in found
    assert len(found) == len(set(found))
    for text in found:
        ipaddress.ip_address(text)


def test_discovery_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[tuple[int, str]]:
        raise OSError("no interfaces for you")

    monkeypatch.setattr(socket, "if_nameindex", broken)
    found = local_interface_addresses()
    assert "127.0.0.1" not in found  # IPv4 discovery failed quietly


def test_host_addresses_discovers_when_not_given() -> None:
    assert ipaddress.ip_address("127.0.0.1") in host_addresses(CheckContext())
