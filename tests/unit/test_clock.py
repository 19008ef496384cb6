"""The clock proof: the API's Date against this host's clock, and this host's sync state."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Sequence

import pytest

from wizard.checks.clock import clock_findings, host_sync_state, parse_http_date, sync_state_from
from wizard.nginx.command import CommandResult

NOW = 1_765_000_000.0


def date_at(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


def test_parse_http_date_reads_imf_fixdate_and_refuses_the_rest() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
    assert parse_http_date("yesterday") is None
    assert parse_http_date("") is None


@pytest.mark.parametrize(
    ("offset", "code", "status"),
    [
        (0, "proxy.clock", "ok"),
        (-59, "proxy.clock", "ok"),
        (120, "proxy.clock_near_limit", "warn"),
        (-300, "proxy.clock_near_limit", "warn"),
        (301, "proxy.clock_skew", "fail"),
        (-600, "proxy.clock_skew", "fail"),
    ],
)
def test_the_verdict_follows_codestreams_300_second_window(
    offset: float, code: str, status: str
) -> None:
    findings = clock_findings(date_at(offset), "", NOW, "synchronised (timedatectl)")
    assert [(f.code, f.status) for f in findings] == [(code, status)]
    assert f"{abs(offset):.0f} s" in findings[0].detail
    assert ("ahead of" if offset > 0 else "behind") in findings[0].detail or offset == 0


def test_skew_names_the_clock_ntp_and_this_hosts_state() -> None:
    (finding,) = clock_findings(date_at(-600), "", NOW, "synchronised (timedatectl: yes)")
    assert "clock" in finding.title
    assert "600 s" in finding.title
    assert "behind this host's clock" in finding.detail
    assert "This host's clock is synchronised" in finding.detail
    assert "NTP" in finding.remedy
    assert "timedatectl set-ntp true" in finding.remedy


def test_an_unsynchronised_host_is_its_own_warning() -> None:
    findings = clock_findings(date_at(0), "", NOW, "NOT synchronised (timedatectl: no)")
    assert [(f.code, f.status) for f in findings] == [
        ("proxy.clock", "ok"),
        ("proxy.host_clock_unsynced", "warn"),
    ]


def test_no_date_is_unknown_with_the_reason() -> None:
    (finding,) = clock_findings("", "https://api:8443 sent no Date header", NOW, "unknown (x)")
    assert (finding.code, finding.status) == ("proxy.clock_unknown", "warn")
    assert "sent no Date header" in finding.detail
    (finding,) = clock_findings("not a date", "", NOW, "unknown (x)")
    assert "'not a date'" in finding.detail


def result(code: int | None, output: str) -> CommandResult:
    return CommandResult(code, output)


@pytest.mark.parametrize(
    ("timedatectl", "chronyc", "state"),
    [
        (result(0, "yes\n"), None, "synchronised (timedatectl: NTPSynchronized=yes)"),
        (result(0, "no\n"), None, "NOT synchronised (timedatectl: NTPSynchronized=no)"),
        (
            result(1, "System has not been booted with systemd as init system (PID 1)."),
            result(0, "Reference ID    : C0A80001\nLeap status     : Normal\n"),
            "synchronised (chronyc tracking: Leap status Normal)",
        ),
        (
            None,
            result(0, "Leap status     : Not synchronised\n"),
            "NOT synchronised (chronyc tracking: Leap status Not synchronised)",
        ),
        (None, result(1, "506 Cannot talk to daemon"), None),
        (None, None, None),
    ],
)
def test_sync_state_from_recorded_outputs(
    timedatectl: CommandResult | None, chronyc: CommandResult | None, state: str | None
) -> None:
    found = sync_state_from(timedatectl, chronyc)
    if state is None:
        assert found.startswith("unknown")
    else:
        assert found == state


def test_host_sync_state_asks_chronyc_only_when_timedatectl_cannot_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    asked: list[str] = []

    async def run(argv: Sequence[str], timeout: float) -> CommandResult:
        asked.append(argv[0])
        if argv[0] == "timedatectl":
            return result(1, "Failed to connect to bus: Host is down")
        return result(0, "Leap status     : Normal\n")

    state = asyncio.run(host_sync_state(1.0, run))
    assert asked == ["timedatectl", "chronyc"]
    assert state.startswith("synchronised (chronyc")


# -- who answered: CodeStream or nginx ---------------------------------------------------


NGINX_404 = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def test_nginx_pages_are_not_codestream_and_codestreams_answers_are() -> None:
    from wizard.checks.fingerprint import answered_by_codestream

    nginx = [("Server", "nginx"), ("Content-Type", "text/html"), ("ETag", '"5e8c-1a2b"')]
    assert not answered_by_codestream(nginx, NGINX_404)
    assert not answered_by_codestream([("Server", "nginx")], b"<center>502 Bad Gateway</center>")
    assert answered_by_codestream([("Server", "nginx"), ("X-CS-API-Version", "15.6.1")], b"")
    # Without the release header (a proxy that strips it): Express's ETag or a RAPI error.
    assert answered_by_codestream(
        [("ETag", 'W/"31-LDq2cDEc4tQp3qCB7zFeRHhnkV4"')], b"Error: Unauthorized Access."
    )
    assert answered_by_codestream([], b'{"code":"RAPI-1003","message":"Object not found"}')
