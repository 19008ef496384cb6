"""Step 6, Provider app: create the Slack app and register the Azure bot, before the credentials.

The Credentials step asks for ids and secrets that exist only once the app
does, so this step comes first: for Slack, a one-click link that opens
Slack's "create app" dialog with the manifest filled in (the URLs and scopes
of these answers), the manifest itself, and where the new app shows its
credentials; for Teams, the Azure Bot registration with its messaging
endpoint. Every value is copyable (``c``) or shown plain (``p``).

Without a bastion (Slack without exposure) the CodeStream API step is
skipped, yet the app's OAuth redirect is on the API: its URL is asked here.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget

from wizard.answers import Answers
from wizard.checks.api_url import api_url_error
from wizard.findings import API_URL
from wizard.tui.paste import PasteLine, provider_app_steps
from wizard.tui.screens.values_step import ValuesStepScreen
from wizard.tui.widgets.field import CheckedField
from wizard.tui.widgets.values import CopyValue, NextSteps


class ProviderAppScreen(ValuesStepScreen):
    """The Slack app from its manifest, the Azure bot: what to do in each console."""

    STEP = "provider_app"
    TITLE = "Create the provider app"
    HINT = "Up/Down: pick a value.  c: copy it.  p: all values plain.  Enter: next step."

    @property
    def asks_api_url(self) -> bool:
        """Slack without a bastion: no API step, but the app's redirect is on the API."""
        return self.answers.uses_slack and not self.answers.exposes_bastion

    def compose_body(self) -> ComposeResult:
        """The API URL when no other step asked it; the steps in each provider's console."""
        if self.asks_api_url:
            yield CheckedField(
                f"{API_URL.field} (as your users reach it)",
                self.answers.codestream.api_url,
                syntax=api_url_error,
                placeholder="https://codestream.my-company.com",
                id="api-url",
            )
        yield NextSteps(self.lines(), id="app-steps")

    def lines(self) -> list[PasteLine]:
        """What to do in Slack's and Azure's consoles, for the answers so far."""
        from wizard.render import RenderError, slack_app_manifest

        try:
            manifest = slack_app_manifest(self.answers, self.wizard.release)
        except RenderError:
            manifest = None
        return provider_app_steps(self.answers, manifest)

    def initial_focus(self) -> Widget:
        """The API URL when asked, else the first value (so ``c`` copies the link)."""
        if self.asks_api_url:
            return self.query_one("#api-url", CheckedField).input
        first = next(iter(self.query(CopyValue)), None)
        return first if first is not None else super().initial_focus()

    @on(CheckedField.Settled, "#api-url")
    async def _api_url_settled(self, event: CheckedField.Settled) -> None:
        """A well-formed API URL goes into the manifest and the link at once."""
        if event.field.blocking:
            return
        self.store(self.answers)
        await self.query_one("#app-steps", NextSteps).remove()
        await self.query_one("#body").mount(NextSteps(self.lines(), id="app-steps"))

    def store(self, answers: Answers) -> None:
        """The API URL, when this step asked it."""
        for field in self.query("#api-url").results(CheckedField):
            answers.codestream.api_url = field.value.strip()
