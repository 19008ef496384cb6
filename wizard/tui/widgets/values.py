"""Values to paste elsewhere: shown whole, picked with Up/Down, copied with one key.

:class:`NextSteps` shows :func:`wizard.tui.paste.next_steps`: headings and
sentences wrap like prose, but every value (URL, path, command) is a
:class:`CopyValue` on a line of its own that never wraps: a value wider than
the screen scrolls sideways (Left/Right, Home/End) instead of breaking in the
middle of a word, so neither a terminal selection nor the eye gets a broken
URL. :func:`copy_value` sends the highlighted value to the clipboard with
OSC 52 (:meth:`textual.app.App.copy_to_clipboard`), which works over SSH in
tmux (``set -g set-clipboard on``), iTerm2, Windows Terminal, kitty and most
others, and says so on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import Static

from wizard.safetext import visible
from wizard.tui.paste import PasteLine

if TYPE_CHECKING:
    from wizard.tui.screens.base import StepScreen

COPY_KEY = "c"
"""The key that copies the highlighted value (shown in the footer)."""
PLAIN_KEY = "p"
"""The key that shows every value unwrapped, one per line (shown in the footer)."""


class CopyValue(ScrollableContainer, can_focus=True):
    """One value on one line, never wrapped; scrolls sideways when wider than the screen.

    Args:
        line: The value (``kind == "value"``).
    """

    DEFAULT_CLASSES = "copy-value"
    # Here, not in wizard.tcss: loaded with the first value (Review), not at the first paint.
    DEFAULT_CSS = """
    CopyValue {
        height: auto;
        overflow-x: auto;
        overflow-y: hidden;
        scrollbar-size-horizontal: 1;
        padding: 0 0 0 2;
    }
    CopyValue .value-text {
        width: auto;
        color: $text;
    }
    CopyValue:focus {
        background: $accent 30%;
    }
    CopyValue:focus .value-text {
        text-style: bold;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "step(-1)", "Previous value", show=False),
        Binding("down", "step(1)", "Next value", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("home", "scroll_home_x", "Start", show=False),
        Binding("end", "scroll_end_x", "End", show=False),
    ]

    def __init__(self, line: PasteLine) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        """The value, as plain text (no markup: ``[msteams]`` stays as typed)."""
        yield Static(Text(self.line.text, no_wrap=True, overflow="ignore"), classes="value-text")

    def action_step(self, direction: int) -> None:
        """Highlight the previous (-1) or next (1) value; past the last, scroll the page."""
        values = list(self.screen.query(CopyValue))
        index = values.index(self) + direction
        if 0 <= index < len(values):
            values[index].focus()
        else:
            body = self.screen.query("#body").first()
            if direction > 0:
                body.scroll_page_down()
            else:
                body.scroll_page_up()

    def action_scroll_home_x(self) -> None:
        """Show the start of the value."""
        self.scroll_to(x=0, animate=False)

    def action_scroll_end_x(self) -> None:
        """Show the end of the value."""
        self.scroll_to(x=self.max_scroll_x, animate=False)


class NextSteps(Vertical):
    """Headings, sentences and copyable values (see :func:`wizard.tui.paste.next_steps`).

    Args:
        lines: What to show.
        id: The widget id.
    """

    DEFAULT_CLASSES = "next-steps"
    DEFAULT_CSS = """
    NextSteps {
        height: auto;
    }
    """

    def __init__(self, lines: Sequence[PasteLine] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        """A :class:`CopyValue` per value; the prose between two values in one widget.

        Fewer widgets keep Review and Done quick to lay out on a busy host.
        """
        prose = Text()
        for line in self.lines:
            if line.kind == "value":
                if prose:
                    yield Static(prose, classes="paste-text")
                    prose = Text()
                yield CopyValue(line)
            elif line.kind == "heading":
                prose.append(("\n\n" if prose else "\n") + line.text, "bold")
            else:
                prose.append(("\n" if prose else "") + line.text)
        if prose:
            yield Static(prose, classes="paste-text")


def copy_value(screen: StepScreen) -> None:
    """Copy the highlighted value (the first one when none is) and say so.

    The confirmation names the value and shows it whole in a notification,
    since the clipboard itself cannot be checked from here.
    """
    focused = screen.focused
    target = (
        focused if isinstance(focused, CopyValue) else next(iter(screen.query(CopyValue)), None)
    )
    if target is None:
        screen.say("Nothing to copy here yet.", problem=True)
        return
    target.focus()
    value = target.line.text
    screen.app.copy_to_clipboard(value)
    screen.say(
        f"Copied {target.line.label} ({len(value)} characters). Not in your clipboard? "
        f"'{PLAIN_KEY}' shows every value plain."
    )
    # The value as text: a name like "a[link=x]" is shown, never parsed as markup.
    screen.notify(visible(value), title=f"Copied: {target.line.label}", timeout=4, markup=False)


def show_plain(screen: StepScreen, lines: Sequence[PasteLine]) -> None:
    """Show ``lines`` unwrapped, one per line, for a terminal without OSC 52."""
    from wizard.tui.screens.modals import PlainValuesScreen

    screen.app.push_screen(PlainValuesScreen(lines))
