"""What every step screen shares: layout, sidebar, Back/Next, F1 help, F2 steps.

A step screen subclasses :class:`StepScreen`, sets ``STEP`` and ``TITLE``,
composes its body in :meth:`StepScreen.compose_body`, and says how its answers
go into :class:`~wizard.answers.Answers` in :meth:`StepScreen.store`. Next
waits for the step's live checks (:meth:`StepScreen.verdict`) and refuses a
failure; Back keeps what was typed without judging it.

Below :data:`SIDEBAR_MIN_WIDTH` columns the sidebar gives its 20 columns to
the body and a one-line step indicator takes its place; F2 shows it again
(or hides it on a wide terminal), for every step until pressed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Static

from wizard.safetext import visible
from wizard.tui.steps import STEP_IDS, StepState
from wizard.tui.widgets.sidebar import StepSidebar, step_line

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.tui.app import WizardApp
    from wizard.tui.widgets.field import CheckedField


SIDEBAR_MIN_WIDTH = 100
"""Narrower terminals show the one-line step indicator instead of the sidebar."""


class StepScreen(Screen[None]):
    """The base of every step.

    The keys are in the footer (clickable too): F1 help, F2 the steps, Esc
    back, Ctrl+N next, and Enter means Next wherever the focused widget has no
    use for it.

    Class attributes:
        STEP: The step id (see :mod:`wizard.tui.steps`).
        TITLE: The step's heading (shown in the header).
        NEXT_LABEL: What Next does here, as the footer shows it.
        HINT: The line above the footer when there is nothing else to say.
    """

    STEP: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    HINT: ClassVar[str] = "Enter: next step.  Tab: next field.  F1: why this step."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("f2", "toggle_sidebar", "Steps"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        Binding("enter", "next", "Next", show=False),
        Binding("pageup", "scroll_body(-1)", "Scroll", show=False),
        Binding("pagedown", "scroll_body(1)", "Scroll", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._advancing = False

    @property
    def wizard(self) -> WizardApp:
        """The running wizard app."""
        return cast("WizardApp", self.app)

    @property
    def answers(self) -> Answers:
        """The answers collected so far (edited in place by :meth:`store`)."""
        return self.wizard.answers

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, sidebar, the step's body, the status line, footer."""
        # Decided before the widgets exist: switching it later restyles them all.
        self._place_sidebar(self.app.size.width)
        yield Header()
        yield Static("", id="stepline")
        with Horizontal(id="main"):
            yield StepSidebar(id="sidebar")
            with VerticalScroll(id="body"):
                yield from self.compose_body()
        yield Static("", id="nav-status")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No Back on the first step (nor in the footer)."""
        return not (action == "back" and self.is_first)

    def compose_body(self) -> ComposeResult:
        """The step's own widgets (override)."""
        yield from ()

    def on_mount(self) -> None:
        """Draw the sidebar, start the step (:meth:`setup`), focus :meth:`initial_focus`.

        Subclasses override :meth:`setup`, not this: Textual calls the
        ``on_mount`` of every class in the hierarchy.
        """
        self.refresh_sidebar()
        self.say()
        if self.NEXT_LABEL != "Next":
            self.label_next(self.NEXT_LABEL)
        self.setup()
        self.initial_focus().focus()
        self.call_after_refresh(self.wizard.start_preload)

    def on_resize(self, event: events.Resize) -> None:
        """Collapse or restore the sidebar for the new width."""
        self._place_sidebar(event.size.width)

    def _place_sidebar(self, width: int) -> None:
        """The sidebar on wide terminals, the step line on narrow ones; F2 swaps them."""
        wide = width >= SIDEBAR_MIN_WIDTH
        self.set_class(wide == self.wizard.sidebar_swapped, "-compact")

    def action_toggle_sidebar(self) -> None:
        """Show the sidebar instead of the step line, or the other way round."""
        self.wizard.sidebar_swapped = not self.wizard.sidebar_swapped
        self._place_sidebar(self.size.width)

    def setup(self) -> None:
        """Start the step's work, e.g. its checks (override)."""

    def initial_focus(self) -> Widget:
        """The widget focused first: the first input, else the body (override)."""
        first = next(iter(self.query(Input)), None)
        return first if first is not None else self.query_one("#body", VerticalScroll)

    def label_next(self, label: str) -> None:
        """Say in the footer what Ctrl+N (and Enter) does on this step now."""
        self._bindings.bind("ctrl+n", "next", label)
        self.refresh_bindings()

    @property
    def is_first(self) -> bool:
        """The first step has nothing to go back to."""
        return self.STEP == "welcome"

    def refresh_sidebar(self) -> None:
        """Redraw the sidebar and the step count (the mode may change what is skipped)."""
        states = self.wizard.sidebar_states(self.STEP)
        self.query_one(StepSidebar).show(self.STEP, states)
        self.query_one("#stepline", Static).update(step_line(self.STEP, states))
        flow = [step for step in STEP_IDS if step not in self.wizard.skipped()]
        number = flow.index(self.STEP) + 1 if self.STEP in flow else 0
        demo = " (demo)" if self.wizard.session.demo else ""
        self.sub_title = f"step {number} of {len(flow)}{demo}"

    def say(self, message: str = "", *, problem: bool = False) -> None:
        """Show a one-line message above the footer (the step's hint when empty).

        The message often quotes a file name or an error: it is shown as text
        (``Text``, never markup, so ``a[link=x].pem`` is a name, not a tag), its
        control characters escaped.
        """
        status = self.query_one("#nav-status", Static)
        status.set_class(problem, "-problem")
        status.update(Text(visible(message or self.HINT)))

    # -- the step's contract ---------------------------------------------------------

    def fields(self) -> list[CheckedField]:
        """The live-checked fields of this step (all of them, by default)."""
        from wizard.tui.widgets.field import CheckedField

        return list(self.query(CheckedField))

    def store(self, answers: Answers) -> None:
        """Copy what the screen holds into ``answers`` (override)."""

    async def verdict(self) -> tuple[StepState, str | None]:
        """Wait for the checks and judge the step.

        Returns:
            The step's state (``ok``, ``warn`` or ``fail``) and, when Next must
            be refused, why.
        """
        fields = self.fields()
        for field in fields:
            await field.settle()
        failing = [field for field in fields if field.blocking]
        if failing:
            failing[0].live.scroll_visible()
            return "fail", f"Fix the failure first: {failing[0].label.rstrip(':')}"
        if any(field.status == "warn" for field in fields):
            return "warn", None
        return "ok", None

    # -- actions -------------------------------------------------------------------

    async def action_next(self) -> None:
        """Go on when nothing fails; say why not otherwise (a second Enter meanwhile waits)."""
        if self._advancing:
            return
        self._advancing = True
        try:
            self.say("Checking ...")
            state, refusal = await self.verdict()
            if refusal is not None:
                self.say(refusal, problem=True)
                self.app.bell()
                return
            self.say()
            self.store(self.answers)
            await self.wizard.complete_step(self.STEP, state)
        finally:
            self._advancing = False

    async def action_back(self) -> None:
        """Go back, keeping what was typed here."""
        if self.is_first:
            return
        self.store(self.answers)
        await self.wizard.back_from(self.STEP)

    def action_scroll_body(self, direction: int) -> None:
        """Page the step's body up (-1) or down (1), wherever the focus is."""
        body = self.query_one("#body", VerticalScroll)
        if direction < 0:
            body.scroll_page_up()
        else:
            body.scroll_page_down()

    def action_help(self) -> None:
        """Explain why this step's requirement exists and how to satisfy it."""
        from wizard.tui.screens.modals import HelpScreen

        self.app.push_screen(HelpScreen(self.STEP))

    def on_checked_field_settled(self) -> None:
        """Take a refusal back once nothing blocks any more (``CheckedField.Settled``)."""
        status = self.query_one("#nav-status", Static)
        if status.has_class("-problem") and not any(f.blocking for f in self.fields()):
            self.say()

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        """Enter in any input means Next (Tab moves between the inputs)."""
        await self.action_next()
