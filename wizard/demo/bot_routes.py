"""CodeStream's bot routes as the API answers them: Slack's signatures, Teams' token.

What the fake API (:mod:`wizard.demo.fake_api`) answers to a ``POST`` on a bot
endpoint, read from codestream-server (tags ``api-7.4.2`` to ``api-15.6.1``)
and botbuilder 4.21.3 (``api_server/package.json`` of ``api-15.6.1``):

- ``/no-auth/provider-action/slack`` (interactivity, every release):
  ``providers.js``'s middleware reads the raw body; a body starting with
  ``payload=`` is parsed as a form whose ``payload`` is JSON (unparsable: ``404``
  ``Not Found`` as text). ``provider_action_request.js`` ``authorize`` then runs
  ``verifySlackRequest(request, payloadRaw)``: the secret is
  ``signingSecretsByAppIds[payload.api_app_id]`` (the app ids and signing
  secrets of the ``app*``/``appSharing*``/``appStrict*`` families,
  ``custom_config.js``), the headers ``X-Slack-Signature`` and
  ``X-Slack-Request-Timestamp`` must be there, the timestamp within 300 s of the
  API's clock, the signature ``v0=`` + HMAC-SHA256 hex of ``v0:{ts}:{raw body}``.
  Any failure throws ``notFound``, which ``api_request.js`` ``handleErrorResponse``
  answers ``403`` with ``ErrorHandler.toClient`` (``description`` dropped):
  ``{"code":"RAPI-1003","message":"Object not found"}``
  (``api_server/lib/util/restful/errors.js``). A verified payload with no
  ``actions[0].action_id`` and no ``view.private_metadata`` makes
  ``parseSlackActionInfo`` return nothing, so no handler runs: ``200``, empty body.
- ``/no-auth/provider-action/slack-events`` (its own route from 13.0.1,
  ``slack_events_request.js``, commit b4e8d168f): body-parser keeps the raw JSON
  body only when both Slack headers are present (``body_parser.js``
  ``slackVerify``); the signature is checked with ``appSigningSecret`` alone;
  failure throws ``invalidParameter``: ``403``
  ``{"code":"RAPI-1012","message":"Invalid parameter"}``. A ``url_verification``
  event gets ``{"challenge": ...}``; any other event ``200`` with an empty body
  before the work starts. Before 13.0.1 the path falls to the generic
  ``:provider`` route, which checks nothing for a provider other than ``slack``
  and answers ``200`` with an empty body.
- ``/no-auth/provider-action/msteams``: botbuilder's
  ``BotFrameworkAdapter.processActivity`` (``msteams_bot_framework_adapter.js``)
  answers ``400`` when the activity has no ``type``, then ``401`` (body
  ``err.toString()``) when there is no valid ``Authorization`` token and the
  adapter has an app id; with no app id configured, authentication is disabled
  and the activity is processed (``200``).

:class:`BotSettings` holds what the API is configured with; :func:`bot_answer`
decides the answer; the fake API writes it as Express would.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from wizard.checks.slack_signing import SIGNATURE_HEADER as SLACK_SIGNATURE_HEADER
from wizard.checks.slack_signing import TIMESTAMP_HEADER as SLACK_TIMESTAMP_HEADER
from wizard.checks.slack_signing import slack_signature

SLACK_WINDOW = 300
"""Seconds a Slack timestamp may be off the API's clock (``Math.abs(time - timestamp) > 300``)."""
SLACK_EVENTS_ROUTE_SINCE = (13, 0, 1)

NOT_FOUND_ERROR = {"code": "RAPI-1003", "message": "Object not found"}
INVALID_PARAMETER_ERROR = {"code": "RAPI-1012", "message": "Invalid parameter"}
TEAMS_UNAUTHORIZED = "Error: Unauthorized Access. Request is not authorized"
TEAMS_NO_TYPE = "Error: BotFrameworkAdapter.parseRequest(): missing activity type."


@dataclass
class BotSettings:
    """What the fake API is configured with, for its bot routes.

    Attributes:
        signing_secret: The Slack signing secret (``appSigningSecret`` and every
            family's); empty: none configured, every signature fails.
        slack_app_id: The Slack app id the secret is mapped to (``signingSecretsByAppIds``).
        teams_app_id: The Teams bot's app id; empty: botbuilder's authentication
            is disabled and an activity without a token is processed.
        clock_offset: Seconds the API's clock is ahead of this host's (the
            ``Date`` header and the signature window use it).
    """

    signing_secret: str = ""
    slack_app_id: str = ""
    teams_app_id: str = ""
    clock_offset: float = 0.0


@dataclass(frozen=True)
class BotAnswer:
    """What a bot route answers.

    Attributes:
        status: The HTTP status.
        json: A value sent with ``res.send(object)`` (JSON), or ``None``.
        text: A string sent with ``res.send(string)`` (``text/html``), or ``None``.
    """

    status: int
    json: object = None
    text: str | None = None


def _signature_valid(
    header: Callable[[str], str | None], raw: bytes, secret: str, now: float
) -> bool:
    """``verifySlackRequest`` of both Slack routes, once the secret is known."""
    signature = header(SLACK_SIGNATURE_HEADER)
    timestamp = header(SLACK_TIMESTAMP_HEADER)
    if not secret or not signature or not timestamp:
        return False
    try:
        # JavaScript's `time - timestamp` coerces the header to a number.
        if abs(int(now) - float(timestamp)) > SLACK_WINDOW:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(slack_signature(secret, timestamp, raw), signature)


def _interactivity(
    header: Callable[[str], str | None], body: bytes, settings: BotSettings, now: float
) -> BotAnswer:
    text = body.decode("utf-8", "replace")
    if not text.startswith("payload="):
        return BotAnswer(403, NOT_FOUND_ERROR)  # no payload: verifySlackRequest is false
    try:
        payload = json.loads(parse_qs(text, keep_blank_values=True).get("payload", [""])[0])
    except ValueError:
        return BotAnswer(404, text="Not Found")
    if not isinstance(payload, dict):
        return BotAnswer(403, NOT_FOUND_ERROR)
    app_id = payload.get("api_app_id")
    secret = settings.signing_secret if app_id and app_id == settings.slack_app_id else ""
    if not _signature_valid(header, body, secret, now):
        return BotAnswer(403, NOT_FOUND_ERROR)
    actions = payload.get("actions")
    view = payload.get("view")
    acts = bool(isinstance(actions, list) and actions and isinstance(actions[0], dict)) or bool(
        isinstance(view, dict) and view.get("private_metadata")
    )
    # A payload naming an action would run CodeStream's handler; it answers 200 either way.
    return BotAnswer(200, {} if acts else None)


def _events(
    header: Callable[[str], str | None], body: bytes, settings: BotSettings, now: float
) -> BotAnswer:
    content_type = (header("Content-Type") or "").lower()
    event: object = None
    if content_type.startswith("application/json"):
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            return BotAnswer(400, text="Bad Request")  # body-parser's SyntaxError
    signed = header(SLACK_SIGNATURE_HEADER) and header(SLACK_TIMESTAMP_HEADER)
    if event is None or not signed:
        return BotAnswer(403, INVALID_PARAMETER_ERROR)  # no raw body kept: 'Missing body'
    if not _signature_valid(header, body, settings.signing_secret, now):
        return BotAnswer(403, INVALID_PARAMETER_ERROR)
    if isinstance(event, dict) and event.get("type") == "url_verification":
        return BotAnswer(200, {"challenge": event.get("challenge")})
    return BotAnswer(200)


def _msteams(header: Callable[[str], str | None], body: bytes, settings: BotSettings) -> BotAnswer:
    try:
        activity = json.loads(body) if body else None
    except ValueError:
        activity = None
    if not (header("Content-Type") or "").lower().startswith("application/json"):
        activity = {}  # body-parser left the body alone: req.body is {}
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        return BotAnswer(400, text=TEAMS_NO_TYPE)
    if settings.teams_app_id or (header("Authorization") or "").strip():
        # A fake cannot validate a Bot Framework token: every token is refused.
        return BotAnswer(401, text=TEAMS_UNAUTHORIZED)
    return BotAnswer(200)


def _release(api_version: str | None) -> tuple[int, int, int] | None:
    """The release played (``None``: the newest behaviour)."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", api_version or "")
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def bot_answer(
    endpoint: str,
    api_version: str | None,
    header: Callable[[str], str | None],
    body: bytes,
    settings: BotSettings,
    now: float,
) -> BotAnswer:
    """What CodeStream answers to a ``POST`` on ``endpoint`` (see the module docstring).

    Args:
        endpoint: The bot endpoint, lower case, without a trailing slash.
        api_version: The API's release, as in ``X-CS-API-Version`` (``None``: the newest).
        header: The request's header by name (case-insensitive), or ``None``.
        body: The raw request body.
        settings: What the API is configured with.
        now: The API's clock (Unix time, offset included).
    """
    name = endpoint.rsplit("/", 1)[-1]
    if name == "slack":
        return _interactivity(header, body, settings, now)
    if name == "slack-events":
        release = _release(api_version)
        if release is not None and release < SLACK_EVENTS_ROUTE_SINCE:
            return BotAnswer(200)  # the generic :provider route checks nothing for it
        return _events(header, body, settings, now)
    return _msteams(header, body, settings)
