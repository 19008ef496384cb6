"""Does the host's own firewall let Slack and Microsoft in? (``firewall.*`` codes)

The bot connectors call the bastion from the internet on the listen port; a
local firewall that drops that port makes every other check pointless. This
check asks the firewall front-ends an admin is likely to use, in this order,
and stops at the first that is active:

- **ufw** (Debian, Ubuntu): ``ufw status verbose``, first matching rule wins,
  then the incoming default policy;
- **firewalld** (RHEL, Fedora): ``firewall-cmd --state`` then
  ``firewall-cmd --list-all`` for the default zone (services, ports, target);
- **nftables**: ``nft -j list ruleset``, the structured (JSON) form, walking
  every base chain on the ``input`` hook as the kernel would for a new TCP
  connection from an arbitrary internet address.

The answer is *allowed*, *blocked* (with the exact command to open the port)
or *restricted* (allowed only from some sources, or decided by a rule this
check does not understand). Where no firewall is active, or its rules cannot
be read (not root), the check says so and skips: the provider's security
groups or network ACLs in front of the host cannot be seen from inside it.

The analysis is of IPv4 traffic (the public address the bot connectors call);
iptables-legacy rules, which nftables does not show, are not read.

Commands run through an injected runner (:data:`Runner`), so tests feed it
recorded real output where a firewall cannot run, and a real ``nft`` in a
private network namespace where it can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.nginx.command import CommandResult, run_command

Runner = Callable[[Sequence[str], float], Awaitable[CommandResult]]
"""Runs ``argv`` with a timeout, like :func:`wizard.nginx.run_command`."""

Verdict = Literal["allowed", "blocked", "restricted"]

_CLOUD_NOTE = (
    "Security groups, network ACLs or a provider firewall in front of this host "
    "cannot be seen from inside it: check that they allow inbound TCP to this port "
    "from the internet."
)
_HTTPS_SERVICES = {"https": (443,), "http": (80,)}


@dataclass(frozen=True)
class Decision:
    """What one firewall does with a new inbound TCP connection to the port.

    Attributes:
        verdict: ``allowed``, ``blocked`` or ``restricted``.
        because: The rule or policy that decided, in the tool's own words.
        remedy: The exact command(s) to open the port (for blocked/restricted).
    """

    verdict: Verdict
    because: str
    remedy: str = ""


class Unreadable(Exception):
    """The firewall is there but its rules could not be read or understood."""


# -- ufw ------------------------------------------------------------------------------------

# ufw's application profiles for nginx and the usual web servers (from the
# profiles Debian's nginx and apache2 packages install in /etc/ufw/applications.d).
_UFW_APPS: dict[str, tuple[int, ...]] = {
    "nginx full": (80, 443),
    "nginx https": (443,),
    "nginx http": (80,),
    "nginx quic": (443,),
    "apache full": (80, 443),
    "apache secure": (443,),
    "apache": (80,),
    "www full": (80, 443),
    "www secure": (443,),
    "www": (80,),
    "openssh": (22,),
}
_UFW_RULE = re.compile(
    r"^(?P<to>.+?)\s{2,}(?P<action>ALLOW|DENY|REJECT|LIMIT)(?:\s+(?P<dir>IN|OUT|FWD))?"
    r"\s{2,}(?P<src>.+?)\s*$"
)


def _ufw_ports(spec: str) -> tuple[set[int] | None, bool]:
    """The TCP ports a ufw ``To`` column covers (``None``: any port) and whether it is TCP.

    ``443/tcp``, ``80,443/tcp``, ``8000:8100/tcp``, ``443`` (tcp and udp),
    ``Anywhere`` (every port), an application profile name.
    """
    spec = re.sub(r"\s+on\s+\S+$", "", spec.strip())  # "443/tcp on eth0": interface kept aside
    # "ufw status verbose" shows an application rule as "80,443/tcp (Nginx Full)".
    spec = re.sub(r"^(\S+)\s+\([^()]*\)$", r"\1", spec)
    low = spec.lower()
    if low.startswith("anywhere"):
        return None, True
    if low in _UFW_APPS:
        return set(_UFW_APPS[low]), True
    match = re.fullmatch(r"([\d,:]+)(?:/(tcp|udp))?", spec)
    if match is None:
        # An address as the destination ("10.0.0.5 443/tcp") or an unknown profile.
        raise Unreadable(f"ufw rule target {spec!r} is not understood")
    ports: set[int] = set()
    for part in match.group(1).split(","):
        low_s, _, high_s = part.partition(":")
        low_p, high_p = int(low_s), int(high_s or low_s)
        ports |= set(range(low_p, high_p + 1))
    return ports, match.group(2) in (None, "tcp")


def decide_ufw(status: str, port: int) -> Decision | None:
    """Judge ``ufw status verbose`` output; ``None`` when ufw is inactive.

    Raises:
        Unreadable: When the output is not ufw's status.
    """
    if re.search(r"^Status:\s*inactive", status, re.MULTILINE):
        return None
    if not re.search(r"^Status:\s*active", status, re.MULTILINE):
        raise Unreadable("'ufw status verbose' did not report a status")
    opener = f"ufw allow {port}/tcp"
    maybe_allowed: list[str] = []  # allows for some sources or interfaces, or not understood
    in_rules = False
    for line in status.splitlines():
        if re.match(r"^--\s+-+", line):
            in_rules = True
            continue
        match = _UFW_RULE.match(line) if in_rules else None
        if match is None or "(v6)" in line or match.group("dir") in ("OUT", "FWD"):
            continue  # not a rule, an IPv6 rule (not the IPv4 path), or not inbound
        rule = " ".join(line.split())
        try:
            ports, tcp = _ufw_ports(match.group("to"))
        except Unreadable:
            maybe_allowed.append(f"ufw rule '{rule}'")
            continue
        if not tcp or (ports is not None and port not in ports):
            continue
        everyone = match.group("src").lower().startswith("anywhere") and " on " not in rule
        allows = match.group("action") in ("ALLOW", "LIMIT")
        if not everyone:
            if allows:
                maybe_allowed.append(f"ufw rule '{rule}'")
            continue  # a deny for some sources is a deliberate block list, not the port
        if allows:
            return Decision("allowed", f"ufw rule '{rule}'")
        blocked_by = f"ufw rule '{rule}' comes first"
        remedy = (
            f"ufw insert 1 allow {port}/tcp (then remove the rule that blocks it: "
            "'ufw status numbered', 'ufw delete N')"
        )
        return _blocked_unless(maybe_allowed, blocked_by, remedy)
    default = re.search(r"^Default:\s*(\w+)\s*\(incoming\)", status, re.MULTILINE)
    policy = default.group(1) if default else "deny"
    if policy == "allow":
        return Decision("allowed", "ufw's default incoming policy is allow")
    return _blocked_unless(
        maybe_allowed, f"no ufw rule allows it; the incoming default is {policy}", opener
    )


def _blocked_unless(maybe_allowed: list[str], because: str, remedy: str) -> Decision:
    """Blocked, or restricted when earlier rules may let some traffic in."""
    if maybe_allowed:
        return Decision(
            "restricted",
            f"{because}, after rules that allow only some sources or interfaces, or that "
            "this check does not understand: " + "; ".join(maybe_allowed),
            remedy,
        )
    return Decision("blocked", because, remedy)


# -- firewalld ------------------------------------------------------------------------------


def _firewalld_field(listing: str, name: str) -> str:
    # Rich rules follow their field, one per line, indented with a tab.
    match = re.search(rf"^\s*{re.escape(name)}:[ \t]*(.*(?:\n\t.*)*)", listing, re.MULTILINE)
    return " ".join(match.group(1).split()) if match else ""


def _firewalld_ports(words: Iterable[str]) -> set[int]:
    ports: set[int] = set()
    for word in words:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?/tcp", word)
        if match:
            ports |= set(range(int(match.group(1)), int(match.group(2) or match.group(1)) + 1))
    return ports


def decide_firewalld(listing: str, port: int) -> Decision:
    """Judge ``firewall-cmd --list-all`` (the default zone) for inbound TCP to ``port``.

    Raises:
        Unreadable: When the listing is not firewalld's.
    """
    header = re.match(r"^\s*(\S+)(?:\s+\(([^)]*)\))?", listing)
    if header is None or "services:" not in listing:
        raise Unreadable("'firewall-cmd --list-all' gave no zone listing")
    zone = header.group(1)
    target = _firewalld_field(listing, "target")
    services = _firewalld_field(listing, "services").split()
    ports = _firewalld_ports(_firewalld_field(listing, "ports").split())
    service = next((s for s in services if port in _HTTPS_SERVICES.get(s, ())), None)
    if target.upper() == "ACCEPT":
        return Decision("allowed", f"firewalld zone {zone} accepts everything (target ACCEPT)")
    if service is not None:
        return Decision("allowed", f"firewalld zone {zone} allows the service {service}")
    if port in ports:
        return Decision("allowed", f"firewalld zone {zone} allows port {port}/tcp")
    what = "--add-service=https" if port == 443 else f"--add-port={port}/tcp"
    remedy = f"firewall-cmd --permanent --zone={zone} {what} && firewall-cmd --reload"
    rich = _firewalld_field(listing, "rich rules")
    return _blocked_unless(
        [f"rich rules: {rich}"] if rich else [],
        f"firewalld zone {zone} (target {target or 'default'}) lists neither "
        f"{'the https service nor ' if port == 443 else ''}port {port}/tcp",
        remedy,
    )


# -- nftables -------------------------------------------------------------------------------

_Outcome = Literal["accept", "drop", "continue", "return", "unknown"]


def _ruleset(output: str) -> list[dict[str, Any]]:
    # stderr is merged into the output: take the JSON document itself.
    start = output.find('{"nftables"')
    if start < 0:
        raise Unreadable("'nft -j list ruleset' printed no JSON ruleset")
    try:
        document = json.loads(output[start:].splitlines()[0])
    except (ValueError, IndexError) as exc:
        raise Unreadable(f"'nft -j list ruleset' printed unreadable JSON ({exc})") from None
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise Unreadable("'nft -j list ruleset' has no 'nftables' array")
    return [item for item in items if isinstance(item, dict)]


def _contains(right: Any, value: int | str) -> bool | None:
    """Whether an nft expression's right-hand side includes ``value`` (``None``: unknown)."""
    if isinstance(right, (int, str)):
        return right == value
    if isinstance(right, dict):
        if "set" in right:
            results = [_contains(item, value) for item in right["set"]]
            if any(results):
                return True
            return None if None in results else False
        if "range" in right and isinstance(value, int):
            low, high = right["range"]
            if isinstance(low, int) and isinstance(high, int):
                return low <= value <= high
        return None
    if isinstance(right, list):
        return _contains({"set": right}, value)
    return None


def _match_applies(match: dict[str, Any], port: int) -> bool | None:
    """Whether a ``match`` expression holds for a new IPv4 TCP connection to ``port``.

    ``None`` when it depends on something this check does not model (source
    address, interface other than loopback, marks ...).
    """
    left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
    result: bool | None
    if not isinstance(left, dict):
        return None
    payload, meta, ct = left.get("payload"), left.get("meta"), left.get("ct")
    if isinstance(payload, dict) and payload.get("field") == "dport":
        # "th dport" is the transport header's port, TCP or UDP alike.
        result = _contains(right, port) if payload.get("protocol") in ("tcp", "th") else False
    elif isinstance(payload, dict) and (payload.get("protocol"), payload.get("field")) == (
        "ip",
        "protocol",
    ):
        result = _contains(right, "tcp")
    elif isinstance(payload, dict) and payload.get("protocol") in ("udp", "icmp", "icmpv6", "ip6"):
        result = False
    elif isinstance(meta, dict) and meta.get("key") in ("l4proto", "protocol"):
        result = _contains(right, "tcp")
    elif isinstance(meta, dict) and meta.get("key") == "nfproto":
        result = _contains(right, "ipv4")
    elif isinstance(meta, dict) and meta.get("key") in ("iif", "iifname"):
        # Traffic from the internet never arrives on loopback.
        result = False if _contains(right, "lo") else None
    elif isinstance(ct, dict) and ct.get("key") == "state":
        result = _contains(right, "new")
    else:
        return None
    if result is None:
        return None
    return (not result) if op == "!=" else result


def _operand(value: Any) -> str:
    """An nft JSON operand in nft's own syntax (``tcp dport``, ``{ 80, 443 }``, ``10.0.0.0/8``)."""
    if isinstance(value, dict) and len(value) == 1:
        kind, body = next(iter(value.items()))
        if kind == "payload" and isinstance(body, dict):
            return f"{body.get('protocol', '?')} {body.get('field', '?')}"
        if kind in ("meta", "ct") and isinstance(body, dict):
            return f"{kind} {body.get('key', '?')}"
        if kind == "set" and isinstance(body, list):
            return "{ " + ", ".join(_operand(item) for item in body) + " }"
        if kind == "range" and isinstance(body, list) and len(body) == 2:
            return f"{_operand(body[0])}-{_operand(body[1])}"
        if kind == "prefix" and isinstance(body, dict):
            return f"{body.get('addr', '?')}/{body.get('len', '?')}"
    if isinstance(value, list):
        return "{ " + ", ".join(_operand(item) for item in value) + " }"
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _statement(expr: dict[str, Any]) -> str:
    name, body = next(iter(expr.items()))
    if name == "match" and isinstance(body, dict):
        op = body.get("op", "==")
        middle = "" if op in ("==", "in") else f" {op}"
        return f"{_operand(body.get('left'))}{middle} {_operand(body.get('right'))}"
    if name in ("jump", "goto") and isinstance(body, dict):
        return f"{name} {body.get('target', '?')}"
    if body is None or name in ("counter", "log", "limit", "reject"):
        return name
    return f"{name} {_operand(body)}"


def _rule_text(rule: dict[str, Any]) -> str:
    """A rule as ``nft list ruleset`` would print it, with where it lives."""
    body = " ".join(_statement(e) for e in rule.get("expr", []) if isinstance(e, dict) and e)
    where = f"{rule.get('family', '?')} {rule.get('table', '?')} {rule.get('chain', '?')}"
    return f"rule '{body}' in chain {where}"


@dataclass
class _Walk:
    """The state of one walk through the rules.

    Attributes:
        chains: Every chain's rules, by (family, table, chain).
        port: The listen port.
        maybe_accept: Rules that accept the packet only under conditions this
            check does not model (source address, interface, rate limit...).
        depth: Jump nesting, bounded against loops.
    """

    chains: dict[tuple[str, str, str], list[dict[str, Any]]]
    port: int
    maybe_accept: list[str]
    depth: int = 0


def _rule_verdict(
    walk: _Walk, key: tuple[str, str, str], rule: dict[str, Any]
) -> tuple[bool | None, tuple[_Outcome, str] | None]:
    """Whether ``rule`` applies (``None``: depends), and its verdict (``None``: none)."""
    applies: bool | None = True
    for expr in rule.get("expr", []):
        if not isinstance(expr, dict) or not expr:
            continue
        name, body = next(iter(expr.items()))
        if name == "match":
            holds = _match_applies(body, walk.port)
            if holds is False:
                return False, None
            if holds is None:
                applies = None
        elif name in ("accept", "drop", "reject"):
            return applies, ("accept" if name == "accept" else "drop", _rule_text(rule))
        elif name == "return":
            return applies, ("return", _rule_text(rule))
        elif name in ("jump", "goto"):
            if applies is None:
                return None, ("unknown", _rule_text(rule))
            walk.depth += 1
            outcome, why = _run_chain(walk, (key[0], key[1], str(body.get("target", ""))))
            walk.depth -= 1
            if outcome in ("continue", "return"):
                # The end of a jumped-to chain returns here; the end of a goto'd one
                # returns from this chain too.
                return True, ("return", why) if name == "goto" else None
            return True, (outcome, why)
        elif name not in ("counter", "log", "comment", "mangle", "notrack"):
            applies = None  # limit, quota, set lookups, NAT...: depends on more than the port
    return applies, None


def _run_chain(walk: _Walk, key: tuple[str, str, str]) -> tuple[_Outcome, str]:
    """Evaluate one chain for the packet: its outcome and the rule that decided."""
    if walk.depth > 16:
        return "unknown", f"jumps nested more than 16 deep from chain {key[2]}"
    for rule in walk.chains.get(key, []):
        applies, verdict = _rule_verdict(walk, key, rule)
        if applies is False or verdict is None:
            continue
        if applies is None:
            if verdict[0] in ("accept", "unknown"):
                walk.maybe_accept.append(verdict[1])
            continue  # a conditional drop is a block list, not the port's fate
        return verdict
    return "continue", ""


def decide_nftables(output: str, port: int) -> Decision | None:
    """Judge ``nft -j list ruleset``; ``None`` when no chain filters inbound traffic.

    Every base chain on the ``input`` hook (families ip and inet) sees the
    packet, lowest priority first; it gets in only when none of them drops it.

    Raises:
        Unreadable: When the output is not nft's JSON.
    """
    chains: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    bases: list[tuple[int, tuple[str, str, str], str]] = []
    for item in _ruleset(output):
        chain, rule = item.get("chain"), item.get("rule")
        if isinstance(chain, dict):
            key = (chain.get("family", ""), chain.get("table", ""), chain.get("name", ""))
            chains.setdefault(key, [])
            if chain.get("hook") == "input" and key[0] in ("ip", "inet"):
                prio = chain.get("prio", 0)
                policy = str(chain.get("policy", "accept"))
                bases.append((prio if isinstance(prio, int) else 0, key, policy))
        elif isinstance(rule, dict):
            key = (rule.get("family", ""), rule.get("table", ""), rule.get("chain", ""))
            chains.setdefault(key, []).append(rule)
    if not bases:
        return None
    allowed_by: list[str] = []
    for _prio, key, policy in sorted(bases):
        walk = _Walk(chains, port, [])
        outcome, why = _run_chain(walk, key)
        if outcome in ("continue", "return"):
            outcome = "accept" if policy == "accept" else "drop"
            why = f"the policy {policy} of chain {' '.join(key)}"
        opener = f"nft insert rule {' '.join(key)} tcp dport {port} accept"
        if outcome == "drop":
            return _blocked_unless(
                walk.maybe_accept,
                why,
                opener + " (and add the rule to /etc/nftables.conf so it survives a reboot)",
            )
        if outcome == "unknown":
            return _blocked_unless([why, *walk.maybe_accept], "the outcome is not known", opener)
        allowed_by.append(why)
    return Decision("allowed", "; ".join(allowed_by))


# -- the check ------------------------------------------------------------------------------


def _decision_finding(tool: str, port: int, decision: Decision) -> Finding:
    if decision.verdict == "allowed":
        return ok(
            "firewall.open",
            f"{tool} allows inbound TCP to port {port}",
            f"Decided by {decision.because}. {_CLOUD_NOTE}",
        )
    if decision.verdict == "restricted":
        return warn(
            "firewall.restricted",
            f"{tool} may not allow every source to reach port {port}",
            f"{decision.because[:1].upper()}{decision.because[1:]}. Slack and Microsoft call "
            "from many addresses that change "
            "without notice.",
            f"Allow inbound TCP to port {port} from anywhere: {decision.remedy}",
        )
    return fail(
        "firewall.blocked",
        f"{tool} blocks inbound TCP to port {port}",
        f"Decided by {decision.because}: Slack and Microsoft cannot reach nginx.",
        f"Open the port: {decision.remedy}",
    )


def _denied(result: CommandResult) -> bool:
    return bool(
        re.search(r"need to be root|permission denied|operation not permitted", result.output, re.I)
    )


async def check_firewall(
    port: int, ctx: CheckContext, runner: Runner = run_command
) -> list[Finding]:
    """Whether the local firewall lets new TCP connections reach ``port``.

    Args:
        port: The listen port.
        ctx: Gives the timeout (lab mode's relaxation of a blocked port is applied
            by the caller, :func:`wizard.findings.apply_lab_mode`).
        runner: Runs the firewall tools (tests inject recorded output).

    Returns:
        One ``firewall.*`` finding.
    """
    problems: list[str] = []
    steps: list[tuple[str, Sequence[str]]] = [
        ("ufw", ("ufw", "status", "verbose")),
        ("firewalld", ("firewall-cmd", "--state")),
        ("nftables", ("nft", "-j", "list", "ruleset")),
    ]
    for tool, argv in steps:
        result = await runner(argv, ctx.timeout)
        if result.returncode is None and result.output.startswith("cannot run"):
            continue  # not installed
        try:
            decision = await _decide(tool, result, port, ctx, runner)
        except Unreadable as exc:
            problems.append(f"{tool}: {exc}")
            continue
        if decision is not None:
            return [_decision_finding(tool, port, decision)]
    if problems:
        return [
            skip(
                "firewall.unreadable",
                "The local firewall's rules could not be read",
                "; ".join(problems) + ". Run the check as root to read them. " + _CLOUD_NOTE,
            )
        ]
    return [
        skip(
            "firewall.none",
            "No active local firewall (ufw, firewalld, nftables) was found",
            "Nothing on this host filters inbound traffic to the port. " + _CLOUD_NOTE,
        )
    ]


async def _decide(
    tool: str, result: CommandResult, port: int, ctx: CheckContext, runner: Runner
) -> Decision | None:
    """One tool's decision; ``None`` when that tool is not active."""
    if _denied(result):
        raise Unreadable(result.output.splitlines()[0] if result.output else "permission denied")
    if tool == "ufw":
        if result.returncode is None:
            raise Unreadable(result.output)
        return decide_ufw(result.output, port)
    if tool == "firewalld":
        if result.output.strip() != "running":
            return None  # "not running" (exit 252)
        listing = await runner(("firewall-cmd", "--list-all"), ctx.timeout)
        if not listing.ok:
            raise Unreadable(listing.output.splitlines()[0] if listing.output else "no listing")
        return decide_firewalld(listing.output, port)
    if not result.ok:
        raise Unreadable(result.output.splitlines()[0] if result.output else "nft failed")
    return decide_nftables(result.output, port)
