"""What the chosen messaging mode implies (``mode.*`` codes; no network).

The modes are README.md's (``slack``, ``msteams``, ``slack+msteams``,
``slack-no-exposure``); which endpoints each exposes is
:attr:`wizard.answers.Answers.endpoints`.
"""

from __future__ import annotations

from wizard.answers import Answers
from wizard.findings import Finding, ok, warn


def check_mode(answers: Answers) -> list[Finding]:
    """Explain what the chosen mode implies."""
    if not answers.exposes_bastion:
        return [
            warn(
                "mode.no_exposure",
                "Slack without exposure: no bastion is needed, replies from Slack will not work",
                "Sharing to Slack works, but buttons and replies inside Slack need Slack to "
                "reach the API, which this mode does not allow "
                "(interactiveComponentsEnabled is false).",
                "Keep this mode if replies from Slack are not needed; otherwise choose "
                "'slack' or 'slack+msteams' and set up the bastion.",
            )
        ]
    return [ok("mode.ok", f"Mode {answers.mode}: endpoints " + ", ".join(answers.endpoints))]
