"""Dialogs over a step: F1 help, yes/no questions (leave? resume? reload?), plain values.

Every dialog is keyboard-first: its keys are in the footer and on its buttons,
Escape always means the safe answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static

from wizard.safetext import visible
from wizard.tui.help import HELP
from wizard.tui.paste import PasteLine, plain_text


class HelpScreen(ModalScreen[None]):
    """Why the current requirement exists, and how to satisfy it.

    Args:
        step: The step whose help to show.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close"),
    ]

    def __init__(self, step: str) -> None:
        super().__init__(classes="dialog")
        self.step = step

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        help_text = HELP[self.step]
        body = Text()
        body.append("Why\n", style="bold underline")
        body.append(help_text.why + "\n\n")
        body.append("How\n", style="bold underline")
        body.append(help_text.how)
        with Vertical(classes="dialog-box help-box"):
            yield Static(help_text.title, classes="dialog-title")
            with VerticalScroll(classes="help-body"):
                yield Static(body)
            yield Button("Close (Esc)", id="close", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        """Focus the text, so arrow keys scroll it."""
        self.query_one(".help-body").focus()

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; dismisses with ``True`` for yes.

    The safe answer (the one that loses nothing) has the focus, so a stray
    Enter is harmless, and Escape gives it too.

    Args:
        title: The question.
        message: What each answer means.
        yes: The yes button's label.
        no: The no button's label.
        safe: The safe answer: ``False`` (no) unless saying yes keeps things,
            as "Resume?" does.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "safe", "Cancel"),
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("left,right", "switch", "Switch", show=False),
    ]

    def __init__(self, title: str, message: str, *, yes: str, no: str, safe: bool = False) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.message = message
        self.yes_label = yes
        self.no_label = no
        self.safe = safe

    def compose(self) -> ComposeResult:
        """Question, explanation, two buttons."""
        with Vertical(classes="dialog-box"):
            yield Static(self.title_text, classes="dialog-title")
            # The message names paths and what nginx said: text, control characters escaped.
            yield Static(Text(visible(self.message, lines=True)), classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes_label, id="yes", compact=True, variant="warning")
                yield Button(self.no_label, id="no", compact=True, variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        """The safe answer has the focus."""
        self.query_one("#yes" if self.safe else "#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        """Close with ``value``."""
        self.dismiss(value)

    def action_safe(self) -> None:
        """Close with the safe answer."""
        self.dismiss(self.safe)

    def action_switch(self) -> None:
        """Move between the two buttons."""
        self.focus_next(Button)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class QuitScreen(ConfirmScreen):
    """The "Leave the wizard?" question (Ctrl+C or Ctrl+Q again means yes)."""


class PlainValuesScreen(Screen[None]):
    """Every value to paste elsewhere, unwrapped, one per line, nothing else on screen.

    For terminals without OSC 52: no sidebar, no border, no indentation before
    a value, so a terminal selection (Shift+drag where the mouse is captured,
    or a triple click) takes exactly the value. A value wider than the screen
    scrolls sideways (Left/Right) instead of wrapping.

    Args:
        lines: The next steps (:func:`wizard.tui.paste.next_steps`).
    """

    DEFAULT_CSS = """
    PlainValuesScreen #plain-body {
        height: 1fr;
        overflow: auto auto;
        padding: 0;
    }
    PlainValuesScreen #plain-text {
        width: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,p,q", "close", "Back"),
    ]

    def __init__(self, lines: Sequence[PasteLine]) -> None:
        super().__init__(classes="plain-values")
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        """The lines, as plain text, in a container that scrolls both ways."""
        with ScrollableContainer(id="plain-body"):
            yield Static(
                Text(plain_text(self.lines, indent="# "), no_wrap=True, overflow="ignore"),
                id="plain-text",
            )
        yield Footer()

    def on_mount(self) -> None:
        """Focus the text, so the arrow keys scroll it."""
        self.query_one("#plain-body").focus()

    def action_close(self) -> None:
        """Back to the step."""
        self.dismiss(None)
