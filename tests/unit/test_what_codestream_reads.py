"""The rendered files against what CodeStream, Slack and Teams read (issue 8).

Facts checked, per mode and per CodeStream release (wizard/releases.py cites the
server sources): the snippet's installation block and Slack property families
with the one app's values, the four Teams properties, the Slack manifest's
fields, the Teams app package (manifest and both icons, decoded here), and the
order of the next steps.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_render import make_answers, render
from wizard.answers import Answers, dumps_answers, loads_answers
from wizard.constants import NEXT_STEPS_NAME, SLACK_EVENTS_MANIFEST_NAME, SLACK_MANIFEST_NAME
from wizard.provider_files import (
    SLACK_BOT_EVENTS,
    SLACK_BOT_SCOPES,
    SLACK_USER_SCOPES,
    TEAMS_PACKAGE_NAME,
)
from wizard.releases import (
    parse_release,
    release_error,
    shape_for,
    slack_manifest_applies,
    slack_requests_bot_scopes,
    unsupported_release,
)
from wizard.render import RenderError, render_all

ALL_MODES = ("slack", "msteams", "slack+msteams", "slack-no-exposure")
TEAMS_ID = "7f0e2b7c-0000-4000-8000-000000000000"
SLACK = {"app_id": "A0123", "client_id": "123.456", "client_secret": "cs", "signing_secret": "ss"}
SLACK_PROPS = {"Id": "A0123", "ClientId": "123.456", "ClientSecret": "cs", "SigningSecret": "ss"}


def words(text: str) -> list[str]:
    return text.split()


# As the issue states them (space-separated, the way Slack's OAuth URL carries them).
USER_SCOPES = words(
    "channels:read channels:write chat:write groups:read groups:write im:read mpim:read "
    "mpim:write users.profile:write users:read users:read.email"
)
BOT_SCOPES = words(
    "channels:history channels:read chat:write groups:history groups:read mpim:history "
    "mpim:read users:read users:read.email"
)


def full_answers(mode: str, release: str = "") -> Answers:
    answers = make_answers(mode, codestream__release=release)
    for key, value in SLACK.items():
        setattr(answers.slack, key, value)
    answers.msteams.app_id = TEAMS_ID
    answers.msteams.app_password = "pw"
    return answers


def snippet(answers: Answers, **kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render(answers, **kwargs)[answers.output.snippet].content)
    return data


def expected_slack(families: tuple[str, ...], interactive: bool) -> dict[str, Any]:
    block: dict[str, Any] = {f"{f}{p}": v for f in families for p, v in SLACK_PROPS.items()}
    block["interactiveComponentsEnabled"] = interactive
    return block


# -- release rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "block", "families", "events"),
    [
        ("6.4.5", "slack.com", ("app", "appSharing", "appStrict"), False),
        ("7.0.0", "slack.com", ("app", "appSharing", "appStrict"), False),
        # fe54af597 ("cloud") was made while develop was at 7.0.1, before the 7.0.1 changelog
        ("7.0.1", "cloud", ("app", "appSharing", "appStrict"), False),
        ("7.0.2", "cloud", ("app", "appSharing", "appStrict"), False),
        ("8.2.4", "cloud", ("app", "appSharing", "appStrict"), False),
        ("13.0.1", "cloud", ("app", "appSharing", "appStrict"), True),
        ("13.0.2", "cloud", ("app",), True),
        ("15.6.1", "cloud", ("app",), True),
    ],
)
def test_release_boundaries(
    release: str, block: str, families: tuple[str, ...], events: bool
) -> None:
    shape = shape_for(parse_release(release))
    assert shape.slack_block == block
    assert shape.msteams_block == ("microsoft.com" if block == "slack.com" else "cloud")
    assert shape.slack_families == families
    assert shape.slack_events is events


@pytest.mark.parametrize(
    ("release", "manifest", "bot_without_bastion"),
    [
        ("8.2.9", False, False),  # classic oauth/authorize until 6358e9628
        ("8.2.10", True, False),
        ("13.0.3", True, False),
        ("14.0.0", True, True),  # Slack v3, 54112f2cf: bot scopes at every sign-in
        (None, True, True),
    ],
)
def test_slack_oauth_boundaries(
    release: str | None, manifest: bool, bot_without_bastion: bool
) -> None:
    parsed = parse_release(release) if release else None
    assert slack_manifest_applies(parsed) is manifest
    assert slack_requests_bot_scopes(parsed) is bot_without_bastion


@pytest.mark.parametrize(
    ("release", "slack", "msteams"),
    [
        ("1.21.9", False, False),
        ("1.21.10", False, False),  # a configuration file, but not the keys
        ("1.21.24", False, False),
        ("1.21.25", True, False),  # 445692780: app ids and signing secrets
        ("1.21.30", True, False),
        ("1.21.31", True, True),  # 8f19818b9: botAppId, botAppPassword
    ],
)
def test_the_oldest_releases_each_provider_can_be_served(
    release: str, slack: bool, msteams: bool
) -> None:
    parsed = parse_release(release)
    assert (unsupported_release(parsed, True, False) is None) is slack
    assert (unsupported_release(parsed, False, True) is None) is msteams
    assert (unsupported_release(parsed, True, True) is None) is (slack and msteams)
    assert unsupported_release(parsed, False, False) is None


def test_unknown_release_is_written_as_for_current_releases() -> None:
    shape = shape_for(None)
    assert (shape.slack_block, shape.msteams_block, shape.slack_families) == (
        "cloud",
        "cloud",
        ("app",),
    )
    assert shape.slack_events is None
    assert "13.0.2 and later" in shape.describe()


@pytest.mark.parametrize("text", ["14", "x.y.z", "v14.0.3", "14.0"])
def test_bad_release_text_names_the_form(text: str) -> None:
    message = release_error(text)
    assert message is not None
    assert 'release = "14.0.3"' in message
    assert release_error("") is None
    assert release_error("14.0.3-beta") is None


# -- the snippet, per mode and release -------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("release", ["", "7.0.1", "12.0.13", "13.0.2", "15.6.1"])
def test_snippet_per_mode_and_release(mode: str, release: str) -> None:
    answers = full_answers(mode, release)
    shape = shape_for(parse_release(release) if release else None)
    data = snippet(answers)
    integrations = data["integrations"]
    assert set(data) == {"integrations"}
    if answers.uses_slack:
        assert integrations["slack"] == {
            shape.slack_block: expected_slack(shape.slack_families, answers.exposes_bastion)
        }
        count = len([k for k in integrations["slack"][shape.slack_block] if k.startswith("app")])
        assert count == (12 if release in ("7.0.1", "12.0.13") else 4)
    else:
        assert "slack" not in integrations
    if answers.uses_msteams:
        assert integrations["msteams"] == {
            shape.msteams_block: {
                "appClientId": TEAMS_ID,
                "appClientSecret": "pw",
                "botAppId": TEAMS_ID,
                "botAppPassword": "pw",
            }
        }
    else:
        assert "msteams" not in integrations


def test_the_probed_release_is_used_and_the_answers_key_overrides_it() -> None:
    answers = full_answers("slack")
    old = snippet(answers, release="12.0.13")["integrations"]["slack"]["cloud"]
    assert old["appSharingClientId"] == old["appStrictClientId"] == old["appClientId"] == "123.456"
    assert old["appSharingSigningSecret"] == old["appStrictSigningSecret"] == "ss"
    answers.codestream.release = "15.6.1"
    new = snippet(answers, release="12.0.13")["integrations"]["slack"]["cloud"]
    assert not [key for key in new if key.startswith(("appSharing", "appStrict"))]


def test_placeholders_fill_every_family_of_an_old_release() -> None:
    answers = make_answers("slack", codestream__release="12.0.0")
    block = snippet(answers)["integrations"]["slack"]["cloud"]
    assert block["appSharingSigningSecret"] == "<SLACK_SIGNING_SECRET>"
    assert block["appStrictId"] == "<SLACK_APP_ID>"


def test_a_bad_release_key_is_refused_naming_it() -> None:
    with pytest.raises(RenderError) as caught:
        render(make_answers("slack", codestream__release="fourteen"))
    assert caught.value.keys == ("codestream.release",)


def test_new_answers_keys_round_trip() -> None:
    answers = make_answers("slack", codestream__release="13.0.1", slack__app_name="Acme CS")
    again = loads_answers(dumps_answers(answers))
    assert again.codestream.release == "13.0.1"
    assert again.slack.app_name == "Acme CS"
    assert loads_answers('mode = "slack-no-exposure"\n').slack.app_name == "CodeStream OnPrem"


# -- the Slack manifest ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slack", "slack+msteams"])
def test_interactive_manifest_is_complete(mode: str) -> None:
    files = render(full_answers(mode))
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["display_information"]["name"] == "CodeStream OnPrem"
    assert manifest["features"]["bot_user"]["display_name"] == "CodeStream OnPrem"
    oauth = manifest["oauth_config"]
    assert oauth["redirect_urls"] == [
        "https://codestream.my-company.com/no-auth/provider-token/slack"
    ]
    assert oauth["scopes"] == {"user": USER_SCOPES, "bot": BOT_SCOPES}
    assert list(SLACK_USER_SCOPES) == USER_SCOPES
    assert list(SLACK_BOT_SCOPES) == BOT_SCOPES
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://bastion-host.my-company.com/no-auth/provider-action/slack",
    }
    assert "event_subscriptions" not in settings
    events = json.loads(files[SLACK_EVENTS_MANIFEST_NAME].content)["settings"]
    assert events["event_subscriptions"] == {
        "request_url": "https://bastion-host.my-company.com/no-auth/provider-action/slack-events",
        "bot_events": ["message.channels", "message.groups", "message.mpim"],
    }
    assert list(SLACK_BOT_EVENTS) == events["event_subscriptions"]["bot_events"]


@pytest.mark.parametrize("release", ["8.2.10", "13.0.2"])
def test_no_exposure_manifest_before_14_has_no_bot_interactivity_or_events(release: str) -> None:
    answers = full_answers("slack-no-exposure", release)
    files = render(answers)
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["display_information"]["name"] == "CodeStream OnPrem"
    assert "features" not in manifest
    assert manifest["oauth_config"]["scopes"] == {"user": USER_SCOPES}
    assert manifest["settings"]["interactivity"] == {"is_enabled": False}
    assert "event_subscriptions" not in manifest["settings"]
    assert SLACK_EVENTS_MANIFEST_NAME not in files
    assert "provider-action" not in json.dumps(manifest)


@pytest.mark.parametrize("release", ["", "14.0.0", "15.6.1"])
def test_no_exposure_manifest_from_14_declares_the_bot_but_no_interactivity(release: str) -> None:
    # From 14.0.0 (Slack v3) every Slack sign-in asks for the bot scopes, bastion or not.
    answers = full_answers("slack-no-exposure", release)
    files = render(answers)
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["features"] == {
        "bot_user": {"display_name": "CodeStream OnPrem", "always_online": True}
    }
    assert manifest["oauth_config"]["scopes"] == {"user": USER_SCOPES, "bot": BOT_SCOPES}
    assert manifest["settings"]["interactivity"] == {"is_enabled": False}
    assert "event_subscriptions" not in manifest["settings"]
    assert SLACK_EVENTS_MANIFEST_NAME not in files
    assert "provider-action" not in json.dumps(manifest)
    block = snippet(answers)["integrations"]["slack"]["cloud"]
    assert block["interactiveComponentsEnabled"] is False
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert "a bot user named *CodeStream OnPrem*: CodeStream\n   14.0.0 and later" in steps
    assert "`channels:history channels:read chat:write groups:history" in steps
    assert "**Interactivity & Shortcuts**: off, and no events (no bastion)." in steps


@pytest.mark.parametrize("mode", ["slack", "slack+msteams", "slack-no-exposure"])
@pytest.mark.parametrize("release", ["1.21.31", "6.4.5", "7.0.1", "8.2.9"])
def test_a_classic_oauth_release_gets_no_manifest_and_is_told_why(mode: str, release: str) -> None:
    files = render(full_answers(mode, release))
    assert SLACK_MANIFEST_NAME not in files
    assert SLACK_EVENTS_MANIFEST_NAME not in files
    assert "codestream-messaging.json" in files  # the snippet still serves the release
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert "The Slack app: a classic app, no manifest" in steps
    assert (
        f"API release **{release}** signs users in to Slack with Slack's\n*classic* OAuth" in steps
    )
    assert "**no Slack app manifest was written**" in steps
    assert "upgrade CodeStream to 8.2.10 or later" in steps
    assert "Redirect URL `https://codestream.my-company.com/no-auth/provider-token/slack`" in steps
    assert "From an app manifest" not in steps
    assert "Event Subscriptions" not in steps
    interactivity = "`https://bastion-host.my-company.com/no-auth/provider-action/slack`"
    assert (interactivity in steps) is (mode != "slack-no-exposure")


def test_the_first_oauth_v2_release_gets_the_manifest() -> None:
    files = render(full_answers("slack", "8.2.10"))
    assert SLACK_MANIFEST_NAME in files
    assert "classic" not in files[NEXT_STEPS_NAME].content.decode()


@pytest.mark.parametrize(
    ("mode", "release", "minimum"),
    [
        ("slack", "1.0.0", "1.21.25"),
        ("slack", "1.21.24", "1.21.25"),
        ("slack-no-exposure", "1.21.9", "1.21.25"),
        ("msteams", "1.21.30", "1.21.31"),
        ("msteams", "1.21.28", "1.21.31"),
        ("slack+msteams", "1.21.28", "1.21.31"),
        ("slack+msteams", "1.0.0", "1.21.31"),
    ],
)
def test_a_release_that_cannot_load_the_keys_is_refused(
    mode: str, release: str, minimum: str
) -> None:
    with pytest.raises(RenderError) as caught:
        render(full_answers(mode, release))
    assert caught.value.keys == ("codestream.release",)
    message = str(caught.value)
    if parse_release(release) < (1, 21, 10):  # 9fe58c47a: the configuration file
        assert f"CodeStream API release {release} has no configuration file" in message
    else:
        assert f"CodeStream API release {release} cannot load" in message
        assert f"its configuration schema has from {minimum} on" in message
    assert f"upgrade CodeStream to {minimum} or later" in message


@pytest.mark.parametrize(
    ("mode", "release"),
    [("slack", "1.21.25"), ("slack-no-exposure", "1.21.28"), ("msteams", "1.21.31")],
)
def test_the_oldest_release_a_mode_can_serve_is_rendered(mode: str, release: str) -> None:
    answers = full_answers(mode, release)
    integrations = snippet(answers)["integrations"]
    if answers.uses_slack:
        assert integrations["slack"]["slack.com"] == expected_slack(
            ("app", "appSharing", "appStrict"), answers.exposes_bastion
        )
    if answers.uses_msteams:
        assert set(integrations["msteams"]["microsoft.com"]) == {
            "appClientId",
            "appClientSecret",
            "botAppId",
            "botAppPassword",
        }


def test_a_probed_release_too_old_is_refused_saying_where_it_came_from() -> None:
    from tests.unit.test_render import CA_BUNDLE, FEATURES_122, RESOLVERS

    with pytest.raises(RenderError) as caught:
        render_all(
            full_answers("msteams"),
            features=FEATURES_122,
            resolvers=RESOLVERS,
            ca_bundle=CA_BUNDLE,
            release="1.21.30",
        )
    assert caught.value.keys == ("codestream.release",)
    assert "the X-CS-API-Version the API reported" in str(caught.value)


def test_the_render_command_refuses_an_old_release_with_exit_2(tmp_path: Path) -> None:
    from tests.unit.test_render import CA_BUNDLE, FEATURES_122, RESOLVERS
    from wizard.commands.render import run_render

    out = io.StringIO()
    code = run_render(
        full_answers("slack+msteams", "1.21.28"),
        tmp_path / "out",
        out,
        features=FEATURES_122,
        resolvers=RESOLVERS,
        ca_bundle=CA_BUNDLE,
    )
    assert code == 2
    assert "codestream.release: CodeStream API release 1.21.28 cannot load the Teams keys" in (
        out.getvalue()
    )
    assert "1.21.31" in out.getvalue()
    assert not (tmp_path / "out").exists()


def test_a_release_without_the_events_endpoint_gets_no_events_manifest() -> None:
    files = render(full_answers("slack", "12.0.13"))
    assert SLACK_EVENTS_MANIFEST_NAME not in files
    assert "has no events endpoint" in files[NEXT_STEPS_NAME].content.decode()


def test_the_app_name_comes_from_the_answers_and_is_checked() -> None:
    answers = full_answers("slack")
    answers.slack.app_name = "Acme CodeStream"
    manifest = json.loads(render(answers)[SLACK_MANIFEST_NAME].content)
    assert manifest["display_information"]["name"] == "Acme CodeStream"
    answers.slack.app_name = "x" * 36
    with pytest.raises(RenderError) as caught:
        render(answers)
    assert caught.value.keys == ("slack.app_name",)
    assert "35" in str(caught.value)


# -- the Teams app package --------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, int, list[list[tuple[int, ...]]]]:
    """Width, height, colour type and pixels of an 8-bit PNG, CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0)
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels + 1
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # filter None: the only one this decoder reads
        rows.append([tuple(line[1 + x * channels : 1 + (x + 1) * channels]) for x in range(width)])
    return width, height, colour, rows


def package_of(files: dict[str, Any]) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(files[TEAMS_PACKAGE_NAME].content))


@pytest.mark.parametrize("mode", ["msteams", "slack+msteams"])
def test_teams_package_contents(mode: str) -> None:
    files = render(full_answers(mode))
    assert files[TEAMS_PACKAGE_NAME].mode == 0o644
    with package_of(files) as package:
        assert package.testzip() is None
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = decode_png(package.read("color.png"))
        outline = decode_png(package.read("outline.png"))
    assert manifest["manifestVersion"] == "1.5"
    assert manifest["id"] == TEAMS_ID
    assert manifest["packageName"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["accentColor"].startswith("#")
    assert manifest["validDomains"] == ["bastion-host.my-company.com"]
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    for key in ("version", "developer", "name", "description"):
        assert manifest[key]
    (bot,) = manifest["bots"]
    assert bot["botId"] == TEAMS_ID
    assert bot["scopes"] == ["personal", "team"]
    commands = {
        tuple(c["scopes"]): [cmd["title"] for cmd in c["commands"]] for c in bot["commandLists"]
    }
    assert commands == {
        ("personal",): ["help", "signin", "signout"],
        ("team",): ["help", "connect", "disconnect"],
    }
    width, height, _, pixels = color
    assert (width, height) == (192, 192)
    assert {px[3] for row in pixels for px in row} == {255}  # opaque
    assert len({px for row in pixels for px in row}) >= 2  # a mark on a background
    width, height, colour, pixels = outline
    assert (width, height, colour) == (32, 32, 6)  # RGBA: transparency
    seen = {px for row in pixels for px in row}
    assert (0, 0, 0, 0) in seen  # transparent background
    assert seen <= {(0, 0, 0, 0), (255, 255, 255, 255)}  # white on transparent
    assert (255, 255, 255, 255) in seen


def test_teams_package_is_reproducible_and_uses_the_punycode_host() -> None:
    answers = full_answers("msteams")
    answers.bastion.hostname = "bücher.example.com"
    first = render(answers)[TEAMS_PACKAGE_NAME].content
    assert render(answers)[TEAMS_PACKAGE_NAME].content == first
    with zipfile.ZipFile(io.BytesIO(first)) as package:
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["validDomains"] == ["xn--bcher-kva.example.com"]


def test_no_teams_package_without_the_bot_app_id() -> None:
    answers = full_answers("msteams")
    answers.msteams.app_id = ""
    files = render(answers)
    assert TEAMS_PACKAGE_NAME not in files
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert "set `[msteams] app_id`" in steps
    assert '"validDomains": ["bastion-host.my-company.com"]' in steps


# -- the next steps ------------------------------------------------------------------------


def positions(text: str, *needles: str) -> list[int]:
    found = [text.find(needle) for needle in needles]
    assert -1 not in found, [n for n, p in zip(needles, found) if p == -1]
    return found


def test_next_steps_order_with_slack_and_teams() -> None:
    steps = render(full_answers("slack+msteams"))[NEXT_STEPS_NAME].content.decode()
    order = positions(
        steps,
        "Install the Nginx server block",
        "Create the Slack app",
        "the app name *CodeStream OnPrem*",
        "OAuth & Permissions",
        "Redirect URL `https://codestream.my-company.com/no-auth/provider-token/slack`",
        "Interactivity & Shortcuts**: on, Request URL "
        "`https://bastion-host.my-company.com/no-auth/provider-action/slack`",
        "Messaging endpoint\n  `https://bastion-host.my-company.com/no-auth/provider-action/msteams`",
        "Load the CodeStream configuration",
        "codestream --cfg-tool --dump active --pretty",
        "codestream --cfg-tool --dump active > ~/.codestream/",
        "scp CODESTREAM_HOST:.codestream/codestream-config-with-messaging.json ",
        "codestream-bastion merge-config --snippet codestream-messaging.json --into "
        "codestream-config-with-messaging.json",
        "scp codestream-config-with-messaging.json CODESTREAM_HOST:.codestream/",
        "codestream --cfg-tool --load /opt/config/",
        "--and-activate",
        "codestream --restart",
        "--into codestream-services-config.json",
        "Slack events (after the configuration is loaded)",
        "`https://bastion-host.my-company.com/no-auth/provider-action/slack-events`",
        "Upload the Teams app",
        TEAMS_PACKAGE_NAME,
        "Check it all",
    )
    assert order == sorted(order)
    assert "`message.channels`" in steps


def test_next_steps_without_exposure() -> None:
    steps = render(full_answers("slack-no-exposure"))[NEXT_STEPS_NAME].content.decode()
    order = positions(
        steps, "Create the Slack app", "Interactivity & Shortcuts**: off", "Load the CodeStream"
    )
    assert order == sorted(order)
    assert "Slack events" not in steps
    assert "Install the Nginx" not in steps
    old = render(full_answers("slack-no-exposure", "13.0.2"))[NEXT_STEPS_NAME].content.decode()
    assert "bot scopes" not in old
    assert "no bot user, no events (no bastion)" in old


def test_next_steps_name_the_release_and_its_keys() -> None:
    unknown = render(full_answers("slack"))[NEXT_STEPS_NAME].content.decode()
    assert "the release is **unknown**" in unknown
    assert "13.0.2 and later" in unknown
    assert "curl -sI https://codestream.my-company.com/no-auth/capabilities" in unknown
    old = render(full_answers("slack+msteams", "7.0.1"))[NEXT_STEPS_NAME].content.decode()
    assert "API release **7.0.1**" in old
    assert "`slack.com` and `microsoft.com`" in old
    assert "`appSharing*`" in old
    probed = render(full_answers("slack"), release="14.0.3")[NEXT_STEPS_NAME].content
    assert b"the `X-CS-API-Version` the API sent" in probed


def test_next_steps_give_the_block_rules_with_their_releases() -> None:
    current = render(full_answers("slack+msteams", "7.0.1"))[NEXT_STEPS_NAME].content.decode()
    assert "Installation block `cloud`: releases from 7.0.1 (April 2020) read `cloud`" in current
    # 2d99875d5 (8.2.4) merges every block; 8498517ff (8.2.9) first skips disabled ones.
    assert "From 8.2.4 on every block is read, in order; a block marked\n" in current
    assert '`"disabled": true` is skipped only from 8.2.9 on.' in current
    assert "From 8.2.4 on every block not marked" not in current
    older = render(full_answers("slack+msteams", "7.0.0"))[NEXT_STEPS_NAME].content.decode()
    assert "Installation blocks `slack.com` and `microsoft.com`:\n  releases before 7.0.1" in older


def test_next_steps_say_the_dump_carries_the_control_scripts_lines() -> None:
    steps = render(full_answers("slack"))[NEXT_STEPS_NAME].content.decode()
    dump = (
        "codestream --cfg-tool --dump active > ~/.codestream/codestream-config-with-messaging.json"
    )
    assert f"    {dump}\n" in steps
    assert "--pretty >" not in steps
    assert "(the `docker run ...` command it echoes, the loader's `loading schema ...`);" in steps
    assert "`merge-config` skips them, says how many, and writes pure JSON." in steps


def test_render_all_takes_the_probed_release() -> None:
    from tests.unit.test_render import CA_BUNDLE, FEATURES_122, RESOLVERS

    files = render_all(
        full_answers("slack"),
        features=FEATURES_122,
        resolvers=RESOLVERS,
        ca_bundle=CA_BUNDLE,
        release="8.2.4",
    )
    data = json.loads(next(f for f in files if f.name == "codestream-messaging.json").content)
    assert "appSharingId" in data["integrations"]["slack"]["cloud"]
