"""The wizard's Install step goes through the install pipeline: it waits for the lock of a
concurrent run, then refuses naming it, and installs nothing."""

from __future__ import annotations

import os

import pytest

from tests.tui.conftest import Demo
from tests.tui.test_flow import step
from wizard.demo.nginx import DemoNginx
from wizard.install.lock import RunLock
from wizard.install.state import StateDir
from wizard.nginx import find_binary
from wizard.tui.testing import press, settle
from wizard.tui.widgets.findings import LiveFindings


@pytest.mark.nginx
@pytest.mark.skipif(find_binary("nginx") is None, reason="needs a real nginx binary")
async def test_install_waits_for_a_concurrent_run_then_names_it(demo: Demo) -> None:
    nginx = DemoNginx.find(demo.nginx_root)
    assert nginx is not None
    nginx.start()
    try:
        app = demo.app(nginx=nginx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            while step(app.screen) != "install":
                await press(pilot, "enter")
            # Another run (the apply command, say) holds the tree's lock.
            state = StateDir.for_root(nginx.root, nginx.root.parent / "install-state")
            state.ensure()
            with RunLock(state.lock_file, nginx.root, wait=0):
                await press(pilot, "enter", "y")
                for _ in range(200):  # the step waits a bounded 5 s for the lock
                    live = app.screen.query_one("#install-result", LiveFindings)
                    if not live.busy and live.findings:
                        break
                    await pilot.pause(0.1)
            assert not app.installed
            codes = {f.code: f for f in live.findings}
            assert codes["install.locked"].status == "fail"
            assert f"pid {os.getpid()}" in codes["install.locked"].title
        assert not (demo.nginx_root / "conf.d" / "codestream-bastion.conf").exists()
    finally:
        nginx.stop()
