"""One place words a remedy's settings: the answers file headless, the wizard's fields on screen."""

from __future__ import annotations

import pytest

from wizard.checks.listen import check_listen_port
from wizard.findings import (
    APPLY_AGAIN,
    PHRASES,
    SETTINGS,
    UPSTREAM_CA,
    Setting,
    fail,
    for_wizard,
    ok,
)
from wizard.tui.steps import STEPS


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s.section}.{s.key}")
def test_every_setting_names_a_real_step_and_both_wordings_differ(setting: Setting) -> None:
    assert setting.step in {step.title for step in STEPS}
    assert str(setting) == setting.in_answers
    assert f"[{setting.section}]" in setting.in_answers
    assert "answers file" not in setting.in_wizard
    assert setting.field in setting.in_wizard


def test_a_check_remedy_is_headless_until_the_wizard_words_it() -> None:
    (finding,) = check_listen_port(8443)
    assert "listen_port in the [bastion] table of the answers file" in finding.remedy
    shown = for_wizard(finding)
    assert "answers file" not in shown.remedy
    assert "the 'Listen port' field (step Public IP)" in shown.remedy
    assert (shown.code, shown.status, shown.title) == (finding.code, finding.status, finding.title)


def test_phrases_and_settings_in_title_detail_and_remedy_are_all_worded() -> None:
    finding = fail(
        "proxy.upstream_tls",
        f"See {UPSTREAM_CA}",
        f"{UPSTREAM_CA} is wrong",
        f"Set {UPSTREAM_CA} to the CA, {APPLY_AGAIN}.",
    )
    shown = for_wizard(finding)
    for text in (shown.title, shown.detail, shown.remedy):
        assert "answers file" not in text
        assert UPSTREAM_CA.in_wizard in text
    assert shown.remedy.endswith(f"{APPLY_AGAIN.wizard}.")
    assert all(phrase.headless not in shown.remedy for phrase in PHRASES)


def test_a_finding_without_a_setting_is_the_same_object() -> None:
    finding = ok("listen.ok", "Listening on 443")
    assert for_wizard(finding) is finding
