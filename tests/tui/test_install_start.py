"""The wizard on a bastion whose nginx is installed but not running: Review says it will be
started, the Install step's question says so too, and Install starts it (the real nginx)."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.nginx_harness import masters_under
from tests.tui.conftest import Demo
from tests.tui.test_flow import step
from wizard.demo.nginx import DemoNginx
from wizard.nginx import find_binary
from wizard.nginx.master import master_state
from wizard.tui.screens.modals import ConfirmScreen
from wizard.tui.testing import press, settle
from wizard.tui.widgets.findings import LiveFindings


@pytest.mark.nginx
@pytest.mark.skipif(find_binary("nginx") is None, reason="needs a real nginx binary")
async def test_review_says_nginx_will_be_started_and_install_starts_it(demo: Demo) -> None:
    nginx = DemoNginx.find(demo.nginx_root)
    assert nginx is not None
    nginx.prepare()  # installed, not started
    start = f"nginx is not running: it will be started ({' '.join(nginx.start_argv())})"
    try:
        app = demo.app(nginx=nginx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            while step(app.screen) != "review":
                await press(pilot, "enter")
            await settle(pilot)
            review = app.screen.query_one("#review-findings", LiveFindings)
            for _ in range(200):
                if not review.busy:
                    break
                await pilot.pause(0.1)
            shown = str(app.screen.query_one("#plan", Static).content)
            assert start in shown
            assert {f.code: f.title for f in review.findings}["install.will_start"] == start
            assert not master_state(nginx.pid_file).running, "Review starts nothing"

            await press(pilot, "enter")
            assert step(app.screen) == "install"
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)
            assert app.screen.title_text == "Install and start nginx?"
            assert app.screen.message.startswith(start)
            await press(pilot, "y")
            live = app.screen.query_one("#install-result", LiveFindings)
            for _ in range(300):
                if not live.busy and live.findings:
                    break
                await pilot.pause(0.1)
            codes = {f.code: f.status for f in live.findings}
            assert app.installed, live.findings
            assert codes["install.started"] == "ok"
            assert master_state(nginx.pid_file).running
    finally:
        nginx.stop()
    assert masters_under(demo.nginx_root) == []
