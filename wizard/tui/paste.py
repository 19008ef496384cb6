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
            _say("Event Subscriptions Request URL (App Manifest page, from this manifest):"),
            _value("Slack events manifest", str(output_dir / SLACK_EVENTS_MANIFEST_NAME)),
            _value("Event Subscriptions Request URL", f"{base}{SLACK_EVENTS_ENDPOINT}"),
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


def _slack_app(answers: Answers, output_dir: Path, base: str) -> list[PasteLine]:
    """Creating the Slack app from its manifest, and the URLs the manifest carries."""
    api = answers.codestream.api_url.rstrip("/") or "https://<codestream-host>"
    lines = [
        _heading("Slack app (api.slack.com/apps, Create New App, From an app manifest)"),
        _say(f"Create {answers.slack.app_name!r} from this manifest:"),
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
        lines.append(_say(f"Set [msteams] app_id and render again for {TEAMS_PACKAGE_NAME}."))
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
