"""The ``firewall.*`` check: real ufw and nft in private network namespaces; firewalld recorded.

ufw and nft run for real, each inside ``unshare --net --mount``: a network
namespace of its own (the host's ruleset is never touched) and, for ufw, a
private copy of ``/etc/ufw`` bind-mounted over the real one. firewalld needs a
D-Bus system bus and its daemon, which cannot run here: its tests feed
``firewall-cmd`` output recorded in the format of firewalld 1.3 (Debian 12,
RHEL 9), and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.checks.context import CheckContext
from wizard.checks.firewall import (
    Runner,
    check_firewall,
    decide_firewalld,
    decide_nftables,
    decide_ufw,
)
from wizard.findings import apply_lab_mode
from wizard.nginx import CommandResult, run_command

CTX = CheckContext(timeout=20.0)
IN_CI = bool(os.environ.get("CI"))


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "--mount", "true"], capture_output=True, check=False, timeout=10
    )
    return probe.returncode == 0


def _need(tool: str) -> None:
    """Skip (fail under CI, where ./dev test installs the tools) when ``tool`` cannot run here."""
    if shutil.which(tool) is None or not _namespaces_work():
        message = f"{tool} or network namespaces are not available (./dev test installs {tool})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _namespaced(setup: str, tools: Sequence[str]) -> Runner:
    """Runs ``tools`` in a fresh private namespace after ``setup``; other tools are absent."""

    async def run(argv: Sequence[str], timeout: float) -> CommandResult:
        if argv[0] not in tools:
            return CommandResult(None, f"cannot run {argv[0]}: No such file or directory")
        script = f'{setup} >/dev/null 2>&1 || exit 99\nexec "$@"'
        return await run_command(
            ["unshare", "--net", "--mount", "sh", "-c", script, "sh", *argv], timeout
        )

    return run


def _ufw_setup(tmp_path: Path, *rules: str) -> str:
    """Shell lines: a private /etc/ufw, ufw enabled, ``rules`` added (``ufw RULE``)."""
    private = tmp_path / "etc-ufw"
    shutil.copytree("/etc/ufw", private, symlinks=True)
    # The profile Debian's nginx-common installs, in case this host's nginx came without it.
    profile = private / "applications.d" / "nginx"
    if not profile.exists():
        profile.write_text(
            "[Nginx Full]\ntitle=Web Server (Nginx, HTTP + HTTPS)\n"
            "description=Small, but very powerful and efficient web server\nports=80,443/tcp\n",
            encoding="utf-8",
        )
    lines = [f"mount --bind {private} /etc/ufw", "ufw --force enable"]
    lines += [f"ufw {rule}" for rule in rules]
    return " && ".join(lines)


# -- ufw, for real --------------------------------------------------------------------------


async def test_real_ufw_default_deny_blocks_with_the_exact_command(tmp_path: Path) -> None:
    _need("ufw")
    runner = _namespaced(_ufw_setup(tmp_path, "allow 22/tcp"), ["ufw"])
    [finding] = await check_firewall(443, CTX, runner)
    assert finding.code == "firewall.blocked"
    assert finding.status == "fail"
    assert "the incoming default is deny" in finding.detail
    assert finding.remedy == "Open the port: ufw allow 443/tcp"


async def test_real_ufw_allow_rule_opens_the_port(tmp_path: Path) -> None:
    _need("ufw")
    runner = _namespaced(_ufw_setup(tmp_path, "allow 22/tcp", "allow 'Nginx Full'"), ["ufw"])
    [finding] = await check_firewall(443, CTX, runner)
    assert finding.code == "firewall.open", finding
    assert "Nginx Full" in finding.detail
    assert "cannot be seen from inside" in finding.detail


async def test_real_ufw_deny_rule_and_source_restricted_allow(tmp_path: Path) -> None:
    _need("ufw")
    rules = ("deny 8443/tcp", "allow from 10.0.0.0/8 to any port 9443 proto tcp")
    runner = _namespaced(_ufw_setup(tmp_path, *rules), ["ufw"])
    [denied] = await check_firewall(8443, CTX, runner)
    assert denied.code == "firewall.blocked"
    assert "8443/tcp DENY IN Anywhere" in denied.detail
    assert denied.remedy.startswith("Open the port: ufw insert 1 allow 8443/tcp")
    [some] = await check_firewall(9443, CTX, runner)
    assert some.code == "firewall.restricted"
    assert "10.0.0.0/8" in some.detail
    lab = CheckContext(timeout=20.0, lab=True)
    [relaxed] = apply_lab_mode(await check_firewall(8443, lab, runner), lab.lab)
    assert (relaxed.code, relaxed.status) == ("firewall.blocked", "warn")


async def test_real_ufw_inactive_falls_through_to_nftables(tmp_path: Path) -> None:
    _need("ufw")
    _need("nft")
    private = tmp_path / "etc-ufw"
    shutil.copytree("/etc/ufw", private, symlinks=True)
    runner = _namespaced(f"mount --bind {private} /etc/ufw", ["ufw", "nft"])
    [finding] = await check_firewall(443, CTX, runner)
    # A fresh namespace has no ruleset at all: nothing filters.
    assert finding.code == "firewall.none"
    assert finding.status == "skip"
    assert "security groups" in finding.detail.lower()


# -- nftables, for real ---------------------------------------------------------------------

NFT_RULES = """
table inet filter {
    chain input {
        type filter hook input priority 0; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "lo" accept
        ip saddr 192.0.2.0/24 drop
        tcp dport 22 accept
        tcp dport { 80, 8443 } accept
        tcp dport 9000-9100 jump web
        ip saddr 10.0.0.0/8 tcp dport 7443 accept
        ip protocol udp accept
        ip protocol tcp th dport 7000 accept
    }
    chain web {
        tcp dport 9050 drop
        counter accept
    }
}
"""


def _nft_runner(tmp_path: Path, rules: str = NFT_RULES) -> Runner:
    path = tmp_path / "rules.nft"
    path.write_text(rules, encoding="utf-8")
    return _namespaced(f"nft -f {path}", ["nft"])


@pytest.mark.parametrize(
    ("port", "code"),
    [
        (8443, "firewall.open"),
        (9001, "firewall.open"),  # through the jump to chain web
        (9050, "firewall.blocked"),  # dropped inside chain web
        (443, "firewall.blocked"),  # the policy drop
        (7443, "firewall.restricted"),  # accepted only from 10.0.0.0/8
        (7000, "firewall.open"),  # ip protocol tcp + th dport
    ],
)
async def test_real_nftables_ruleset(tmp_path: Path, port: int, code: str) -> None:
    _need("nft")
    [finding] = await check_firewall(port, CTX, _nft_runner(tmp_path))
    assert finding.code == code, finding
    if code == "firewall.blocked":
        assert f"nft insert rule inet filter input tcp dport {port} accept" in finding.remedy
    if code == "firewall.restricted":
        assert "10.0.0.0/8" in finding.detail


async def test_real_nftables_two_base_chains_both_must_accept(tmp_path: Path) -> None:
    _need("nft")
    rules = (
        NFT_RULES.replace("policy drop", "policy accept")
        + """
table ip guard {
    chain in {
        type filter hook input priority 10; policy accept;
        tcp dport 443 reject
    }
}
"""
    )
    [finding] = await check_firewall(443, CTX, _nft_runner(tmp_path, rules))
    assert finding.code == "firewall.blocked"
    assert "nft insert rule ip guard in tcp dport 443 accept" in finding.remedy


async def test_real_nft_json_is_what_the_parser_reads(tmp_path: Path) -> None:
    _need("nft")
    result = await _nft_runner(tmp_path)(("nft", "-j", "list", "ruleset"), 20.0)
    assert result.ok, result.output
    document = json.loads(result.output)
    assert any("chain" in item for item in document["nftables"])
    decision = decide_nftables(result.output, 22)
    assert decision is not None
    assert decision.verdict == "allowed"


# -- recorded output (tools that cannot run here, and error paths) --------------------------


def _recorded(outputs: dict[str, CommandResult]) -> Runner:
    """Replays recorded output by program name (the real tool cannot run here)."""

    async def run(argv: Sequence[str], timeout: float) -> CommandResult:
        key = " ".join(argv)
        if key in outputs:
            return outputs[key]
        return CommandResult(None, f"cannot run {argv[0]}: No such file or directory")

    return run


# firewalld 1.3 (`firewall-cmd --list-all`, default zone), as printed on Debian 12 and RHEL 9.
FIREWALLD_PUBLIC = "\n".join(
    [
        "public (active)",
        "  target: default",
        "  icmp-block-inversion: no",
        "  interfaces: eth0",
        "  sources: ",
        "  services: dhcpv6-client ssh",
        "  ports: 8000-8100/tcp",
        "  protocols: ",
        "  forward: yes",
        "  masquerade: no",
        "  forward-ports: ",
        "  source-ports: ",
        "  icmp-blocks: ",
        "  rich rules: ",
        "",
    ]
)


async def test_firewalld_recorded_blocked_then_opened() -> None:
    runner = _recorded(
        {
            "firewall-cmd --state": CommandResult(0, "running"),
            "firewall-cmd --list-all": CommandResult(0, FIREWALLD_PUBLIC),
        }
    )
    [finding] = await check_firewall(443, CTX, runner)
    assert finding.code == "firewall.blocked"
    assert finding.remedy == (
        "Open the port: firewall-cmd --permanent --zone=public --add-service=https "
        "&& firewall-cmd --reload"
    )
    assert decide_firewalld(FIREWALLD_PUBLIC, 8050).verdict == "allowed"
    opened = FIREWALLD_PUBLIC.replace("dhcpv6-client ssh", "dhcpv6-client https ssh")
    decision = decide_firewalld(opened, 443)
    assert (decision.verdict, decision.because) == (
        "allowed",
        "firewalld zone public allows the service https",
    )
    other_port = decide_firewalld(FIREWALLD_PUBLIC, 8443)
    assert other_port.remedy.endswith("--add-port=8443/tcp && firewall-cmd --reload")
    rich = FIREWALLD_PUBLIC.replace(
        "rich rules: ",
        'rich rules: \n\trule family="ipv4" source address="10.0.0.0/8" port port="443" '
        'protocol="tcp" accept',
    )
    assert decide_firewalld(rich, 443).verdict == "restricted"
    trusted = FIREWALLD_PUBLIC.replace("target: default", "target: ACCEPT")
    assert decide_firewalld(trusted, 443).verdict == "allowed"


async def test_firewalld_not_running_is_no_firewall() -> None:
    runner = _recorded({"firewall-cmd --state": CommandResult(252, "not running")})
    [finding] = await check_firewall(443, CTX, runner)
    assert finding.code == "firewall.none"


async def test_not_root_is_unreadable_not_open() -> None:
    runner = _recorded(
        {
            "ufw status verbose": CommandResult(1, "ERROR: You need to be root to run this script"),
            "nft -j list ruleset": CommandResult(
                1, "Error: Could not process rule: Operation not permitted"
            ),
        }
    )
    [finding] = await check_firewall(443, CTX, runner)
    assert finding.code == "firewall.unreadable"
    assert finding.status == "skip"
    assert "You need to be root" in finding.detail
    assert "Operation not permitted" in finding.detail
    assert "cannot be seen from inside" in finding.detail


async def test_nothing_installed_is_no_firewall() -> None:
    [finding] = await check_firewall(443, CTX, _recorded({}))
    assert finding.code == "firewall.none"


def test_garbled_outputs_are_unreadable() -> None:
    from wizard.checks.firewall import Unreadable

    with pytest.raises(Unreadable):
        decide_nftables("Error: syntax error", 443)
    with pytest.raises(Unreadable):
        decide_nftables('{"nftables": {"not": "a list"}}', 443)
    with pytest.raises(Unreadable):
        decide_ufw("something else entirely", 443)
    with pytest.raises(Unreadable):
        decide_firewalld("", 443)


def test_ufw_rule_forms() -> None:
    header = (
        "Status: active\nLogging: on (low)\n"
        "Default: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\n"
        "To                         Action      From\n--                         ------      ----\n"
    )

    def verdict(rule_lines: str, port: int = 443) -> str:
        decision = decide_ufw(header + rule_lines, port)
        assert decision is not None
        return decision.verdict

    assert verdict("80,443/tcp                 ALLOW IN    Anywhere\n") == "allowed"
    assert verdict("440:450/tcp                ALLOW IN    Anywhere\n") == "allowed"
    assert verdict("443                        ALLOW IN    Anywhere\n") == "allowed"
    assert verdict("443/udp                    ALLOW IN    Anywhere\n") == "blocked"
    assert verdict("443/tcp (v6)               ALLOW IN    Anywhere (v6)\n") == "blocked"
    assert verdict("443/tcp on eth1            ALLOW IN    Anywhere\n") == "restricted"
    assert verdict("Anywhere                   ALLOW IN    203.0.113.7\n") == "restricted"
    assert verdict("443/tcp                    LIMIT IN    Anywhere\n") == "allowed"
    assert verdict("Custom App                 ALLOW IN    Anywhere\n") == "restricted"
    assert verdict("443/tcp                    ALLOW OUT   Anywhere\n") == "blocked"
    # A deny for one source ahead of the allow is a block list: still open to the internet.
    assert (
        verdict(
            "Anywhere                   DENY IN     198.51.100.9\n"
            "443/tcp                    ALLOW IN    Anywhere\n"
        )
        == "allowed"
    )
    allow_all = header.replace("deny (incoming)", "allow (incoming)")
    decision = decide_ufw(allow_all, 443)
    assert decision is not None
    assert decision.verdict == "allowed"
    assert decide_ufw("Status: inactive\n", 443) is None
