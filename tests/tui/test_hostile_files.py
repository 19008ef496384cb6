"""The Certificate step against files another user planted where discovery looks.

``nobody`` plants, in a directory of its own that discovery scans, a real
certificate whose subject, issuer and subjectAltName carry OSC 52 (the
terminal's clipboard), a window-title OSC, CSI and C1 sequences, under three
names: ``fullchain.pem``, ``a[link=a:b].pem`` and ``[@click=app.quit].pem``
(each with its key). The wizard runs as root with a driver that keeps every
byte it would send to the terminal. Asserted: those bytes carry none of the
attacker's sequences, the screen shows them spelled out, every planted
certificate is marked (``cert.unsafe_path``), and picking a file whose name is
markup neither crashes nor runs anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.integration.test_hostile_host import shared
from tests.integration.test_hostile_input import plant_hostile_pairs
from tests.tui.conftest import Demo
from tests.tui.test_layout import step, walk_to
from tests.unit.test_untrusted_text import RecordingDriver, attacker_bytes
from wizard.tui.testing import press, screen_lines, settle, wait_until

__all__ = ["shared"]  # the fixture, imported for the test below

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacker tests run as root")

STEMS = ("fullchain", "a[link=a:b]", "[@click=app.quit]")


async def test_planted_certificates_are_marked_and_shown_escaped_never_sent_raw(
    demo: Demo, shared: Path
) -> None:
    home = plant_hostile_pairs(shared, STEMS)
    session = demo.session()
    session.certificate_roots = (home,)
    from wizard.tui.app import WizardApp

    app = WizardApp(session)
    app.driver_class = RecordingDriver
    RecordingDriver.written.clear()
    async with app.run_test(headless=False, size=(100, 32)) as pilot:
        await walk_to(pilot, app, "certificate")
        table = app.screen.query_one("#candidates", DataTable)
        assert table.row_count == len(STEMS)
        table.focus()
        await settle(pilot)
        # Each row's verdict is judged in a worker: wait for all three, bounded.
        try:
            await wait_until(
                pilot,
                lambda: "\n".join(screen_lines(app)).count("FAIL") >= len(STEMS),
                10,
                "verdicts",
            )
        except AssertionError:
            raise AssertionError("\n".join(screen_lines(app))) from None
        rows = "\n".join(screen_lines(app))
        assert rows.count("FAIL") >= len(STEMS)
        assert "\\x1b" in rows  # the subject, spelled out
        detail = str(app.screen.query_one("#cert-detail").render())
        assert "Another user can change the certificate file" in detail
        assert "Evil\\x1b]52;c;Y3VybCB4fHNo\\x07" in detail  # the issuer
        assert "x\\x1b]0;pwned.example.test" in detail  # a subjectAltName
        # Discovery's order: fullchain first, then by name ("[" sorts before "a").
        for stem in ("fullchain", "[@click=app.quit]", "a[link=a:b]"):
            await press(pilot, "enter")  # pick it: a name that is markup stays a name
            assert app.is_running
            assert step(app) == "certificate"
            assert f"Key found: {stem}.key" in "\n".join(screen_lines(app))
            table.focus()
            await press(pilot, "down")
    written = "".join(RecordingDriver.written)
    assert written, "the recording driver saw no output"
    assert attacker_bytes(written) == []
