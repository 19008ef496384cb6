"""Slack's request signature, the one place that computes it.

Slack signs every request it sends (``X-Slack-Signature: v0=`` + the
HMAC-SHA256 hex of ``v0:{timestamp}:{raw body}`` keyed with the app's signing
secret, ``X-Slack-Request-Timestamp`` in Unix seconds), and CodeStream checks
it exactly so (``verifySlackRequest`` in
``api_server/modules/providers/provider_action_request.js`` and
``slack_events_request.js``). The post-install proof signs with it; the demo's
fake API verifies with it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + HMAC-SHA256 hex of ``v0:{timestamp}:{body}`` keyed with ``secret``."""
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> list[tuple[str, str]]:
    """The two headers Slack sends with ``body`` at ``timestamp``."""
    stamp = str(timestamp)
    return [(TIMESTAMP_HEADER, stamp), (SIGNATURE_HEADER, slack_signature(secret, stamp, body))]
