"""``check --format prometheus|nagios|json`` end to end against the simulated environment.

The demo's certificate sits in a Let's Encrypt layout; giving it certbot's
``renewal/<name>.conf`` makes it a certbot certificate, so the renewal check
runs for real through the engine. The firewall check runs against this host's
own tools (read only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_check_command import _shared_args
from wizard.answers import load_answers
from wizard.checks.certificate import leaf_not_after
from wizard.cli import main
from wizard.demo.environment import DemoEnvironment, running_demo
from wizard.report import NAGIOS_UNKNOWN, NAGIOS_WARNING


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoEnvironment, Path]]:
    directory = tmp_path_factory.mktemp("demo")
    with running_demo(directory, timeout=2.0) as running:
        _env, answers_path = running
        certificate = Path(load_answers(answers_path).bastion.certificate)
        live = certificate.parent
        config_dir = live.parent.parent
        (config_dir / "renewal").mkdir(exist_ok=True)
        (config_dir / "renewal" / f"{live.name}.conf").write_text(
            f"version = 2.1.0\ncert = {live}/cert.pem\nfullchain = {certificate}\n\n"
            "[renewalparams]\nauthenticator = standalone\n",
            encoding="utf-8",
        )
        yield running


def _args(env: DemoEnvironment, answers: Path, *extra: str) -> list[str]:
    return ["check", "--answers", str(answers), *extra, *_shared_args(env)]


def test_prometheus_textfile_parses_back(
    demo: tuple[DemoEnvironment, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers = demo
    status = main(_args(env, answers, "--format", "prometheus"))
    text = capsys.readouterr().out
    assert status == 0
    families = {f.name: f for f in text_string_to_metric_families(text)}
    codes = {s.labels["code"]: s.value for s in families["codestream_bastion_check_status"].samples}
    assert codes["cert.ok"] == 0
    assert codes["upstream.ok"] == 0
    assert codes["cert.renewal_no_reload"] == 2
    assert any(code.startswith("firewall.") for code in codes)
    [expiry] = families["codestream_bastion_certificate_expiry_timestamp_seconds"].samples
    certificate = load_answers(answers).bastion.certificate
    not_after = leaf_not_after(certificate)
    assert not_after is not None
    assert expiry.labels == {"path": certificate}
    assert expiry.value == not_after.timestamp()
    [ok] = families["codestream_bastion_ok"].samples
    assert ok.value == 1


def test_nagios_line_and_exit_codes(
    demo: tuple[DemoEnvironment, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers = demo
    status = main(_args(env, answers, "--format", "nagios"))
    out = capsys.readouterr().out
    assert status == NAGIOS_WARNING
    assert out.count("\n") == 1
    assert out.startswith("CODESTREAM-BASTION WARNING - 0 failed, ")
    assert "cert.renewal_no_reload" in out
    assert "certificate_days_left=" in out
    missing = tmp_path / "nope.toml"
    status = main(_args(env, missing, "--format", "nagios"))
    out = capsys.readouterr().out
    assert status == NAGIOS_UNKNOWN
    assert out == f"CODESTREAM-BASTION UNKNOWN - cannot check: {missing}: no such file. " + (
        "Check the path, or run the wizard to create it.\n"
    )


def test_json_alias_and_conflicting_formats(
    demo: tuple[DemoEnvironment, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, answers = demo
    assert main(_args(env, answers, "--format", "json")) == 0
    by_format = json.loads(capsys.readouterr().out)
    assert main(_args(env, answers, "--json")) == 0
    by_alias = json.loads(capsys.readouterr().out)
    assert by_format["ok"] is by_alias["ok"] is True
    assert [f["code"] for f in by_format["findings"]] == [f["code"] for f in by_alias["findings"]]
    assert main(_args(env, answers, "--json", "--format", "prometheus")) == 2
    captured = capsys.readouterr()
    # --json always gets one object: the usage error as its "error" member (issue 20).
    document = json.loads(captured.out)
    assert document["ok"] is False
    assert document["findings"] == []
    assert "--json and --format prometheus disagree" in document["error"]
    assert "--json and --format prometheus disagree" in captured.err
