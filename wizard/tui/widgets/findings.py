"""Findings on screen: a list, and a list that runs its own live check.

Statuses are written as words (``OK``, ``WARN``, ``FAIL``, ``SKIP``), not only
as colours, so the list reads the same with ``NO_COLOR`` or on a ``vt100``.
The list is one :class:`~textual.widgets.Static` rendering a Rich grid, so the
detail and the remedy wrap with a hanging indent under the title.

:class:`LiveFindings` runs a check in a worker and shows its progress (with
the seconds elapsed) and then its findings. Starting another check cancels the
running one (an exclusive worker group), an optional delay debounces typing,
``exit_on_error=False`` keeps a failing worker from ending the app, and an
exception in a check becomes a ``fail`` finding naming the bug. Every step's
live checks go through it: the fields (:mod:`wizard.tui.widgets.field`),
Review, Install and Test; so it is where the wizard applies lab mode
(:func:`wizard.findings.apply_lab_mode`, the same rule as the headless commands).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial

from rich.table import Table
from rich.text import Text
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from wizard.findings import Finding, Status, apply_lab_mode, fail, worst_status
from wizard.safetext import visible

Check = Callable[[], Awaitable[list[Finding]]]
"""A live check with its arguments bound."""

BADGES: dict[Status, tuple[str, str]] = {
    "ok": ("OK", "bold green"),
    "warn": ("WARN", "bold yellow"),
    "fail": ("FAIL", "bold red"),
    "skip": ("SKIP", "dim"),
}


def finding_text(finding: Finding, *, verbose: bool = False) -> Text:
    """The text column of one finding: title, then detail and remedy for problems.

    Args:
        finding: The finding to show.
        verbose: Also show the detail of ``ok`` and ``skip`` findings.
    """
    text = Text(finding.title, style="bold" if finding.status in ("warn", "fail") else "")
    show_detail = verbose or finding.status in ("warn", "fail")
    if show_detail and finding.detail:
        text.append("\n")
        text.append(finding.code, style="dim italic")
        text.append(": " + finding.detail, style="dim")
    if finding.remedy and finding.status in ("warn", "fail"):
        text.append("\nFix: ", style="bold")
        text.append(finding.remedy)
    return text


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=4, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    return grid


def findings_table(
    findings: Sequence[Finding],
    *,
    verbose: bool = False,
    headings: Mapping[str, str] | None = None,
) -> Table:
    """A two-column grid: the status word, and :func:`finding_text`.

    Args:
        findings: What to show, in order.
        verbose: Also show the detail of ``ok`` and ``skip`` findings.
        headings: Area titles (``dns`` -> ``Public DNS``): a heading row is put
            before the first finding of each area.
    """
    grid = _grid()
    area = None
    for finding in findings:
        if headings is not None and finding.area != area:
            area = finding.area
            grid.add_row(Text(""), Text(headings.get(area, area), style="bold underline"))
        word, style = BADGES[finding.status]
        grid.add_row(Text(word, style=style), finding_text(finding, verbose=verbose))
    return grid


def crash_finding(exc: BaseException) -> Finding:
    """A check that raised, as a finding (a bug to report, not a traceback)."""
    return fail(
        "wizard.check_crashed",
        f"The check crashed: {exc.__class__.__name__}",
        str(exc) or repr(exc),
        "This is a bug in codestream-bastion; please report it with this message. "
        "You can still go Back, or change the value to try again.",
    )


class FindingsList(Static):
    """Shows progress, a syntax error, or findings."""

    DEFAULT_CLASSES = "findings -empty"

    def show_findings(
        self,
        findings: Sequence[Finding],
        *,
        verbose: bool = False,
        headings: Mapping[str, str] | None = None,
    ) -> None:
        """Show ``findings`` (nothing when empty); see :func:`findings_table`."""
        self.set_class(False, "-progress")
        self.set_class(not findings, "-empty")
        self.update(findings_table(findings, verbose=verbose, headings=headings))

    def show_error(self, message: str) -> None:
        """Show one problem found without a check (e.g. a syntax error)."""
        self.set_class(False, "-progress", "-empty")
        grid = _grid()
        # The message may quote what was typed or pasted: its control characters escaped.
        grid.add_row(Text("FAIL", style=BADGES["fail"][1]), Text(visible(message, lines=True)))
        self.update(grid)

    def show_progress(self, message: str) -> None:
        """Show that something is running."""
        self.set_class(False, "-empty")
        self.set_class(True, "-progress")
        self.update(Text("...  " + visible(message), style="italic"))

    def clear(self) -> None:
        """Show nothing."""
        self._blank()

    def _blank(self) -> None:
        self.set_class(False, "-progress")
        self.set_class(True, "-empty")
        self.update("")


class LiveFindings(FindingsList):
    """A findings list that runs its check in a worker.

    Args:
        headings: Area titles to group the findings under (see :func:`findings_table`).
        verbose: Show the detail of passing findings too.
        id: The widget id.
    """

    class Finished(Message):
        """Posted when a check ended and its findings are shown."""

        def __init__(self, live: LiveFindings) -> None:
            super().__init__()
            self.live = live

        @property
        def control(self) -> LiveFindings:
            """The list, for ``@on(LiveFindings.Finished, "#id")``."""
            return self.live

    def __init__(
        self,
        *,
        headings: Mapping[str, str] | None = None,
        verbose: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.headings = headings
        self.verbose = verbose
        self.findings: list[Finding] = []
        self._worker: Worker[None] | None = None
        self._check: Check | None = None
        self._progress = ""
        self._pending = False
        self._ticker: Timer | None = None
        self._started = 0.0

    @property
    def lab(self) -> bool:
        """The app's checks run in lab mode (``--lab``, the demo)."""
        context = getattr(self.app, "context", None)
        return bool(getattr(context, "lab", False))

    @property
    def busy(self) -> bool:
        """A check is waiting for its delay or running."""
        return self._worker is not None and not self._worker.is_finished

    @property
    def status(self) -> str:
        """``checking`` while busy, else the worst status of the findings."""
        return "checking" if self.busy else worst_status(self.findings)

    def start(self, check: Check, *, progress: str = "Checking", delay: float = 0.0) -> None:
        """Run ``check`` (after ``delay`` seconds), cancelling any running one."""
        self.cancel()
        self._check = check
        self._progress = progress
        self._pending = delay > 0
        self.findings = []
        if self._pending:
            self._blank()
        self._worker = self.run_worker(
            partial(self._run, check, delay),
            name=f"live check {self.id or ''}".strip(),
            group="live-check",
            exclusive=True,
            exit_on_error=False,
        )

    def cancel(self) -> None:
        """Stop the running check, if any (its findings are not shown)."""
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()
        self._worker = None
        self._pending = False
        self._stop_ticker()

    def show_error(self, message: str) -> None:
        """Show a problem found without a check (the running check is cancelled)."""
        self.cancel()
        self.findings = []
        super().show_error(message)

    def clear(self) -> None:
        """Show nothing (the running check is cancelled)."""
        self.cancel()
        self.findings = []
        self._blank()

    async def settle(self) -> None:
        """Run a check still waiting for its delay now, and wait for the findings."""
        if self._pending and self._check is not None:
            self.start(self._check, progress=self._progress)
        worker = self._worker
        if worker is not None and not worker.is_finished:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                return

    async def _run(self, check: Check, delay: float) -> None:
        """The worker: wait, show progress, check, show the findings."""
        if delay > 0:
            await asyncio.sleep(delay)
        self._pending = False
        self._started = time.monotonic()
        self._tick()
        self._ticker = self.set_interval(0.25, self._tick)
        try:
            # A step painted at once (a resume) checks only once the check modules
            # are imported in their thread: importing them here would stall the screen.
            preloaded = getattr(self.app, "preloaded", None)
            if preloaded is not None:
                await preloaded()
            findings = apply_lab_mode(await check(), self.lab)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a check is shown, never crashes the wizard
            findings = [crash_finding(exc)]
        finally:
            self._stop_ticker()
        self.findings = findings
        self.show_findings(findings, verbose=self.verbose, headings=self.headings)
        self.post_message(self.Finished(self))

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        self.show_progress(f"{self._progress} ({elapsed:.0f} s)")

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
