"""The Done step's next steps: the same facts as next-steps.md, in the same order."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_render import make_answers
from wizard.tui.screens.done import next_steps


def test_done_step_lists_the_steps_in_order() -> None:
    answers = make_answers("slack+msteams", msteams__app_id="7f0e2b7c-0000-4000-8000-000000000000")
    text = next_steps(answers, "/out/codestream-messaging.json", Path("/out/answers.toml")).plain
    needles = [
        "'CodeStream OnPrem' from slack-app-manifest.json",
        "https://codestream.my-company.com/no-auth/provider-token/slack",
        "Interactivity Request URL:\n    https://bastion-host.my-company.com/no-auth/provider-action/slack\n",
        "Messaging endpoint:\n    https://bastion-host.my-company.com/no-auth/provider-action/msteams",
        "codestream --cfg-tool --dump active > ~/.codestream/",
        "codestream-bastion merge-config --snippet ~/.codestream/codestream-messaging.json",
        "codestream --cfg-tool --load /opt/config/",
        "codestream --restart",
        "Slack, after the configuration is loaded",
        "https://bastion-host.my-company.com/no-auth/provider-action/slack-events",
        "Upload codestream-msteams-app.zip",
        'validDomains = ["bastion-host.my-company.com"]',
    ]
    found = [text.find(needle) for needle in needles]
    assert -1 not in found, [n for n, p in zip(needles, found, strict=True) if p == -1]
    assert found == sorted(found)


def test_done_step_without_exposure_has_no_events_and_no_bastion_urls() -> None:
    answers = make_answers("slack-no-exposure")
    text = next_steps(answers, "/out/codestream-messaging.json", Path("/out/answers.toml")).plain
    assert "Interactivity: off" in text
    assert "slack-events" not in text
    assert "/no-auth/provider-action/" not in text
    assert "merge-config" in text


def test_done_step_asks_for_the_bot_id_before_the_teams_package() -> None:
    text = next_steps(make_answers("msteams"), "s.json", Path("a.toml")).plain
    assert "Set [msteams] app_id and render again for codestream-msteams-app.zip" in text
