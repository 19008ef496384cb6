"""The wizard driven by the keyboard through the demo: the whole flow, back, skip, quit, help."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import pytest
from textual.widgets import Input, OptionList

from tests.tui.conftest import Demo, type_into
from wizard.answers import load_answers
from wizard.demo.nginx import DemoNginx
from wizard.nginx import find_binary
from wizard.tui.app import exit_on_hangup
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.modals import ConfirmScreen, HelpScreen
from wizard.tui.testing import press, settle
from wizard.tui.widgets.field import CheckedField
from wizard.tui.widgets.findings import LiveFindings


def step(screen: object) -> str:
    """The step id of a screen (``""`` for a dialog)."""
    return screen.STEP if isinstance(screen, StepScreen) else ""


async def test_complete_demo_flow_without_nginx(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert step(app.screen) == "welcome"
        seen = []
        for _ in range(8):
            seen.append(step(app.screen))
            if step(app.screen) == "done":
                break
            await press(pilot, "enter")
        assert seen == [
            "welcome",
            "hostname",
            "public_ip",
            "certificate",
            "upstream",
            "credentials",
            "review",
            "done",
        ]
        states = app.sidebar_states("done")
        assert states["install"] == states["test"] == "skipped"
        assert states["public_ip"] == "warn"  # 127.0.0.1: accepted in lab mode
        assert states["hostname"] == "warn"  # .test: accepted in lab mode, never OK
        assert states["certificate"] == "ok"
        await press(pilot, "enter")  # Finish
    assert app.return_value == 0
    saved = load_answers(demo.output_dir / "answers.toml")
    assert saved.bastion.hostname == "bastion.demo.test"
    assert (demo.output_dir / "codestream-bastion.conf").is_file()
    assert (demo.output_dir / "codestream-messaging.json").is_file()
    assert not demo.state_path.exists(), "the resume state is cleared at the end"


@pytest.mark.nginx
@pytest.mark.skipif(find_binary("nginx") is None, reason="needs a real nginx binary")
async def test_complete_demo_flow_with_real_nginx(demo: Demo) -> None:
    nginx = DemoNginx.find(demo.nginx_root)
    assert nginx is not None
    nginx.start()
    try:
        app = demo.app(nginx=nginx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            while step(app.screen) != "install":
                before = step(app.screen)
                await press(pilot, "enter")
                assert step(app.screen) != before, f"stuck on {before}"
            await press(pilot, "enter")  # Install: asks first
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert app.installed
            await press(pilot, "enter")
            assert step(app.screen) == "test"
            codes = {
                f.code: f.status
                for f in app.screen.query_one("#test-findings", LiveFindings).findings
            }
            assert codes.get("proxy.ok") == "ok", codes
            # The demo's fake API holds the demo answers' secret: the signed proof passes.
            assert codes.get("proxy.slack_verified") == "ok", codes
            assert codes.get("proxy.teams_token_required") == "ok", codes
            assert app.sidebar_states("test")["install"] == "ok"
            await press(pilot, "enter")
            assert step(app.screen) == "done"
            await press(pilot, "enter")
        assert app.return_value == 0
        conf = demo.nginx_root / "conf.d" / "codestream-bastion.conf"
        assert str(demo.answers.bastion.listen_port) in conf.read_text()
    finally:
        nginx.stop()
    assert nginx.pid() is None, "the demo's nginx is stopped"


async def test_back_and_change_an_answer(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "enter")
        assert step(app.screen) == "public_ip"
        await press(pilot, "escape")
        assert step(app.screen) == "hostname"
        await press(pilot, "escape")
        assert step(app.screen) == "welcome"
        await press(pilot, "up")  # Slack and Microsoft Teams -> Microsoft Teams
        assert app.answers.mode == "msteams"
        await press(pilot, "enter")
        assert step(app.screen) == "hostname"
        field = app.screen.query_one("#hostname", CheckedField)
        assert field.value == "bastion.demo.test", "the earlier answer is kept"
        demo.add_name("other.demo.test")
        await type_into(pilot, "#hostname Input", "other.demo.test")
        await press(pilot, "enter")
        assert step(app.screen) == "public_ip"
    saved = load_answers(demo.state_path, partial=True)
    assert saved.mode == "msteams"
    assert saved.bastion.hostname == "other.demo.test"
    assert demo.state_path.with_name("state.toml.step").read_text().split()[0] == "public_ip"
    assert stat.S_IMODE(demo.state_path.stat().st_mode) == 0o600


async def test_slack_without_exposure_skips_the_bastion_steps(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "down")  # -> Slack only, without exposure
        assert app.answers.mode == "slack-no-exposure"
        note = str(app.screen.query_one("#mode-note").render())
        assert "will NOT work" in note
        states = app.sidebar_states("welcome")
        for skipped in ("hostname", "public_ip", "certificate", "upstream", "install", "test"):
            assert states[skipped] == "skipped"
        await press(pilot, "enter")
        assert step(app.screen) == "credentials"
        assert not app.screen.query("#msteams-app-id"), "no Teams fields for Slack only"
        await press(pilot, "enter")
        assert step(app.screen) == "review"
        codes = {f.code for f in app.screen.query_one("#review-findings", LiveFindings).findings}
        assert "mode.no_exposure" in codes
        await press(pilot, "enter")
        assert step(app.screen) == "done"
        await press(pilot, "escape")
        assert step(app.screen) == "review", "Back skips the skipped steps too"
    snippet = json.loads((demo.output_dir / "codestream-messaging.json").read_text())
    assert "false" in json.dumps(snippet).lower()
    assert not (demo.output_dir / "codestream-bastion.conf").exists()


async def test_ctrl_c_asks_before_leaving(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        await press(pilot, "ctrl+c")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert step(app.screen) == "hostname"
        await press(pilot, "ctrl+c", "ctrl+c")
    assert app.return_value == 1
    assert demo.state_path.with_name("state.toml.step").read_text().split()[0] == "hostname"


async def test_f1_explains_the_current_step(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "f1")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.step == "hostname"
        await press(pilot, "escape")
        assert step(app.screen) == "hostname"


async def test_keys_are_shown_in_the_footer(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def shown() -> set[str]:
            return {
                binding.action
                for _, binding, enabled, _ in app.screen.active_bindings.values()
                if enabled and binding.show
            }

        assert {"help", "next", "request_quit"} <= shown()
        assert "back" not in shown(), "nothing before the first step"
        assert isinstance(app.focused, OptionList)
        await press(pilot, "enter")
        assert {"help", "back", "next", "request_quit"} <= shown()
        assert isinstance(app.focused, Input)


@pytest.mark.nginx
@pytest.mark.skipif(find_binary("nginx") is None, reason="needs a real nginx binary")
async def test_install_failing_nginx_test_is_rolled_back(demo: Demo) -> None:
    nginx = DemoNginx.find(demo.nginx_root)
    assert nginx is not None
    nginx.start()
    broken = demo.nginx_root / "conf.d" / "zz-broken.conf"
    try:
        app = demo.app(nginx=nginx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            while step(app.screen) != "install":
                await press(pilot, "enter")
            broken.write_text("this_is_not_a_directive;\n")
            await press(pilot, "enter", "y")
            assert not app.installed
            found = app.screen.query_one("#install-result", LiveFindings).findings
            codes = {f.code: f.status for f in found}
            assert codes["install.failed"] == "fail"
            assert codes["install.rolled_back"] == "ok"
            assert "this_is_not_a_directive" in found[0].detail, "nginx's own message"
            await press(pilot, "escape")
            assert step(app.screen) == "review"
        conf = demo.nginx_root / "conf.d" / "codestream-bastion.conf"
        assert not conf.exists(), "the new server block was taken back"
    finally:
        broken.unlink(missing_ok=True)
        nginx.stop()


def test_a_hangup_ends_the_demo_cleanly() -> None:
    def hang_up() -> None:
        with exit_on_hangup():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1)

    before = signal.getsignal(signal.SIGHUP)
    with pytest.raises(SystemExit):
        hang_up()  # so that the demo's finally blocks stop nginx and remove its files
    assert signal.getsignal(signal.SIGHUP) is before
