"""Next steps per release: each of 8.2.9, 12.0.10, 13.0.1, 14.0.14, 15.6.1 gets its own.

The facts, from codestream-server's tags (wizard/releases.py cites the commits):
the loader of 7.4.2-8.2.24 (``--add-cfg-file``; ``--activate-cfg`` from 8.2.4),
``--cfg-tool`` from 8.2.25; the Admin App from 8.2.25 to 12.0.10, editing only
Slack ``app*`` and Teams ``appClient*``; Slack OAuth v2 from 8.2.10; the three
Slack families before 13.0.2; the events route from 13.0.1; Teams sign-in as an
OAuth client of ``login.microsoftonline.com/common`` before 14.0.15; the
``signin`` code from 14.0.19.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_render import CA_BUNDLE, FEATURES_122, RESOLVERS, render
from tests.unit.test_what_codestream_reads import full_answers
from wizard.commands.render import run_render
from wizard.constants import NEXT_STEPS_NAME, SLACK_MANIFEST_NAME
from wizard.provider_files import TEAMS_PACKAGE_NAME

RELEASES = ("8.2.9", "12.0.10", "13.0.1", "14.0.14", "15.6.1")
TEAMS_REDIRECT = "https://codestream.my-company.com/no-auth/provider-token/msteams"
ADMIN_APP_LIMIT = "**The Admin App** of this release edits only `integrations.slack.cloud.app*`"
NO_ADMIN_APP = "There is no Admin App in this release (it was removed in 12.0.11)."


def steps_for(release: str) -> str:
    return render(full_answers("slack+msteams", release))[NEXT_STEPS_NAME].content.decode()


@pytest.fixture(scope="module")
def steps() -> dict[str, str]:
    return {release: steps_for(release) for release in RELEASES}


def test_each_release_gets_its_own_next_steps(steps: dict[str, str]) -> None:
    assert len(set(steps.values())) == len(RELEASES)


def test_8_2_9_uses_the_old_loader_a_classic_slack_app_and_teams_oauth(
    steps: dict[str, str],
) -> None:
    text = steps["8.2.9"]
    assert "(the loader of 7.4.2 to 8.2.24)" in text
    assert (
        '--mongo-url "$CSSVC_CFG_URL" --add-cfg-file codestream-config-with-messaging.json' in text
    )
    assert "--activate-cfg NEW_SERIAL" in text  # 8.2.4 and later
    assert "codestream --cfg-tool" not in text
    assert "Admin App" not in text  # its server came with 8.2.25
    assert "a classic app, no manifest" in text  # OAuth v2 came with 8.2.10
    assert "paused the retirement" in text
    assert SLACK_MANIFEST_NAME not in render(full_answers("slack", "8.2.9"))
    assert "`app*`, `appSharing*`, `appStrict*`" in text
    assert "has no events endpoint" in text
    assert TEAMS_REDIRECT in text
    assert "`User.Read.All`,\n    `Group.ReadWrite.All`, `offline_access`" in text
    assert "sign-in code" not in text


def test_before_8_2_4_the_newest_configuration_loads_without_activation() -> None:
    text = steps_for("8.2.3")
    assert "this release loads the newest one" in text
    assert "--activate-cfg" not in text


def test_before_7_4_2_only_the_file() -> None:
    text = steps_for("7.4.1")
    assert "**Configuration file** (before 7.4.2" in text
    assert "--into codestream-services-config.json" in text
    assert "mongo-config-loader" not in text
    assert "codestream --cfg-tool" not in text


def test_12_0_10_has_the_cfg_tool_and_an_admin_app_that_cannot_set_every_key(
    steps: dict[str, str],
) -> None:
    text = steps["12.0.10"]
    assert "codestream --cfg-tool --load /opt/config/codestream-config-with-messaging.json" in text
    assert "mongo-config-loader" not in text
    assert ADMIN_APP_LIMIT in text
    assert "`appSharing*`\nand `appStrict*` families" in text
    assert "`botAppId`\nand `botAppPassword`" in text
    assert "has no events endpoint" in text
    assert TEAMS_REDIRECT in text


def test_13_0_1_has_the_events_route_three_families_and_no_admin_app(
    steps: dict[str, str],
) -> None:
    text = steps["13.0.1"]
    assert NO_ADMIN_APP in text
    assert ADMIN_APP_LIMIT not in text
    assert "Slack events (after the configuration is loaded)" in text
    assert "`app*`, `appSharing*`, `appStrict*`" in text
    assert TEAMS_REDIRECT in text


def test_14_0_14_reads_app_only_and_teams_is_still_an_oauth_client(
    steps: dict[str, str],
) -> None:
    text = steps["14.0.14"]
    assert "releases from 13.0.2 read\n  only `app*`" in text
    assert "**Teams sign-in** (release 14.0.14, before 14.0.15)" in text
    assert TEAMS_REDIRECT in text
    assert "sign-in code" not in text


def test_15_6_1_needs_no_teams_oauth_and_takes_the_signin_code(steps: dict[str, str]) -> None:
    text = steps["15.6.1"]
    assert "Teams sign-in" not in text
    assert TEAMS_REDIRECT not in text
    assert "sign-in code CodeStream gives you (releases from 14.0.19)" in text
    assert NO_ADMIN_APP in text
    assert "codestream --cfg-tool --dump active > ~/.codestream/" in text


@pytest.mark.parametrize("release", RELEASES)
def test_every_release_tells_file_from_database_and_where_each_command_runs(
    steps: dict[str, str], release: str
) -> None:
    text = steps[release]
    assert "docker exec API_CONTAINER env | grep -E 'CSSVC_CFG_(FILE|URL)|CS_API_CFG_FILE'" in text
    assert "On the bastion, in the directory with `codestream-messaging.json`" in text
    assert "nothing is installed on the CodeStream host" in text
    assert "jq -s '.[0] * .[1]'" in text
    assert "On the CodeStream host" in text
    # D6 for every release: the Teams channel, multi-tenant bots, connect.
    assert "add the **Microsoft Teams** channel" in text
    assert "Azure no longer\n  creates multi-tenant bots after July 31, 2025" in text
    assert "`@CodeStream connect`" in text


def test_the_teams_package_version_goes_up_only_when_its_content_changes(tmp_path: Path) -> None:
    def package_version(hostname: str) -> str:
        answers = full_answers("msteams", "15.6.1")
        answers.bastion.hostname = hostname
        code = run_render(
            answers,
            tmp_path,
            io.StringIO(),
            features=FEATURES_122,
            resolvers=RESOLVERS,
            ca_bundle=CA_BUNDLE,
        )
        assert code == 0
        with zipfile.ZipFile(tmp_path / TEAMS_PACKAGE_NAME) as archive:
            version: str = json.loads(archive.read("manifest.json"))["version"]
        assert f"The package's `version` is {version}" in (tmp_path / NEXT_STEPS_NAME).read_text()
        return version

    assert package_version("bastion-host.my-company.com") == "1.0.0"
    assert package_version("bastion-host.my-company.com") == "1.0.0"  # same content
    assert package_version("bastion-2.my-company.com") == "1.0.1"  # validDomains changed
    assert package_version("bastion-2.my-company.com") == "1.0.1"
    (tmp_path / TEAMS_PACKAGE_NAME).write_bytes(b"not a zip")
    assert package_version("bastion-2.my-company.com") == "1.0.0"  # unreadable: start over
