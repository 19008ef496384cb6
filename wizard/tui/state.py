"""The resume state: the answers so far and the step the wizard stopped at.

An admin on a flaky SSH link must not lose twenty minutes of answers, so the
wizard saves them after every step: the answers in the answers-file format
(:func:`wizard.answers.save_answers`, atomic, mode 0600: they may hold
secrets), and beside them, in ``<state>.step``, the step to resume at and how
each step passed (``hostname=ok``, ``public_ip=warn``). Starting again offers
to resume at that step.

The state lives in ``$XDG_STATE_HOME/codestream-bastion/state.toml``
(``~/.local/state/...``), or wherever ``CODESTREAM_BASTION_STATE`` points:
tests and the demo keep theirs in their own directories.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wizard.answers import Answers, AnswersError, load_answers, save_answers
from wizard.fsutil import atomic_write
from wizard.reading import read_head

STATE_ENV = "CODESTREAM_BASTION_STATE"


def default_state_path() -> Path:
    """Where the resume state goes: ``$CODESTREAM_BASTION_STATE``, else the XDG state dir."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "codestream-bastion" / "state.toml"


@dataclass(frozen=True)
class SavedState:
    """What a previous run left behind.

    Attributes:
        answers: The answers it had collected.
        step: The id of the step it was on.
        passed: How each step before it passed (step id -> ``ok`` or ``warn``).
    """

    answers: Answers
    step: str
    passed: dict[str, str] = field(default_factory=dict)


class StateStore:
    """Saves and loads the resume state at one path.

    Args:
        path: The answers part of the state (the step goes to ``<path>.step``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.step_path = path.with_name(path.name + ".step")

    def save(self, answers: Answers, step: str, passed: Mapping[str, str] | None = None) -> None:
        """Save the answers, the current step and how the steps passed.

        The directory is created with mode 0700, the files with 0600.

        Raises:
            OSError: When the state directory cannot be written.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        save_answers(answers, self.path)
        lines = [step, *(f"{name}={state}" for name, state in (passed or {}).items())]
        atomic_write(self.step_path, ("\n".join(lines) + "\n").encode("utf-8"), 0o600)

    def load(self) -> SavedState | None:
        """The saved state, or ``None`` when there is none or it cannot be read."""
        if not self.path.is_file():
            return None
        try:
            answers = load_answers(self.path, partial=True)
            lines = read_head(self.step_path, 64 << 10).decode("utf-8").split()
        except (AnswersError, OSError, UnicodeDecodeError):
            return None
        passed = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
        return SavedState(answers, lines[0] if lines else "welcome", passed)

    def clear(self) -> None:
        """Forget the state (the wizard finished, or the admin started over)."""
        for path in (self.path, self.step_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
