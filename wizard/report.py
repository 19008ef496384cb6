"""Print findings for people (grouped, coloured) or machines.

Formats (``check --format``):

- ``text``: grouped by area; colour only on a terminal, never under
  ``NO_COLOR``, always under ``FORCE_COLOR``;
- ``json``: the document README.md describes under "Headless commands" (``--json`` is an alias);
- ``prometheus``: the text exposition format, for node_exporter's textfile
  collector (metric names prefixed ``codestream_bastion_``);
- ``nagios``: one status line with performance data, plus the Nagios/Icinga
  plugin exit codes (:func:`nagios_exit_code`).
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from wizard.engine import AREA_TITLES, sort_findings
from wizard.findings import Finding, Status, counted, has_failure
from wizard.safetext import visible

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
    """The ``--json`` document (README.md, "Headless commands")."""
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


def status_counts(findings: Sequence[Finding]) -> dict[Status, int]:
    """How many findings have each status."""
    return {s: sum(1 for f in findings if f.status == s) for s in _LABELS}


def count_summary(counts: dict[Status, int]) -> str:
    """``2 failed, 1 warning, 30 ok, 3 skipped``."""
    return (
        f"{counts['fail']} failed, {counted(counts['warn'], 'warning')}, "
        f"{counts['ok']} ok, {counts['skip']} skipped"
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
    counts = status_counts(findings)
    verdict = "FAILED" if counts["fail"] else "PASSED"
    summary = f"{verdict}: {count_summary(counts)}"
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


# -- monitoring formats ---------------------------------------------------------------------

FORMATS: tuple[str, ...] = ("text", "json", "prometheus", "nagios")
PREFIX = "codestream_bastion_"
# The value of codestream_bastion_check_status: the engine's order of severity
# (findings.worst_status), so "> 1" alerts on warnings and "== 3" on failures.
STATUS_VALUES: dict[Status, int] = {"ok": 0, "skip": 1, "warn": 2, "fail": 3}
# Nagios plugin API: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
_NAGIOS_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_NAGIOS_SERVICE = "CODESTREAM-BASTION"
_PERF_ORDER: tuple[Status, ...] = ("fail", "warn", "ok", "skip")


@dataclass(frozen=True)
class CheckRun:
    """What the monitoring formats say besides the findings.

    Attributes:
        checked_at: When the check ran (timezone-aware).
        duration: How long it took, in seconds.
        certificate: The bastion's certificate file, when there is one.
        certificate_not_after: The end of its leaf's validity, when readable.
    """

    checked_at: datetime
    duration: float
    certificate: str = ""
    certificate_not_after: datetime | None = None


def _label_value(text: str) -> str:
    # The exposition format escapes exactly these three in label values; a path is
    # the admin's, still its control characters never reach a scrape or a terminal.
    return visible(text, lines=True).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _metric(lines: list[str], name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
    lines.append(f"# HELP {PREFIX}{name} {help_text}")
    lines.append(f"# TYPE {PREFIX}{name} gauge")
    lines += [f"{PREFIX}{name}{labels} {_number(value)}" for labels, value in samples]


def _labels(**pairs: str) -> str:
    return "{" + ",".join(f'{k}="{_label_value(v)}"' for k, v in pairs.items()) + "}"


def worst_by_code(findings: Sequence[Finding]) -> dict[str, Status]:
    """One status per code (a code can repeat, e.g. one per endpoint): the worst one."""
    result: dict[str, Status] = {}
    for finding in sort_findings(findings):
        seen = result.get(finding.code)
        if seen is None or STATUS_VALUES[finding.status] > STATUS_VALUES[seen]:
            result[finding.code] = finding.status
    return result


def format_prometheus(findings: Sequence[Finding], run: CheckRun) -> str:
    """The findings as Prometheus text exposition (format 0.0.4).

    Every sample is a gauge: a textfile collector re-reads the whole file, so
    a code that disappears from a run disappears from the metrics.
    """
    lines: list[str] = []
    _metric(
        lines,
        "check_status",
        "Worst status of the findings with this code: 0 ok, 1 skip, 2 warn, 3 fail.",
        [
            (_labels(code=code, area=code.split(".", 1)[0]), STATUS_VALUES[status])
            for code, status in worst_by_code(findings).items()
        ],
    )
    _metric(
        lines,
        "findings",
        "Number of findings with this status.",
        [(_labels(status=status), count) for status, count in status_counts(findings).items()],
    )
    _metric(
        lines, "ok", "1 when no check failed, else 0.", [("", 0 if has_failure(findings) else 1)]
    )
    if run.certificate_not_after is not None:
        _metric(
            lines,
            "certificate_expiry_timestamp_seconds",
            "End of validity (notAfter) of the bastion's certificate, Unix time.",
            [(_labels(path=run.certificate), run.certificate_not_after.timestamp())],
        )
    _metric(
        lines,
        "check_timestamp_seconds",
        "When the check ran, Unix time.",
        [("", round(run.checked_at.timestamp(), 3))],
    )
    _metric(
        lines,
        "check_duration_seconds",
        "How long the check took.",
        [("", round(run.duration, 3))],
    )
    return "\n".join(lines) + "\n"


def nagios_exit_code(findings: Sequence[Finding]) -> int:
    """0 OK, 1 WARNING (a warning), 2 CRITICAL (a failure), 3 UNKNOWN (a check crashed).

    A crashed check (``AREA.internal_error``) means the state is not known; a
    real failure elsewhere still makes the whole CRITICAL.
    """
    failures = [f for f in findings if f.status == "fail"]
    if any(not f.code.endswith(".internal_error") for f in failures):
        return NAGIOS_CRITICAL
    if failures:
        return NAGIOS_UNKNOWN
    if any(f.status == "warn" for f in findings):
        return NAGIOS_WARNING
    return NAGIOS_OK


def _plugin_text(text: str) -> str:
    # "|" starts the performance data in the plugin output: keep it out of the text.
    return " ".join(visible(text).replace("|", "/").split())


def format_nagios(findings: Sequence[Finding], run: CheckRun) -> str:
    """One Nagios/Icinga status line: state, what is wrong, performance data."""
    state = nagios_exit_code(findings)
    counts = status_counts(findings)
    worst: Status = "fail" if counts["fail"] else "warn"
    named = [
        f"{f.code} ({_plugin_text(f.title)})" for f in sort_findings(findings) if f.status == worst
    ]
    summary = count_summary(counts)
    text = summary if state == NAGIOS_OK else f"{summary}: " + "; ".join(named)
    perf = [f"{status}={counts[status]}" for status in _PERF_ORDER]
    if run.certificate_not_after is not None:
        days = (run.certificate_not_after - run.checked_at).total_seconds() / 86400
        perf.append(f"certificate_days_left={days:.1f};30;0")
    perf.append(f"duration={run.duration:.3f}s")
    return f"{_NAGIOS_SERVICE} {_NAGIOS_STATES[state]} - {text} | {' '.join(perf)}"


def nagios_unknown(message: str) -> str:
    """The status line when the check could not run at all (bad answers file ...)."""
    return f"{_NAGIOS_SERVICE} {_NAGIOS_STATES[NAGIOS_UNKNOWN]} - {_plugin_text(message)}"


def print_check(findings: Sequence[Finding], stream: TextIO, fmt: str, run: CheckRun) -> None:
    """Write the result of ``check`` to ``stream`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "prometheus":
        stream.write(format_prometheus(findings, run))
    elif fmt == "nagios":
        stream.write(format_nagios(findings, run) + "\n")
    else:
        print_findings(findings, stream, as_json=fmt == "json")
