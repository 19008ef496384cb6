"""Print findings for people (grouped, coloured) or machines (JSON).

Colour follows the usual conventions: only on a terminal, never under
``NO_COLOR``, always under ``FORCE_COLOR``.
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
from collections.abc import Sequence
from typing import TextIO

from wizard.engine import AREA_TITLES, sort_findings
from wizard.findings import Finding, Status, has_failure

_COLOURS: dict[Status, str] = {"ok": "32", "warn": "33", "fail": "31", "skip": "2"}
_LABELS: dict[Status, str] = {"ok": " ok ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def use_colour(stream: TextIO) -> bool:
    """Whether to colour output written to ``stream``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def findings_json(findings: Sequence[Finding]) -> str:
    """The ``--json`` document of design.md section 4."""
    return json.dumps(
        {"ok": not has_failure(findings), "findings": [f.to_dict() for f in findings]},
        indent=2,
        ensure_ascii=False,
    )


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _wrap(text: str, width: int, first: int, rest: int) -> list[str]:
    # Paths and URLs stay whole: a path broken mid-way cannot be copied.
    return textwrap.wrap(
        text,
        width,
        initial_indent=" " * first,
        subsequent_indent=" " * rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def format_report(findings: Sequence[Finding], *, colour: bool, width: int = 80) -> str:
    """A readable report grouped by area, with a summary line."""
    lines: list[str] = []
    area = ""
    wrap = max(40, width - 9)
    for finding in sort_findings(findings):
        if finding.area != area:
            area = finding.area
            if lines:
                lines.append("")
            lines.append(_paint(AREA_TITLES.get(area, area), "1", colour))
        label = _paint(f"[{_LABELS[finding.status]}]", _COLOURS[finding.status], colour)
        lines.append(f"  {label} {finding.title}  ({finding.code})")
        if finding.detail:
            lines += _wrap(finding.detail, wrap, 9, 9)
        if finding.remedy and finding.status in ("warn", "fail"):
            lines += _wrap("Fix: " + finding.remedy, wrap, 9, 14)
    counts = {s: sum(1 for f in findings if f.status == s) for s in _LABELS}
    verdict = "FAILED" if counts["fail"] else "PASSED"
    summary = (
        f"{verdict}: {counts['fail']} failed, {counts['warn']} warnings, "
        f"{counts['ok']} ok, {counts['skip']} skipped"
    )
    lines += ["", _paint(summary, "1;31" if counts["fail"] else "1;32", colour)]
    return "\n".join(lines)


def print_findings(findings: Sequence[Finding], stream: TextIO, *, as_json: bool) -> None:
    """Write findings to ``stream`` as JSON or as the readable report."""
    if as_json:
        stream.write(findings_json(findings) + "\n")
        return
    width = 80
    with contextlib.suppress(OSError, ValueError, AttributeError):
        width = os.get_terminal_size(stream.fileno()).columns
    stream.write(format_report(findings, colour=use_colour(stream), width=width) + "\n")
