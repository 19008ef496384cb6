"""Live validation: every step refuses a failure, accepts a warning, and stays responsive."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.tui.conftest import Demo, paste_into, type_into
from wizard.answers import Answers
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.testing import press, settle
from wizard.tui.widgets.field import CheckedField


def codes(app: WizardApp, selector: str) -> dict[str, str]:
    """The findings of a field: code -> status."""
    field = app.screen.query_one(selector, CheckedField)
    return {f.code: f.status for f in field.findings}


def nav_status(app: WizardApp) -> str:
    return str(app.screen.query_one("#nav-status", Static).render())


async def goto(pilot: Pilot[int], app: WizardApp, target: str) -> None:
    """Press Enter until the step ``target`` shows (the answers on the way must pass)."""
    for _ in range(10):
        if current(app) == target:
            return
        await press(pilot, "enter")
    raise AssertionError(f"never reached {target}")


def current(app: WizardApp) -> str:
    return app.screen.STEP if isinstance(app.screen, StepScreen) else ""


# -- hostname ------------------------------------------------------------------


async def test_hostname_syntax_is_checked_on_every_keystroke(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "hostname")
        field = app.screen.query_one("#hostname", CheckedField)
        field.input.value = ""
        await pilot.press("b", "_")
        await pilot.pause()
        assert field.syntax_problem is not None
        assert "underscore" in field.syntax_problem.lower()
        assert field.input.has_class("-invalid")
        assert not field.busy, "a malformed value is never looked up"
        await press(pilot, "enter")
        assert current(app) == "hostname"
        assert "Fix the failure" in nav_status(app)


async def test_hostname_nxdomain_is_refused(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "hostname")
        await type_into(pilot, "#hostname Input", "nothere.demo.test")
        assert codes(app, "#hostname")["dns.nxdomain"] == "fail"
        await press(pilot, "enter")
        assert current(app) == "hostname"


async def test_only_the_last_value_typed_is_looked_up(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "hostname")
        demo.local_dns.queries.clear()
        await type_into(pilot, "#hostname Input", "bastion.demo.test")
        asked = {q.name for q in demo.local_dns.queries}
        assert asked == {"bastion.demo.test"}, asked


async def test_a_check_that_crashes_becomes_a_finding(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wizard.checks.dns

    async def broken(*args: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(wizard.checks.dns, "check_dns", broken)
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "hostname")
        assert codes(app, "#hostname") == {"wizard.check_crashed": "fail"}
        await press(pilot, "enter")
        assert current(app) == "hostname"
    assert app.return_value is None, "the app kept running"


# -- public IP -----------------------------------------------------------------


async def test_public_ip_warning_is_accepted(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "public_ip")
        found = codes(app, "#public-ip")
        assert found["ip.not_public"] == "warn"  # loopback, accepted in lab mode
        assert found["dns.matches"] == "ok"
        await press(pilot, "enter")
        assert current(app) == "certificate"
        assert app.step_states["public_ip"] == "warn"


async def test_public_ip_not_matching_dns_is_refused(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "public_ip")
        await type_into(pilot, "#public-ip Input", "127.0.0.2")
        assert codes(app, "#public-ip")["dns.mismatch"] == "fail"
        await press(pilot, "enter")
        assert current(app) == "public_ip"
        await type_into(pilot, "#public-ip Input", "300.1.2.3")
        field = app.screen.query_one("#public-ip", CheckedField)
        assert field.syntax_problem is not None
        assert "out of range" in field.syntax_problem


async def test_interface_addresses_are_offered(demo: Demo) -> None:
    app = demo.app(interfaces=("127.0.0.1", "203.0.113.7"))
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "public_ip")
        app.screen.query_one("#candidates").focus()
        await press(pilot, "down", "enter")
        assert app.screen.query_one("#public-ip", CheckedField).value == "203.0.113.7"


# -- certificate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "code"),
    [
        ("wrong-host", "cert.hostname_mismatch"),
        ("bastion-self-signed", "cert.self_signed"),
        ("bastion-expired", "cert.expired"),
    ],
)
async def test_bad_certificates_are_refused(demo: Demo, folder: str, code: str) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "certificate")
        cert, key = demo.files.cert_pair(folder)
        await paste_into(pilot, "#private-key", str(key))
        await paste_into(pilot, "#certificate .main-input", str(cert))
        found = codes(app, "#certificate")
        assert found.get(code) == "fail", found
        await press(pilot, "enter")
        assert current(app) == "certificate"


async def test_picking_a_certificate_finds_its_key(demo: Demo) -> None:
    answers = demo.answers.copy()
    answers.bastion.certificate = answers.bastion.private_key = ""
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "certificate")
        table = app.screen.query_one("#candidates", DataTable)
        assert table.row_count == 4
        table.focus()
        rows = [str(key.value) for key in table.rows]
        good = rows.index(str(demo.files.cert_pair("bastion.demo.test")[0]))
        await press(pilot, *["down"] * good, "enter")
        field = app.screen.query_one("#certificate", CheckedField)
        assert field.extra_value("private-key") == str(demo.files.cert_pair("bastion.demo.test")[1])
        assert codes(app, "#certificate").get("key.ok") == "ok"
        await press(pilot, "ctrl+n")
        assert current(app) == "upstream"


# -- upstream ------------------------------------------------------------------


async def test_upstream_down_is_refused(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "certificate")
        demo.api.stop()
        await press(pilot, "enter")
        assert current(app) == "upstream"
        found = codes(app, "#api-url")
        assert "fail" in found.values(), found
        await press(pilot, "enter")
        assert current(app) == "upstream"


async def test_upstream_url_syntax(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "upstream")
        await type_into(pilot, "#api-url .main-input", "ftp://codestream")
        field = app.screen.query_one("#api-url", CheckedField)
        assert field.syntax_problem is not None
        await type_into(pilot, "#upstream-address", "not-an-ip")
        await paste_into(pilot, "#api-url .main-input", demo.answers.codestream.api_url)
        assert field.syntax_problem is not None
        assert "Pinned API address" in field.syntax_problem


# -- credentials ---------------------------------------------------------------


async def test_secrets_are_masked(demo: Demo) -> None:
    answers: Answers = demo.answers.copy()
    answers.slack.client_secret = "s3cret"
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "credentials")
        secret = app.screen.query_one("#slack-client-secret .main-input", Input)
        assert secret.password
        assert not app.screen.query_one("#slack-app-id .main-input", Input).password
        await press(pilot, "ctrl+t")
        assert not secret.password
        await type_into(pilot, "#slack-app-id .main-input", "A0 1")
        await press(pilot, "enter")
        assert current(app) == "credentials"


async def test_no_public_address_explains_one_to_one_nat(demo: Demo) -> None:
    app = demo.app(interfaces=("127.0.0.1", "10.0.0.5"))
    app.session.context = replace(app.session.context, lab=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")  # Hostname (a .test name only warns outside lab mode)
        await press(pilot, "enter")
        assert current(app) == "public_ip"
        assert not app.screen.query("#candidates"), "private addresses are not offered"
        note = str(app.screen.query_one(".note", Static).render())
        assert "1:1" in note
        assert "10.0.0.5" in note
