"""The signed proof: speak to the bot routes as Slack and Microsoft will (``proxy.*``).

A GET answered by Express's ``Cannot GET`` proves the hop, not that Slack or
Teams will be served: a wrong signing secret, a body or header nginx alters,
or an API clock more than five minutes off all break every callback. So,
through the public name and the real nginx, after the GET sweep of
:mod:`wizard.checks.proxy`:

- **Slack events** (the route exists from 13.0.1, ``slack_events_request.js``,
  commit b4e8d168f): a ``url_verification`` event signed exactly as Slack signs
  (:mod:`wizard.checks.slack_signing`) with ``[slack] signing_secret`` and the
  current time, carrying a random challenge. Only CodeStream's echo of that
  challenge passes: it checked the signature with ``appSigningSecret`` first
  (403 ``RAPI-1012`` otherwise).
- **Slack interactivity** (every release, ``provider_action_request.js``
  ``authorize``): an unsigned POST must get CodeStream's 403 ``RAPI-1003``
  (the route reaches its verifier); a POST signed with ``[slack] app_id`` and
  the secret must get its 200 (the verifier took the signature, looked up
  through ``signingSecretsByAppIds``). The payload names no action and no
  view, so ``parseSlackActionInfo`` finds nothing to do and CodeStream acts on
  nothing.
- **Teams**: an activity without a token (type ``typing``, which the bot
  ignores) to the msteams route: botbuilder's 401 from CodeStream proves the
  hop and that the adapter has an app id; nginx's 404 or 502 does not.
- **Clock** (:mod:`wizard.checks.clock`): the API's ``Date`` against this
  host's clock, so a 403 from a skewed clock is not blamed on the secret.

Every message says who answered: CodeStream (its versioner's
``X-CS-API-Version``, Express's ETag, a ``RAPI-`` error:
:func:`wizard.checks.fingerprint.answered_by_codestream`) or nginx itself.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from wizard.answers import Answers, reveal
from wizard.checks.context import CheckContext
from wizard.checks.fingerprint import RELEASE_HEADER, answered_by_codestream
from wizard.checks.slack_signing import signed_headers
from wizard.constants import MSTEAMS_ENDPOINT, SLACK_ENDPOINT, SLACK_EVENTS_ENDPOINT
from wizard.findings import Finding, fail, ok, warn
from wizard.probes.http import HttpResponse, https_request
from wizard.probes.tls import ProbeError
from wizard.releases import (
    SLACK_EVENTS_SINCE,
    TEAMS_APP_CLIENT_SINCE,
    Release,
    format_release,
    parse_release,
    shape_for,
)

PROOF_TOKEN = "codestream-bastion-proof"  # noqa: S105 (a marker, not a credential)
"""Marks the proof's requests in CodeStream's log (Slack's ``token`` field, deprecated)."""
NGINX_REMEDY = (
    "The request never reached CodeStream: install the generated server block unchanged (its "
    "exact 'location =' blocks forward the bot endpoints), reload nginx, and read the bastion's "
    "error log for a 502/504 (the proxy.upstream_* findings name the cause)."
)


@dataclass(frozen=True)
class Hop:
    """Where the proof's requests go: the bastion, by its public name.

    Attributes:
        address: The address the name resolved to.
        port: The listen port.
        name: The bastion's name (SNI and ``Host``).
        context: The TLS context the sweep used.
        timeout: Bound on each exchange.
        where: How messages name the bastion.
    """

    address: str
    port: int
    name: str
    context: ssl.SSLContext
    timeout: float
    where: str


@dataclass(frozen=True)
class _Reply:
    """One POST of the proof and what came back."""

    what: str
    response: HttpResponse | None
    error: str

    @property
    def codestream(self) -> bool:
        r = self.response
        return r is not None and answered_by_codestream(r.headers, r.body)

    def describe(self) -> str:
        """Who answered and what, for every message (``Server`` is nginx's on every answer)."""
        r = self.response
        if r is None:
            return f"{self.what}: no answer ({self.error})"
        who = "CodeStream answered" if self.codestream else "nginx answered itself"
        body = " ".join(r.text.split())[:120]
        return f"{self.what}: {who} HTTP {r.status} {r.reason}" + (f" {body!r}" if body else "")

    def release(self, known: Release | None) -> Release | None:
        """``known``, else the release CodeStream named in this answer."""
        header = self.response.header(RELEASE_HEADER) if self.response is not None else None
        return known or proof_release(None, header if self.codestream else None)

    def error_code(self) -> str:
        """The ``code`` of a CodeStream error body (``RAPI-1003``), or ``""``."""
        try:
            value = json.loads(self.response.body) if self.response is not None else None
        except ValueError:
            return ""
        return str(value.get("code", "")) if isinstance(value, dict) else ""


async def _post(
    hop: Hop, what: str, path: str, body: bytes, headers: list[tuple[str, str]]
) -> _Reply:
    try:
        response, _der = await https_request(
            hop.address,
            hop.port,
            hop.name,
            "POST",
            path,
            hop.context,
            hop.timeout,
            headers=headers,
            body=body,
        )
    except ProbeError as exc:
        return _Reply(what, None, str(exc))
    return _Reply(what, response, "")


def _nginx_failure(route: str, reply: _Reply, hop: Hop) -> Finding:
    return fail(
        "proxy.bot_route_nginx",
        f"{route} does not reach CodeStream through the bastion",
        f"Through {hop.where}, {reply.describe()}.",
        NGINX_REMEDY,
    )


def _secret_slots(release: Release | None, with_app_id: bool) -> str:
    """Where CodeStream reads the signing secret (and app id) for ``release``."""
    shape = shape_for(release)
    keys = ["SigningSecret", "Id"] if with_app_id else ["SigningSecret"]
    slots = [
        f"integrations.slack.{shape.slack_block}.{f}{k}" for f in shape.slack_families for k in keys
    ]
    which = f"release {shape.release_text}" if release else "releases from 13.0.2"
    return f"{', '.join(slots)} ({which})"


def _rejected(
    route: str, reply: _Reply, release: Release | None, skewed: bool, app_id: bool
) -> Finding:
    names = "[slack] signing_secret" + (" and [slack] app_id" if app_id else "")
    cause = (
        f"The {names} of the answers file differ from what the API holds in "
        f"{_secret_slots(release, app_id)}, or something altered the body or the Slack headers."
    )
    remedy = (
        f"Copy the Signing Secret{' and App ID' if app_id else ''} from the Slack app's Basic "
        f"Information into {names}, render, load the snippet into CodeStream (next-steps.md) "
        "and restart it; keep the server block's proxy settings as generated."
    )
    if skewed:
        cause = (
            "The API's clock is more than 300 s off (proxy.clock_skew), which alone makes "
            "CodeStream refuse every signature, whatever the secret."
        )
        remedy = "Fix the clock first (proxy.clock_skew), then run the post-install check again."
    return fail(
        "proxy.slack_signature_rejected",
        f"CodeStream refused a correctly signed Slack request on {route}",
        f"{reply.describe()}. {cause}",
        remedy,
    )


async def _events_proof(
    hop: Hop, answers: Answers, release: Release | None, skewed: bool
) -> list[Finding]:
    route = SLACK_EVENTS_ENDPOINT
    secret = reveal(answers.slack.signing_secret).strip()
    challenge = secrets.token_urlsafe(24)
    event = {"token": PROOF_TOKEN, "challenge": challenge, "type": "url_verification"}
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    headers = [("Content-Type", "application/json")]
    if secret:
        headers += signed_headers(secret, int(time.time()), body)
    what = f"{'signed' if secret else 'unsigned'} url_verification POST {route}"
    reply = await _post(hop, what, route, body, headers)
    if not reply.codestream:
        return [_nginx_failure(route, reply, hop)]
    assert reply.response is not None
    release = reply.release(release)
    if release is not None and release < SLACK_EVENTS_SINCE:
        return [_no_events_route(route, reply, release)]
    if not secret:
        return [_unproven(route, reply, reply.response.status == 403, "RAPI-1012")]
    if reply.response.status == 200 and _echo(reply.response) == challenge:
        return [
            ok(
                "proxy.slack_verified",
                f"{route}: CodeStream verified a signed Slack challenge",
                f"{reply.describe()}: the random challenge came back, so the signing secret, the "
                "body and the Slack headers all reach CodeStream as Slack sends them.",
            )
        ]
    if reply.response.status == 403:
        return [_rejected(route, reply, release, skewed, app_id=False)]
    return [_unexpected(route, reply, "the challenge echoed in a 200")]


def _no_events_route(route: str, reply: _Reply, release: Release) -> Finding:
    return warn(
        "proxy.slack_unproven",
        f"{route}: release {format_release(release)} has no Slack events route",
        f"{reply.describe()}. The events route came with {format_release(SLACK_EVENTS_SINCE)}; "
        "before it the path is answered without any signature check, so nothing is proven there.",
        "Set [slack] events = false for this release, render and apply again.",
    )


def _echo(response: HttpResponse) -> object:
    try:
        value = json.loads(response.body)
    except ValueError:
        return None
    return value.get("challenge") if isinstance(value, dict) else None


def _unproven(route: str, reply: _Reply, verifier: bool, code: str) -> Finding:
    if not verifier:
        return _unexpected(route, reply, f"CodeStream's 403 {code} for an unsigned request")
    return warn(
        "proxy.slack_unproven",
        f"{route} reaches CodeStream's signature check; the signing secret is not proven",
        f"{reply.describe()}: CodeStream refused it for its signature, as it must. Without "
        "[slack] signing_secret and [slack] app_id in the answers file the proof cannot sign "
        "a request as Slack does.",
        "Set [slack] app_id and signing_secret (or signing_secret_file) in the answers file "
        "and run the post-install check again.",
    )


def _unexpected(route: str, reply: _Reply, wanted: str) -> Finding:
    return fail(
        "proxy.slack_unexpected",
        f"{route}: CodeStream's answer is not what Slack needs",
        f"{reply.describe()}; expected {wanted}.",
        "Check that the API behind the bastion is the CodeStream release the answers name "
        "([codestream] release) and that nothing between nginx and CodeStream rewrites requests.",
    )


def _is_verifier_refusal(reply: _Reply) -> bool:
    """CodeStream's 403 ``RAPI-1003``: ``provider_action_request.js`` refused the signature."""
    return (
        reply.response is not None
        and reply.response.status == 403
        and (reply.error_code() == "RAPI-1003")
    )


async def _interactivity_proof(
    hop: Hop, answers: Answers, release: Release | None, skewed: bool
) -> list[Finding]:
    route = SLACK_ENDPOINT
    secret = reveal(answers.slack.signing_secret).strip()
    app_id = answers.slack.app_id.strip()
    payload = {"type": "block_actions", "api_app_id": app_id or "A0PROOF", "actions": []}
    body = ("payload=" + quote(json.dumps(payload, separators=(",", ":")), safe="")).encode()
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    can_sign = bool(secret and app_id)
    unsigned_post = _post(hop, f"unsigned POST {route}", route, body, form)
    if not can_sign:
        unsigned = await unsigned_post
        if not unsigned.codestream:
            return [_nginx_failure(route, unsigned, hop)]
        return [_unproven(route, unsigned, _is_verifier_refusal(unsigned), "RAPI-1003")]
    headers = form + signed_headers(secret, int(time.time()), body)
    unsigned, signed = await asyncio.gather(
        unsigned_post, _post(hop, f"signed POST {route}", route, body, headers)
    )
    if not unsigned.codestream:
        return [_nginx_failure(route, unsigned, hop)]
    if not _is_verifier_refusal(unsigned):
        return [_unproven(route, unsigned, False, "RAPI-1003")]
    if signed.response is not None and signed.codestream and signed.response.status == 200:
        return [
            ok(
                "proxy.slack_verified",
                f"{route}: CodeStream verified a signed Slack request",
                f"{unsigned.describe()} (its verifier); {signed.describe()}: the signature "
                "checked against the app id's signing secret (the payload names no action, so "
                "CodeStream did nothing with it).",
            )
        ]
    if not signed.codestream:
        return [_nginx_failure(route, signed, hop)]
    if signed.response is not None and signed.response.status == 403:
        return [_rejected(route, signed, signed.release(release), skewed, app_id=True)]
    return [_unexpected(route, signed, "200 for a correctly signed request")]


async def _teams_proof(hop: Hop, release: Release | None) -> list[Finding]:
    route = MSTEAMS_ENDPOINT
    body = b'{"type":"typing"}'
    reply = await _post(
        hop, f"POST {route} without a token", route, body, [("Content-Type", "application/json")]
    )
    if not reply.codestream:
        return [_nginx_failure(route, reply, hop)]
    assert reply.response is not None
    status = reply.response.status
    release = reply.release(release)
    if status == 401:
        return [
            ok(
                "proxy.teams_token_required",
                f"{route} reaches CodeStream's Bot Framework adapter",
                f"{reply.describe()}: botbuilder refuses an activity without a token, so the "
                "hop works and the adapter knows its app id.",
            )
        ]
    key = "appClientId" if release is None or release >= TEAMS_APP_CLIENT_SINCE else "botAppId"
    block = shape_for(release).msteams_block
    if 200 <= status < 300:
        return [
            fail(
                "proxy.teams_unauthenticated",
                f"CodeStream accepted a Teams activity without a token on {route}",
                f"{reply.describe()}. botbuilder skips authentication when it has no app id: "
                f"integrations.msteams.{block}.{key} is not loaded, so anyone could talk to "
                "the bot.",
                "Set [msteams] app_id and app_password, render, load the snippet into CodeStream "
                "(next-steps.md) and restart it.",
            )
        ]
    return [
        fail(
            "proxy.teams_unexpected",
            f"{route}: CodeStream's answer is not botbuilder's 401",
            f"{reply.describe()}; expected 401 for an activity without a token.",
            f"Check integrations.msteams.{block}.{key} in CodeStream's configuration and "
            "CodeStream's log for the request.",
        )
    ]


def proof_release(answers: Answers | None, seen: str | None) -> Release | None:
    """The release the proof judges by: ``[codestream] release``, else what the API sent."""
    for text in (answers.codestream.release if answers else "", seen or ""):
        if text.strip():
            try:
                return parse_release(text)
            except ValueError:
                continue
    return None


async def prove_bot_routes(answers: Answers, ctx: CheckContext, hop: Hop) -> list[Finding]:
    """Speak to each chosen bot route as its provider does, and check the API's clock.

    Args:
        answers: The mode, the endpoints, the Slack credentials, the API URL.
        ctx: The check context (the clock proof asks the API directly).
        hop: The bastion, as the GET sweep reaches it.

    Returns:
        The clock findings (``proxy.clock*``), then per route ``proxy.slack_verified``,
        ``proxy.slack_signature_rejected``, ``proxy.slack_unproven``,
        ``proxy.slack_unexpected``, ``proxy.teams_token_required``,
        ``proxy.teams_unauthenticated``, ``proxy.teams_unexpected`` or
        ``proxy.bot_route_nginx``.
    """
    from wizard.checks.clock import clock_findings, host_sync_state
    from wizard.checks.upstream import api_date

    release = proof_release(answers, None)
    (date, why), state = await asyncio.gather(
        api_date(answers.codestream, ctx), host_sync_state(ctx.timeout)
    )
    clock = clock_findings(date, why, time.time(), state)
    skewed = any(f.code == "proxy.clock_skew" for f in clock)
    jobs: list[Coroutine[Any, Any, list[Finding]]] = []
    if SLACK_ENDPOINT in answers.endpoints:
        jobs.append(_interactivity_proof(hop, answers, release, skewed))
    if SLACK_EVENTS_ENDPOINT in answers.endpoints:
        jobs.append(_events_proof(hop, answers, release, skewed))
    if MSTEAMS_ENDPOINT in answers.endpoints:
        jobs.append(_teams_proof(hop, release))
    results = await asyncio.gather(*jobs)
    return clock + [finding for found in results for finding in found]
