"""A step whose body is values to paste elsewhere: ``c`` copies one, ``p`` shows them plain.

Provider app (the Slack manifest link, the Azure endpoint) and Done (the
CodeStream and provider settings) are such steps: one class gives both the
keys and what they do, so they cannot drift apart.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from wizard.tui.paste import PasteLine
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.values import COPY_KEY, PLAIN_KEY, copy_value, show_plain


class ValuesStepScreen(StepScreen):
    """A step showing values to copy; subclasses say which in :meth:`lines`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(COPY_KEY, "copy", "Copy"),
        Binding(PLAIN_KEY, "plain", "Plain"),
    ]

    def lines(self) -> list[PasteLine]:
        """The step's values and the text around them, in order (override)."""
        return []

    def action_copy(self) -> None:
        """Copy the highlighted value (the first one when none is) to the clipboard (OSC 52)."""
        copy_value(self)

    def action_plain(self) -> None:
        """Show every value unwrapped, one per line."""
        show_plain(self, self.lines())
