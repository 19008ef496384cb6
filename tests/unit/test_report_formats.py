"""The monitoring formats: Prometheus text exposition (parsed back) and the Nagios line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from wizard.cli import build_parser
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.report import (
    FORMATS,
    NAGIOS_CRITICAL,
    NAGIOS_OK,
    NAGIOS_UNKNOWN,
    NAGIOS_WARNING,
    CheckRun,
    format_nagios,
    format_prometheus,
    nagios_exit_code,
    nagios_unknown,
)

CHECKED = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
NOT_AFTER = CHECKED + timedelta(days=20)
RUN = CheckRun(CHECKED, 1.25, "/etc/letsencrypt/live/b.example.com/fullchain.pem", NOT_AFTER)

FINDINGS = [
    ok("mode.ok", "Mode slack: endpoints /no-auth/provider-action/slack"),
    ok("proxy.endpoint", "/no-auth/provider-action/slack reaches the API"),
    fail("proxy.endpoint_not_api", "An endpoint does not reach the API", "502", "Fix nginx."),
    warn("cert.expiring_soon", 'Expires in 20 days | "soon"', "notAfter ...", "Renew it."),
    skip("firewall.none", "No active local firewall"),
    ok("proxy.endpoint", "/no-auth/provider-action/slack-events reaches the API"),
    warn("proxy.endpoint", "third endpoint is odd", "", "Look at it."),
]


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    families = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        assert family.documentation
        families[family.name] = [(s.labels, s.value) for s in family.samples]
    return families


def test_prometheus_output_parses_back_with_prometheus_client() -> None:
    metrics = _samples(format_prometheus(FINDINGS, RUN))
    assert all(name.startswith("codestream_bastion_") for name in metrics)
    status = {labels["code"]: value for labels, value in metrics["codestream_bastion_check_status"]}
    # One gauge per code: a repeated code (proxy.endpoint) reports its worst status.
    assert status == {
        "mode.ok": 0,
        "cert.expiring_soon": 2,
        "proxy.endpoint": 2,
        "proxy.endpoint_not_api": 3,
        "firewall.none": 1,
    }
    areas = {
        labels["code"]: labels["area"] for labels, _ in metrics["codestream_bastion_check_status"]
    }
    assert areas["cert.expiring_soon"] == "cert"
    counts = {labels["status"]: value for labels, value in metrics["codestream_bastion_findings"]}
    assert counts == {"ok": 3, "warn": 2, "fail": 1, "skip": 1}
    assert metrics["codestream_bastion_ok"] == [({}, 0.0)]
    [(labels, expiry)] = metrics["codestream_bastion_certificate_expiry_timestamp_seconds"]
    assert labels == {"path": RUN.certificate}
    assert expiry == NOT_AFTER.timestamp()
    assert metrics["codestream_bastion_check_timestamp_seconds"] == [({}, CHECKED.timestamp())]
    assert metrics["codestream_bastion_check_duration_seconds"] == [({}, 1.25)]


def test_prometheus_escapes_label_values_and_omits_an_unknown_expiry() -> None:
    odd = '/srv/certs/"quoted"\\back\nslash.pem'
    run = CheckRun(CHECKED, 0.5, odd, NOT_AFTER)
    metrics = _samples(format_prometheus([ok("cert.ok", "fine")], run))
    [(labels, _)] = metrics["codestream_bastion_certificate_expiry_timestamp_seconds"]
    assert labels["path"] == odd
    assert metrics["codestream_bastion_ok"] == [({}, 1.0)]
    bare = _samples(format_prometheus([ok("mode.ok", "fine")], CheckRun(CHECKED, 0.1)))
    assert "codestream_bastion_certificate_expiry_timestamp_seconds" not in bare


@pytest.mark.parametrize(
    ("findings", "code", "state"),
    [
        ([ok("mode.ok", "fine"), skip("firewall.none", "none")], NAGIOS_OK, "OK"),
        (
            [ok("mode.ok", "fine"), warn("dns.split_horizon", "w", "d", "r")],
            NAGIOS_WARNING,
            "WARNING",
        ),
        (
            [warn("dns.split_horizon", "w", "d", "r"), fail("cert.expired", "x", "d", "r")],
            2,
            "CRITICAL",
        ),
        ([fail("dns.internal_error", "crashed", "d", "r")], NAGIOS_UNKNOWN, "UNKNOWN"),
        (
            [fail("dns.internal_error", "crashed", "d", "r"), fail("cert.expired", "x", "d", "r")],
            NAGIOS_CRITICAL,
            "CRITICAL",
        ),
    ],
)
def test_nagios_state_and_exit_code(findings: list[Finding], code: int, state: str) -> None:
    assert nagios_exit_code(findings) == code
    line = format_nagios(findings, RUN)
    assert line.startswith(f"CODESTREAM-BASTION {state} - ")
    assert "\n" not in line


def test_nagios_line_names_the_worst_findings_and_has_perfdata() -> None:
    line = format_nagios(FINDINGS, RUN)
    text, perf = line.split(" | ")
    assert text == (
        "CODESTREAM-BASTION CRITICAL - 1 failed, 2 warnings, 3 ok, 1 skipped: "
        "proxy.endpoint_not_api (An endpoint does not reach the API)"
    )
    assert perf.split() == [
        "fail=1",
        "warn=2",
        "ok=3",
        "skip=1",
        "certificate_days_left=20.0;30;0",
        "duration=1.250s",
    ]
    warned = format_nagios([f for f in FINDINGS if f.status != "fail"], RUN)
    # A "|" in a title would start the performance data early: it is replaced.
    assert 'cert.expiring_soon (Expires in 20 days / "soon")' in warned
    assert warned.count("|") == 1


def test_nagios_unknown_line() -> None:
    assert nagios_unknown("cannot check: a.toml: no such file") == (
        "CODESTREAM-BASTION UNKNOWN - cannot check: a.toml: no such file"
    )


def test_cli_offers_exactly_the_report_formats() -> None:
    parser = build_parser()
    check = parser._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    [action] = [a for a in check._actions if a.dest == "format"]
    assert tuple(action.choices) == FORMATS
