"""One verdict rule for lab mode: what lab mode accepts is a WARN that says so, never an OK.

The checks report what a real bastion would get; :func:`apply_lab_mode` alone
turns the codes lab mode accepts into warnings. These tests walk every finding
code of the sources in both modes, prove no check decides lab mode by itself,
and run the real checks end to end in both modes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.test_docs import _codes_in_sources
from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.demo.dns_server import DnsServer
from wizard.engine import run_checks
from wizard.findings import LAB_ACCEPTED, LAB_NOTE, STATUSES, Finding, apply_lab_mode

ROOT = Path(__file__).resolve().parents[2]


def _finding(code: str, status: str) -> Finding:
    return Finding(code, status, f"title of {code}", "the evidence", "the fix")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", sorted(_codes_in_sources()))
def test_every_code_in_both_modes(code: str) -> None:
    for status in STATUSES:
        finding = _finding(code, status)
        assert apply_lab_mode([finding], lab=False) == [finding]
        [judged] = apply_lab_mode([finding], lab=True)
        if code in LAB_ACCEPTED and status in ("warn", "fail"):
            assert judged.status == "warn"
            assert judged.title == f"title of {code} ({LAB_NOTE})"
            assert judged.detail == "the evidence"
            assert judged.remedy == "Fine for a lab or demo. For a real bastion: the fix"
        else:
            assert judged == finding  # lab mode never relaxes anything else, never makes an OK
        assert apply_lab_mode([judged], lab=True) == [judged]  # applying twice changes nothing


def test_lab_accepted_codes_exist_and_the_readme_says_so() -> None:
    assert _codes_in_sources() >= LAB_ACCEPTED
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    relaxed = set(re.findall(r"^\| `([a-z0-9_.]+)` \|.*warn under `--lab`", readme, re.M))
    assert relaxed == LAB_ACCEPTED


def test_no_check_decides_lab_mode_by_itself() -> None:
    """Only the rule reads lab mode: a check that did would make a second verdict language."""
    deciding = [
        path.name
        for path in (ROOT / "wizard" / "checks").glob("*.py")
        if path.name != "context.py"
        and re.search(r"\.lab\b|\blab: bool", path.read_text(encoding="utf-8"))
    ]
    engine = (ROOT / "wizard" / "engine.py").read_text(encoding="utf-8")
    assert deciding == []
    assert engine.count("apply_lab_mode(findings, ctx.lab)") == 2  # both ways out of run_checks
    assert "ctx.lab" not in engine.replace("apply_lab_mode(findings, ctx.lab)", "").replace(
        "``ctx.lab``", ""
    )


@pytest.mark.parametrize("lab", [False, True])
async def test_the_real_checks_in_both_modes(lab: bool) -> None:
    """A reserved name, a private address, port 8443, a name public DNS does not know."""
    name = "bastion.lab.test"
    with DnsServer({name: [("A", "10.0.0.5")]}) as local, DnsServer({}) as public:
        ctx = CheckContext(
            nameservers=(local.nameserver,),
            public_nameservers=(public.nameserver,),
            timeout=2.0,
            lab=lab,
            interface_addresses=("10.0.0.5",),
        )
        answers = Answers(mode="slack")
        answers.bastion.hostname = name
        answers.bastion.public_ip = "10.0.0.5"
        answers.bastion.listen_port = 8443
        findings = await run_checks(answers, ctx)
    found = {f.code: f for f in findings}
    expected = {
        "hostname.reserved_tld": "warn",
        "ip.not_public": "fail",
        "listen.not_443": "fail",
        "dns.not_public": "fail",
    }
    for code, real in expected.items():
        assert found[code].status == ("warn" if lab else real), code
        assert found[code].title.endswith(f"({LAB_NOTE})") == lab, code
    assert all(f.status != "ok" for f in findings if f.code in LAB_ACCEPTED)
