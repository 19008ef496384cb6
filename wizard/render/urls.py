"""The URLs the providers are given: the bastion's endpoints and the OAuth redirects.

The OAuth redirects are reached through the users' browsers, never through the
bastion: CodeStream builds them on ``apiServer.authOrigin``, which defaults to
``apiServer.publicApiUrl`` + ``/no-auth`` (``shared/server_utils/custom_config.js``;
``redirectUri = `${authOrigin}/provider-token/${provider}``` in
``api_server/modules/providers/provider_auth_request.js``, api-8.2.9 to
api-15.6.1). So they use ``[codestream] public_api_url``, the API URL the
users know, which may differ from the address the bastion forwards to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.answers import Answers
from wizard.constants import (
    MSTEAMS_ENDPOINT,
    MSTEAMS_OAUTH_REDIRECT_PATH,
    OAUTH_REDIRECT_PATH,
    SLACK_ENDPOINT,
    SLACK_EVENTS_ENDPOINT,
)
from wizard.releases import ConfigShape

if TYPE_CHECKING:
    from wizard.checks.api_url import ApiTarget


@dataclass(frozen=True)
class Urls:
    """The public URLs of the bastion's endpoints, and Slack's OAuth redirect on the API."""

    bastion: str  # https://host[:port]
    slack: str
    slack_events: str
    msteams: str
    oauth_redirect: str
    msteams_oauth_redirect: str
    api_origin: str  # the public API URL the redirects are built on


def make_urls(answers: Answers, upstream: ApiTarget | None, server_name: str | None) -> Urls:
    """The URLs for ``answers``; placeholders stand for a name or API not known yet."""
    port = answers.bastion.listen_port
    host = server_name or "<BASTION_HOSTNAME>"
    bastion = f"https://{host}" if port == 443 else f"https://{host}:{port}"
    origin = upstream.url() if upstream else "https://<CODESTREAM_HOST>"
    public = answers.codestream.public_api_url.strip()
    if public:
        from wizard.checks.api_url import parse_api_url

        try:
            origin = parse_api_url(public).url()
        except ValueError:
            origin = public.rstrip("/")  # the validators name it; render refuses it
    return Urls(
        bastion=bastion,
        slack=f"{bastion}{SLACK_ENDPOINT}",
        slack_events=f"{bastion}{SLACK_EVENTS_ENDPOINT}",
        msteams=f"{bastion}{MSTEAMS_ENDPOINT}",
        oauth_redirect=f"{origin}{OAUTH_REDIRECT_PATH}",
        msteams_oauth_redirect=f"{origin}{MSTEAMS_OAUTH_REDIRECT_PATH}",
        api_origin=origin,
    )


def events_url(answers: Answers, urls: Urls, shape: ConfigShape) -> str | None:
    """The Slack events URL to give Slack, or ``None``: no bastion, off, or no such route."""
    if not (answers.exposes_bastion and answers.slack.events) or shape.slack_events is False:
        return None
    return urls.slack_events
