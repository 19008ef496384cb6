"""The answers model: round trips, and broken files named precisely."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.answers import (
    Answers,
    AnswersError,
    dumps_answers,
    load_answers,
    loads_answers,
    save_answers,
)

GOOD = """
mode = "slack+msteams"

[bastion]
hostname = "bastion-host.my-company.com"
public_ip = "203.0.113.10"
certificate = "/etc/letsencrypt/live/bastion-host.my-company.com/fullchain.pem"
private_key = "/etc/letsencrypt/live/bastion-host.my-company.com/privkey.pem"
listen_port = 443

[codestream]
api_url = "https://codestream.my-company.com"

[slack]
events = false
"""


def test_good_file_loads_with_defaults() -> None:
    answers = loads_answers(GOOD)
    assert answers.bastion.hostname == "bastion-host.my-company.com"
    assert answers.codestream.upstream_ca == ""
    assert answers.slack.events is False
    assert answers.endpoints == (
        "/no-auth/provider-action/slack",
        "/no-auth/provider-action/msteams",
    )


def test_round_trip_keeps_hostile_strings(tmp_path: Path) -> None:
    answers = Answers(mode="slack")
    answers.bastion.hostname = 'a"b\\c'
    answers.slack.client_secret = "p@ss'\"word ünïcode"
    path = tmp_path / "answers.toml"
    save_answers(answers, path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_answers(path, partial=True) == answers
    assert loads_answers(dumps_answers(answers), partial=True) == answers


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("", None, None, "empty"),
        ("   \n\n", None, None, "empty"),
        ('mode = "slack', None, 1, "not valid TOML"),
        ('mode = "teams"', "mode", 1, "unknown mode 'teams'"),
        ("mode = 3", "mode", 1, "must be a string"),
        ('mode = "slack"\n[bastion]\nhostnme = "x"', "bastion.hostnme", 3, "unknown key"),
        ('mode = "slack"\n[bastoin]\nhostname = "x"', "bastoin", 2, "unknown key or table"),
        ('mode = "slack"\nbastion = "x"', "bastion", 2, "must be a table"),
        ('mode = "slack"\n[bastion]\nlisten_port = "443"', "bastion.listen_port", 3, "integer"),
        ('mode = "slack"\n[bastion]\nlisten_port = true', "bastion.listen_port", 3, "integer"),
        ('mode = "slack"\n[bastion]\nlisten_port = 70000', "bastion.listen_port", 3, "1-65535"),
        ('mode = "slack"\n[slack]\nevents = "yes"', "slack.events", 3, "true or false"),
        ('mode = "slack"\n[bastion]\nhostname = "a\\nb"', "bastion.hostname", 3, "control"),
        ('[bastion]\nhostname = "a"', "mode", None, "missing"),
        ('mode = "slack"', "bastion.hostname", None, "required"),
    ],
)
def test_broken_files_name_key_and_line(
    text: str, key: str | None, line: int | None, words: str
) -> None:
    with pytest.raises(AnswersError) as caught:
        loads_answers(text, "answers.toml")
    error = caught.value
    assert words in error.message
    assert error.key == key
    assert error.line == line
    assert str(error).startswith("answers.toml")


def test_no_exposure_needs_no_bastion() -> None:
    answers = loads_answers('mode = "slack-no-exposure"')
    assert not answers.exposes_bastion
    assert answers.endpoints == ()


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_unusable_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "answers.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00mode")
    with pytest.raises(AnswersError) as caught:
        load_answers(path)
    assert str(path) in str(caught.value)
    assert {"missing": "no such file", "directory": "directory", "binary": "UTF-8"}[kind] in str(
        caught.value
    )
