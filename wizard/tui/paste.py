"""What the admin pastes elsewhere after the wizard, as data: headings, sentences, values.

Done and Review show the next steps from :func:`next_steps`; every URL, file
path and command in them is a :class:`PasteLine` of kind ``value``, shown on
a line of its own, never wrapped, and copyable with one key (OSC 52, see
:mod:`wizard.tui.widgets.values`). :func:`plain_text` is the same content
for a terminal without OSC 52 and for the words printed after the wizard
ends. No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.answers import Answers
from wizard.constants import (
    MSTEAMS_ENDPOINT,
    OAUTH_REDIRECT_PATH,
    SLACK_ENDPOINT,
    SLACK_EVENTS_ENDPOINT,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.findings import MSTEAMS_APP_ID
from wizard.provider_files import SLACK_BOT_EVENTS

LineKind = Literal["heading", "text", "value"]


@dataclass(frozen=True)
class PasteLine:
    """One line of the next steps.

    Attributes:
        kind: ``heading`` (a place: Slack, Azure ...), ``text`` (what to do)
            or ``value`` (something to paste elsewhere, exactly as shown).
        text: The words, or the value itself.
        label: For a value, what it is (the copy confirmation names it).
    """

    kind: LineKind
    text: str
    label: str = ""


def _heading(text: str) -> PasteLine:
    return PasteLine("heading", text)


def _say(text: str) -> PasteLine:
    return PasteLine("text", text)


def _value(label: str, value: str) -> PasteLine:
    return PasteLine("value", value, label)


def bastion_url(answers: Answers) -> str:
    """``https://<name>[:port]``, the name in its DNS (ASCII) form."""
    from wizard.checks.hostname import to_ascii_hostname

    try:
        host = to_ascii_hostname(answers.bastion.hostname)
    except ValueError:
        host = answers.bastion.hostname or "<bastion>"
    port = answers.bastion.listen_port
    return f"https://{host}" + ("" if port == 443 else f":{port}")


def next_steps(answers: Answers, output_dir: Path, answers_path: Path) -> list[PasteLine]:
    """The provider settings and the load commands, in the order they must be done.

    The same facts as ``next-steps.md`` (:mod:`wizard.render`), shortened: the
    Slack events URL only after the configuration is loaded, since Slack
    verifies it with a request signed with the app's signing secret.

    Args:
        answers: The answers (mode, names, credentials).
        output_dir: Where the snippet, manifests and Teams package are saved.
        answers_path: Where the final answers file is saved.
    """
    base = bastion_url(answers)
    lines: list[PasteLine] = []
    if answers.uses_slack:
        lines += _slack_app(answers, output_dir, base)
    if answers.uses_msteams:
        lines += [
            _heading("Azure Bot (portal.azure.com, Configuration)"),
            _say("Messaging endpoint:"),
            _value("Messaging endpoint", f"{base}{MSTEAMS_ENDPOINT}"),
        ]
    lines += _codestream_host(output_dir / answers.output.snippet)
    if answers.uses_slack and answers.exposes_bastion and answers.slack.events:
        lines += [
            _heading("Slack, after the configuration is loaded"),
            _say(
                "In the app's Event Subscriptions page: turn them on, give this Request "
                "URL, and under Subscribe to bot events add "
                + ", ".join(SLACK_BOT_EVENTS)
                + ", then Save Changes:"
            ),
            _value("Event Subscriptions Request URL", f"{base}{SLACK_EVENTS_ENDPOINT}"),
            _say("Or paste this manifest in the app's App Manifest page:"),
            _value("Slack events manifest", str(output_dir / SLACK_EVENTS_MANIFEST_NAME)),
        ]
    if answers.uses_msteams:
        lines += _teams_app(answers, output_dir, base.removeprefix("https://").split(":")[0])
    command = f"codestream-bastion check --answers {answers_path}"
    if answers.exposes_bastion:
        command += " --post-install"
    lines += [
        _heading("Later"),
        _say("Prove it all again ('apply' with the same file re-installs):"),
        _value("Check command", command),
    ]
    return lines


def provider_app_steps(answers: Answers, manifest: bytes | None) -> list[PasteLine]:
    """Creating the Slack app and registering the Azure bot, before their credentials are asked.

    The admin leaves with the ids and secrets the provider's console shows
    once the app exists, and the Credentials step (next) asks for exactly
    those. The Slack part is a one-click link carrying the manifest, the
    manifest itself (for "From an app manifest"), and where the credentials
    are; the Teams part is the Azure Bot registration, in the portal's words.

    Args:
        answers: The answers so far (mode, host name, API URL, app name).
        manifest: The Slack app manifest (:func:`wizard.render.slack_app_manifest`),
            ``None`` when the release predates manifests.
    """
    lines: list[PasteLine] = []
    if answers.uses_slack:
        lines += _slack_create(answers, manifest)
    if answers.uses_msteams:
        lines += _azure_bot(bastion_url(answers))
    return lines


def _slack_create(answers: Answers, manifest: bytes | None) -> list[PasteLine]:
    """The Slack app: the link, the manifest, and where its credentials are shown."""
    import json

    from wizard.render import slack_create_app_link

    name = answers.slack.app_name
    if manifest is None:
        api = answers.codestream.api_url.rstrip("/") or "https://<codestream-host>"
        return [
            _heading("Slack: create the app (api.slack.com/apps)"),
            _say(
                "This CodeStream release signs in with Slack's classic OAuth, which an app "
                "manifest cannot describe: Create New App, From scratch, name it "
                f"{name!r}, and add this OAuth Redirect URL (OAuth & Permissions):"
            ),
            _value("OAuth Redirect URL", f"{api}{OAUTH_REDIRECT_PATH}"),
            *_slack_credentials(),
        ]
    compact = json.dumps(json.loads(manifest), separators=(",", ":"), ensure_ascii=False)
    lines = [
        _heading("Slack: create the app"),
        _say(
            "1. Open this link in a browser signed in to your Slack workspace (c copies "
            f"it): it creates {name!r} with its URLs and scopes filled in."
        ),
        _value("Slack create-app link", slack_create_app_link(manifest)),
        _say(
            "Or, at api.slack.com/apps: Create New App, From an app manifest, then "
            "paste this manifest (JSON):"
        ),
        _value("Slack app manifest", compact),
        _say("2. Pick your workspace, Next, then Create."),
        *_slack_credentials(),
    ]
    if answers.exposes_bastion and answers.slack.events:
        lines.append(
            _say(
                "Event Subscriptions come later (Done lists them): Slack checks that URL "
                "with a request CodeStream answers only once it has the Signing Secret."
            )
        )
    elif not answers.exposes_bastion:
        lines.append(_say("Interactivity stays off: replies from inside Slack will not work."))
    return lines


def _slack_credentials() -> list[PasteLine]:
    return [
        _say(
            "3. On the new app's Basic Information page, under App Credentials: App ID, "
            "Client ID, Client Secret and Signing Secret. The next step asks for them."
        )
    ]


def _azure_bot(base: str) -> list[PasteLine]:
    """Registering the Azure bot: the resource, its messaging endpoint, its id and password."""
    return [
        _heading("Microsoft Teams: register the Azure bot (portal.azure.com)"),
        _say(
            "1. Create a resource, Azure Bot: a bot handle, your subscription and "
            "resource group, Type of App Multi Tenant, Creation type 'Create new "
            "Microsoft App ID', then Create."
        ),
        _say("2. In the bot's Configuration, set the Messaging endpoint (c copies it):"),
        _value("Messaging endpoint", f"{base}{MSTEAMS_ENDPOINT}"),
        _say("3. Channels: add Microsoft Teams."),
        _say(
            "4. Configuration shows the Microsoft App ID; Manage Password next to it, "
            "New client secret, gives the password. The next step asks for both; the "
            "Teams app package that names the bot is written at the end."
        ),
    ]


def _slack_app(answers: Answers, output_dir: Path, base: str) -> list[PasteLine]:
    """Creating the Slack app from its manifest, and the URLs the manifest carries."""
    api = answers.codestream.api_url.rstrip("/") or "https://<codestream-host>"
    lines = [
        _heading("Slack app (api.slack.com/apps)"),
        _say(f"{answers.slack.app_name!r} is created (step Provider app) from this manifest:"),
        _value("Slack app manifest", str(output_dir / SLACK_MANIFEST_NAME)),
        _say("OAuth Redirect URL (in the manifest):"),
        _value("OAuth Redirect URL", f"{api}{OAUTH_REDIRECT_PATH}"),
    ]
    if answers.exposes_bastion:
        return [
            *lines,
            _say("Interactivity Request URL (in the manifest):"),
            _value("Interactivity Request URL", f"{base}{SLACK_ENDPOINT}"),
        ]
    return [
        *lines,
        _say("Interactivity: off, no request URL (replies from Slack will not work)."),
    ]


def _codestream_host(snippet: Path) -> list[PasteLine]:
    """Loading the snippet: dump on the CodeStream host, merge here, load there.

    codestream-bastion is installed on this host, not on the CodeStream host, so
    the merge runs here (``next-steps.md`` has every release's way).
    """
    from wizard.render import load_commands
    from wizard.render.next_steps import FILE_CONFIG_NAME, MERGED_CONFIG_NAME, bastion_merge

    load = load_commands(snippet.name)
    fetch, merge, put = bastion_merge(MERGED_CONFIG_NAME, str(snippet))
    file_fetch, file_merge, file_put = bastion_merge(FILE_CONFIG_NAME, str(snippet))
    return [
        _heading("CodeStream configuration"),
        _say("On the CodeStream host (database-backed, 8.2.25 and later):"),
        _value("Dump the active configuration", load.dump),
        _say("On this host (CODESTREAM_HOST: the CodeStream host's name):"),
        _value("Copy it here", fetch),
        _value("Merge the snippet into it", merge),
        _value("Copy it back", put),
        _say("On the CodeStream host:"),
        _value("Load and activate it", load.load),
        _value("Restart CodeStream", load.restart),
        _say("File-based instead (CSSVC_CFG_FILE), on this host, then restart there:"),
        _value("Copy the config file here", file_fetch),
        _value("Merge the snippet into the config file", file_merge),
        _value("Copy it back", file_put),
    ]


def _teams_app(answers: Answers, output_dir: Path, host: str) -> list[PasteLine]:
    """Uploading the Teams app package, and the domain it names."""
    from wizard.provider_files import TEAMS_PACKAGE_NAME

    lines = [_heading("Microsoft Teams")]
    if answers.msteams.app_id.strip():
        lines += [
            _say("Upload the app package (Apps, Manage your apps, Upload an app):"),
            _value("Teams app package", str(output_dir / TEAMS_PACKAGE_NAME)),
        ]
    else:
        lines.append(
            _say(
                f"No {TEAMS_PACKAGE_NAME} yet: it needs {MSTEAMS_APP_ID.in_wizard}, "
                "which was left empty."
            )
        )
    return [*lines, _say("validDomains of the app (in the package):"), _value("validDomain", host)]


def values(lines: Iterable[PasteLine]) -> list[PasteLine]:
    """The values among ``lines``, in order."""
    return [line for line in lines if line.kind == "value"]


def plain_text(lines: Sequence[PasteLine], *, indent: str = "") -> str:
    """``lines`` as plain text: every value alone on its line, whole, at the margin.

    Args:
        lines: The next steps.
        indent: Put before headings and sentences (never before a value, so a
            triple click selects exactly the value).
    """
    out: list[str] = []
    for line in lines:
        if line.kind == "heading" and out:
            out.append("")
        out.append(line.text if line.kind == "value" else indent + line.text)
    return "\n".join(out) + "\n"
