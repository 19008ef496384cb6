"""Helpers for driving the wizard with Textual's Pilot: tests, screenshots, benchmarks.

Live checks run in workers that may start further workers (a debounce, then
the check), so "the screen is ready" means: no worker running, no message
pending. :func:`settle` waits for exactly that, and stops the text cursor
from blinking so that screenshots are stable.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerState

MAX_ROUNDS = 200
BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker is done and the screen is idle; stop cursor blinking."""
    app = pilot.app
    for _ in range(MAX_ROUNDS):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # Pending counts as busy: a worker started by a handler the last pause ran
        # (a step's discovery, a re-check) has not begun yet, and its result is due.
        if not any(worker.state in BUSY for worker in app.workers):
            break
    # Focus scrolls the body to the focused widget, animated: a region read mid-way
    # does not match what the screen shows.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    for field in app.screen.query(Input):
        field.cursor_blink = False


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press ``keys`` one by one, letting everything settle after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def screen_lines(app: App[Any]) -> list[str]:
    """The text on the screen, one string per terminal row (as a terminal would show it)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Wait, bounded by ``timeout`` seconds, until ``condition()`` is true.

    For what a worker draws after :func:`settle` has returned (a table judged row by
    row, a screen set up after its first refresh); a slow machine gets longer, never
    forever.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        await pilot.pause(0.1)
