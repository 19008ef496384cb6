"""The CodeStream snippet: the ``integrations`` JSON for the release in front of the bastion.

What each release reads (block names, Slack families, the Teams key pairs)
is :mod:`wizard.releases`, with its sources; empty credentials become
:data:`PLACEHOLDERS`. The snippet is 0600 when it holds a secret. A release
too old to load the keys of the mode's providers gets no snippet at all
(:func:`wizard.releases.unsupported_release`): render refuses it.
"""

from __future__ import annotations

import json
from typing import Any

from wizard.answers import Answers
from wizard.releases import ConfigShape
from wizard.render.core import RenderError

PLACEHOLDERS: dict[str, str] = {
    "slack.app_id": "<SLACK_APP_ID>",
    "slack.client_id": "<SLACK_CLIENT_ID>",
    "slack.client_secret": "<SLACK_CLIENT_SECRET>",
    "slack.signing_secret": "<SLACK_SIGNING_SECRET>",
    "msteams.app_id": "<MSTEAMS_APP_ID>",
    "msteams.app_password": "<MSTEAMS_APP_PASSWORD>",
}


def answer_value(answers: Answers, key: str) -> str:
    """The answer at a dotted ``section.name`` key, e.g. ``slack.client_id``."""
    section, name = key.split(".")
    value: str = getattr(getattr(answers, section), name)
    return value


def uses_section(answers: Answers, key: str) -> bool:
    """Whether the mode uses the provider of ``key`` (``slack.*`` or ``msteams.*``)."""
    return answers.uses_slack if key.startswith("slack.") else answers.uses_msteams


def _value(answer: str, key: str) -> str:
    return answer if answer.strip() else PLACEHOLDERS[key]


def config_shape(answers: Answers, detected: str | None = None) -> ConfigShape:
    """What the CodeStream release in front of the bastion reads.

    ``[codestream] release`` wins; else ``detected`` (the ``X-CS-API-Version``
    the live probe saw); else the release is unknown and the shape of current
    releases applies (see :mod:`wizard.releases` for why not a superset).
    """
    from wizard.releases import parse_release, shape_for

    for text in (answers.codestream.release, detected or ""):
        if text.strip():
            try:
                return shape_for(parse_release(text))
            except ValueError:
                continue  # a bad answers key is reported by validation
    return shape_for(None)


def release_problem(answers: Answers, shape: ConfigShape) -> str | None:
    """``"codestream.release: ..."`` when the release cannot load the mode's keys, else ``None``."""
    from wizard.releases import unsupported_release

    if shape.release is None:
        return None
    problem = unsupported_release(shape.release, answers.uses_slack, answers.uses_msteams)
    if problem is None:
        return None
    if not answers.codestream.release.strip():
        problem += " (the release is the X-CS-API-Version the API reported)"
    return f"codestream.release: {problem}"


def render_snippet(answers: Answers, shape: ConfigShape) -> tuple[bytes, bool]:
    """The CodeStream ``integrations`` JSON for ``shape``, and whether it holds a secret.

    Raises:
        RenderError: When the release cannot load the keys the mode needs
            (:func:`release_problem`).
    """
    from wizard.releases import slack_properties

    problem = release_problem(answers, shape)
    if problem is not None:
        raise RenderError([problem])
    integrations: dict[str, Any] = {}
    secret = False
    if answers.uses_slack:
        s = answers.slack
        block: dict[str, Any] = slack_properties(
            shape.slack_families,
            _value(s.app_id, "slack.app_id"),
            _value(s.client_id, "slack.client_id"),
            _value(s.client_secret, "slack.client_secret"),
            _value(s.signing_secret, "slack.signing_secret"),
        )
        block["interactiveComponentsEnabled"] = answers.exposes_bastion
        integrations["slack"] = {shape.slack_block: block}
        secret = secret or bool(s.client_secret.strip() or s.signing_secret.strip())
    if answers.uses_msteams:
        m = answers.msteams
        app_id = _value(m.app_id, "msteams.app_id")
        password = _value(m.app_password, "msteams.app_password")
        # One bot registration serves both pairs: botApp* is read up to API
        # 14.0.14, appClient* from 14.0.15 (wizard.releases).
        integrations["msteams"] = {
            shape.msteams_block: {
                "appClientId": app_id,
                "appClientSecret": password,
                "botAppId": app_id,
                "botAppPassword": password,
            }
        }
        secret = secret or bool(m.app_password.strip())
    text = json.dumps({"integrations": integrations}, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8"), secret
