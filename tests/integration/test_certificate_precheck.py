"""``certificate``'s pre-check on loopback DNS: refusals before any CA is asked, no certbot run.

Every run here is ``--dry-run`` or refused by the pre-check, so the default
ACME server (Let's Encrypt) is named but never contacted; the suite's
loopback guard would fail the test if it were.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pebble_harness import free_port
from wizard.answers import Answers, save_answers
from wizard.cli import main
from wizard.demo.dns_server import DnsServer
from wizard.install.acme_hook import wait_until_visible

NAME = "bastion.example.test"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer({NAME: [("A", "127.0.0.1")]}) as server:
        yield server


def _answers(tmp_path: Path, public_ip: str = "127.0.0.1") -> Path:
    answers = Answers(mode="slack")
    answers.bastion.hostname = NAME
    answers.bastion.public_ip = public_ip
    path = tmp_path / "answers.toml"
    save_answers(answers, path)
    return path


def _run(
    dns: DnsServer, answers: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    server = f"127.0.0.1:{dns.port}"
    status = main(
        [
            "certificate",
            "--answers",
            str(answers),
            "--dry-run",
            f"--dns-server={server}",
            f"--public-dns={server}",
            "--lab",
            "--timeout=2",
            f"--certbot-config-dir={answers.parent / 'le'}",
            *extra,
        ]
    )
    return status, capsys.readouterr().out


def _codes(out: str) -> dict[str, str]:
    return {f["code"]: f["status"] for f in json.loads(out)["findings"]}


def test_dry_run_passes_and_asks_nothing(
    dns: DnsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = _answers(tmp_path)
    before = answers.read_bytes()
    status, out = _run(dns, answers, capsys, f"--http-port={free_port()}", "--json")
    assert status == 0, out
    codes = _codes(out)
    assert codes["dns.matches"] == "ok"
    assert codes["acme.port_free"] == "ok"
    assert codes["caa.none"] == "ok"
    assert json.loads(out)["certificate"] == ""
    assert answers.read_bytes() == before
    assert not (tmp_path / "le").exists()
    # CAA was looked up climbing to the parents.
    asked = [q.name for q in dns.queries if q.rdtype == "CAA"]
    assert asked == [NAME, "example.test", "test"]


def test_caa_of_a_parent_forbidding_the_ca_refuses(
    dns: DnsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dns.set_records("example.test", "CAA", ['0 issue "other-ca.test"'])
    status, out = _run(dns, _answers(tmp_path), capsys, f"--http-port={free_port()}", "--json")
    assert status == 1
    assert _codes(out)["caa.forbids"] == "fail"
    assert "other-ca.test" in json.loads(out)["error"]


def test_port_held_by_another_program_refuses_in_words(
    dns: DnsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        status, out = _run(dns, _answers(tmp_path), capsys, f"--http-port={port}")
    assert status == 1
    assert f"Port {port} is held by python" in out
    assert "FAILED:" in out
    assert "Fix: Stop that program" in out


def test_answers_without_public_ip_is_a_usage_error(
    dns: DnsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["certificate", "--answers", str(_answers(tmp_path, "")), "--dry-run"])
    assert status == 2
    assert "set [bastion] public_ip first" in capsys.readouterr().err


def test_dns01_hook_gives_up_with_what_the_resolvers_said(dns: DnsServer) -> None:
    seen, said = asyncio.run(
        wait_until_visible(f"_acme-challenge.{NAME}", "token", [dns.nameserver], 0.3, 1.0)
    )
    assert not seen
    assert "NXDOMAIN" in said or "does not exist" in said
    dns.set_records(f"_acme-challenge.{NAME}", "TXT", ['"token"'])
    seen, said = asyncio.run(
        wait_until_visible(f"_acme-challenge.{NAME}", "token", [dns.nameserver], 2, 1.0)
    )
    assert seen, said
