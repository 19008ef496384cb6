"""Step 7, Credentials: the Slack app's and the Azure bot's identifiers and secrets.

Asked after the Provider app step, where the app and the bot were created:
each label says where its console shows the value.

All optional: the snippet gets placeholders where a value is left empty.
Secrets are masked (Ctrl+T shows them while typing); identifiers are shown so
typos can be spotted. Nothing here touches the network.

A secret can instead be read from a file (Ctrl+F on its field): the field
then takes the file's absolute path, checked live as the answers loader reads
it (:func:`wizard.secrets_source.resolve_secrets`: a regular file, one line,
not readable by every user). The saved answers, and the resume state, keep
``K_file = "/path"``, never the value (:func:`wizard.secrets_source.saved_form`).
"""

from __future__ import annotations

import os
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Checkbox, Static

from wizard.answers import Answers
from wizard.findings import MSTEAMS_APP_ID, Finding, fail
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.field import CheckedField

# (widget id, section, key, label, secret)
CREDENTIALS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("slack-app-id", "slack", "app_id", "Slack App ID (Basic Information)", False),
    ("slack-client-id", "slack", "client_id", "Slack Client ID", False),
    ("slack-client-secret", "slack", "client_secret", "Slack Client Secret", True),
    ("slack-signing-secret", "slack", "signing_secret", "Slack Signing Secret", True),
    ("msteams-app-id", "msteams", "app_id", f"{MSTEAMS_APP_ID.field} (Azure Bot)", False),
    ("msteams-app-password", "msteams", "app_password", "Microsoft App password", True),
)
FILE_ID = "-file"
"""Suffix of the widget id of a secret's "read it from a file" field."""


def credential_syntax_error(text: str) -> str | None:
    """Offline: one token, no blanks (they are always copy-and-paste accidents)."""
    if text != text.strip():
        return "remove the blanks before or after the value"
    if any(ch.isspace() for ch in text):
        return "the value has a blank inside: copy it again from the provider's page"
    return None


def secret_path_error(text: str) -> str | None:
    """Offline: an absolute path (the answers file takes nothing else)."""
    if not os.path.isabs(text.strip()):
        return "give the full path of the file holding the secret (/...)"
    return None


async def check_secret_file(section: str, key: str, path: str) -> list[Finding]:
    """Read the secret file as the answers loader will, and judge how it is kept.

    Returns:
        ``secrets.sources`` (and ``secrets.file_readable`` for a file every user
        can read), or ``secrets.file_unusable`` saying what is wrong with it.
    """
    import asyncio

    from wizard.checks.secrets import check_secrets
    from wizard.secrets_source import FILE_SUFFIX, SecretSourceError, resolve_secrets

    data: dict[str, object] = {section: {key + FILE_SUFFIX: path.strip()}}
    try:
        sources = await asyncio.to_thread(resolve_secrets, data, {})
    except SecretSourceError as exc:
        return [
            fail(
                "secrets.file_unusable",
                f"The file for {section}.{key} cannot be used",
                exc.message,
                "Point at a regular file holding only the secret, one line, readable by "
                "the user running codestream-bastion (chmod 600).",
            )
        ]
    return check_secrets(sources)


class CredentialsScreen(StepScreen):
    """Optional provider credentials, secrets masked or read from files."""

    STEP = "credentials"
    TITLE = "Provider credentials (optional)"
    HINT = "All optional.  Ctrl+T: show the secrets.  Ctrl+F: a secret from a file."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "toggle_secrets", "Secrets"),
        Binding("ctrl+f", "toggle_file", "From file"),
    ]

    def compose_body(self) -> ComposeResult:
        """One field per credential of the chosen providers; a file field per secret."""
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
            source = answers.secret_sources.by_key.get(f"{section}.{key}")
            from_file = secret and source is not None and source.kind == "file"
            typed = CheckedField(
                label,
                "" if from_file else getattr(getattr(answers, section), key),
                syntax=credential_syntax_error,
                optional=True,
                password=secret,
                id=widget_id,
            )
            typed.display = not from_file
            yield typed
            if secret:
                path = CheckedField(
                    f"{label}: the file holding it (absolute path)",
                    source.where if from_file and source is not None else "",
                    syntax=secret_path_error,
                    check=partial(check_secret_file, section, key),
                    optional=True,
                    progress="Reading the file",
                    placeholder="/etc/codestream-bastion/" + key.replace("_", "-"),
                    id=widget_id + FILE_ID,
                )
                path.display = from_file
                yield path
        if answers.uses_slack and answers.exposes_bastion:
            yield Checkbox(
                "Expose the Slack Events API endpoint (slack-events)",
                answers.slack.events,
                id="slack-events",
            )

    def fields(self) -> list[CheckedField]:
        """The fields shown (a secret is typed or read from a file, not both)."""
        return [field for field in super().fields() if field.display]

    def action_toggle_secrets(self) -> None:
        """Show or mask the secret fields."""
        for widget_id, *_rest, secret in CREDENTIALS:
            if secret:
                for field in self.query(f"#{widget_id}").results(CheckedField):
                    field.input.password = not field.input.password

    def action_toggle_file(self) -> None:
        """Switch the focused secret (else the first one) between typed and read from a file."""
        secrets = [c[0] for c in CREDENTIALS if c[4] and self.query(f"#{c[0]}")]
        if not secrets:
            self.say("No secret on this step for these providers.", problem=True)
            return
        focused = self.focused
        around = focused.ancestors_with_self if focused is not None else []
        field = next((a for a in around if isinstance(a, CheckedField)), None)
        chosen = field.id.removesuffix(FILE_ID) if field and field.id else ""
        widget_id = chosen if chosen in secrets else secrets[0]
        typed = self.query_one(f"#{widget_id}", CheckedField)
        from_file = self.query_one(f"#{widget_id}{FILE_ID}", CheckedField)
        typed.display, from_file.display = from_file.display, typed.display
        shown = typed if typed.display else from_file
        shown.input.focus()
        self.say(
            f"{typed.label}: "
            + ("typed here." if typed.display else "read from a file; the answers keep its path.")
        )

    def store(self, answers: Answers) -> None:
        """Every credential shown (a secret from a file: its value, and the file as its source)."""
        for field in self.query(CheckedField):
            widget_id = (field.id or "").removesuffix(FILE_ID)
            _, section, key, _, _ = next(c for c in CREDENTIALS if c[0] == widget_id)
            if not field.display:
                continue
            dotted = f"{section}.{key}"
            if field.id and field.id.endswith(FILE_ID):
                self._store_file(answers, section, key, field.value.strip())
            else:
                setattr(getattr(answers, section), key, field.value.strip())
                if field.id in {c[0] for c in CREDENTIALS if c[4]}:
                    answers.secret_sources.by_key.pop(dotted, None)
        for box in self.query("#slack-events").results(Checkbox):
            answers.slack.events = box.value

    @staticmethod
    def _store_file(answers: Answers, section: str, key: str, path: str) -> None:
        """Take the secret from ``path`` (left as it was when the file cannot be read yet)."""
        from wizard.secrets_source import FILE_SUFFIX, SecretSourceError, resolve_secrets

        dotted = f"{section}.{key}"
        if not path:
            setattr(getattr(answers, section), key, "")
            answers.secret_sources.by_key.pop(dotted, None)
            return
        try:
            sources = resolve_secrets({section: {key + FILE_SUFFIX: path}}, {})
        except SecretSourceError:
            return  # Next refuses it (its live check fails); Back keeps the old value
        source = sources.by_key[dotted]
        setattr(getattr(answers, section), key, source.value)
        answers.secret_sources.by_key[dotted] = source
