"""The Slack app manifests: the one to create the app with, and the one that adds the events."""

from __future__ import annotations

import json

from wizard.answers import Answers
from wizard.constants import SLACK_EVENTS_MANIFEST_NAME, SLACK_MANIFEST_NAME
from wizard.releases import ConfigShape
from wizard.render.core import RenderedFile
from wizard.render.urls import Urls, events_url


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
    """
    from wizard.provider_files import slack_manifest

    def encode(events: str | None) -> bytes:
        manifest = slack_manifest(
            app_name=answers.slack.app_name,
            oauth_redirect=urls.oauth_redirect,
            interactivity_url=urls.slack if answers.exposes_bastion else None,
            events_url=events,
        )
        return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    files = [RenderedFile(SLACK_MANIFEST_NAME, encode(None), 0o644)]
    events = events_url(answers, urls, shape)
    if events is not None:
        files.append(RenderedFile(SLACK_EVENTS_MANIFEST_NAME, encode(events), 0o644))
    return files
