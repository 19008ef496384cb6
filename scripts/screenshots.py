"""Screenshots of every step of the demo, taken from the real app at 80x24 and 120x40.

Drives ``codestream-bastion demo`` with Textual's Pilot (``App.run_test``) the
way an admin would, keyboard only, and saves an SVG of each screen with
``App.save_screenshot`` into ``screenshots/`` (80x24: the one-line step
indicator, F2 for the sidebar) and ``screenshots/120x40/`` (the sidebar).
Where nginx is installed the Install and Test steps run for real (a demo
nginx master on loopback).

Usage: ``.venv/bin/python scripts/screenshots.py [--out screenshots]``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from wizard.commands.demo import started_demo_session
from wizard.demo.environment import running_demo
from wizard.tui.app import WizardApp
from wizard.tui.testing import press, settle

SIZES: tuple[tuple[int, int], ...] = ((80, 24), (120, 40))
ROOT = Path(__file__).resolve().parent.parent


class Camera:
    """Saves numbered screenshots of one running app."""

    def __init__(self, app: WizardApp, out: Path) -> None:
        self.app = app
        self.out = out
        self.count = 0

    def shoot(self, name: str) -> None:
        """Save the current screen as ``NN-name.svg``."""
        self.count += 1
        filename = f"{self.count:02d}-{name}.svg"
        self.app.save_screenshot(filename, str(self.out))
        print(f"  {filename}")


async def paste(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Replace an input's text at once (as a terminal paste does)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await settle(pilot)


async def tour(pilot: Pilot[Any], camera: Camera) -> None:
    """Every step, a few mistakes on the way, keyboard only."""
    app = camera.app
    await settle(pilot)
    camera.shoot("welcome")
    await press(pilot, "down")
    camera.shoot("welcome-slack-without-exposure")
    await press(pilot, "up", "f1")
    camera.shoot("help")
    await press(pilot, "escape", "enter")
    camera.shoot("hostname")
    await press(pilot, "f2")
    camera.shoot("hostname-f2-steps")
    await press(pilot, "f2")
    good = app.answers.bastion.hostname
    await paste(pilot, "#hostname Input", "bastion_1.demo.test")
    camera.shoot("hostname-syntax-error")
    await paste(pilot, "#hostname Input", "nothere.demo.test")
    await press(pilot, "enter")
    camera.shoot("hostname-nxdomain-refused")
    await paste(pilot, "#hostname Input", good)
    await press(pilot, "enter")
    camera.shoot("public-ip")
    await press(pilot, "enter")
    camera.shoot("certificate")
    good_cert = app.screen.query_one("#certificate .main-input", Input).value
    wrong = good_cert.replace("/bastion.demo.test/", "/wrong-host/")
    await paste(pilot, "#private-key", wrong.replace("fullchain.pem", "privkey.pem"))
    await paste(pilot, "#certificate .main-input", wrong)
    await press(pilot, "enter", "pagedown")
    camera.shoot("certificate-wrong-host-refused")
    await paste(pilot, "#private-key", good_cert.replace("fullchain.pem", "privkey.pem"))
    await paste(pilot, "#certificate .main-input", good_cert)
    await press(pilot, "enter")
    camera.shoot("codestream-api")
    await press(pilot, "enter")
    camera.shoot("provider-app")
    await press(pilot, "enter")
    camera.shoot("credentials")
    await press(pilot, "enter")
    camera.shoot("review")
    await press(pilot, "pagedown", "pagedown")
    camera.shoot("review-files")
    await press(pilot, "enter")
    if app.current_step == "install":
        camera.shoot("install")
        await press(pilot, "enter")
        camera.shoot("install-confirm")
        await press(pilot, "y")
        camera.shoot("install-done")
        await press(pilot, "enter")
        camera.shoot("test")
        await press(pilot, "enter")
    camera.shoot("done")
    await press(pilot, "down", "c")
    camera.shoot("done-copied")
    await press(pilot, "p")
    camera.shoot("done-plain")
    await press(pilot, "escape", "ctrl+c")
    camera.shoot("quit")
    await press(pilot, "y")


async def take(out: Path, demo_dir: Path, size: tuple[int, int]) -> int:
    """Run the demo in ``demo_dir`` and save the screenshots at ``size`` into ``out``."""
    with running_demo(demo_dir, timeout=3.0) as (env, answers_path):
        session = started_demo_session(env, answers_path)
        try:
            app = WizardApp(session)
            camera = Camera(app, out)
            async with app.run_test(size=size) as pilot:
                await tour(pilot, camera)
        finally:
            if session.demo_nginx is not None:
                session.demo_nginx.stop()
    if not session.nginx_usable:
        print(f"  (no Install/Test screenshots: {session.nginx_note})")
    return camera.count


def main() -> int:
    """Take every screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    for size in SIZES:
        out: Path = args.out if size == SIZES[0] else args.out / f"{size[0]}x{size[1]}"
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.svg"):
            old.unlink()
        # A fixed directory keeps the paths shown identical from one run to the next.
        demo_dir = Path(tempfile.gettempdir()) / "codestream-bastion-screenshots"
        shutil.rmtree(demo_dir, ignore_errors=True)
        try:
            count = asyncio.run(take(out, demo_dir, size))
        finally:
            shutil.rmtree(demo_dir, ignore_errors=True)
        print(f"{count} screenshots at {size[0]}x{size[1]} in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
