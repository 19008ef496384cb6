"""The one input widget every step uses: a field validated as it is typed, then live.

:class:`CheckedField` is an :class:`~textual.widgets.Input` (labelled in its
border, which saves a line per field at 80x24) and a
:class:`~wizard.tui.widgets.findings.LiveFindings`. Every keystroke runs the
field's cheap, offline syntax check (also an Input validator, so the input is
marked invalid at once). When the syntax is right, the field's live check (DNS
lookups, certificate validation, HTTPS probes) runs in a worker of its own,
debounced (a new value cancels the check of the old one), never blocking the
screen, showing its progress, then each finding with its status and remedy.

A field may carry extra inputs that its check also reads (the private key
next to the certificate, the CA file and the pinned address next to the API
URL): they are validated with the main value, changing one checks again, and
their problems show in the same findings list.

An input that loses the focus shows the start of its value (a long path
shows ``/etc/letsencrypt/live/...``, not its last 50 characters); focused
again, the whole value is selected, the cursor at its end.

A step decides on Next with :meth:`CheckedField.settle`, which first judges a
value never judged (an untouched field, empty or not: a required field left
empty fails its syntax check), runs a pending check at once and waits for it,
then :attr:`CheckedField.blocking`: failures refuse, warnings are allowed.

Enter in a field checks its value again even when it did not change (a file's
mode, a DNS record or the API may have been fixed outside the wizard), then
means Next; :meth:`CheckedField.recheck` is what the step's Ctrl+R calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input

from wizard.findings import Finding
from wizard.tui.widgets.findings import LiveFindings

SyntaxCheck = Callable[[str], "str | None"]
"""Returns why a value is malformed (a message with the fix), or ``None``."""
LiveCheck = Callable[[str], Awaitable[list[Finding]]]
"""Checks a well-formed value for real; returns findings."""

DEFAULT_DEBOUNCE = 0.6


class SyntaxValidator(Validator):
    """Adapts a :data:`SyntaxCheck` to Textual's Input validation."""

    def __init__(self, check: SyntaxCheck, *, optional: bool = False) -> None:
        super().__init__()
        self._check = check
        self._optional = optional

    def validate(self, value: str) -> ValidationResult:
        """Success, or a failure whose description is the check's message."""
        problem = _problem(self._check, self._optional, value)
        return self.success() if problem is None else self.failure(problem)


@dataclass(frozen=True)
class Extra:
    """An extra input of a :class:`CheckedField`, read by its live check.

    Attributes:
        id: The input's widget id (unique on the screen).
        label: What to enter.
        value: The initial value.
        syntax: Its offline check, or ``None``.
        optional: Empty is fine.
        placeholder: Shown when empty.
    """

    id: str
    label: str
    value: str = ""
    syntax: SyntaxCheck | None = None
    optional: bool = True
    placeholder: str = ""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _problem(syntax: SyntaxCheck | None, optional: bool, value: str) -> str | None:
    """What ``syntax`` says about ``value`` (nothing about an empty optional value)."""
    if syntax is None or (optional and not value):
        return None
    return syntax(value)


def _validators(syntax: SyntaxCheck | None, optional: bool) -> list[Validator]:
    return [SyntaxValidator(syntax, optional=optional)] if syntax is not None else []


class CheckedField(Vertical):
    """A labelled input with syntax validation on every keystroke and a live check.

    Args:
        label: What to enter, shown above the input.
        value: The initial value (a non-empty one is checked at once).
        syntax: The offline syntax check, or ``None`` to accept anything.
        check: The live check of a well-formed value, or ``None`` for none.
        optional: An empty value is fine and is not checked.
        placeholder: Shown in the empty input.
        password: Mask what is typed.
        progress: What the list says while the live check runs.
        debounce: Seconds of quiet typing before the live check starts.
        extras: Further inputs the live check reads (shown below the main one).
        id: The widget id.
    """

    DEFAULT_CLASSES = "field"

    class Settled(Message):
        """Posted when the field's verdict changed (a check ended, or the syntax)."""

        def __init__(self, field: CheckedField) -> None:
            super().__init__()
            self.field = field

        @property
        def control(self) -> CheckedField:
            """The field, for ``@on(CheckedField.Settled, "#id")``."""
            return self.field

    def __init__(
        self,
        label: str,
        value: str = "",
        *,
        syntax: SyntaxCheck | None = None,
        check: LiveCheck | None = None,
        optional: bool = False,
        placeholder: str = "",
        password: bool = False,
        progress: str = "Checking",
        debounce: float = DEFAULT_DEBOUNCE,
        extras: Sequence[Extra] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.label = label
        self._initial = value
        self._syntax = syntax
        self._check = check
        self._optional = optional
        self._placeholder = placeholder
        self._password = password
        self._progress = progress
        self.debounce = debounce
        self.extras = tuple(extras)
        self.syntax_problem: str | None = None
        self._judged: tuple[str, ...] | None = None

    def compose(self) -> ComposeResult:
        """The input (labelled in its border), the extra inputs, the findings."""
        main = Input(
            self._initial,
            placeholder=self._placeholder,
            password=self._password,
            validators=_validators(self._syntax, self._optional),
            valid_empty=self._optional,
            classes="main-input",
        )
        main.border_title = self.label.rstrip(":")
        yield main
        for extra in self.extras:
            field = Input(
                extra.value,
                placeholder=extra.placeholder,
                validators=_validators(extra.syntax, extra.optional),
                valid_empty=extra.optional,
                id=extra.id,
                classes="extra-input",
            )
            field.border_title = extra.label.rstrip(":")
            yield field
        yield LiveFindings()

    def on_mount(self) -> None:
        """Judge the initial values: checked at once when the main one is not empty."""
        for extra in self.extras:
            if extra.value:
                self.extra(extra.id).validate(extra.value)
        if self._initial:
            self.input.validate(self._initial)
            self._evaluate(delay=0.0)

    # -- public API ----------------------------------------------------------------

    @property
    def input(self) -> Input:
        """The main input widget."""
        return self.query_one(".main-input", Input)

    def extra(self, extra_id: str) -> Input:
        """The input of the extra ``extra_id``."""
        return self.query_one(f"#{extra_id}", Input)

    def extra_value(self, extra_id: str) -> str:
        """The text of the extra ``extra_id``."""
        return self.extra(extra_id).value

    @property
    def value(self) -> str:
        """The current text of the main input."""
        return self.input.value

    @value.setter
    def value(self, text: str) -> None:
        self.input.value = text

    @property
    def findings(self) -> list[Finding]:
        """The findings of the last live check."""
        return self.live.findings

    @property
    def live(self) -> LiveFindings:
        """The findings list that runs the live check."""
        return self.query_one(LiveFindings)

    @property
    def busy(self) -> bool:
        """A live check is waiting for its debounce or running."""
        return self.live.busy

    @property
    def blocking(self) -> bool:
        """The value may not be accepted: a syntax problem or a ``fail`` finding."""
        return self.syntax_problem is not None or self.live.status == "fail"

    @property
    def status(self) -> str:
        """``checking``, ``fail``, ``warn``, ``ok`` or ``skip`` (the worst finding)."""
        return "fail" if self.syntax_problem is not None else self.live.status

    def recheck(self, *, immediate: bool = False) -> None:
        """Check the current value again (a value it depends on changed)."""
        self._evaluate(delay=0.0 if immediate else self.debounce)

    async def settle(self) -> None:
        """Judge a value never judged, run a pending check now, wait for the findings.

        An untouched field was never judged (nothing changed it): without this a
        required field left empty would let Next through.
        """
        if self._values() != self._judged:
            self._evaluate(delay=0.0)
        await self.live.settle()

    # -- internals -----------------------------------------------------------------

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        """Show the start of the value (where a path says what it is) when not editing."""
        event.input.cursor_position = 0

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter checks again what is there now (then the step takes it as Next)."""
        self._evaluate(delay=0.0)

    @on(Input.Changed)
    def _changed(self) -> None:
        if self._values() != self._judged:  # Input also says "changed" when it mounts
            self._evaluate(delay=self.debounce)

    def _values(self) -> tuple[str, ...]:
        return (self.value, *(self.extra_value(extra.id) for extra in self.extras))

    @on(LiveFindings.Finished)
    def _finished(self, event: LiveFindings.Finished) -> None:
        event.stop()
        self._settled()

    def _evaluate(self, *, delay: float) -> None:
        """Syntax now; the live check in a fresh worker (cancelling any older one)."""
        self._judged = self._values()
        value = self.value
        problem = _problem(self._syntax, self._optional, value)
        for extra in self.extras:
            if problem is None:
                extra_problem = _problem(extra.syntax, extra.optional, self.extra_value(extra.id))
                if extra_problem is not None:
                    problem = f"{extra.label.rstrip(':')}: {extra_problem}"
        self.syntax_problem = _sentence(problem) if problem else None
        if self.syntax_problem is not None:
            self.live.show_error(self.syntax_problem)
        elif self._check is None or (self._optional and not value):
            self.live.clear()
        else:
            check = self._check
            self.live.start(lambda: check(value), progress=self._progress, delay=delay)
            return
        self._settled()

    def _settled(self) -> None:
        status = self.status
        self.set_class(status == "fail", "-fail")
        self.set_class(status == "warn", "-warn")
        self.post_message(self.Settled(self))
