"""Findings: what every check returns.

A finding has a stable ``code`` (a public contract: JSON output, docs and
tests rely on it), a status, a one-line title, a detail and a remedy. Every
``warn`` and ``fail`` must carry a remedy a person can act on; the constructor
refuses one without, so a check cannot forget it.

A finding's text often quotes what the world said (a certificate subject, a
header, a DNS answer, a log line): the constructor passes every field through
:func:`wizard.safetext.visible`, so no output of a finding (text, JSON,
Prometheus, Nagios, the TUI) can carry a terminal control sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
