"""Secrets from ``K_file`` references and ``CODESTREAM_BASTION_*`` variables: precedence, conflicts,
errors, the ``secrets.*`` findings, and that saving writes references, never values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wizard.answers import AnswersError, dumps_answers, load_answers, loads_answers, save_answers
from wizard.checks.secrets import check_secrets
from wizard.cli import main
from wizard.secrets_source import SecretSource, env_name

BASE = """mode = "slack+msteams"

[bastion]
hostname = "bastion.example.com"
public_ip = "203.0.113.10"
certificate = "/nonexistent/fullchain.pem"
private_key = "/nonexistent/privkey.pem"

[codestream]
api_url = "https://codestream.example.com"
"""
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"
PASSWORD = "Zx8Q~teams.bot-password"


def _secret(tmp_path: Path, name: str, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    path.chmod(mode)
    return path


def test_file_reference_reads_the_secret_and_saves_the_reference(tmp_path: Path) -> None:
    signing = _secret(tmp_path, "signing", SIGNING + "\n")
    password = _secret(tmp_path, "password", PASSWORD + "\r\n")
    text = (
        BASE
        + f'\n[slack]\nclient_id = "123.456"\nsigning_secret_file = "{signing}"\n'
        + f'\n[msteams]\napp_id = "app"\napp_password_file = "{password}"\n'
    )
    answers = loads_answers(text, "a.toml", environ={})
    assert answers.slack.signing_secret == SIGNING
    assert answers.msteams.app_password == PASSWORD
    saved = dumps_answers(answers)
    assert SIGNING not in saved
    assert PASSWORD not in saved
    assert f'signing_secret_file = "{signing}"' in saved
    assert f'app_password_file = "{password}"' in saved
    assert "signing_secret =" not in saved
    # What was saved loads back to the same values.
    again = loads_answers(saved, "saved.toml", environ={})
    assert again.slack.signing_secret == SIGNING
    assert again.msteams.app_password == PASSWORD
    [sources] = check_secrets(answers.secret_sources)
    assert sources.code == "secrets.sources"
    assert sources.status == "ok"
    assert str(signing) in sources.detail
    assert SIGNING not in sources.detail


def test_a_value_changed_after_loading_is_saved_as_typed(tmp_path: Path) -> None:
    signing = _secret(tmp_path, "signing", SIGNING)
    answers = loads_answers(BASE + f'[slack]\nsigning_secret_file = "{signing}"\n', environ={})
    answers.slack.signing_secret = "typed-in-the-wizard"
    saved = dumps_answers(answers)
    assert 'signing_secret = "typed-in-the-wizard"' in saved
    assert "signing_secret_file" not in saved


def test_environment_variable_wins_and_is_never_saved(tmp_path: Path) -> None:
    signing = _secret(tmp_path, "signing", "from-the-file")
    name = env_name("slack", "signing_secret")
    assert name == "CODESTREAM_BASTION_SLACK_SIGNING_SECRET"
    environ = {name: SIGNING, env_name("slack", "client_secret"): "cs-from-env"}
    text = BASE + f'[slack]\nclient_secret = "typed"\nsigning_secret_file = "{signing}"\n'
    answers = loads_answers(text, environ=environ)
    assert answers.slack.signing_secret == SIGNING
    assert answers.slack.client_secret == "cs-from-env"
    [sources] = check_secrets(answers.secret_sources)
    assert (
        f"slack.signing_secret from the environment variable {name} "
        "(overrides signing_secret_file in the answers file)"
    ) in sources.detail
    assert "(overrides client_secret in the answers file)" in sources.detail
    saved = dumps_answers(answers)
    assert SIGNING not in saved
    assert "cs-from-env" not in saved
    assert f"# slack.signing_secret is read from the environment variable {name}" in saved
    assert 'signing_secret = ""' in saved
    # An empty variable counts as unset: the file is used.
    assert loads_answers(text, environ={name: ""}).slack.signing_secret == "from-the-file"


def test_env_alone_without_any_slack_table() -> None:
    name = env_name("msteams", "app_password")
    answers = loads_answers(BASE, environ={name: PASSWORD})
    assert answers.msteams.app_password == PASSWORD
    assert answers.secret_sources.by_key["msteams.app_password"].where == name


def test_value_and_file_together_is_an_error_naming_the_line(tmp_path: Path) -> None:
    signing = _secret(tmp_path, "signing", SIGNING)
    text = BASE + f'[slack]\nsigning_secret = "x"\nsigning_secret_file = "{signing}"\n'
    with pytest.raises(AnswersError) as caught:
        loads_answers(text, "a.toml", environ={})
    error = caught.value
    assert error.key == "slack.signing_secret_file"
    assert error.line == text.splitlines().index(f'signing_secret_file = "{signing}"') + 1
    assert "both signing_secret and signing_secret_file are set" in str(error)
    # An empty value beside the reference is no conflict (the wizard saves K = "").
    ok_text = BASE + f'[slack]\nsigning_secret = ""\nsigning_secret_file = "{signing}"\n'
    assert loads_answers(ok_text, environ={}).slack.signing_secret == SIGNING


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: "relative/secret", "is not an absolute path"),
        (lambda d: str(d / "missing"), "no such file"),
        (lambda d: str(d), "is not a regular file"),
        (lambda d: str(_secret(d, "empty", "\n")), "is empty"),
        (lambda d: str(_secret(d, "two", "line one\nline two\n")), "more than one line"),
        (lambda d: str(_secret(d, "big", "x" * 5000)), "larger than 4096 bytes"),
    ],
)
def test_unusable_secret_files(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    text = BASE + f'[slack]\nclient_secret_file = "{path}"\n'
    with pytest.raises(AnswersError) as caught:
        loads_answers(text, "a.toml", environ={})
    assert caught.value.key == "slack.client_secret_file"
    assert message in caught.value.message
    assert caught.value.line is not None


def test_binary_secret_file_and_non_string_reference(tmp_path: Path) -> None:
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(AnswersError, match="is not UTF-8 text"):
        loads_answers(BASE + f'[slack]\nclient_secret_file = "{binary}"\n', environ={})
    with pytest.raises(AnswersError, match="must be a string"):
        loads_answers(BASE + "[slack]\nclient_secret_file = 3\n", environ={})
    with pytest.raises(AnswersError, match="control character"):
        loads_answers(BASE, environ={env_name("slack", "client_secret"): "a\nb"})
    # Only secrets have a _file form: app_id_file is an unknown key.
    with pytest.raises(AnswersError, match="unknown key"):
        loads_answers(BASE + '[slack]\napp_id_file = "/x"\n', environ={})


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_unreadable_secret_file_as_another_user(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "root-only", SIGNING, 0o600)
    tmp_path.chmod(0o755)
    text = BASE + f'[slack]\nsigning_secret_file = "{secret}"\n'
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to nobody and tries
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            loads_answers(text, environ={})
            os.write(write, b"read it")
        except AnswersError as exc:
            os.write(write, str(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    assert "cannot be read (Permission denied)" in said
    assert SIGNING not in said


def test_world_readable_file_fails_and_unknown_variables_warn(tmp_path: Path) -> None:
    loose = _secret(tmp_path, "loose", SIGNING, 0o644)
    group = _secret(tmp_path, "group", PASSWORD, 0o640)
    text = BASE + f'[slack]\nsigning_secret_file = "{loose}"\n'
    text += f'[msteams]\napp_password_file = "{group}"\n'
    environ = {
        "CODESTREAM_BASTION_SLACK_SIGNING_SECRT": "typo",
        "CODESTREAM_BASTION_STATE": "/tmp/state",  # the wizard's own variable: not a secret
    }
    answers = loads_answers(text, environ=environ)
    findings = check_secrets(answers.secret_sources)
    codes = [(f.code, f.status) for f in findings]
    assert codes == [
        ("secrets.sources", "ok"),
        ("secrets.file_readable", "fail"),
        ("secrets.unknown_variable", "warn"),
    ]
    readable = findings[1]
    assert "0644" in readable.detail
    assert readable.remedy.startswith(f"chmod 600 {loose}")
    assert "CODESTREAM_BASTION_SLACK_SIGNING_SECRT" in findings[2].title
    assert "CODESTREAM_BASTION_SLACK_SIGNING_SECRET" in findings[2].detail


def test_source_repr_never_shows_the_value() -> None:
    source = SecretSource("file", "/run/secrets/slack", SIGNING, 0o600)
    assert SIGNING not in repr(source)


def test_headless_commands_use_file_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signing = _secret(tmp_path, "signing", SIGNING + "\n", 0o644)
    answers_path = tmp_path / "answers.toml"
    answers_path.write_text(
        BASE.replace('"slack+msteams"', '"slack-no-exposure"')
        + f'[slack]\nsigning_secret_file = "{signing}"\n',
        encoding="utf-8",
    )
    monkeypatch.delenv(env_name("slack", "signing_secret"), raising=False)
    status = main(["check", "--answers", str(answers_path), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 1
    codes = {f["code"]: f["status"] for f in document["findings"]}
    assert codes["secrets.file_readable"] == "fail"
    assert SIGNING not in json.dumps(document)
    signing.chmod(0o600)
    out = tmp_path / "out"
    assert main(["render", "--answers", str(answers_path), "--out", str(out)]) == 0
    capsys.readouterr()
    snippet = json.loads((out / "codestream-messaging.json").read_text(encoding="utf-8"))
    assert snippet["integrations"]["slack"]["cloud"]["appSigningSecret"] == SIGNING
    # Saving what was loaded keeps the reference.
    saved = tmp_path / "saved.toml"
    save_answers(load_answers(answers_path), saved)
    assert SIGNING not in saved.read_text(encoding="utf-8")
