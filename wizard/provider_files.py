"""The files Slack and Microsoft Teams read: the Slack app manifest and the Teams app package.

Both are built in memory from facts in CodeStream's server sources
(github.com/TeamCodeStream/codestream-server), with no network access:

- Slack: the user scopes (``USER_SCOPES``) and bot scopes (``BOT_SCOPES``, Slack
  v3, API 14.0.0 and later) that CodeStream requests in
  ``api_server/modules/slack_auth/slack_auth.js``; the OAuth redirect
  ``/no-auth/provider-token/slack`` on the CodeStream host; the bot events
  ``message.channels``, ``message.groups`` and ``message.mpim`` handled by
  ``api_server/modules/providers/slack_events_request.js``. Slack's "Create app
  from manifest" needs ``display_information.name`` (at most 35 characters).
- Teams: the app package is ``manifest.json`` plus a color icon (192x192 PNG)
  and an outline icon (32x32 PNG, white on transparent), as CodeStream's own
  package script does (``api_server/bin/cs_api-msteams_bot_app_pkg_creator``
  and its ``api_server/etc/msteamsbot/template``), here at manifest version 1.5
  with the bastion in ``validDomains``. The icons are drawn by this module.

The zip is byte-for-byte reproducible (fixed timestamps and order), so writing
it twice with the same answers changes nothing. Its manifest ``version`` starts
at :data:`TEAMS_APP_VERSION` and goes up by one patch level whenever the content
differs from the package written before (:func:`teams_version`): Teams takes a
re-uploaded package as an update only when its version changes.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

SLACK_USER_SCOPES: tuple[str, ...] = (
    "channels:read",
    "channels:write",
    "chat:write",
    "groups:read",
    "groups:write",
    "im:read",
    "mpim:read",
    "mpim:write",
    "users.profile:write",
    "users:read",
    "users:read.email",
)
SLACK_BOT_SCOPES: tuple[str, ...] = (
    "channels:history",
    "channels:read",
    "chat:write",
    "groups:history",
    "groups:read",
    "mpim:history",
    "mpim:read",
    "users:read",
    "users:read.email",
)
SLACK_BOT_EVENTS: tuple[str, ...] = ("message.channels", "message.groups", "message.mpim")
SLACK_APP_NAME_MAX = 35  # Slack's limit for display_information.name

TEAMS_PACKAGE_NAME = "codestream-msteams-app.zip"
TEAMS_MANIFEST_VERSION = "1.5"
TEAMS_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.5/MicrosoftTeams.schema.json"
)
TEAMS_APP_VERSION = "1.0.0"
TEAMS_COLOR_SIZE = 192
TEAMS_OUTLINE_SIZE = 32
ACCENT = (0x00, 0xCE, 0x7C)  # CodeStream's accent colour (#00CE7C), as in its template
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: reproducible output


# -- Slack ---------------------------------------------------------------------------


def slack_manifest(
    *,
    app_name: str,
    oauth_redirect: str,
    interactivity_url: str | None,
    events_url: str | None,
    bot_user: bool,
) -> dict[str, Any]:
    """A complete Slack app manifest for "Create app from manifest".

    Args:
        app_name: ``display_information.name`` (and the bot's display name).
        oauth_redirect: ``https://<codestream-host>/no-auth/provider-token/slack``.
        interactivity_url: The bastion's Slack endpoint; ``None`` without
            exposure (then no interactivity and no events).
        events_url: The bastion's Slack events endpoint, ``None`` for none.
        bot_user: Declare the bot user and the bot scopes. Needed with
            interactivity, and without it too from API 14.0.0, whose sign-in
            always asks for the bot scopes
            (:func:`wizard.releases.slack_requests_bot_scopes`).

    Returns:
        The manifest as a JSON-ready dict.
    """
    interactive = interactivity_url is not None
    scopes: dict[str, list[str]] = {"user": list(SLACK_USER_SCOPES)}
    if bot_user or interactive:
        scopes["bot"] = list(SLACK_BOT_SCOPES)
    manifest: dict[str, Any] = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": app_name,
            "description": "Share and discuss code from CodeStream On-Prem in Slack.",
            "background_color": "#{:02x}{:02x}{:02x}".format(*ACCENT),
        },
    }
    if bot_user or interactive:
        manifest["features"] = {"bot_user": {"display_name": app_name, "always_online": True}}
    manifest["oauth_config"] = {"redirect_urls": [oauth_redirect], "scopes": scopes}
    settings: dict[str, Any] = {}
    if interactive and events_url is not None:
        settings["event_subscriptions"] = {
            "request_url": events_url,
            "bot_events": list(SLACK_BOT_EVENTS),
        }
    settings["interactivity"] = (
        {"is_enabled": True, "request_url": interactivity_url}
        if interactive
        else {"is_enabled": False}
    )
    settings.update(
        {"org_deploy_enabled": False, "socket_mode_enabled": False, "token_rotation_enabled": False}
    )
    manifest["settings"] = settings
    return manifest


def slack_app_name_error(name: str) -> str | None:
    """Why ``name`` cannot be a Slack app name, or ``None``."""
    if not name.strip():
        return 'is empty: give the Slack app a name, e.g. "CodeStream OnPrem"'
    if len(name) > SLACK_APP_NAME_MAX:
        return f"is {len(name)} characters long; Slack allows at most {SLACK_APP_NAME_MAX}"
    return None


# -- PNG ---------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(
    width: int, height: int, rgba: Callable[[int, int], tuple[int, int, int, int]]
) -> bytes:
    """An 8-bit RGBA PNG (colour type 6) whose pixel ``(x, y)`` is ``rgba(x, y)``."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0 (None) for every scanline
        for x in range(width):
            rows += bytes(rgba(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _in_mark(x: int, y: int, size: int) -> bool:
    """Whether pixel ``(x, y)`` is on the mark: a ring open to the right, a "C"."""
    centre = (size - 1) / 2
    dx, dy = x - centre, y - centre
    radius = math.hypot(dx, dy)
    if not 0.22 * size <= radius <= 0.40 * size:
        return False
    return abs(math.degrees(math.atan2(dy, dx))) > 45


def color_icon(size: int = TEAMS_COLOR_SIZE) -> bytes:
    """Teams' color icon: a white mark on CodeStream's accent colour, fully opaque."""
    white = (255, 255, 255, 255)
    accent = (*ACCENT, 255)
    return encode_png(size, size, lambda x, y: white if _in_mark(x, y, size) else accent)


def outline_icon(size: int = TEAMS_OUTLINE_SIZE) -> bytes:
    """Teams' outline icon: the mark in white on a transparent background."""
    return encode_png(
        size, size, lambda x, y: (255, 255, 255, 255) if _in_mark(x, y, size) else (0, 0, 0, 0)
    )


# -- Microsoft Teams -------------------------------------------------------------------


def _commands(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"title": title, "description": description} for title, description in pairs]


MAX_PREVIOUS_PACKAGE = 1024 * 1024
"""Bytes of an earlier package read at most (ours are a few kilobytes)."""


def _version_tuple(text: object) -> tuple[int, int, int] | None:
    parts = str(text).split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def previous_manifest(package: bytes | None) -> dict[str, Any] | None:
    """The ``manifest.json`` of an earlier package, or ``None`` when unreadable."""
    if not package or len(package) > MAX_PREVIOUS_PACKAGE:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            info = archive.getinfo("manifest.json")
            if info.file_size > MAX_PREVIOUS_PACKAGE:
                return None
            value = json.loads(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError):
        return None
    return value if isinstance(value, dict) else None


def teams_version(manifest: dict[str, Any], previous: bytes | None) -> str:
    """The ``version`` for ``manifest``: the earlier one when nothing else changed, else higher.

    Args:
        manifest: The new manifest (its ``version`` is ignored).
        previous: The package written before, if any (an earlier render's).
    """
    base = _version_tuple(TEAMS_APP_VERSION)
    assert base is not None
    old = previous_manifest(previous)
    old_version = _version_tuple(old.get("version")) if old is not None else None
    if old is None or old_version is None:
        return TEAMS_APP_VERSION
    same = {**old, "version": ""} == {**manifest, "version": ""}
    if same and old_version >= base:
        return ".".join(map(str, old_version))
    newest = max(old_version, base)
    return ".".join(map(str, (newest[0], newest[1], newest[2] + 1)))


def teams_manifest(bot_app_id: str, bastion_host: str) -> dict[str, Any]:
    """The Teams app manifest (1.5) for CodeStream's bot, at :data:`TEAMS_APP_VERSION`.

    Args:
        bot_app_id: The Azure Bot's Microsoft App ID (``id`` and ``bots[0].botId``).
        bastion_host: The bastion's public name, the one entry of ``validDomains``.
    """
    return {
        "$schema": TEAMS_SCHEMA,
        "manifestVersion": TEAMS_MANIFEST_VERSION,
        "version": TEAMS_APP_VERSION,
        "id": bot_app_id,
        "packageName": "com.codestream.onprem",
        "developer": {
            "name": "CodeStream",
            "websiteUrl": "https://newrelic.com/codestream",
            "privacyUrl": "https://newrelic.com/termsandconditions/privacy",
            "termsOfUseUrl": "https://newrelic.com/termsandconditions/terms",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "name": {"short": "CodeStream", "full": "CodeStream On-Prem"},
        "description": {
            "short": "Share and discuss code from CodeStream in Microsoft Teams.",
            "full": (
                "Connects Microsoft Teams to your company's CodeStream On-Prem server: share "
                "code discussions from the IDE to Teams channels and open them back in the IDE."
            ),
        },
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": bot_app_id,
                "scopes": ["personal", "team"],
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": _commands(
                            ("help", "What the CodeStream bot can do"),
                            ("signin", "Sign in to CodeStream"),
                            ("signout", "Sign out of CodeStream"),
                        ),
                    },
                    {
                        "scopes": ["team"],
                        "commands": _commands(
                            ("help", "What the CodeStream bot can do"),
                            ("connect", "Share CodeStream discussions to this channel"),
                            ("disconnect", "Stop sharing to this channel"),
                        ),
                    },
                ],
                "supportsFiles": False,
                "isNotificationOnly": False,
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [bastion_host],
    }


def teams_package(bot_app_id: str, bastion_host: str, previous: bytes | None = None) -> bytes:
    """``codestream-msteams-app.zip``: ``manifest.json``, ``color.png``, ``outline.png``.

    Args:
        bot_app_id: The Azure Bot's Microsoft App ID.
        bastion_host: The bastion's public name (ASCII form).
        previous: The package written before, if any: its version is kept when
            the content is the same, else raised (:func:`teams_version`).

    Returns:
        The zip file's bytes, the same for the same arguments.
    """
    content = teams_manifest(bot_app_id, bastion_host)
    content["version"] = teams_version(content, previous)
    manifest = json.dumps(content, indent=2, ensure_ascii=False)
    members = (
        ("manifest.json", (manifest + "\n").encode("utf-8")),
        ("color.png", color_icon()),
        ("outline.png", outline_icon()),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
