"""The sidebar: every step of the wizard and where each one stands.

Markers are plain ASCII (``[x]`` done, ``[!]`` done with warnings, ``[ ]`` to
do, ``[-]`` skipped, ``>`` the current step), so the list reads on any
terminal, with or without colour.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static

from wizard.tui.steps import STEPS, StepState

MARKERS: dict[StepState, tuple[str, str]] = {
    "pending": ("[ ]", ""),
    "current": ("[ ]", "bold"),
    "ok": ("[x]", "green"),
    "warn": ("[!]", "yellow"),
    "fail": ("[X]", "red"),
    "skipped": ("[-]", "dim"),
}


def sidebar_text(current: str, states: Mapping[str, StepState]) -> Text:
    """The sidebar's lines for ``current`` and the steps' ``states``."""
    text = Text()
    for number, step in enumerate(STEPS, start=1):
        state = states.get(step.id, "pending")
        marker, style = MARKERS[state]
        is_current = step.id == current
        pointer = ">" if is_current else " "
        line_style = "bold reverse" if is_current else ("dim" if state == "skipped" else "")
        text.append(pointer, style="bold")
        text.append(marker, style=style)
        text.append(" ")
        text.append(step.title, style=line_style)
        if number < len(STEPS):
            text.append("\n")
    return text


def step_line(current: str, states: Mapping[str, StepState]) -> Text:
    """The sidebar in one line, for narrow terminals: markers, the current step named.

    ``[x][!]> Public IP [ ][ ][ ][-][-][ ]  F2: steps``: every step's marker in
    order, the current one replaced by its title.
    """
    text = Text(no_wrap=True, overflow="ellipsis")
    for step in STEPS:
        state = states.get(step.id, "pending")
        if step.id == current:
            text.append("> ", style="bold")
            text.append(step.title, style="bold reverse")
            text.append(" ")
        else:
            marker, style = MARKERS[state]
            text.append(marker, style=style)
    text.append("  F2: steps", style="dim")
    return text


class StepSidebar(Static):
    """Lists the steps; :meth:`show` redraws it for a step and the states."""

    DEFAULT_CLASSES = "sidebar"

    def show(self, current: str, states: Mapping[str, StepState]) -> None:
        """Redraw for ``current`` and ``states``."""
        self.update(sidebar_text(current, states))
