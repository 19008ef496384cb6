"""``codestream-bastion [--answers FILE]``: the wizard on this host.

Builds the wizard's session (the check context from the shared options, the
answers to start from, where the resume state and the generated files go)
and hands it to the TUI (:func:`wizard.tui.app.run_app`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.commands.common import context_from_args, guarded
from wizard.constants import ANSWERS_NAME

if TYPE_CHECKING:
    from wizard.checks.context import CheckContext
    from wizard.install.acme import CertificateRequest
    from wizard.tui.session import WizardSession

__all__ = ["OUTPUT_DIR_NAME", "default_certificate_request", "run", "wizard_session"]

OUTPUT_DIR_NAME = "codestream-bastion"
"""The directory (in the working directory) for the generated files and answers."""


def run(args: argparse.Namespace) -> int:
    """The wizard; 0 when it was completed, 1 when left before the end."""

    def body() -> int:
        from wizard.tui.app import run_app

        ctx = context_from_args(args)
        session = wizard_session(ctx, Path(args.answers) if args.answers else None)
        return run_app(session).code

    return guarded(body)


def wizard_session(ctx: CheckContext, answers_path: Path | None = None) -> WizardSession:
    """The session of ``codestream-bastion [--answers FILE]`` on this host.

    Args:
        ctx: The check context built from the command line.
        answers_path: ``--answers``: prefills every field, and the final answers
            are saved there. A file that does not exist yet is created at the end.

    Raises:
        AnswersError: When ``answers_path`` exists but cannot be used.
    """
    from wizard.answers import Answers, load_answers
    from wizard.tui.session import CERTIFICATE_ROOTS, WizardSession
    from wizard.tui.state import StateStore, default_state_path

    prefilled = answers_path is not None and answers_path.exists()
    answers = load_answers(answers_path, partial=True) if prefilled and answers_path else Answers()
    output_dir = Path.cwd() / OUTPUT_DIR_NAME
    return WizardSession(
        context=ctx,
        answers=answers,
        answers_path=answers_path or output_dir / ANSWERS_NAME,
        state=StateStore(default_state_path()),
        certificate_roots=(*CERTIFICATE_ROOTS, Path.cwd()),
        prefilled_from=answers_path if prefilled else None,
        output_dir=output_dir,
        acme=default_certificate_request,
    )


def default_certificate_request() -> CertificateRequest:
    """The Certificate step's "Get a certificate": Let's Encrypt, port 80, /etc/letsencrypt.

    Built when the button is pressed: importing the ACME module (and the
    installer it drives) before the first frame cost a third of the start-up
    the wizard adds to a bare Textual app.
    """
    from wizard.install.acme import CertificateRequest

    return CertificateRequest("", "")
