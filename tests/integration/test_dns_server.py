"""The loopback DNS server speaks real DNS over UDP and TCP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from wizard.demo.dns_server import DnsServer, ReceivedQuery
from wizard.probes.dns import Nameserver, lookup

ZONE = {
    "bastion.demo.test": [("A", "203.0.113.10"), ("AAAA", "2001:db8::10")],
    "alias.demo.test": [("CNAME", "www.demo.test")],
    "www.demo.test": [("CNAME", "bastion.demo.test")],
    "loop-a.demo.test": [("CNAME", "loop-b.demo.test")],
    "loop-b.demo.test": [("CNAME", "loop-a.demo.test")],
    "txt-only.demo.test": [("TXT", '"hello"')],
    "empty.demo.test": [],
    "big.demo.test": [("A", f"198.51.100.{i}") for i in range(1, 61)],
}


@pytest.fixture
def server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as running:
        yield running


def udp(
    server: DnsServer, name: str, rdtype: str = "A", timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, server.host, port=server.port, timeout=timeout)


def tcp(server: DnsServer, name: str, rdtype: str = "A") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.tcp(query, server.host, port=server.port, timeout=2.0)


def answer_texts(response: dns.message.Message) -> list[str]:
    return [
        f"{rrset.name.to_text(omit_final_dot=True)} {dns.rdatatype.to_text(rrset.rdtype)} {rd}"
        for rrset in response.answer
        for rd in rrset
    ]


def test_answers_a_over_udp(server: DnsServer) -> None:
    response = udp(server, "bastion.demo.test")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.QR
    assert response.flags & dns.flags.RA
    assert answer_texts(response) == ["bastion.demo.test A 203.0.113.10"]


def test_answers_over_tcp(server: DnsServer) -> None:
    response = tcp(server, "alias.demo.test", "AAAA")
    assert answer_texts(response) == [
        "alias.demo.test CNAME www.demo.test.",
        "www.demo.test CNAME bastion.demo.test.",
        "bastion.demo.test AAAA 2001:db8::10",
    ]
    assert server.queries[-1] == ReceivedQuery("alias.demo.test", "AAAA", "tcp")


def test_several_queries_on_one_tcp_connection(server: DnsServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=2) as sock:
        for name in ("bastion.demo.test", "www.demo.test"):
            query = dns.message.make_query(name, "A")
            dns.query.send_tcp(sock, query)
            response, _ = dns.query.receive_tcp(sock, time.time() + 2)
            assert answer_texts(response)[-1] == "bastion.demo.test A 203.0.113.10"


def test_follows_cname_chain_like_a_recursive_resolver(server: DnsServer) -> None:
    response = udp(server, "alias.demo.test")
    assert answer_texts(response) == [
        "alias.demo.test CNAME www.demo.test.",
        "www.demo.test CNAME bastion.demo.test.",
        "bastion.demo.test A 203.0.113.10",
    ]


def test_cname_query_returns_the_cname_only(server: DnsServer) -> None:
    assert answer_texts(udp(server, "alias.demo.test", "CNAME")) == [
        "alias.demo.test CNAME www.demo.test."
    ]


def test_names_are_case_insensitive(server: DnsServer) -> None:
    response = udp(server, "BASTION.Demo.TEST.")
    assert [str(rd) for rd in response.answer[0]] == ["203.0.113.10"]


def test_unknown_name_is_nxdomain(server: DnsServer) -> None:
    response = udp(server, "nope.demo.test")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.answer == []


def test_known_name_without_the_type_is_nodata(server: DnsServer) -> None:
    for name in ("txt-only.demo.test", "empty.demo.test"):
        response = udp(server, name, "A")
        assert response.rcode() == dns.rcode.NOERROR
        assert response.answer == []
    assert answer_texts(udp(server, "txt-only.demo.test", "TXT")) == [
        'txt-only.demo.test TXT "hello"'
    ]


def test_cname_loop_is_answered_not_hung(server: DnsServer) -> None:
    started = time.monotonic()
    response = udp(server, "loop-a.demo.test")
    assert time.monotonic() - started < 1
    assert answer_texts(response) == [
        "loop-a.demo.test CNAME loop-b.demo.test.",
        "loop-b.demo.test CNAME loop-a.demo.test.",
    ]
    assert udp(server, "bastion.demo.test").answer  # still serving


def test_large_answer_is_truncated_over_udp_and_complete_over_tcp(server: DnsServer) -> None:
    truncated = udp(server, "big.demo.test")
    assert truncated.flags & dns.flags.TC
    assert len(tcp(server, "big.demo.test").answer[0]) == 60
    query = dns.message.make_query("big.demo.test", "A")
    response, used_tcp = dns.query.udp_with_fallback(
        query, server.host, port=server.port, timeout=2
    )
    assert used_tcp
    assert len(response.answer[0]) == 60


def test_servfail_and_refuse_knobs(server: DnsServer) -> None:
    server.servfail.add("Bastion.Demo.Test.")
    server.refuse.add("www.demo.test")
    assert udp(server, "bastion.demo.test").rcode() == dns.rcode.SERVFAIL
    assert tcp(server, "bastion.demo.test").rcode() == dns.rcode.SERVFAIL
    assert udp(server, "www.demo.test").rcode() == dns.rcode.REFUSED
    server.servfail.clear()
    assert udp(server, "bastion.demo.test").rcode() == dns.rcode.NOERROR


def test_silent_server_never_answers(server: DnsServer) -> None:
    server.silent = True
    with pytest.raises(dns.exception.Timeout):
        udp(server, "bastion.demo.test", timeout=0.3)
    query = dns.message.make_query("bastion.demo.test", "A")
    with pytest.raises(dns.exception.Timeout):
        dns.query.tcp(query, server.host, port=server.port, timeout=0.3)
    assert [q.transport for q in server.queries] == ["udp", "tcp"]
    server.silent = False
    assert udp(server, "bastion.demo.test").answer


async def test_delays_do_not_block_other_queries(server: DnsServer) -> None:
    server.delay = 0.3
    names = ["bastion.demo.test", "alias.demo.test", "www.demo.test", "nope.demo.test"]

    async def ask(name: str, use_tcp: bool) -> dns.message.Message:
        query = dns.message.make_query(name, "A")
        if use_tcp:
            return await dns.asyncquery.tcp(query, server.host, port=server.port, timeout=2)
        return await dns.asyncquery.udp(query, server.host, port=server.port, timeout=2)

    started = time.monotonic()
    responses = await asyncio.gather(
        *(ask(name, use_tcp) for name in names for use_tcp in (False, True))
    )
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.9  # eight queries of 0.3 s each (2.4 s in a row), answered together
    assert len(responses) == 8


def test_records_change_while_running(server: DnsServer) -> None:
    server.set_records("new.demo.test", "A", ["198.51.100.7", "198.51.100.8"])
    assert sorted(str(rd) for rd in udp(server, "new.demo.test").answer[0]) == [
        "198.51.100.7",
        "198.51.100.8",
    ]
    server.set_records("new.demo.test", "A", [])
    response = udp(server, "new.demo.test")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    server.clear("NEW.demo.test.")
    assert udp(server, "new.demo.test").rcode() == dns.rcode.NXDOMAIN


def test_bad_record_data_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match=r"999\.1\.1\.1"):
        DnsServer({"x.demo.test": [("A", "999.1.1.1")]})
    server = DnsServer()
    with pytest.raises(ValueError, match="AAAA"):
        server.set_records("x.demo.test", "AAAA", ["not-an-address"])


def test_life_cycle() -> None:
    server = DnsServer(ZONE)
    with pytest.raises(RuntimeError):
        _ = server.port
    server.start()
    try:
        assert server.nameserver == Nameserver("127.0.0.1", server.port)
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises((dns.exception.Timeout, OSError)):
        dns.query.udp(
            dns.message.make_query("bastion.demo.test", "A"),
            "127.0.0.1",
            port=server.port,
            timeout=0.3,
        )


def test_stop_with_pending_delayed_answers_and_open_connections() -> None:
    server = DnsServer(ZONE).start()
    server.delay = 5
    sock = socket.create_connection((server.host, server.port), timeout=2)
    dns.query.send_tcp(sock, dns.message.make_query("bastion.demo.test", "A"))
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    sock.close()


def test_fixed_port_serves_udp_and_tcp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with DnsServer(ZONE, port=port) as server:
        assert server.port == port
        assert udp(server, "bastion.demo.test").answer
        assert tcp(server, "bastion.demo.test").answer


def test_ipv6_loopback() -> None:
    try:
        server = DnsServer(ZONE, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert str(server.nameserver) == f"[::1]:{server.port}"
        assert answer_texts(udp(server, "bastion.demo.test"))
        assert answer_texts(tcp(server, "bastion.demo.test"))
    finally:
        server.stop()


async def test_the_project_resolver_reads_it(server: DnsServer) -> None:
    answer = await lookup("alias.demo.test", "A", [server.nameserver], 2.0)
    assert answer.status == "ok"
    assert answer.records == ("203.0.113.10",)
    assert answer.cname_chain == ("alias.demo.test", "www.demo.test", "bastion.demo.test")
    loop = await lookup("loop-a.demo.test", "A", [server.nameserver], 2.0)
    assert loop.status == "loop"
    big = await lookup("big.demo.test", "A", [server.nameserver], 2.0)
    assert len(big.records) == 60  # through the TCP fallback
