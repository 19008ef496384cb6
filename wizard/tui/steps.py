"""The wizard's steps, in order, and which of them a given setup skips.

A step is data (id, title, whether it concerns the bastion); the screen that
shows it is looked up by id in :mod:`wizard.tui.screens` and imported only
when the admin reaches it, so the first screen paints without loading the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from wizard.answers import Answers

StepState = Literal["pending", "current", "ok", "warn", "fail", "skipped"]


@dataclass(frozen=True)
class Step:
    """One step of the wizard.

    Attributes:
        id: Stable identifier (also saved in the resume state).
        title: Short name for the sidebar (at most 14 characters).
        bastion: Only needed when Slack or Teams reach the API through the
            bastion; skipped for Slack without exposure.
        nginx: Needs a usable nginx (Install and Test).
    """

    id: str
    title: str
    bastion: bool = False
    nginx: bool = False


STEPS: tuple[Step, ...] = (
    Step("welcome", "Welcome"),
    Step("hostname", "Hostname", bastion=True),
    Step("public_ip", "Public IP", bastion=True),
    Step("certificate", "Certificate", bastion=True),
    Step("upstream", "CodeStream API", bastion=True),
    Step("provider_app", "Provider app"),
    Step("credentials", "Credentials"),
    Step("review", "Review"),
    Step("install", "Install", bastion=True, nginx=True),
    Step("test", "Test", bastion=True, nginx=True),
    Step("done", "Done"),
)
STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)
STEP_BY_ID: dict[str, Step] = {step.id: step for step in STEPS}


def skipped_steps(*, exposes_bastion: bool, nginx_usable: bool) -> frozenset[str]:
    """The ids of the steps this setup skips.

    Args:
        exposes_bastion: False for Slack without exposure (no bastion at all).
        nginx_usable: False when Install and Test cannot run (no nginx binary
            in the demo).

    Returns:
        Step ids to leave out of the flow (the sidebar shows them as skipped).
    """
    return frozenset(
        step.id
        for step in STEPS
        if (step.bastion and not exposes_bastion) or (step.nginx and not nginx_usable)
    )


def next_step(current: str, skipped: frozenset[str]) -> str | None:
    """The step after ``current`` that is not skipped, or ``None`` after the last."""
    index = STEP_IDS.index(current)
    return next((s for s in STEP_IDS[index + 1 :] if s not in skipped), None)


def previous_step(current: str, skipped: frozenset[str]) -> str | None:
    """The step before ``current`` that is not skipped, or ``None`` before the first."""
    index = STEP_IDS.index(current)
    return next((s for s in reversed(STEP_IDS[:index]) if s not in skipped), None)


def first_unanswered(answers: Answers, skipped: frozenset[str]) -> str | None:
    """The first step whose required answer is missing, or ``None``.

    A resume must not land past a step whose value was never given (an old
    state, a prefilled answers file without the host name): the wizard starts
    there instead, so no step is ever left with a required value missing.
    """
    bastion = answers.bastion
    api_step = "upstream" if answers.exposes_bastion else "provider_app"
    required = (
        ("hostname", bastion.hostname),
        ("public_ip", bastion.public_ip),
        ("certificate", bastion.certificate),
        ("certificate", bastion.private_key),
        (api_step, answers.codestream.api_url),
    )
    return next((s for s, value in required if s not in skipped and not value.strip()), None)
