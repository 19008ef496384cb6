"""The URLs the providers are given: the bastion's endpoints and the OAuth redirect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.answers import Answers
from wizard.constants import (
    MSTEAMS_ENDPOINT,
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


def make_urls(answers: Answers, upstream: ApiTarget | None, server_name: str | None) -> Urls:
    """The URLs for ``answers``; placeholders stand for a name or API not known yet."""
    port = answers.bastion.listen_port
    host = server_name or "<BASTION_HOSTNAME>"
    bastion = f"https://{host}" if port == 443 else f"https://{host}:{port}"
    origin = upstream.url() if upstream else "https://<CODESTREAM_HOST>"
    return Urls(
        bastion=bastion,
        slack=f"{bastion}{SLACK_ENDPOINT}",
        slack_events=f"{bastion}{SLACK_EVENTS_ENDPOINT}",
        msteams=f"{bastion}{MSTEAMS_ENDPOINT}",
        oauth_redirect=f"{origin}{OAUTH_REDIRECT_PATH}",
    )


def events_url(answers: Answers, urls: Urls, shape: ConfigShape) -> str | None:
    """The Slack events URL to give Slack, or ``None``: no bastion, off, or no such route."""
    if not (answers.exposes_bastion and answers.slack.events) or shape.slack_events is False:
        return None
    return urls.slack_events
