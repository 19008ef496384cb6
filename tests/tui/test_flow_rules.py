"""The flow rules of every step: nothing is left behind unchecked, a fix made elsewhere is seen.

An untouched required field (empty, never typed in) is judged when the step is
left, and Next refuses it; Enter in a field checks it again before going on, so
a DNS record added or a file's mode fixed outside the wizard is seen without
retyping; Ctrl+R checks the whole step again.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from tests.tui.conftest import (
    Demo,
    codes,
    open_the_signing_secret_file_field,
    paste_into,
    step,
    type_into,
    world_readable_secret,
)
from wizard.tui.app import WizardApp
from wizard.tui.testing import press, settle
from wizard.tui.widgets.field import CheckedField


def nav_status(app: WizardApp) -> str:
    return str(app.screen.query_one("#nav-status", Static).render())


async def test_an_untouched_empty_required_field_blocks_next(demo: Demo) -> None:
    bastion = replace(demo.answers.bastion, hostname="", public_ip="")
    app = demo.app(answers=replace(demo.answers, bastion=bastion))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert step(app) == "hostname"
        await press(pilot, "enter", "enter", "enter")
        assert step(app) == "hostname", "an empty host name never typed in is refused"
        assert "required" in nav_status(app)
        field = app.screen.query_one("#hostname", CheckedField)
        assert field.blocking
        assert "host name" in (field.syntax_problem or "")
        await press(pilot, "ctrl+n")
        assert step(app) == "hostname", "Ctrl+N is refused alike"
        assert "hostname" not in app.step_states


async def test_a_step_left_by_enter_on_an_untouched_empty_address_is_refused(
    demo: Demo,
) -> None:
    bastion = replace(demo.answers.bastion, public_ip="")
    app = demo.app(answers=replace(demo.answers, bastion=bastion))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "enter")
        assert step(app) == "public_ip"
        await press(pilot, "ctrl+n")
        assert step(app) == "public_ip"
        assert app.screen.query_one("#public-ip", CheckedField).blocking


async def test_enter_sees_a_dns_record_added_outside_the_wizard(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        await type_into(pilot, "#hostname Input", "later.demo.test")
        field = app.screen.query_one("#hostname", CheckedField)
        assert codes(field)["dns.nxdomain"] == "fail"
        await press(pilot, "enter")
        assert step(app) == "hostname"
        demo.add_name("later.demo.test")  # the admin fixes DNS in another window
        await press(pilot, "enter")  # same value: checked again, then Next
        assert step(app) == "public_ip"
        assert app.answers.bastion.hostname == "later.demo.test"


async def test_ctrl_r_checks_the_step_again(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        await type_into(pilot, "#hostname Input", "soon.demo.test")
        field = app.screen.query_one("#hostname", CheckedField)
        assert field.blocking
        demo.add_name("soon.demo.test")
        await press(pilot, "ctrl+r")
        assert not field.blocking
        assert "dns.nxdomain" not in codes(field)
        assert step(app) == "hostname", "Ctrl+R checks, it does not go on"


async def test_enter_sees_a_secret_files_mode_fixed_outside_the_wizard(
    demo: Demo, tmp_path: Path
) -> None:
    secret_file = world_readable_secret(tmp_path, "8f14e45fceea167a5a36dedd4bea2543")
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        field = await open_the_signing_secret_file_field(pilot)
        await paste_into(pilot, "#slack-signing-secret-file Input", str(secret_file))
        assert codes(field)["secrets.file_readable"] == "fail"
        await press(pilot, "enter")
        assert step(app) == "credentials"
        secret_file.chmod(0o600)  # `chmod 600` in another window
        await press(pilot, "enter")
        assert step(app) == "review"


async def test_a_resume_never_lands_past_a_missing_answer(demo: Demo) -> None:
    from wizard.tui.state import StateStore

    bastion = replace(demo.answers.bastion, hostname="")
    StateStore(demo.state_path).save(
        replace(demo.answers, bastion=bastion),
        "certificate",
        {"welcome": "ok", "hostname": "ok", "public_ip": "ok"},
    )
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "'Hostname', whose answer is missing" in str(getattr(app.screen, "message", ""))
        await press(pilot, "y")
        assert step(app) == "hostname"
        assert "hostname" not in app.step_states


# -- the provider's app before its credentials ----------------------------------------


def manifest_in(link: str) -> dict[str, object]:
    """The manifest a Slack create-app link carries."""
    import json
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "api.slack.com", "/apps")
    query = parse_qs(parts.query)
    assert query["new_app"] == ["1"]
    document: dict[str, object] = json.loads(query["manifest_json"][0])
    return document


async def test_the_slack_app_step_comes_before_credentials_and_its_link_carries_the_manifest(
    demo: Demo,
) -> None:
    from wizard.tui.widgets.values import CopyValue

    answers = replace(demo.answers, mode="slack+msteams")
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while step(app) not in ("provider_app", "credentials"):
            await press(pilot, "enter")
        assert step(app) == "provider_app", "the app is created before its credentials are asked"
        values = {v.line.label: v.line.text for v in app.screen.query(CopyValue)}
        manifest = manifest_in(values["Slack create-app link"])
        host = app.answers.bastion.hostname
        port = app.answers.bastion.listen_port
        settings = manifest["settings"]
        assert isinstance(settings, dict)
        assert settings["interactivity"] == {
            "is_enabled": True,
            "request_url": f"https://{host}:{port}/no-auth/provider-action/slack",
        }
        oauth = manifest["oauth_config"]
        assert isinstance(oauth, dict)
        api = app.answers.codestream.api_url.rstrip("/")
        assert oauth["redirect_urls"] == [f"{api}/no-auth/provider-token/slack"]
        assert "event_subscriptions" not in settings, "events only once the secret is loaded"
        assert manifest_in(values["Slack create-app link"]) == __import__("json").loads(
            values["Slack app manifest"]
        )
        endpoint = f"https://{host}:{port}/no-auth/provider-action/msteams"
        assert values["Messaging endpoint"] == endpoint
        await press(pilot, "c")  # the link is focused first: one key copies it
        assert app.clipboard == values["Slack create-app link"]
        await press(pilot, "enter")
        assert step(app) == "credentials"
        assert app.screen.query("#slack-app-id")
        assert app.screen.query("#msteams-app-id")


async def test_without_exposure_the_app_step_asks_the_api_url_and_refuses_it_empty(
    demo: Demo,
) -> None:
    from wizard.tui.widgets.values import CopyValue

    codestream = replace(demo.answers.codestream, api_url="")
    answers = replace(demo.answers, mode="slack-no-exposure", codestream=codestream)
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert step(app) == "provider_app"
        await press(pilot, "enter")
        assert step(app) == "provider_app", "no API URL: the app's redirect would be unknown"
        await type_into(pilot, "#api-url Input", "https://cs.demo.test")
        link = next(v.line.text for v in app.screen.query(CopyValue))
        manifest = manifest_in(link)
        assert manifest["oauth_config"] == {
            "redirect_urls": ["https://cs.demo.test/no-auth/provider-token/slack"],
            "scopes": manifest["oauth_config"]["scopes"],  # type: ignore[index]
        }
        settings = manifest["settings"]
        assert isinstance(settings, dict)
        assert settings["interactivity"] == {"is_enabled": False}
        await press(pilot, "enter")
        assert step(app) == "credentials"
        assert app.answers.codestream.api_url == "https://cs.demo.test"


async def test_a_remedy_on_screen_names_the_wizards_field_not_the_answers_file(
    demo: Demo,
) -> None:
    from wizard.tui.testing import screen_lines

    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "enter")
        assert step(app) == "public_ip"
        await type_into(pilot, "#listen-port Input", "8443")
        field = app.screen.query_one("#listen-port", CheckedField)
        (finding,) = [f for f in field.findings if f.code == "listen.not_443"]
        assert "the 'Listen port' field (step Public IP)" in finding.remedy
        shown = "\n".join(screen_lines(app))
        assert "'Listen port' field" in shown
        assert "answers file" not in shown
