"""Findings: what every check returns.

A finding has a stable ``code`` (a public contract: JSON output, docs and
tests rely on it), a status, a one-line title, a detail and a remedy. Every
``warn`` and ``fail`` must carry a remedy a person can act on; the constructor
refuses one without, so a check cannot forget it.

A finding's text often quotes what the world said (a certificate subject, a
header, a DNS answer, a log line): the constructor passes every field through
:func:`wizard.safetext.visible`, so no output of a finding (text, JSON,
Prometheus, Nagios, the TUI) can carry a terminal control sequence.

A remedy that names a setting does so with a :class:`Setting` (and says
"render again" with a :class:`Phrase`): the finding carries the words of the
headless commands (``upstream_ca in the [codestream] table of the answers
file``), and :func:`for_wizard` is the one place that puts the wizard's own
field and step in their place for the TUI, which never shows an answers file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from wizard.safetext import visible

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    Attributes:
        code: Stable dotted code, e.g. ``dns.nxdomain``; the part before the
            first dot is the area (``hostname``, ``dns``, ``cert`` ...).
        status: ``ok``, ``warn``, ``fail`` or ``skip``.
        title: One line saying what was found.
        detail: The evidence: values seen, where, and why it matters.
        remedy: What to do about it (required for ``warn`` and ``fail``).
    """

    code: str
    status: Status
    title: str
    detail: str = ""
    remedy: str = ""

    def __post_init__(self) -> None:
        # The one place untrusted text enters a finding: escape control characters
        # (line feeds and tabs in the detail and remedy are the program's own layout).
        object.__setattr__(self, "code", visible(self.code))
        object.__setattr__(self, "title", visible(self.title))
        object.__setattr__(self, "detail", visible(self.detail, lines=True))
        object.__setattr__(self, "remedy", visible(self.remedy, lines=True))
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r} for {self.code}")
        if "." not in self.code:
            raise ValueError(f"finding code {self.code!r} has no area")
        if self.status in ("warn", "fail") and not self.remedy.strip():
            raise ValueError(f"finding {self.code} ({self.status}) has no remedy")

    @property
    def area(self) -> str:
        """The area of the code: ``dns`` for ``dns.nxdomain``."""
        return self.code.split(".", 1)[0]

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of ``check --json`` (README.md, "Headless commands")."""
        return {
            "code": self.code,
            "status": self.status,
            "title": self.title,
            "detail": self.detail,
            "remedy": self.remedy,
        }


def ok(code: str, title: str, detail: str = "") -> Finding:
    """A passing finding."""
    return Finding(code, "ok", title, detail)


def warn(code: str, title: str, detail: str, remedy: str) -> Finding:
    """A warning: the bastion may work, but a person should look."""
    return Finding(code, "warn", title, detail, remedy)


def fail(code: str, title: str, detail: str, remedy: str) -> Finding:
    """A failure: the bastion will not work until this is fixed."""
    return Finding(code, "fail", title, detail, remedy)


def skip(code: str, title: str, detail: str = "") -> Finding:
    """A check that could not run because an earlier one failed or it does not apply."""
    return Finding(code, "skip", title, detail)


LAB_ACCEPTED: frozenset[str] = frozenset(
    {
        "hostname.reserved_tld",
        "ip.not_public",
        "listen.not_443",
        "dns.not_public",
        "firewall.blocked",
    }
)
"""The codes lab mode (``--lab``, the demo) accepts: what only a lab may have.

Checks report these as they would on a real bastion; :func:`apply_lab_mode`
alone decides what lab mode makes of them.
"""

LAB_NOTE = "accepted in lab mode"
"""The words every finding that lab mode relaxes carries in its title."""


def apply_lab_mode(findings: Iterable[Finding], lab: bool) -> list[Finding]:
    """The one lab-mode rule: what lab mode accepts is a warning that says so, never OK.

    Outside lab mode the findings are returned unchanged. In lab mode a
    ``warn`` or ``fail`` finding whose code is in :data:`LAB_ACCEPTED` becomes
    a ``warn`` whose title ends in "(accepted in lab mode)", its remedy saying
    what a real setup needs. Every other finding is unchanged: lab mode never
    turns anything into ``ok``, and never relaxes a code it does not list.
    Applying the rule twice changes nothing more.

    Args:
        findings: Findings as a real bastion would get them.
        lab: Lab mode (``--lab``, the demo).
    """
    if not lab:
        return list(findings)
    return [_lab_accepted(finding) for finding in findings]


def _lab_accepted(finding: Finding) -> Finding:
    suffix = f" ({LAB_NOTE})"
    if (
        finding.code not in LAB_ACCEPTED
        or finding.status not in ("warn", "fail")
        or finding.title.endswith(suffix)
    ):
        return finding
    return Finding(
        finding.code,
        "warn",
        finding.title + suffix,
        finding.detail,
        "Fine for a lab or demo. For a real bastion: " + finding.remedy,
    )


def counted(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: a count and its noun, singular for one (``noun`` takes an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def has_failure(findings: Iterable[Finding]) -> bool:
    """True when any finding failed."""
    return any(f.status == "fail" for f in findings)


def worst_status(findings: Iterable[Finding]) -> Status:
    """The most severe status among ``findings`` (``ok`` when empty)."""
    order: dict[Status, int] = {"ok": 0, "skip": 1, "warn": 2, "fail": 3}
    worst: Status = "ok"
    for f in findings:
        if order[f.status] > order[worst]:
            worst = f.status
    return worst


# -- remedies: one wording per front end -------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A setting a remedy tells the admin to change, worded for each front end.

    ``str()`` gives the headless wording (the answers file), which findings
    carry; :func:`for_wizard` swaps it for :attr:`in_wizard`. The wizard's
    screens label their fields with :attr:`field`, so the two cannot drift apart.

    Attributes:
        section: The answers file's table.
        key: The key in it.
        field: The wizard's field label for it.
        step: The title of the wizard step that asks it.
    """

    section: str
    key: str
    field: str
    step: str

    @property
    def in_answers(self) -> str:
        """``upstream_ca in the [codestream] table of the answers file``."""
        return f"{self.key} in the [{self.section}] table of the answers file"

    @property
    def in_wizard(self) -> str:
        """``the 'CA file for the API' field (CodeStream API step)``."""
        return f"the '{self.field}' field (step {self.step})"

    def __str__(self) -> str:
        return self.in_answers


@dataclass(frozen=True)
class Phrase:
    """Words of a remedy that differ per front end ("render again" has no meaning in the wizard).

    Attributes:
        headless: What ``check``, ``render`` and ``apply`` say.
        wizard: What the wizard says instead.
    """

    headless: str
    wizard: str

    def __str__(self) -> str:
        return self.headless


API_URL = Setting("codestream", "api_url", "CodeStream API URL", "CodeStream API")
UPSTREAM_CA = Setting("codestream", "upstream_ca", "CA file for the API", "CodeStream API")
UPSTREAM_ADDRESS = Setting("codestream", "upstream_address", "Pinned API address", "CodeStream API")
LISTEN_PORT = Setting("bastion", "listen_port", "Listen port", "Public IP")
MSTEAMS_APP_ID = Setting("msteams", "app_id", "Microsoft App ID", "Credentials")
SETTINGS: tuple[Setting, ...] = (
    API_URL,
    UPSTREAM_CA,
    UPSTREAM_ADDRESS,
    LISTEN_PORT,
    MSTEAMS_APP_ID,
)
"""The settings remedies name (the rest have no field in the wizard: e.g. ``release``)."""

RENDER_AGAIN = Phrase("then render again", "then go on to Review again")
APPLY_AGAIN = Phrase("then run apply again", "then Review and Install again")
PHRASES: tuple[Phrase, ...] = (RENDER_AGAIN, APPLY_AGAIN)


def for_wizard(finding: Finding) -> Finding:
    """``finding`` in the wizard's words: its fields and steps for the answers file's keys."""
    text = (finding.title, finding.detail, finding.remedy)
    worded = tuple(_wizard_words(part) for part in text)
    if worded == text:
        return finding
    return replace(finding, title=worded[0], detail=worded[1], remedy=worded[2])


def _wizard_words(text: str) -> str:
    for setting in SETTINGS:
        text = text.replace(setting.in_answers, setting.in_wizard)
    for phrase in PHRASES:
        text = text.replace(phrase.headless, phrase.wizard)
    return text
