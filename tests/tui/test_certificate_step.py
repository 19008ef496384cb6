"""The Certificate step on a host without a certificate: what it lists, and "Get a certificate"."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Static

from tests.integration.pebble_harness import Pebble, free_port, require_tool
from tests.tui.conftest import Demo
from tests.tui.test_validation import codes, current, goto
from wizard.demo.ca import TestCA, cert_pem, generate_key
from wizard.demo.environment import DEMO_HOSTNAME
from wizard.fsutil import atomic_write
from wizard.install.acme import CertificateRequest
from wizard.tui.app import WizardApp
from wizard.tui.screens.get_certificate import GetCertificateScreen
from wizard.tui.testing import press, settle, wait_until
from wizard.tui.widgets.field import CheckedField


def old_style_root(path: Path) -> None:
    """A CA root as old trust stores hold them: CA:TRUE, no key usage, no names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Class 2 Authority")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, cert_pem(cert))


def note(app: WizardApp) -> str:
    return str(app.screen.query_one("#cert-note", Static).render())


async def test_only_server_certificates_are_listed_and_enter_fills_nothing(
    demo: Demo, tmp_path: Path
) -> None:
    roots = tmp_path / "certs"
    old_style_root(roots / "Go_Daddy_Class_2_CA.pem")
    other = TestCA("Other").issue(["www.other.test"])
    other.write(roots / "other", "fullchain")
    # A trust store directory: even a certificate that looks like a server's is not listed.
    trust = tmp_path / "trust"
    TestCA("Trusted").issue(["www.trusted.test"]).write(trust, "server")
    atomic_write(trust / "bundle.pem", TestCA("Bundle").root_pem())
    answers = demo.answers.copy()
    answers.bastion.certificate = answers.bastion.private_key = ""
    session = demo.session(answers=answers)
    session = replace(
        session,
        certificate_roots=(roots, trust),
        context=replace(session.context, ca_bundle=trust / "bundle.pem"),
    )
    app = WizardApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "certificate")
        await settle(pilot)
        table = app.screen.query_one("#candidates", DataTable)
        assert [str(key.value) for key in table.rows] == [str(roots / "other" / "fullchain.crt")]
        assert f"is for {DEMO_HOSTNAME}" in note(app)
        assert note(app).startswith("None of the 1 certificate found")
        # Enter in the empty field never fills in a candidate (whether the step then
        # refuses an empty field is the required-field rule's business).
        field = app.screen.query_one("#certificate", CheckedField)
        assert app.focused is field.input
        await press(pilot, "enter")
        assert app.answers.bastion.certificate == ""
        assert app.answers.bastion.private_key == ""


async def test_get_a_certificate_refused_before_the_ca(demo: Demo, tmp_path: Path) -> None:
    answers = demo.answers.copy()
    answers.bastion.certificate = answers.bastion.private_key = ""
    # Never contacted: the pre-check refuses first.
    acme = CertificateRequest("", "", acme_server="https://127.0.0.1:9/dir", http_port=free_port())
    app = WizardApp(replace(demo.session(answers=answers), acme=lambda: acme))
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, "certificate")
        # The public record changes since the Public IP step: the pre-check sees it.
        demo.public_dns.set_records(DEMO_HOSTNAME, "A", ["192.0.2.5"])
        app.screen.query_one("#get-certificate", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, GetCertificateScreen)
        await press(pilot, "enter")  # Start
        await wait_until(pilot, lambda: "Try again" in str(start_label(app)), 60)
        log = str(app.screen.query_one("#acme-progress", Static).render())
        assert "FAIL" in log
        assert "does not resolve to the chosen address" in log
        await press(pilot, "escape")
        field = app.screen.query_one("#certificate", CheckedField)
        assert field.value == ""


def start_label(app: WizardApp) -> object:
    return app.screen.query_one("#acme-start", Button).label


async def test_get_a_certificate_with_pebble_continues_with_the_lineage(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("certbot")
    pebble = Pebble(tmp_path, f"127.0.0.1:{demo.public_dns.port}", free_port())
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pebble.api_bundle))
        bundle = tmp_path / "trusted.pem"
        bundle.write_bytes(demo.files.trust_bundle.read_bytes() + pebble.root_pem())
        answers = demo.answers.copy()
        answers.bastion.certificate = answers.bastion.private_key = ""
        acme = CertificateRequest(
            "",
            "",
            acme_server=pebble.url,
            http_port=pebble.http_port,
            config_dir=tmp_path / "le",
            work_dir=tmp_path / "work",
            logs_dir=tmp_path / "logs",
        )
        session = demo.session(answers=answers)
        session = replace(
            session, acme=lambda: acme, context=replace(session.context, ca_bundle=bundle)
        )
        app = WizardApp(session)
        async with app.run_test(size=(80, 24)) as pilot:
            await goto(pilot, app, "certificate")
            app.screen.query_one("#get-certificate", Button).press()
            await settle(pilot)
            await press(pilot, "enter")  # Start
            await wait_until(pilot, lambda: not isinstance(app.screen, GetCertificateScreen), 60)
            await settle(pilot)
            live = tmp_path / "le" / "live" / DEMO_HOSTNAME
            field = app.screen.query_one("#certificate", CheckedField)
            assert field.value == str(live / "fullchain.pem")
            assert field.extra_value("private-key") == str(live / "privkey.pem")
            await wait_until(pilot, lambda: not field.busy, 60)
            found = codes(app, "#certificate")
            assert found.get("cert.ok") == "ok", found
            await press(pilot, "ctrl+n")
            assert current(app) == "upstream"
    finally:
        pebble.stop()
