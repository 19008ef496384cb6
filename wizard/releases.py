"""What each CodeStream release reads from the ``integrations`` configuration.

Every rule here comes from CodeStream's server sources
(github.com/TeamCodeStream/codestream-server, tags ``api-X.Y.Z``). The release
is the API server's version, which every API response carries in the
``X-CS-API-Version`` header (``api_server/modules/versioner/versioner.js``).

Why one snippet cannot serve every release: the configuration loader walks
every key of the *data* against the schema and fails on a key the schema does
not know (``shared/codestream_configs/lib/structured_config_base.js``,
``_buildSection``: it logs ``bad schema property`` and then dereferences the
missing schema entry, a TypeError; the same walk since July 2019, commit
041e7ee1c). ``cfg-tool --load`` reads the file through the same loader
(``shared/codestream_configs/bin/mongo-config-loader.js``). So extra keys are
*not* accepted: the twelve Slack properties that releases before 13.0.2 need
break the loading of 13.0.2 and later, whose ``parameters.json`` (schema 28,
commit 06f448795 "eliminate sharing and strict slack apps") lists only the
``app*`` family. The snippet is therefore written per release, and for an
unknown release in the form of the current releases (13.0.2 and later).

The rules, by API release:

- Oldest releases the snippet can serve: the structured configuration file
  exists from 1.21.10 (commit 9fe58c47a "Support for structured config file";
  before it, environment variables only); the Slack ``*Id`` and
  ``*SigningSecret`` properties and ``interactiveComponentsEnabled`` are in the
  schema from 1.21.25 (schema 7, commit 9f970f988, taken in by the API at
  445692780); the Teams ``botAppId`` and ``botAppPassword`` from 1.21.31
  (schema 9, commit 4ed927659, taken in at 8f19818b9). The loader fails on any
  other key, so an older release gets no snippet: :func:`unsupported_release`.
- Installation block: ``slack.com`` / ``microsoft.com`` before 7.0.1, ``cloud``
  from 7.0.1 (commit fe54af597, ``api_server/config/slack.js`` and
  ``msteams.js``; ``api_server/package.json`` says 7.0.1 there and the commit
  is an ancestor of 682c62f11 "Update changelog for 7.0.1"). From 8.2.4 every
  block is merged in order (``shared/server_utils/custom_config.js``, commit
  2d99875d5), so ``cloud`` is read whatever other blocks exist; a block marked
  ``"disabled": true`` is skipped only from 8.2.9 (commit 8498517ff).
- Slack families: before 13.0.2 ``app*``, ``appSharing*`` and ``appStrict*``
  (each ``Id``, ``ClientId``, ``ClientSecret``, ``SigningSecret``; schema 7 to
  27). From 8.2.3 to 13.0.1 Slack sign-in uses ``appSharingClientId`` and
  ``appSharingClientSecret`` (``api_server/modules/slack_auth/slack_auth.js``,
  commit 683bd194f), and callbacks are verified through
  ``signingSecretsByAppIds``, filled from the three families in order
  (``custom_config.js``): a family left empty under the same app id would
  overwrite the good entry, so all three get the one app's values. From 13.0.2
  only ``app*``.
- Slack OAuth (``slack_auth.js``): before 8.2.10 the classic
  ``oauth/authorize`` with classic scopes (``chat:write:user``,
  ``identify client``), which no app manifest can describe; OAuth v2 with
  granular user scopes from 8.2.10 (commit 6358e9628). From 14.0.0 (Slack v3,
  commit 54112f2cf) ``getRedirectData`` adds the bot scopes whenever the
  request carries ``requestServerToken``, and ``OAUTH_CONFIG.hasServerToken``
  is ``true`` unconditionally, which makes the IDE agent send it at every Slack
  sign-in (``connectThirdPartyProvider`` in
  ``shared/agent/src/api/codestream/codestreamApi.ts``,
  github.com/TeamCodeStream/codestream): the app must declare a bot user and
  the bot scopes even without a bastion.
- Slack Events API endpoint ``/no-auth/provider-action/slack-events``: from
  13.0.1 (``api_server/modules/providers/slack_events_request.js``, commit
  b4e8d168f).
- Where the configuration lives, and how it is loaded
  (``shared/codestream_configs/``): the API reads the file named by
  ``CSSVC_CFG_FILE`` (or ``CS_API_CFG_FILE``) when set, else the database at
  ``CSSVC_CFG_URL`` (``api_server/config/config.js``; the factory of
  ``lib/structured_config.js`` prefers the file). The database loader
  ``bin/mongo-config-loader.js`` is in the oldest ``api-`` tag, 7.4.2 (commit
  bfca2ab6d): ``--add-cfg-file``, ``--report-cfg``, ``--show-cfg SERIAL``;
  until 8.2.3 the newest configuration added is the one loaded (``_loadConfig``
  sorts by ``timeStamp``); ``--activate-cfg SERIAL`` and the active
  configuration come with 8.2.4 (commit 5801d16b5). From 8.2.25 (commit
  5e3179fff, "onprem admin server pre-release") the options are ``--load FILE
  --and-activate``, ``--dump active``, ``--report``, which the control script
  runs as ``codestream --cfg-tool``. Releases before 7.4.2 are taken as
  file-only (no loader in any tag of the sources). The Admin App (its server
  from 5e3179fff) is removed at 12.0.11 (commit 27359d770, "removes onprem
  admin"); its Integrations pane edits only ``integrations.slack.cloud.app*``
  and ``integrations.msteams.cloud.appClient*``
  (``onprem_admin/src/components/pane/configuration/integrations/``), not the
  ``appSharing*``/``appStrict*`` families sign-in reads through 13.0.1, nor
  the ``botApp*`` keys the bot reads through 14.0.14.
- Microsoft Teams: the schema has ``appClientId``, ``appClientSecret``,
  ``botAppId`` and ``botAppPassword`` from 1.21.31; the bot adapter used
  ``botApp*`` until 14.0.14 and ``appClient*`` from 14.0.15
  (``api_server/modules/providers/msteams_bot_framework_adapter.js``, commit
  0eb900a05). All four get the bot's app id and password. Below 14.0.15
  ``appClient*`` is also the OAuth client of Teams sign-in
  (``api_server/modules/msteams_auth/msteams_auth.js``:
  ``login.microsoftonline.com/common``, delegated scopes ``User.Read.All
  Group.ReadWrite.All offline_access``, redirect
  ``<authOrigin>/provider-token/msteams``); 0eb900a05 "Simplified OAuth parts
  for MSTeams since we don't need it anymore" drops it. From 14.0.19 the bot
  takes ``signin <code>`` in its personal chat (commit a36729517).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Release = tuple[int, int, int]

CLOUD_BLOCK_SINCE: Release = (7, 0, 1)
CONFIG_FILE_SINCE: Release = (1, 21, 10)
SLACK_MIN_RELEASE: Release = (1, 21, 25)
TEAMS_MIN_RELEASE: Release = (1, 21, 31)
SLACK_OAUTH_V2_SINCE: Release = (8, 2, 10)
SLACK_BOT_SCOPES_SINCE: Release = (14, 0, 0)
DISABLED_HONOURED_SINCE: Release = (8, 2, 9)
SLACK_ONE_APP_SINCE: Release = (13, 0, 2)
SLACK_EVENTS_SINCE: Release = (13, 0, 1)
TEAMS_APP_CLIENT_SINCE: Release = (14, 0, 15)
TEAMS_SIGNIN_CODE_SINCE: Release = (14, 0, 19)
CONFIG_LOADER_SINCE: Release = (7, 4, 2)
CONFIG_ACTIVATE_SINCE: Release = (8, 2, 4)
CFG_TOOL_SINCE: Release = (8, 2, 25)
ADMIN_APP_SINCE: Release = (8, 2, 25)
ADMIN_APP_REMOVED: Release = (12, 0, 11)

SLACK_FAMILIES_ALL: tuple[str, ...] = ("app", "appSharing", "appStrict")
SLACK_FAMILY_PROPERTIES: tuple[str, ...] = ("Id", "ClientId", "ClientSecret", "SigningSecret")
TEAMS_PROPERTIES: tuple[str, ...] = ("appClientId", "appClientSecret", "botAppId", "botAppPassword")

_RELEASE = re.compile(r"(\d{1,4})\.(\d{1,4})\.(\d{1,6})")


def parse_release(text: str) -> Release:
    """``"14.0.3"`` as ``(14, 0, 3)``.

    A suffix after the three numbers (``14.0.3-beta``) is ignored.

    Raises:
        ValueError: With a message naming the expected form.
    """
    match = _RELEASE.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r:.40} is not a CodeStream API release; write it as three numbers, "
            'e.g. release = "14.0.3" (the X-CS-API-Version header of the API)'
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def release_error(text: str) -> str | None:
    """Why ``text`` is not a release number, or ``None`` (an empty text is fine)."""
    if not text.strip():
        return None
    try:
        parse_release(text)
    except ValueError as exc:
        return str(exc)
    return None


def format_release(release: Release) -> str:
    """``(14, 0, 3)`` as ``"14.0.3"``."""
    return ".".join(str(part) for part in release)


@dataclass(frozen=True)
class ConfigShape:
    """What one release reads: block names and Slack property families.

    Attributes:
        release: The release it is for, ``None`` when unknown.
        slack_block: Installation block name under ``integrations.slack``.
        msteams_block: Installation block name under ``integrations.msteams``.
        slack_families: The Slack property prefixes to write, in order.
        slack_events: Whether the API has the Slack Events endpoint (``None``: unknown).
    """

    release: Release | None
    slack_block: str
    msteams_block: str
    slack_families: tuple[str, ...]
    slack_events: bool | None

    @property
    def release_text(self) -> str:
        """The release as text, or ``"unknown"``."""
        return format_release(self.release) if self.release else "unknown"

    def reads_as(self, other: ConfigShape) -> bool:
        """True when ``other`` reads the same keys and endpoints (releases aside)."""
        mine = (self.slack_block, self.msteams_block, self.slack_families, self.slack_events)
        theirs = (other.slack_block, other.msteams_block, other.slack_families, other.slack_events)
        return mine == theirs

    def describe(self) -> str:
        """One sentence: which release and what its snippet holds."""
        families = ", ".join(f"{f}*" for f in self.slack_families)
        which = (
            f"release {self.release_text}"
            if self.release
            else f"an unknown release, written as for {format_release(SLACK_ONE_APP_SINCE)} "
            "and later"
        )
        return (
            f"for {which}: block {self.slack_block!r} with the Slack families {families} "
            f"and all four Teams properties"
        )


def shape_for(release: Release | None) -> ConfigShape:
    """The configuration shape ``release`` reads (see the module docstring)."""
    if release is None:
        return ConfigShape(None, "cloud", "cloud", ("app",), None)
    cloud = release >= CLOUD_BLOCK_SINCE
    families = ("app",) if release >= SLACK_ONE_APP_SINCE else SLACK_FAMILIES_ALL
    return ConfigShape(
        release,
        "cloud" if cloud else "slack.com",
        "cloud" if cloud else "microsoft.com",
        families,
        release >= SLACK_EVENTS_SINCE,
    )


def unsupported_release(release: Release, uses_slack: bool, uses_msteams: bool) -> str | None:
    """Why no snippet can serve ``release`` for the providers used, or ``None``.

    The loader fails on a key its schema lacks (module docstring), and every
    key the snippet writes is needed, so a release older than a provider's
    keys is refused rather than served a file it cannot load.
    """
    needs = [
        (minimum, what)
        for used, minimum, what in (
            (uses_slack, SLACK_MIN_RELEASE, "the Slack app id and signing secret keys"),
            (uses_msteams, TEAMS_MIN_RELEASE, "the Teams keys botAppId and botAppPassword"),
        )
        if used
    ]
    if not needs:
        return None
    minimum, what = max(needs)
    if release >= minimum:
        return None
    fix = (
        f"upgrade CodeStream to {format_release(minimum)} or later, or correct the "
        "release if it is wrong"
    )
    if release < CONFIG_FILE_SINCE:
        return (
            f"CodeStream API release {format_release(release)} has no configuration file "
            f"(it came with {format_release(CONFIG_FILE_SINCE)}; older releases read "
            f"environment variables only), so no snippet applies; {fix}"
        )
    return (
        f"CodeStream API release {format_release(release)} cannot load {what}, which "
        f"its configuration schema has from {format_release(minimum)} on; {fix}"
    )


def load_method(release: Release | None) -> str:
    """How ``release`` loads a configuration (module docstring).

    Returns:
        ``"cfg-tool"`` (8.2.25 and later, and an unknown release), ``"loader"``
        (7.4.2 to 8.2.24: ``mongo-config-loader.js`` with ``--add-cfg-file``) or
        ``"file"`` (before 7.4.2: ``codestream-services-config.json`` only).
    """
    if release is None or release >= CFG_TOOL_SINCE:
        return "cfg-tool"
    return "loader" if release >= CONFIG_LOADER_SINCE else "file"


def has_admin_app(release: Release | None) -> bool:
    """Whether ``release`` ships the Admin App (8.2.25 to 12.0.10)."""
    return release is not None and ADMIN_APP_SINCE <= release < ADMIN_APP_REMOVED


def teams_oauth_client(release: Release | None) -> bool:
    """Whether Teams sign-in is an OAuth client of Microsoft's login (before 14.0.15)."""
    return release is not None and release < TEAMS_APP_CLIENT_SINCE


def slack_manifest_applies(release: Release | None) -> bool:
    """Whether a Slack app manifest can serve ``release`` (OAuth v2, from 8.2.10)."""
    return release is None or release >= SLACK_OAUTH_V2_SINCE


def slack_requests_bot_scopes(release: Release | None) -> bool:
    """Whether Slack sign-in asks for the bot scopes whatever the mode (from 14.0.0)."""
    return release is None or release >= SLACK_BOT_SCOPES_SINCE


def slack_properties(
    families: tuple[str, ...], app_id: str, client_id: str, client_secret: str, signing: str
) -> dict[str, str]:
    """The Slack properties of ``families``, each with the one app's values."""
    values = dict(zip(SLACK_FAMILY_PROPERTIES, (app_id, client_id, client_secret, signing)))
    return {
        f"{family}{name}": values[name] for family in families for name in SLACK_FAMILY_PROPERTIES
    }
