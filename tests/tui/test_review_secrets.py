"""The wizard's Review shows the one install diff: secrets masked, old ones included."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Static

from tests.tui.conftest import Demo
from tests.tui.test_flow import step
from wizard.demo.nginx import DemoNginx
from wizard.nginx import find_binary
from wizard.tui.testing import press, settle

OLD = "OLD-signing-secret-4f1e"
NEW = "NEW-signing-secret-9a0c"


@pytest.mark.nginx
@pytest.mark.skipif(find_binary("nginx") is None, reason="needs a real nginx binary")
async def test_review_masks_old_and_new_secrets(demo: Demo) -> None:
    nginx = DemoNginx.find(demo.nginx_root)
    assert nginx is not None
    demo.output_dir.mkdir(parents=True, exist_ok=True)
    old = {"integrations": {"slack": {"cloud": {"appSigningSecret": OLD}}}}
    snippet = demo.output_dir / "codestream-messaging.json"
    snippet.write_text(json.dumps(old, indent=2) + "\n")
    snippet.chmod(0o600)
    answers = demo.answers.copy()
    answers.slack.signing_secret = NEW
    nginx.start()
    try:
        app = demo.app(answers=answers, nginx=nginx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            while step(app.screen) != "review":
                await press(pilot, "enter")
            await settle(pilot)
            shown = str(app.screen.query_one("#diff", Static).content)
            assert "appSigningSecret" in shown
            assert "********" in shown
            assert OLD not in shown
            assert NEW not in shown
    finally:
        nginx.stop()
