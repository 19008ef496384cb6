"""The engine's own findings: mode, listen port, and a crashing check made visible."""

from __future__ import annotations

import pytest

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.listen import check_listen_port
from wizard.checks.mode import check_mode
from wizard.engine import run_checks, sort_findings
from wizard.findings import Finding, apply_lab_mode, fail, ok


def test_mode_findings() -> None:
    assert [f.code for f in check_mode(Answers(mode="slack"))] == ["mode.ok"]
    (finding,) = check_mode(Answers(mode="slack-no-exposure"))
    assert finding.code == "mode.no_exposure"
    assert finding.status == "warn"
    assert "replies" in finding.title


@pytest.mark.parametrize(
    ("port", "lab", "status"), [(443, False, "ok"), (8443, False, "fail"), (8443, True, "warn")]
)
def test_listen_port(port: int, lab: bool, status: str) -> None:
    (finding,) = apply_lab_mode(check_listen_port(port), lab)
    assert finding.status == status
    assert finding.code == ("listen.ok" if port == 443 else "listen.not_443")


def test_findings_are_ordered_by_area() -> None:
    unordered = [ok("proxy.ok", "p"), fail("cert.expired", "c", "d", "r"), ok("mode.ok", "m")]
    assert [f.area for f in sort_findings(unordered)] == ["mode", "cert", "proxy"]


async def test_a_crashing_check_becomes_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    import wizard.checks.upstream as upstream

    async def explode(*_args: object) -> list[Finding]:
        raise RuntimeError("boom")

    monkeypatch.setattr(upstream, "check_upstream", explode)
    answers = Answers(mode="slack")
    answers.bastion.hostname = "bad host"
    findings = await run_checks(answers, CheckContext(timeout=0.5))
    crashed = [f for f in findings if f.code == "upstream.internal_error"]
    assert len(crashed) == 1
    assert crashed[0].status == "fail"
    assert "boom" in crashed[0].detail
    assert "hostname.invalid" in {f.code for f in findings}
