"""``check`` and ``demo --check`` end to end against the simulated environment."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.answers import load_answers, save_answers
from wizard.cli import main
from wizard.demo.environment import DemoEnvironment, running_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoEnvironment, Path]]:
    directory = tmp_path_factory.mktemp("demo")
    with running_demo(directory, timeout=2.0) as running:
        yield running


def _shared_args(env: DemoEnvironment) -> list[str]:
    ctx = env.context()
    return [
        "--dns-server",
        str(ctx.nameservers[0]),
        "--public-dns",
        str(ctx.public_nameservers[0]),
        "--ca-bundle",
        str(ctx.ca_bundle),
        "--lab",
        "--timeout",
        "2",
    ]


def test_demo_answers_pass_headless_check(
    demo: tuple[DemoEnvironment, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers = demo
    status = main(["check", "--answers", str(answers), "--json", *_shared_args(env)])
    document = json.loads(capsys.readouterr().out)
    failed = [f for f in document["findings"] if f["status"] == "fail"]
    assert failed == []
    assert status == 0
    assert document["ok"] is True
    codes = {f["code"] for f in document["findings"]}
    assert {"dns.resolves", "cert.ok", "key.ok", "upstream.ok"} <= codes


def test_wrong_certificate_fails_with_its_code(
    demo: tuple[DemoEnvironment, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers_path = demo
    answers = load_answers(answers_path)
    cert, key = env.files.cert_pair("wrong-host")
    answers.bastion.certificate, answers.bastion.private_key = str(cert), str(key)
    edited = tmp_path / "answers.toml"
    save_answers(answers, edited)
    status = main(["check", "--answers", str(edited), *_shared_args(env)])
    out = capsys.readouterr().out
    assert status == 1
    assert "cert.hostname_mismatch" in out
    assert "FAILED" in out


def test_demo_check_command_prints_a_passing_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    status = main(["demo", "--check", "--dir", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PASSED" in out
    assert "\x1b[" not in out
    assert str(tmp_path / "d" / "answers.toml") in out


def test_demo_dir_is_reused_with_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "d"
    assert main(["demo", "--check", "--dir", str(directory)]) == 0
    capsys.readouterr()
    answers_path = directory / "answers.toml"
    answers = load_answers(answers_path)
    cert, key = (
        directory / "letsencrypt/live/bastion-expired/fullchain.pem",
        directory / "letsencrypt/live/bastion-expired/privkey.pem",
    )
    answers.bastion.certificate, answers.bastion.private_key = str(cert), str(key)
    save_answers(answers, answers_path)
    assert main(["demo", "--check", "--dir", str(directory), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert "cert.expired" in {f["code"] for f in document["findings"] if f["status"] == "fail"}


def test_silent_resolvers_end_within_timeout(
    demo: tuple[DemoEnvironment, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers = demo
    assert env.local_dns is not None
    assert env.public_dns is not None
    env.local_dns.silent = env.public_dns.silent = True
    try:
        started = time.monotonic()
        args = _shared_args(env)
        args[args.index("--timeout") + 1] = "1"
        status = main(["check", "--answers", str(answers), "--json", *args])
        elapsed = time.monotonic() - started
    finally:
        env.local_dns.silent = env.public_dns.silent = False
    document = json.loads(capsys.readouterr().out)
    assert status == 1
    assert "dns.timeout" in {f["code"] for f in document["findings"]}
    assert elapsed < 1 + 1
