"""The Done step's next steps: the same facts as next-steps.md, in the same order."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_render import make_answers
from wizard.tui.paste import next_steps, plain_text, values

OUT = Path("/out")
ANSWERS = Path("/out/answers.toml")


def test_done_step_lists_the_steps_in_order() -> None:
    answers = make_answers("slack+msteams", msteams__app_id="7f0e2b7c-0000-4000-8000-000000000000")
    lines = next_steps(answers, OUT, ANSWERS)
    text = plain_text(lines)
    needles = [
        "'CodeStream OnPrem' from this manifest:\n/out/slack-app-manifest.json\n",
        "https://codestream.my-company.com/no-auth/provider-token/slack",
        "Interactivity Request URL (in the manifest):\n"
        "https://bastion-host.my-company.com/no-auth/provider-action/slack\n",
        "Messaging endpoint:\nhttps://bastion-host.my-company.com/no-auth/provider-action/msteams\n",
        "codestream --cfg-tool --dump active > ~/.codestream/",
        # The merge runs on the bastion, where codestream-bastion is installed.
        "codestream-bastion merge-config --snippet /out/codestream-messaging.json",
        "codestream --cfg-tool --load /opt/config/",
        "codestream --restart",
        "Slack, after the configuration is loaded",
        "https://bastion-host.my-company.com/no-auth/provider-action/slack-events",
        "/out/codestream-msteams-app.zip",
        "validDomains of the app (in the package):\nbastion-host.my-company.com\n",
        "codestream-bastion check --answers /out/answers.toml --post-install\n",
    ]
    found = [text.find(needle) for needle in needles]
    assert -1 not in found, [n for n, p in zip(needles, found) if p == -1]
    assert found == sorted(found)
    # Every URL, path and command is a value of its own, whole.
    shown = [line.text for line in values(lines)]
    assert "https://bastion-host.my-company.com/no-auth/provider-action/msteams" in shown
    assert all(line.label for line in values(lines))
    assert all(
        " " not in v or v.startswith(("codestream", "codestream-bastion", "scp ")) for v in shown
    )


def test_done_step_without_exposure_has_no_events_and_no_bastion_urls() -> None:
    text = plain_text(next_steps(make_answers("slack-no-exposure"), OUT, ANSWERS))
    assert "Interactivity: off" in text
    assert "slack-events" not in text
    assert "/no-auth/provider-action/" not in text
    assert "merge-config" in text
    assert "--post-install" not in text


def test_done_step_asks_for_the_bot_id_before_the_teams_package() -> None:
    text = plain_text(next_steps(make_answers("msteams"), OUT, ANSWERS))
    assert "Set [msteams] app_id and render again for codestream-msteams-app.zip" in text
