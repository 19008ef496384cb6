"""The signed proof, end to end: real nginx running the rendered block, the faithful fake API.

Each test changes one thing of the good setup of ``test_proxy_e2e`` (its module
fixture is reused: one nginx, one DNS server, one fake API) and checks the
proof's verdict names the cause: the signing secret, the API's clock, nginx.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tests.integration.test_proxy_e2e import (
    Setup,
    _by_code,
    setup,  # noqa: F401 (the module fixture, shared)
)
from tests.nginx_harness import free_port
from wizard.checks.proxy import check_proxy
from wizard.checks.slack_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from wizard.releases import SLACK_EVENTS_SINCE, parse_release

pytestmark = pytest.mark.nginx

SLACK = "/no-auth/provider-action/slack"
EVENTS = "/no-auth/provider-action/slack-events"
MSTEAMS = "/no-auth/provider-action/msteams"


@pytest.fixture
def api_settings(setup: Setup) -> Iterator[Setup]:  # noqa: F811
    """Put the fake API's configuration and release back after each test."""
    saved, release = dataclasses.replace(setup.api.bot), setup.api.api_version
    yield setup
    setup.api.bot, setup.api.api_version = saved, release


async def test_the_right_secret_passes_and_the_api_saw_slacks_own_headers(
    api_settings: Setup,
) -> None:
    s = api_settings
    s.api.clear_requests()
    findings = await check_proxy(s.answers(), s.ctx())
    assert [f for f in findings if f.status != "ok"] == []
    verified = _by_code(findings)["proxy.slack_verified"]
    assert {f.title.split(":")[0] for f in verified} == {SLACK, EVENTS}
    assert all("CodeStream answered" in f.detail for f in verified)
    # nginx passed the signature headers and the body untouched.
    events = [r for r in s.api.requests if r.method == "POST" and r.path == EVENTS]
    assert len(events) == 1
    assert (events[0].header(SIGNATURE_HEADER) or "").startswith("v0=")
    assert events[0].header(TIMESTAMP_HEADER) is not None
    assert b'"type":"url_verification"' in events[0].body


async def test_a_wrong_secret_fails_naming_the_key_and_the_slot(api_settings: Setup) -> None:
    s = api_settings
    s.api.bot.signing_secret = "a-different-secret-the-api-holds"
    findings = await check_proxy(s.answers(), s.ctx())
    rejected = _by_code(findings)["proxy.slack_signature_rejected"]
    assert len(rejected) == 2  # interactivity and events
    for finding in rejected:
        assert finding.status == "fail"
        assert "[slack] signing_secret" in finding.detail
        assert "integrations.slack.cloud.appSigningSecret" in finding.detail
        assert "CodeStream answered HTTP 403" in finding.detail
        assert "clock" not in finding.detail
    events = next(f for f in rejected if EVENTS in f.title)
    assert "RAPI-1012" in events.detail
    interactivity = next(f for f in rejected if EVENTS not in f.title)
    assert "RAPI-1003" in interactivity.detail
    assert "[slack] app_id" in interactivity.detail
    assert "proxy.clock" in _by_code(findings)  # the clock is fine: the secret it is


async def test_the_secret_of_an_old_release_names_all_three_families(api_settings: Setup) -> None:
    s = api_settings
    s.api.api_version = "12.0.10"
    s.api.bot.signing_secret = "a-different-secret-the-api-holds"
    findings = await check_proxy(s.answers(), s.ctx())
    codes = _by_code(findings)
    rejected = codes["proxy.slack_signature_rejected"]
    assert len(rejected) == 1  # interactivity; 12.0.10 has no events route
    for family in ("app", "appSharing", "appStrict"):
        assert f"integrations.slack.cloud.{family}SigningSecret" in rejected[0].detail
    assert "release 12.0.10" in rejected[0].detail
    unproven = codes["proxy.slack_unproven"]
    assert "has no Slack events route" in unproven[0].title


async def test_an_api_clock_ten_minutes_off_fails_naming_the_clock(api_settings: Setup) -> None:
    s = api_settings
    s.api.bot.clock_offset = 600.0
    findings = await check_proxy(s.answers(), s.ctx())
    codes = _by_code(findings)
    skew = codes["proxy.clock_skew"][0]
    assert skew.status == "fail"
    assert "clock" in skew.title
    assert "600 s" in skew.title or "599 s" in skew.title or "601 s" in skew.title
    assert "ahead of" in skew.detail
    assert "NTP" in skew.remedy
    # The signatures fail too, and the finding blames the clock, not the secret.
    for finding in codes["proxy.slack_signature_rejected"]:
        assert "clock" in finding.detail
        assert "differ from what the API holds" not in finding.detail


async def test_a_route_nginx_does_not_forward_fails_naming_nginx(api_settings: Setup) -> None:
    s = api_settings
    port = free_port()
    answers = s.answers(listen_port=port)
    served = s.answers(listen_port=port)
    served.mode = "slack"  # the installed block forwards no Teams route
    with s.nginx("no-teams", s.render(served, s.tmp / "no-teams" / "logs"), port):
        findings = await check_proxy(answers, s.ctx())
    codes = _by_code(findings)
    nginx = codes["proxy.bot_route_nginx"]
    assert [f.title.split(" ")[0] for f in nginx] == [MSTEAMS]
    assert nginx[0].status == "fail"
    assert "nginx answered itself HTTP 404" in nginx[0].detail
    assert "never reached CodeStream" in nginx[0].remedy
    assert "proxy.teams_token_required" not in codes
    assert len(codes["proxy.slack_verified"]) == 2  # the Slack routes still prove out


async def test_teams_without_an_app_id_in_codestream_fails(api_settings: Setup) -> None:
    s = api_settings
    s.api.bot.teams_app_id = ""
    findings = await check_proxy(s.answers(), s.ctx())
    teams = _by_code(findings)["proxy.teams_unauthenticated"][0]
    assert teams.status == "fail"
    assert "integrations.msteams.cloud.appClientId" in teams.detail
    s.api.api_version = "14.0.14"
    findings = await check_proxy(s.answers(), s.ctx())
    teams = _by_code(findings)["proxy.teams_unauthenticated"][0]
    assert "integrations.msteams.cloud.botAppId" in teams.detail


async def test_without_the_secret_the_routes_are_only_shown_to_reach_the_verifier(
    api_settings: Setup,
) -> None:
    s = api_settings
    answers = s.answers()
    answers.slack.signing_secret = ""
    findings = await check_proxy(answers, s.ctx())
    codes = _by_code(findings)
    unproven = codes["proxy.slack_unproven"]
    assert len(unproven) == 2
    assert all(f.status == "warn" for f in unproven)
    assert all("signature check" in f.title for f in unproven)
    assert "proxy.slack_verified" not in codes


@pytest.mark.parametrize("release", ["8.2.9", "12.0.10", "13.0.1", "14.0.14", "15.6.1"])
async def test_the_right_setup_passes_on_every_release(api_settings: Setup, release: str) -> None:
    s = api_settings
    s.api.api_version = release
    port = free_port()
    answers = s.answers(listen_port=port)
    answers.codestream.release = release
    answers.slack.events = parse_release(release) >= SLACK_EVENTS_SINCE  # 13.0.1
    logs = s.tmp / f"release-{release}" / "logs"
    with s.nginx(f"release-{release}", s.render(answers, logs), port) as nginx:
        # ctx.nginx_root is the tree nginx runs: proxy.limits reads the block there.
        findings = await check_proxy(answers, s.ctx(nginx_root=nginx.conf.parent))
    assert [(f.code, f.detail) for f in findings if f.status != "ok"] == []
    codes = _by_code(findings)
    routes = {f.title.split(":")[0] for f in codes["proxy.slack_verified"]}
    assert routes == ({SLACK, EVENTS} if answers.slack.events else {SLACK})
    assert "proxy.teams_token_required" in codes
