"""``merge-config``: the snippet merged into a whole CodeStream configuration.

Real files in a temporary directory, run through the real command line.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_render import make_answers, render
from wizard.cli import main
from wizard.merge_config import deep_merge, mask_secrets, run_merge_config

# A dump of an active configuration as `codestream --cfg-tool --dump active` writes
# it (JSON.stringify with tabs), with secrets of its own and another integration.
ACTIVE: dict[str, Any] = {
    "apiServer": {"port": 443, "publicApiUrl": "https://codestream.my-company.com"},
    "sharedSecrets": {"auth": "AUTH-SECRET-1", "cookie": "COOKIE-SECRET-2"},
    "storage": {"mongo": {"url": "mongodb://cs:MONGO-PASS-3@mongo:27017/codestream"}},
    "integrations": {
        "github": {"cloud": {"appClientId": "gh-id", "appClientSecret": "GH-SECRET-4"}},
        "slack": {"cloud": {"appId": "OLD", "disabled": False}},
    },
}
SECRETS = ("AUTH-SECRET-1", "COOKIE-SECRET-2", "MONGO-PASS-3", "GH-SECRET-4")
SNIPPET: dict[str, Any] = {
    "integrations": {
        "slack": {
            "cloud": {
                "appId": "A0123",
                "appClientId": "123.456",
                "appClientSecret": "SLACK-SECRET-5",
                "appSigningSecret": "SLACK-SIGNING-6",
                "interactiveComponentsEnabled": True,
            }
        },
        "msteams": {
            "cloud": {
                "appClientId": "bot",
                "appClientSecret": "TEAMS-PW-7",
                "botAppId": "bot",
                "botAppPassword": "TEAMS-PW-7",
            }
        },
    }
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "codestream-config-with-messaging.json"
    config.write_text(json.dumps(ACTIVE, indent="\t") + "\n")
    config.chmod(0o640)
    snippet = tmp_path / "codestream-messaging.json"
    snippet.write_text(json.dumps(SNIPPET))
    return snippet, config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["merge-config", *args])
    return code, capsys.readouterr().out


def test_merges_integrations_and_keeps_every_other_key(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    merged = json.loads(config.read_text())
    assert merged["apiServer"] == ACTIVE["apiServer"]
    assert merged["sharedSecrets"] == ACTIVE["sharedSecrets"]
    assert merged["storage"] == ACTIVE["storage"]
    assert merged["integrations"]["github"] == ACTIVE["integrations"]["github"]
    # Deep: the existing slack.cloud keys the snippet does not set are kept.
    assert merged["integrations"]["slack"]["cloud"] == {
        "appId": "A0123",
        "disabled": False,
        **SNIPPET["integrations"]["slack"]["cloud"],
    }
    assert merged["integrations"]["msteams"] == SNIPPET["integrations"]["msteams"]
    # Same layout as the dump (tabs), same mode, and a private backup of the original.
    assert config.read_text().startswith('{\n\t"apiServer"')
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    (backup,) = config.parent.glob(config.name + ".bak-*")
    assert json.loads(backup.read_text()) == ACTIVE
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert str(backup) in out
    assert not list(config.parent.glob(".*tmp*"))  # no temporary file left


def test_the_diff_masks_every_secret(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    _, out = run(capsys, "--snippet", str(snippet), "--into", str(config), "--dry-run")
    for secret in (*SECRETS, "SLACK-SECRET-5", "SLACK-SIGNING-6", "TEAMS-PW-7"):
        assert secret not in out
    assert '+\t\t\t\t"appSigningSecret": "<secret, changed>",' in out
    assert '+\t\t\t\t"appClientId": "123.456",' in out
    assert "dry run: nothing written" in out
    assert json.loads(config.read_text()) == ACTIVE
    assert not list(config.parent.glob(config.name + ".bak-*"))


def test_a_second_merge_changes_nothing(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    assert run(capsys, "--snippet", str(snippet), "--into", str(config))[0] == 0
    before = config.read_bytes()
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    assert "nothing to change" in out
    assert config.read_bytes() == before
    assert len(list(config.parent.glob(config.name + ".bak-*"))) == 1


def test_a_rendered_snippet_merges_into_a_file_based_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = make_answers("slack+msteams")
    answers.slack.app_id, answers.slack.client_id = "A1", "1.2"
    answers.slack.client_secret, answers.slack.signing_secret = "cs", "ss"
    answers.msteams.app_id, answers.msteams.app_password = "bot", "pw"
    snippet = tmp_path / answers.output.snippet
    snippet.write_bytes(render(answers)[answers.output.snippet].content)
    config = tmp_path / "codestream-services-config.json"
    config.write_text(json.dumps({"apiServer": {"port": 80}}, indent=2))
    code, _ = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    merged = json.loads(config.read_text())
    assert merged["apiServer"] == {"port": 80}
    assert merged["integrations"] == json.loads(snippet.read_text())["integrations"]


def test_other_blocks_of_the_same_provider_are_pointed_out(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    data = json.loads(config.read_text())
    data["integrations"]["slack"]["slack.com"] = {"appId": "ANCIENT"}
    data["integrations"]["slack"]["off"] = {"appId": "X", "disabled": True}
    config.write_text(json.dumps(data))
    _, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert "note: integrations.slack.slack.com is also read" in out
    assert "integrations.slack.off" not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{ apiServer: { port: 443 } }", "dump again without --pretty"),
        ('{"a": 1,}', "is not valid JSON"),
        ("[1, 2]", "not an object"),
        ("", "is not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"integrations": []}', "'integrations' is not an object"),
    ],
)
def test_a_bad_configuration_is_refused_untouched(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    snippet, config = files
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    before = config.read_bytes()
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 2
    assert message in out
    assert str(config) in out
    assert "Traceback" not in out
    assert config.read_bytes() == before
    assert not list(config.parent.glob(config.name + ".bak-*"))


@pytest.mark.parametrize(
    ("snippet_data", "message"),
    [
        ({"apiServer": {}}, "no 'integrations' object"),
        ({"integrations": {"slack": {}}, "apiServer": {}}, "holds more than 'integrations'"),
        (
            {"integrations": {"slack": {"cloud": {"appSigningSecret": "<SLACK_SIGNING_SECRET>"}}}},
            "still has placeholders: integrations.slack.cloud.appSigningSecret",
        ),
    ],
)
def test_a_bad_snippet_is_refused(
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    snippet_data: dict[str, Any],
    message: str,
) -> None:
    snippet, config = files
    snippet.write_text(json.dumps(snippet_data))
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 2
    assert message in out
    assert json.loads(config.read_text()) == ACTIVE


def test_missing_files_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--snippet", str(tmp_path / "nope.json"), "--into", str(tmp_path))
    assert code == 2
    assert "nope.json: no such file" in out


def test_a_symlinked_configuration_is_refused_and_nothing_of_it_is_shown(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    snippet, config = files
    before = config.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(config)
    out = io.StringIO()
    assert run_merge_config(snippet, link, out) == 2
    assert link.is_symlink()
    assert config.read_bytes() == before
    assert "is a symbolic link" in out.getvalue()
    assert "mongo" not in out.getvalue()
    assert "---" not in out.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [snippet.name, config.name, "link.json"]
    )


def test_deep_merge_and_masking_helpers() -> None:
    base = {"a": {"b": 1, "c": {"d": 2}}, "keep": [1, 2]}
    assert deep_merge(base, {"a": {"c": {"e": 3}}}) == {
        "a": {"b": 1, "c": {"d": 2, "e": 3}},
        "keep": [1, 2],
    }
    assert base == {"a": {"b": 1, "c": {"d": 2}}, "keep": [1, 2]}  # not modified
    masked = mask_secrets(ACTIVE)
    text = json.dumps(masked)
    for secret in SECRETS:
        assert secret not in text
    assert masked["storage"]["mongo"]["url"] == "mongodb://cs:<secret>@mongo:27017/codestream"
    assert masked["integrations"]["github"]["cloud"]["appClientId"] == "gh-id"


# -- a dump redirected into a file: the control script's lines come first -----------------

# What `codestream --cfg-tool --dump active > FILE` writes: the control script's
# run_script_via_api echoes its `docker run` line to stdout (install-scripts/codestream
# in TeamCodeStream/onprem-install), then mongo-config-loader.js logs with console.log
# `connecting to <url>` (releases before codestream-server 5ee15972c) and
# `loading schema (<file>)` (structured_config_base.js _loadSchemaFromFile), then
# prints JSON.stringify(config, replacer, "\t").
LOADER = "/opt/api/codestream-server/shared/codestream_configs/bin/mongo-config-loader.js"
MONGO = "mongodb://cs:MONGO-PASS-3@localhost/codestream"
PREAMBLE = (
    "docker run --rm -v /home/cs/.codestream:/opt/config --network=host "
    f"teamcodestream/api-onprem:14.0.5 node {LOADER} --mongo-url {MONGO} --dump active\n"
    f"connecting to {MONGO}\n"
    "loading schema (/opt/api/codestream-server/shared/codestream_configs/bin/../lib/"
    "../parameters.json)\n"
)


def dump_text(config: dict[str, Any]) -> str:
    return PREAMBLE + json.dumps(config, indent="\t") + "\n"


def test_a_dump_with_the_control_scripts_lines_is_merged_into_pure_json(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    config.write_text(dump_text(ACTIVE))
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    assert "skipped 3 lines before the JSON" in out
    assert "  | docker run --rm -v /home/cs/.codestream:/opt/config" in out
    assert "  | connecting to mongodb://cs:<secret>@localhost/codestream" in out
    assert "  | loading schema (" in out
    assert not [secret for secret in SECRETS if secret in out]
    text = config.read_text()
    assert text.startswith("{\n\t")  # the dump's own indentation, nothing before it
    assert "docker run" not in text
    assert "loading schema" not in text
    merged = json.loads(text)  # strict: the whole file is one JSON object
    assert merged["storage"] == ACTIVE["storage"]
    assert merged["integrations"]["slack"]["cloud"]["appSigningSecret"] == "SLACK-SIGNING-6"
    (backup,) = config.parent.glob(config.name + ".bak-*")
    assert backup.read_text() == dump_text(ACTIVE)  # the backup is the file as it was
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_a_dump_already_holding_the_values_still_loses_its_preamble(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    config.write_text(dump_text(deep_merge(ACTIVE, SNIPPET)))
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    assert "the values are unchanged; only the skipped lines go." in out
    assert json.loads(config.read_text()) == deep_merge(ACTIVE, SNIPPET)
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert (code, "skipped" in out) == (0, False)
    assert "already holds the snippet's values; nothing to change." in out


def test_a_dry_run_on_a_dump_writes_nothing(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    config.write_text(dump_text(ACTIVE))
    code, out = run(capsys, "--dry-run", "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    assert "skipped 3 lines" in out
    assert "dry run: nothing written." in out
    assert config.read_text() == dump_text(ACTIVE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (dump_text(ACTIVE) + "config loaded\n", "has more text after its JSON object ends"),
        (dump_text(ACTIVE) + "{}\n", "has more text after its JSON object ends"),
        ("line\n" * 11 + json.dumps(ACTIVE), "has 11 lines before its first line starting"),
        (PREAMBLE + '{"apiServer": {"port": 443,}\n', "is not valid JSON"),
        (PREAMBLE + "undefined\n", "is not valid JSON"),
        ("GIF89a\x00\x01garbage\nmore garbage\n", "is not valid JSON"),
        (
            PREAMBLE + "{\n  apiServer: { port: \x1b[33m443\x1b[39m },\n}\n",
            "the output of '--dump active --pretty'",
        ),
        (PREAMBLE + "[1, 2]\n", "is not valid JSON"),
    ],
)
def test_a_dump_that_is_not_one_json_object_is_refused_untouched(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    snippet, config = files
    config.write_text(content)
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 2
    assert message in out
    assert "Traceback" not in out
    assert config.read_text() == content
    assert not list(config.parent.glob(config.name + ".bak-*"))


def test_the_error_position_counts_the_skipped_lines(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    # A value missing: json says where alike on every Python (3.13 words a trailing comma anew).
    config.write_text(PREAMBLE + '{\n\t"a": \n}\n')
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 2
    assert "at line 6, column 1" in out  # 3 skipped lines, then the object's third line


def test_skipped_lines_are_shown_without_control_characters(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, config = files
    config.write_text("\x1b]0;owned\x07\x1b[2J" + "x" * 300 + "\n" + json.dumps(ACTIVE))
    code, out = run(capsys, "--snippet", str(snippet), "--into", str(config))
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    shown = next(line for line in out.splitlines() if line.startswith("  | "))
    assert shown.startswith("  | ?]0;owned??[2Jxxx")
    assert shown.endswith("...")
    assert len(shown) == 4 + 160
