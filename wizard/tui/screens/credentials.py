"""Step 6, Credentials: the Slack app's and the Azure bot's identifiers and secrets.

All optional: the snippet gets placeholders where a value is left empty.
Secrets are masked (Ctrl+T shows them while typing); identifiers are shown so
typos can be spotted. Nothing here touches the network.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Checkbox, Static

from wizard.answers import Answers
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.field import CheckedField

# (widget id, section, key, label, secret)
CREDENTIALS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("slack-app-id", "slack", "app_id", "Slack App ID", False),
    ("slack-client-id", "slack", "client_id", "Slack Client ID", False),
    ("slack-client-secret", "slack", "client_secret", "Slack Client Secret", True),
    ("slack-signing-secret", "slack", "signing_secret", "Slack Signing Secret", True),
    ("msteams-app-id", "msteams", "app_id", "Microsoft App ID (Azure Bot)", False),
    ("msteams-app-password", "msteams", "app_password", "Microsoft App password", True),
)


def credential_syntax_error(text: str) -> str | None:
    """Offline: one token, no blanks (they are always copy-and-paste accidents)."""
    if text != text.strip():
        return "remove the blanks before or after the value"
    if any(ch.isspace() for ch in text):
        return "the value has a blank inside: copy it again from the provider's page"
    return None


class CredentialsScreen(StepScreen):
    """Optional provider credentials, secrets masked."""

    STEP = "credentials"
    TITLE = "Provider credentials (optional)"
    HINT = "All optional.  Ctrl+T shows the secrets.  Enter: next step."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "toggle_secrets", "Show secrets"),
    ]

    def compose_body(self) -> ComposeResult:
        """One field per credential of the chosen providers."""
        answers = self.answers
        yield Static(
            "Leave a field empty to fill it in later: the snippet gets a placeholder.",
            classes="note",
        )
        for widget_id, section, key, label, secret in CREDENTIALS:
            if (section == "slack" and not answers.uses_slack) or (
                section == "msteams" and not answers.uses_msteams
            ):
                continue
            yield CheckedField(
                label,
                getattr(getattr(answers, section), key),
                syntax=credential_syntax_error,
                optional=True,
                password=secret,
                id=widget_id,
            )
        if answers.uses_slack and answers.exposes_bastion:
            yield Checkbox(
                "Expose the Slack Events API endpoint (slack-events)",
                answers.slack.events,
                id="slack-events",
            )

    def action_toggle_secrets(self) -> None:
        """Show or mask the secret fields."""
        for widget_id, *_rest, secret in CREDENTIALS:
            if secret:
                for field in self.query(f"#{widget_id}").results(CheckedField):
                    field.input.password = not field.input.password

    def store(self, answers: Answers) -> None:
        """Every credential shown, and the events choice."""
        for field in self.query(CheckedField):
            _, section, key, _, _ = next(c for c in CREDENTIALS if c[0] == field.id)
            setattr(getattr(answers, section), key, field.value.strip())
        for box in self.query("#slack-events").results(Checkbox):
            answers.slack.events = box.value
