"""The wizard in a terminal's shape: copyable values, a sidebar that makes room, tables that fit.

At 80x24 (an SSH session's usual size) the sidebar collapses to one line and
F2 brings it back; every URL on Done is whole on one screen row; the copy key
sends the exact value to the terminal's clipboard as OSC 52; the certificate
table shows every verdict within 80 columns; a path input shows the start of
its path when it is not being edited.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from tests.tui.conftest import Demo
from wizard.tui.app import WizardApp
from wizard.tui.paste import values
from wizard.tui.screens.base import SIDEBAR_MIN_WIDTH, StepScreen
from wizard.tui.screens.modals import PlainValuesScreen
from wizard.tui.testing import press, screen_lines, settle, wait_until
from wizard.tui.widgets.sidebar import StepSidebar
from wizard.tui.widgets.values import CopyValue

URL = re.compile(r"https://[^\s▌▐▎▊│]+")


def step(app: WizardApp) -> str:
    screen = app.screen
    return screen.STEP if isinstance(screen, StepScreen) else ""


async def walk_to(pilot: Any, app: WizardApp, target: str) -> None:
    """Enter through the demo (every answer passes) until ``target`` shows."""
    await settle(pilot)
    for _ in range(10):
        if step(app) == target:
            return
        await press(pilot, "enter")
    raise AssertionError(f"stuck at {step(app)}")


def table_shown(app: WizardApp) -> bool:
    shown = "\n".join(screen_lines(app))
    return "Verdict" in shown and "Names:" in shown


def sidebar_shown(app: WizardApp) -> bool:
    return app.screen.query_one(StepSidebar).display and not app.screen.has_class("-compact")


async def test_the_sidebar_collapses_below_the_threshold_and_f2_brings_it_back(
    demo: Demo,
) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not sidebar_shown(app)
        line = screen_lines(app)[1]
        assert "> Welcome" in line
        assert "F2: steps" in line
        body = app.screen.query_one("#body")
        assert body.region.x <= 1  # the sidebar's columns are given back
        assert body.region.width >= 78
        await press(pilot, "f2")
        assert sidebar_shown(app)
        assert "> Welcome" not in screen_lines(app)[1]
        await press(pilot, "enter")  # the choice holds on the next step
        assert step(app) == "hostname"
        assert sidebar_shown(app)
        await press(pilot, "f2")
        assert not sidebar_shown(app)
        assert "> Hostname" in screen_lines(app)[1]
        await pilot.resize_terminal(SIDEBAR_MIN_WIDTH + 20, 40)
        await settle(pilot)
        assert sidebar_shown(app), "back to the default: a wide terminal has room for it"
        await press(pilot, "f2")
        assert not sidebar_shown(app), "F2 swaps it on a wide terminal too"
        await press(pilot, "f2")
        await pilot.resize_terminal(SIDEBAR_MIN_WIDTH - 1, 30)
        await settle(pilot)
        assert not sidebar_shown(app)


async def test_a_wide_terminal_shows_the_sidebar(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert sidebar_shown(app)
        assert any(">[ ] Welcome" in row for row in screen_lines(app))


async def test_no_url_on_done_is_split_and_the_copy_key_sends_it_exactly(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk_to(pilot, app, "done")
        rows_seen: list[str] = []
        expected = [v.text for v in values(app.screen.lines()) if v.text.startswith("https://")]
        assert len(expected) == 4  # OAuth redirect, interactivity, Teams endpoint, Slack events
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        original = driver.write

        def capture(data: str) -> None:
            written.append(data)
            original(data)

        driver.write = capture  # type: ignore[method-assign]
        copyable = list(app.screen.query(CopyValue))
        assert app.focused is copyable[0]
        for index, value in enumerate(copyable):
            if index:
                await press(pilot, "down")
            assert app.focused is value
            rows_seen += screen_lines(app)
            if value.line.text in expected:
                written.clear()
                await press(pilot, "c")
                sent = base64.b64encode(value.line.text.encode()).decode()
                assert f"\x1b]52;c;{sent}\a" in "".join(written), value.line.label
                assert app.clipboard == value.line.text
                status = app.screen.query_one("#nav-status").render()
                assert f"Copied: {value.line.label}" in str(status)
        # Every URL is whole on some row, and no row holds a cut URL.
        for url in expected:
            assert any(url in row for row in rows_seen), url
        shown = {match for row in rows_seen for match in URL.findall(row)}
        assert shown <= set(expected) | {u.removesuffix("/") for u in expected}, shown - set(
            expected
        )


async def test_plain_view_prints_every_value_whole_at_the_margin(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk_to(pilot, app, "done")
        expected = [v.text for v in values(app.screen.lines())]
        await press(pilot, "p")
        assert isinstance(app.screen, PlainValuesScreen)
        text = str(app.screen.query_one("#plain-text").render())
        rows = text.splitlines()
        for value in expected:
            assert value in rows, value  # alone on its row, no indentation
        await press(pilot, "escape")
        assert step(app) == "done"


async def test_the_certificate_table_shows_every_verdict_at_80_columns(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk_to(pilot, app, "certificate")
        table = app.screen.query_one("#candidates", DataTable)
        assert table.row_count == 4
        assert table.virtual_size.width <= table.size.width, "the table scrolls sideways"
        assert table.region.right <= 80
        table.focus()
        await settle(pilot)

        def table_rows() -> list[str]:
            top = table.region.y
            return screen_lines(app)[top : top + 5]

        # The verdicts are judged, and the body scrolled to the table, by workers and an
        # animation that may still run: wait (bounded) for the header on screen.
        await wait_until(pilot, lambda: "Verdict" in table_rows()[0], 10, "the table's header")
        header, *rows = table_rows()
        assert header.split()[:3] == ["Verdict", "Subject", "Expires"]
        verdicts = {row.split()[0] for row in rows}
        assert sorted(row.split()[0] for row in rows) == ["FAIL", "FAIL", "FAIL", "OK"], rows
        assert verdicts <= {"OK", "WARN", "FAIL"}
        assert all(re.search(r"\d{4}-\d\d-\d\d", row) for row in rows)  # the expiry, whole
        await press(pilot, "down")
        detail = str(app.screen.query_one("#cert-detail").render())
        assert "self-signed" in detail or "expired" in detail or "does not" in detail


async def test_at_120_columns_the_why_column_is_whole(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await walk_to(pilot, app, "certificate")
        # The candidates are found and judged in a worker that may finish after settle.
        await wait_until(pilot, lambda: table_shown(app), 30, "the certificate table")
        shown = "\n".join(screen_lines(app))
        assert "…" not in shown.split("Verdict", 1)[1].split("Names:", 1)[0], shown
        words = " ".join(shown.split())
        assert "The certificate chains to the trust store and covers the host name" in words


def test_plan_lines_keep_the_action_and_mode_and_shorten_the_path() -> None:
    from wizard.tui.screens.review import short_path

    path = "/tmp/codestream-bastion-demo-t2qmy7vy/nginx/conf.d/codestream-bastion.conf"
    short = short_path(path, 50)
    assert len(short) <= 50
    assert short.endswith("/codestream-bastion.conf")
    assert short.startswith("/tmp/")
    assert "…/" in short
    assert short_path("/etc/nginx/a.conf", 50) == "/etc/nginx/a.conf"


async def test_a_path_input_shows_the_start_of_its_path_when_not_focused(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk_to(pilot, app, "certificate")
        key = app.screen.query_one("#private-key", Input)
        assert not key.has_focus
        assert len(key.value) > key.content_size.width
        rows = screen_lines(app)
        assert any(key.value[:30] in row for row in rows)  # /tmp/codestream-bastion-demo-...
        assert not any("privkey.pem" in row for row in rows)  # not its tail
        key.focus()
        await settle(pilot)
        assert any("privkey.pem" in row for row in screen_lines(app))  # editing: the end


def test_the_wizard_prints_the_next_steps_plain_when_it_ends(demo: Demo, capsys: Any) -> None:
    from wizard.tui.app import _farewell

    app = demo.app()
    app.finished = True
    _farewell(app)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"codestream-bastion: answers saved in {app.session.answers_path}"
    for value in values(app_lines(app)):
        assert value.text in lines, value.label  # whole, alone on its line
    assert not any(line.startswith(" ") and "https://" in line for line in lines)


def app_lines(app: WizardApp) -> list[Any]:
    from wizard.tui.paste import next_steps

    session = app.session
    return next_steps(app.answers, session.output_dir, session.answers_path)


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_path_in_a_finding_breaks_only_after_a_slash(width: int) -> None:
    from rich.console import Console

    from wizard.findings import fail
    from wizard.tui.widgets.findings import findings_table

    path = "/etc/letsencrypt/live/bastion-host.my-company.com/fullchain.pem"
    finding = fail("cert.unreadable", "The certificate file cannot be read", path, f"Fix {path}.")
    console = Console(width=width, color_system=None, record=True)
    console.print(findings_table([finding]))
    lines = [line[5:].strip() for line in console.export_text().splitlines()]
    names = set(path.strip("/").split("/"))
    for line in lines:
        for token in line.replace(":", " ").split():
            last = token.rstrip(".").rsplit("/", 1)[-1]
            if "/" in token or token.rstrip(".") in names:
                assert last == "" or last in names, (last, lines)
    assert "".join(lines).replace(" ", "").count(path.replace(" ", "")) == 2
