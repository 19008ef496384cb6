"""Fixtures for the TUI tests: the demo environment and a wizard app driven by Pilot.

The demo's files (certificates, CAs) are made once per session; every test
gets its own running servers (two DNS servers, the fake API), its own answers
and its own state and output directories, so tests can break things freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from wizard.answers import Answers
from wizard.demo.dns_server import DnsServer
from wizard.demo.environment import DemoEnvironment, DemoFiles, free_port
from wizard.demo.fake_api import FakeCodeStreamApi
from wizard.demo.nginx import DemoNginx
from wizard.tui.app import WizardApp
from wizard.tui.screens.base import StepScreen
from wizard.tui.session import WizardSession
from wizard.tui.state import StateStore
from wizard.tui.testing import press, settle
from wizard.tui.widgets.field import CheckedField


@dataclass
class Demo:
    """A running demo environment and the paths one test uses."""

    env: DemoEnvironment
    answers: Answers
    state_path: Path
    output_dir: Path
    nginx_root: Path

    @property
    def files(self) -> DemoFiles:
        """The demo's files."""
        return self.env.files

    @property
    def local_dns(self) -> DnsServer:
        """The bastion's own resolver."""
        assert self.env.local_dns is not None
        return self.env.local_dns

    @property
    def public_dns(self) -> DnsServer:
        """The resolver standing for the internet."""
        assert self.env.public_dns is not None
        return self.env.public_dns

    @property
    def api(self) -> FakeCodeStreamApi:
        """The fake CodeStream API."""
        assert self.env.api is not None
        return self.env.api

    def add_name(self, name: str, address: str = "127.0.0.1") -> None:
        """Make ``name`` resolve, locally and publicly, to ``address``."""
        for server in (self.local_dns, self.public_dns):
            server.set_records(name, "A", [address])

    def session(
        self,
        *,
        answers: Answers | None = None,
        nginx: DemoNginx | None = None,
        interfaces: tuple[str, ...] | None = ("127.0.0.1",),
    ) -> WizardSession:
        """A wizard session on this demo (Install and Test only with ``nginx``)."""
        ctx = replace(
            self.env.context(), interface_addresses=interfaces, nginx_root=self.nginx_root
        )
        return WizardSession(
            context=ctx,
            answers=(answers or self.answers).copy(),
            answers_path=self.output_dir / "answers.toml",
            state=StateStore(self.state_path),
            certificate_roots=(self.files.certs,),
            demo_nginx=nginx,
            nginx_usable=nginx is not None,
            nginx_note="" if nginx is not None else "No nginx in this test.",
            demo=True,
            output_dir=self.output_dir,
        )

    def app(
        self,
        *,
        answers: Answers | None = None,
        nginx: DemoNginx | None = None,
        interfaces: tuple[str, ...] | None = ("127.0.0.1",),
    ) -> WizardApp:
        """A wizard app on this demo; see :meth:`session`."""
        return WizardApp(self.session(answers=answers, nginx=nginx, interfaces=interfaces))


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """Certificates and CAs, made once."""
    files = DemoFiles(tmp_path_factory.mktemp("demo-files"))
    files.prepare()
    return files


@pytest.fixture
def demo(demo_files: DemoFiles, tmp_path: Path) -> Iterator[Demo]:
    """The demo's servers, running for one test, and answers that pass every check."""
    env = DemoEnvironment(demo_files, timeout=2.0).start()
    try:
        assert env.api is not None
        answers = demo_files.default_answers(env.api.port, free_port())
        yield Demo(
            env, answers, tmp_path / "state" / "state.toml", tmp_path / "out", tmp_path / "nginx"
        )
    finally:
        env.stop()


async def type_into(pilot: Pilot[int], selector: str, text: str) -> None:
    """Replace the text of the input ``selector`` by typing ``text`` key by key."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text)
    await settle(pilot)


async def paste_into(pilot: Pilot[int], selector: str, text: str) -> None:
    """Replace the text of the input ``selector`` at once, as a terminal paste does."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await settle(pilot)


def step(app: WizardApp) -> str:
    """The step shown ("" for a dialog or the plain view)."""
    return app.screen.STEP if isinstance(app.screen, StepScreen) else ""


def codes(field: CheckedField) -> dict[str, str]:
    """The field's findings: code -> status."""
    return {f.code: f.status for f in field.findings}


def world_readable_secret(tmp_path: Path, secret: str) -> Path:
    """A file holding ``secret``, mode 0644: the Credentials step refuses it as it is."""
    path = tmp_path / "signing-secret"
    path.write_text(secret + "\n")
    path.chmod(0o644)
    return path


async def open_the_signing_secret_file_field(pilot: Pilot[int]) -> CheckedField:
    """Enter through the demo to Credentials, Ctrl+F on the Slack signing secret; its file field."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    await settle(pilot)
    while step(app) != "credentials":
        await press(pilot, "enter")
    app.screen.query_one("#slack-signing-secret Input").focus()
    await press(pilot, "ctrl+f")
    return app.screen.query_one("#slack-signing-secret-file", CheckedField)
