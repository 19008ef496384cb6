"""``check_dns`` against real DNS servers on loopback.

One :class:`DnsServer` plays the bastion's own ("local") resolver, one or two
others the public resolvers. Addresses come from the documentation ranges:
they are only DNS data, nothing is ever sent to them. A public address cannot
be put on an interface of the test machine, so "this host's addresses" are
passed in the context.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from wizard.checks.context import CheckContext
from wizard.checks.dns import check_dns
from wizard.demo.dns_server import DnsServer
from wizard.findings import Finding, apply_lab_mode

PUBLIC_IP = "203.0.113.10"
PUBLIC_V6 = "2001:db8::10"
OTHER_IP = "198.51.100.1"
OTHER_V6 = "2001:db8::99"
PRIVATE_IP = "10.0.0.5"
HOST_ADDRESSES = ("127.0.0.1", PRIVATE_IP)  # behind 1:1 NAT, as on a cloud
NAME = "bastion.demo.test"

ZONE: dict[str, list[tuple[str, str]]] = {
    NAME: [("A", PUBLIC_IP)],
    "alias.demo.test": [("CNAME", "www.demo.test")],
    "www.demo.test": [("CNAME", NAME)],
    "loop-a.demo.test": [("CNAME", "loop-b.demo.test")],
    "loop-b.demo.test": [("CNAME", "loop-a.demo.test")],
    "txt-only.demo.test": [("TXT", '"no address here"')],
    "dual.demo.test": [("A", PUBLIC_IP), ("AAAA", PUBLIC_V6)],
    "stray-v6.demo.test": [("A", PUBLIC_IP), ("AAAA", OTHER_V6)],
    "two-v4.demo.test": [("A", PUBLIC_IP), ("A", OTHER_IP)],
    "elsewhere.demo.test": [("A", OTHER_IP)],
    "xn--bcher-kva.demo.test": [("A", PUBLIC_IP)],
}

# Every code that says something is wrong or could not be checked.
PROBLEM_CODES = {
    "dns.cname_loop",
    "dns.nxdomain",
    "dns.no_address",
    "dns.timeout",
    "dns.servfail",
    "dns.refused",
    "dns.error",
    "dns.mismatch",
    "dns.split_horizon",
    "dns.not_public",
    "dns.aaaa_elsewhere",
    "dns.extra_addresses",
    "dns.public_unreachable",
    "dns.public_inconsistent",
    "dns.public_skipped",
    "dns.skipped",
    "dns.match_skipped",
}


@pytest.fixture
def local() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as server:
        yield server


@pytest.fixture
def public() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as server:
        yield server


@pytest.fixture
def public2() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as server:
        yield server


def context(
    local: DnsServer | None,
    *public: DnsServer,
    timeout: float = 1.0,
    lab: bool = False,
    interfaces: tuple[str, ...] = HOST_ADDRESSES,
) -> CheckContext:
    return CheckContext(
        nameservers=(local.nameserver,) if local is not None else (),
        public_nameservers=tuple(p.nameserver for p in public),
        timeout=timeout,
        lab=lab,
        interface_addresses=interfaces,
    )


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    result = {f.code: f for f in findings}
    assert len(result) == len(findings), "a code appears twice"
    return result


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {f.code: f.status for f in findings}


def assert_well_formed(findings: list[Finding]) -> None:
    for finding in findings:
        assert finding.title
        assert "\n" not in finding.title
        if finding.status in ("warn", "fail"):
            assert finding.remedy


# -- good input ----------------------------------------------------------------


async def test_good_name_has_no_problem(
    local: DnsServer, public: DnsServer, public2: DnsServer
) -> None:
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public, public2))
    assert_well_formed(findings)
    assert statuses(findings) == {
        "dns.resolves": "ok",
        "dns.public_resolves": "ok",
        "dns.matches": "ok",
    }
    assert PROBLEM_CODES.isdisjoint(statuses(findings))
    assert "dns.cname_chain" not in statuses(findings)
    resolves = by_code(findings)["dns.resolves"]
    assert PUBLIC_IP in resolves.title
    assert str(local.nameserver) in resolves.detail


async def test_dual_stack_name_on_this_host(local: DnsServer, public: DnsServer) -> None:
    ctx = context(local, public, interfaces=(*HOST_ADDRESSES, PUBLIC_V6))
    findings = await check_dns("dual.demo.test", PUBLIC_IP, ctx)
    assert PROBLEM_CODES.isdisjoint(statuses(findings))
    assert PUBLIC_V6 in by_code(findings)["dns.resolves"].title


async def test_ipv6_chosen_address_matches_aaaa(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("dual.demo.test", PUBLIC_V6, context(local, public))
    assert statuses(findings)["dns.matches"] == "ok"
    assert PROBLEM_CODES.isdisjoint(statuses(findings))


async def test_idn_is_looked_up_as_punycode(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("Bücher.demo.test.", PUBLIC_IP, context(local, public))
    assert statuses(findings)["dns.resolves"] == "ok"
    assert {q.name for q in local.queries} == {"xn--bcher-kva.demo.test"}
    assert "xn--bcher-kva.demo.test" in by_code(findings)["dns.resolves"].title


# -- the local resolver --------------------------------------------------------


async def test_cname_chain_is_shown(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("alias.demo.test", PUBLIC_IP, context(local, public))
    found = by_code(findings)
    chain = "alias.demo.test -> www.demo.test -> bastion.demo.test"
    assert found["dns.cname_chain"].status == "ok"
    assert chain in found["dns.cname_chain"].title
    assert chain in found["dns.resolves"].detail
    assert PROBLEM_CODES.isdisjoint(found)


async def test_cname_loop_fails(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("loop-a.demo.test", PUBLIC_IP, context(local, public))
    loop = by_code(findings)["dns.cname_loop"]
    assert loop.status == "fail"
    assert "loop-a.demo.test -> loop-b.demo.test -> loop-a.demo.test" in loop.detail
    assert "dns.resolves" not in statuses(findings)


async def test_nxdomain_fails(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("missing.demo.test", PUBLIC_IP, context(local, public))
    assert_well_formed(findings)
    assert statuses(findings) == {"dns.nxdomain": "fail", "dns.not_public": "fail"}
    assert "NXDOMAIN" in by_code(findings)["dns.nxdomain"].title


async def test_name_without_addresses_fails(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("txt-only.demo.test", PUBLIC_IP, context(local, public))
    assert statuses(findings)["dns.no_address"] == "fail"
    assert "dns.nxdomain" not in statuses(findings)


async def test_silent_local_resolver_times_out_in_time(local: DnsServer, public: DnsServer) -> None:
    local.silent = True
    ctx = context(local, public, timeout=0.5)
    started = time.monotonic()
    findings = await check_dns(NAME, PUBLIC_IP, ctx)
    elapsed = time.monotonic() - started
    assert elapsed < ctx.timeout + 1
    timeout = by_code(findings)["dns.timeout"]
    assert timeout.status == "fail"
    assert str(local.nameserver) in timeout.title
    assert "0.5 s" in timeout.title
    # The public view still proves the name.
    assert statuses(findings)["dns.public_resolves"] == "ok"
    assert statuses(findings)["dns.matches"] == "ok"


async def test_everything_silent_still_ends_in_time(local: DnsServer, public: DnsServer) -> None:
    local.silent = public.silent = True
    ctx = context(local, public, timeout=0.5)
    started = time.monotonic()
    findings = await check_dns(NAME, PUBLIC_IP, ctx)
    assert time.monotonic() - started < ctx.timeout + 1
    assert statuses(findings) == {"dns.timeout": "fail", "dns.public_unreachable": "warn"}


async def test_servfail_names_the_server(local: DnsServer, public: DnsServer) -> None:
    local.servfail.add(NAME)
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    servfail = by_code(findings)["dns.servfail"]
    assert servfail.status == "fail"
    assert str(local.nameserver) in servfail.title
    assert "SERVFAIL" in servfail.title


async def test_refused_names_the_server(local: DnsServer, public: DnsServer) -> None:
    local.refuse.add(NAME)
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    refused = by_code(findings)["dns.refused"]
    assert refused.status == "fail"
    assert str(local.nameserver) in refused.title


async def test_no_local_resolver_is_an_error(public: DnsServer) -> None:
    findings = await check_dns(NAME, PUBLIC_IP, context(None, public))
    error = by_code(findings)["dns.error"]
    assert error.status == "fail"
    assert "no DNS server" in error.detail


# -- the public resolvers ------------------------------------------------------


async def test_public_dns_without_the_name_fails(local: DnsServer, public: DnsServer) -> None:
    public.clear(NAME)
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    found = by_code(findings)
    assert found["dns.not_public"].status == "fail"
    assert "NXDOMAIN" in found["dns.not_public"].detail
    # The local resolver resolves, the public one does not: split horizon too.
    assert found["dns.split_horizon"].status == "warn"
    assert found["dns.resolves"].status == "ok"


async def test_not_public_is_a_warning_in_lab_mode(local: DnsServer, public: DnsServer) -> None:
    public.clear(NAME)
    ctx = context(local, public, lab=True)
    findings = apply_lab_mode(await check_dns(NAME, PUBLIC_IP, ctx), ctx.lab)
    assert statuses(findings)["dns.not_public"] == "warn"


async def test_split_horizon_warns(local: DnsServer, public: DnsServer) -> None:
    local.set_records(NAME, "A", [PRIVATE_IP])
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    found = by_code(findings)
    split = found["dns.split_horizon"]
    assert split.status == "warn"
    assert PRIVATE_IP in split.detail
    assert PUBLIC_IP in split.detail
    # What the internet sees is right, so the chosen address matches.
    assert found["dns.matches"].status == "ok"
    assert "dns.mismatch" not in found


async def test_name_only_in_public_dns(local: DnsServer, public: DnsServer) -> None:
    local.clear(NAME)
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    assert statuses(findings) == {
        "dns.nxdomain": "fail",
        "dns.public_resolves": "ok",
        "dns.split_horizon": "warn",
        "dns.matches": "ok",
    }


async def test_unreachable_public_resolvers_warn_in_time(
    local: DnsServer, public: DnsServer, public2: DnsServer
) -> None:
    public.silent = True
    public2.servfail.add(NAME)
    ctx = context(local, public, public2, timeout=0.5)
    started = time.monotonic()
    findings = await check_dns(NAME, PUBLIC_IP, ctx)
    assert time.monotonic() - started < ctx.timeout + 1
    found = by_code(findings)
    unreachable = found["dns.public_unreachable"]
    assert unreachable.status == "warn"
    assert str(public.nameserver) in unreachable.detail
    assert "SERVFAIL" in unreachable.detail
    assert "dns.not_public" not in found
    assert found["dns.matches"].status == "ok"  # judged by the local answer


async def test_one_silent_public_resolver_is_enough_to_ignore(
    local: DnsServer, public: DnsServer, public2: DnsServer
) -> None:
    public.silent = True
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public, public2, timeout=0.5))
    assert PROBLEM_CODES.isdisjoint(statuses(findings))


async def test_public_resolvers_disagreeing_warn(
    local: DnsServer, public: DnsServer, public2: DnsServer
) -> None:
    public2.clear(NAME)
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public, public2))
    found = by_code(findings)
    assert found["dns.public_inconsistent"].status == "warn"
    assert "NXDOMAIN" in found["dns.public_inconsistent"].detail
    assert found["dns.public_resolves"].status == "ok"


async def test_no_public_resolver_configured_is_a_skip(local: DnsServer) -> None:
    findings = await check_dns(NAME, PUBLIC_IP, context(local))
    assert statuses(findings)["dns.public_skipped"] == "skip"


# -- the chosen address --------------------------------------------------------


async def test_mismatch_shows_where_the_name_points(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("elsewhere.demo.test", PUBLIC_IP, context(local, public))
    mismatch = by_code(findings)["dns.mismatch"]
    assert mismatch.status == "fail"
    assert PUBLIC_IP in mismatch.title
    assert OTHER_IP in mismatch.detail
    assert "dns.matches" not in statuses(findings)


async def test_mismatch_for_ipv6_without_aaaa(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns(NAME, PUBLIC_V6, context(local, public))
    mismatch = by_code(findings)["dns.mismatch"]
    assert "no AAAA record" in mismatch.detail


async def test_mismatch_judges_the_public_view(local: DnsServer, public: DnsServer) -> None:
    public.set_records(NAME, "A", [OTHER_IP])
    findings = await check_dns(NAME, PUBLIC_IP, context(local, public))
    assert statuses(findings)["dns.mismatch"] == "fail"
    assert statuses(findings)["dns.split_horizon"] == "warn"


async def test_aaaa_elsewhere_warns(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("stray-v6.demo.test", PUBLIC_IP, context(local, public))
    elsewhere = by_code(findings)["dns.aaaa_elsewhere"]
    assert elsewhere.status == "warn"
    assert OTHER_V6 in elsewhere.title
    assert "IPv6" in elsewhere.detail
    assert statuses(findings)["dns.matches"] == "ok"


async def test_aaaa_on_this_host_is_fine(local: DnsServer, public: DnsServer) -> None:
    ctx = context(local, public, interfaces=(*HOST_ADDRESSES, OTHER_V6))
    findings = await check_dns("stray-v6.demo.test", PUBLIC_IP, ctx)
    assert "dns.aaaa_elsewhere" not in statuses(findings)


async def test_aaaa_other_than_the_chosen_ipv6_warns(local: DnsServer, public: DnsServer) -> None:
    for server in (local, public):
        server.set_records("dual.demo.test", "AAAA", [PUBLIC_V6, OTHER_V6])
    findings = await check_dns("dual.demo.test", PUBLIC_V6, context(local, public))
    found = by_code(findings)
    assert found["dns.matches"].status == "ok"
    assert OTHER_V6 in found["dns.aaaa_elsewhere"].title
    assert PUBLIC_V6 not in found["dns.aaaa_elsewhere"].title


async def test_a_records_are_not_judged_when_ipv6_is_chosen(
    local: DnsServer, public: DnsServer
) -> None:
    # The A record may be this host behind 1:1 NAT: nothing to warn about.
    findings = await check_dns("two-v4.demo.test", PUBLIC_V6, context(local, public))
    assert "dns.extra_addresses" not in statuses(findings)


async def test_extra_a_records_warn(local: DnsServer, public: DnsServer) -> None:
    findings = await check_dns("two-v4.demo.test", PUBLIC_IP, context(local, public))
    extra = by_code(findings)["dns.extra_addresses"]
    assert extra.status == "warn"
    assert OTHER_IP in extra.title
    assert statuses(findings)["dns.matches"] == "ok"


@pytest.mark.parametrize("public_ip", ["", "999.1.1.1"])
async def test_invalid_public_ip_skips_the_comparison(
    local: DnsServer, public: DnsServer, public_ip: str
) -> None:
    findings = await check_dns(NAME, public_ip, context(local, public))
    assert statuses(findings)["dns.match_skipped"] == "skip"
    assert "dns.mismatch" not in statuses(findings)


async def test_ipv4_mapped_chosen_address_is_compared_as_ipv4(
    local: DnsServer, public: DnsServer
) -> None:
    findings = await check_dns(NAME, f"::ffff:{PUBLIC_IP}", context(local, public))
    assert statuses(findings)["dns.matches"] == "ok"


# -- invalid names and timing --------------------------------------------------


@pytest.mark.parametrize(
    "hostname", ["", "bas tion.demo.test", "a;b.demo.test", "bastion", "x" * 300]
)
async def test_invalid_hostname_is_not_looked_up(
    local: DnsServer, public: DnsServer, hostname: str
) -> None:
    findings = await check_dns(hostname, PUBLIC_IP, context(local, public))
    assert statuses(findings) == {"dns.skipped": "skip"}
    assert findings[0].detail
    assert local.queries == []
    assert public.queries == []


async def test_all_lookups_run_concurrently(
    local: DnsServer, public: DnsServer, public2: DnsServer
) -> None:
    for server in (local, public, public2):
        server.delay = 0.3
    started = time.monotonic()
    findings = await check_dns("alias.demo.test", PUBLIC_IP, context(local, public, public2))
    elapsed = time.monotonic() - started
    # Six lookups (A and AAAA at three resolvers) of 0.3 s each, all at once;
    # the AAAA lookups take a second round trip (the chain ends without AAAA,
    # so the resolver asks the chain's target itself).
    assert elapsed < 1.2
    assert PROBLEM_CODES.isdisjoint(statuses(findings))
    for server in (local, public, public2):
        assert {(q.name, q.rdtype) for q in server.queries} >= {
            ("alias.demo.test", "A"),
            ("alias.demo.test", "AAAA"),
        }
