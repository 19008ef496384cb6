"""The Slack app manifests: the one to create the app with, and the one that adds the events.

None for a release before 8.2.10: it signs in with Slack's classic OAuth
(``oauth/authorize`` with classic scopes such as ``chat:write:user``, in
``api_server/modules/slack_auth/slack_auth.js`` until commit 6358e9628), which
needs a classic Slack app; an app manifest only describes OAuth v2 apps with
granular scopes, so a manifest would create an app that release cannot use.
``next-steps.md`` says so instead (:func:`wizard.releases.slack_manifest_applies`).
"""

from __future__ import annotations

import json

from wizard.answers import Answers
from wizard.constants import SLACK_EVENTS_MANIFEST_NAME, SLACK_MANIFEST_NAME
from wizard.releases import ConfigShape
from wizard.render.core import RenderedFile
from wizard.render.urls import Urls, events_url

SLACK_CREATE_APP = "https://api.slack.com/apps?new_app=1&manifest_json="
"""Slack's "create an app from this manifest" link, the manifest URL-encoded after it.

As Slack's own "Create app" button takes it (coder/blink,
``internal/site/lib/slack-manifest.ts``: ``encodeURIComponent(JSON.stringify(manifest))``).
"""


def slack_create_app_link(manifest: bytes) -> str:
    """The one-click link that opens Slack's "create app" dialog with ``manifest`` filled in.

    The JSON is made compact first (the link stays as short as it can be) and
    encoded as ``encodeURIComponent`` does.
    """
    from urllib.parse import quote

    compact = json.dumps(json.loads(manifest), separators=(",", ":"), ensure_ascii=False)
    return SLACK_CREATE_APP + quote(compact, safe="-_.!~*'()")


def declares_bot_user(answers: Answers, shape: ConfigShape) -> bool:
    """Whether the Slack app has a bot user: with a bastion, or when sign-in asks for bot scopes."""
    from wizard.releases import slack_requests_bot_scopes

    return answers.exposes_bastion or slack_requests_bot_scopes(shape.release)


def slack_manifests(answers: Answers, urls: Urls, shape: ConfigShape) -> list[RenderedFile]:
    """The manifest to create the Slack app with, and the one that adds the events.

    Slack verifies an Event Subscriptions URL at once with a signed
    ``url_verification`` request, and CodeStream answers it only after checking
    the signature with the app's signing secret (``authorize()`` before
    ``process()`` in ``api_server/modules/providers/slack_events_request.js``).
    A manifest with the events URL therefore cannot be saved before the new
    app's signing secret is loaded into CodeStream: the app is created without
    events, and the second manifest (the same plus the events) is pasted into
    the app's manifest editor afterwards.

    The bot user and bot scopes are declared with interactivity, and also
    without a bastion when the release is 14.0.0 or later or unknown: from
    Slack v3 (commit 54112f2cf) every Slack sign-in asks for the bot scopes
    (``getRedirectData`` adds them whenever ``requestServerToken`` is set,
    which the IDE agent always sends since ``hasServerToken`` is ``true``), so
    the app declares what its sign-in asks for rather than rely on how Slack
    treats scopes an app lacks. Without a bastion there is still no
    interactivity and no events. Older releases without a bastion get no bot
    user.

    Returns:
        No manifest when the release predates 8.2.10 (module docstring).
    """
    from wizard.provider_files import slack_manifest
    from wizard.releases import slack_manifest_applies

    if not slack_manifest_applies(shape.release):
        return []
    bot_user = declares_bot_user(answers, shape)

    def encode(events: str | None) -> bytes:
        manifest = slack_manifest(
            app_name=answers.slack.app_name,
            oauth_redirect=urls.oauth_redirect,
            interactivity_url=urls.slack if answers.exposes_bastion else None,
            events_url=events,
            bot_user=bot_user,
        )
        return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    files = [RenderedFile(SLACK_MANIFEST_NAME, encode(None), 0o644)]
    events = events_url(answers, urls, shape)
    if events is not None:
        files.append(RenderedFile(SLACK_EVENTS_MANIFEST_NAME, encode(events), 0o644))
    return files
