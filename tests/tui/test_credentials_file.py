"""A secret given as a file on the Credentials step: checked live, saved as a reference.

Ctrl+F turns a secret field into "the file holding it"; the file is read as
the answers loader reads ``K_file`` (wizard.secrets_source), a world-readable
one is refused, and the answers saved (the resume state and the final file)
keep ``K_file = "/path"``, never the secret.
"""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import (
    Demo,
    codes,
    open_the_signing_secret_file_field,
    paste_into,
    step,
    type_into,
    world_readable_secret,
)
from wizard.answers import load_answers
from wizard.tui.testing import press, settle
from wizard.tui.widgets.field import CheckedField

SECRET = "8f14e45fceea167a5a36dedd4bea2543"


async def test_a_secret_from_a_file_is_checked_and_saved_as_its_path(
    demo: Demo, tmp_path: Path
) -> None:
    secret_file = world_readable_secret(tmp_path, SECRET)
    app = demo.app()
    async with app.run_test(size=(80, 24)) as pilot:
        field = await open_the_signing_secret_file_field(pilot)
        assert field.display
        assert not app.screen.query_one("#slack-signing-secret", CheckedField).display
        await type_into(pilot, "#slack-signing-secret-file Input", "relative/path")
        assert field.blocking  # an absolute path only, as in the answers file
        # Long paths arrive as an admin gives them, pasted (typed key by key: 8 s more).
        await paste_into(pilot, "#slack-signing-secret-file Input", str(tmp_path / "missing"))
        assert codes(field) == {"secrets.file_unusable": "fail"}
        await paste_into(pilot, "#slack-signing-secret-file Input", str(secret_file))
        assert codes(field)["secrets.file_readable"] == "fail"  # mode 0644
        await press(pilot, "enter")
        assert step(app) == "credentials", "a secret every user can read is refused"
        secret_file.chmod(0o600)
        field.recheck(immediate=True)
        await settle(pilot)
        assert codes(field) == {"secrets.sources": "ok"}
        await press(pilot, "enter")
        assert step(app) == "review"
        assert app.answers.slack.signing_secret == SECRET
        state = demo.state_path.read_text()
        assert SECRET not in state
        assert f'signing_secret_file = "{secret_file}"' in state
        while step(app) != "done":
            await press(pilot, "enter")
        await press(pilot, "enter")  # Finish
    saved = (demo.output_dir / "answers.toml").read_text()
    assert SECRET not in saved
    assert f'signing_secret_file = "{secret_file}"' in saved
    assert load_answers(demo.output_dir / "answers.toml").slack.signing_secret == SECRET


async def test_answers_with_a_file_reference_show_the_path_not_the_secret(
    demo: Demo, tmp_path: Path
) -> None:
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o600)
    answers_path = tmp_path / "answers.toml"
    answers_path.write_text(
        f'mode = "slack"\n[slack]\nclient_secret_file = "{secret_file}"\n', encoding="utf-8"
    )
    answers = load_answers(answers_path, partial=True)
    answers.bastion = demo.answers.bastion
    answers.codestream = demo.answers.codestream
    app = demo.app(answers=answers)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while step(app) != "credentials":
            await press(pilot, "enter")
        typed = app.screen.query_one("#slack-client-secret", CheckedField)
        from_file = app.screen.query_one("#slack-client-secret-file", CheckedField)
        assert not typed.display
        assert from_file.display
        assert from_file.value == str(secret_file)
        assert SECRET not in typed.value
        await press(pilot, "ctrl+f")  # back to typing it: the reference is dropped on Next
        assert typed.display
        await type_into(pilot, "#slack-client-secret Input", "typed-secret")
        await press(pilot, "enter")
        assert step(app) == "review"
        assert "slack.client_secret" not in app.answers.secret_sources.by_key
        assert app.answers.slack.client_secret == "typed-secret"
