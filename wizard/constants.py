"""Names and paths every layer agrees on: one home, so they cannot drift apart.

The bot endpoints are CodeStream's own routes (``/no-auth/provider-action/*``,
POST only; README.md, the request flow at the top). The file names are the
public contract of ``render`` and ``apply`` (README.md, "Headless commands").
Nothing here imports anything but the standard library.
"""

from __future__ import annotations

from pathlib import Path

SYSTEM_NGINX_ROOT = Path("/etc/nginx")
"""The nginx configuration directory of a distribution package (``--nginx-root`` default)."""
DEFAULT_LOG_DIR = "/var/log/nginx"
"""Where the bastion's own access and error logs go."""

SERVER_CONF_NAME = "codestream-bastion.conf"
"""The file name of the generated server block, in every layout."""
ACME_CONF_NAME = "codestream-bastion-acme.conf"
"""The temporary server block of ``certificate``'s HTTP-01 challenge through nginx."""
ANSWERS_NAME = "answers.toml"
MAX_TRUST_STORE_BYTES = 16 << 20
"""Largest trust store or CA file read (the system bundle is about 200 KiB)."""
"""The answers file saved beside the generated files."""
NEXT_STEPS_NAME = "next-steps.md"
SLACK_MANIFEST_NAME = "slack-app-manifest.json"
SLACK_EVENTS_MANIFEST_NAME = "slack-app-manifest-events.json"

ENDPOINT_PREFIX = "/no-auth/provider-action"
SLACK_ENDPOINT = f"{ENDPOINT_PREFIX}/slack"
"""Slack interactivity (buttons, replies)."""
SLACK_EVENTS_ENDPOINT = f"{ENDPOINT_PREFIX}/slack-events"
"""The Slack Events API (newer servers)."""
MSTEAMS_ENDPOINT = f"{ENDPOINT_PREFIX}/msteams"
"""The Bot Framework messaging endpoint."""
ALL_ENDPOINTS: tuple[str, ...] = (SLACK_ENDPOINT, SLACK_EVENTS_ENDPOINT, MSTEAMS_ENDPOINT)
"""Every bot endpoint the API serves, in a stable order."""
OAUTH_REDIRECT_PATH = "/no-auth/provider-token/slack"
"""Slack's OAuth redirect, reached through the user's browser (never through the bastion)."""
MSTEAMS_OAUTH_REDIRECT_PATH = "/no-auth/provider-token/msteams"
"""Teams sign-in's OAuth redirect (releases before 14.0.15), through the user's browser."""
