"""Step 1, Welcome: what the wizard does, the request flow, and the provider choice.

The choice is an option list: the highlighted option is the choice, Enter
goes on. "Slack only, without exposure" skips every bastion step, and the
screen says plainly what that costs.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from wizard.answers import MODE_LABELS, MODES, Answers
from wizard.tui.screens.base import StepScreen

FLOW = """\
Slack / Microsoft Teams bot connectors
  | HTTPS :443 to a public name, CA-signed certificate
  v
bastion: nginx, the bot endpoints only (others: 404)
  v
CodeStream On-Prem API (internal)"""

MODE_NOTES: dict[str, str] = {
    "slack": "Slack messaging with replies and buttons, through the bastion.",
    "msteams": "The Microsoft Teams bot, through the bastion.",
    "slack+msteams": "Both providers, through one bastion.",
    "slack-no-exposure": (
        "No bastion, nothing exposed: sharing to Slack works, but replies and buttons "
        "from inside Slack will NOT work. The bastion steps are skipped."
    ),
}


def _prompt(mode: str, chosen: bool) -> str:
    """An option's text, marked when chosen (readable without colour)."""
    return f"({'*' if chosen else ' '}) {MODE_LABELS[mode]}"


class WelcomeScreen(StepScreen):
    """What the wizard does, and which providers to set up."""

    STEP = "welcome"
    TITLE = "Welcome to the CodeStream bastion wizard"
    HINT = "Up/Down: choose the providers.  Enter: continue.  F1: why a bastion?"

    _marked: str = ""
    """The mode whose option is marked ``(*)`` and described."""

    def compose_body(self) -> ComposeResult:
        """Introduction, the request flow, the provider choice."""
        session = self.wizard.session
        intro = (
            "Sets this host up as the bastion for Slack and Teams, checks every "
            "requirement live, and proves the whole path works."
        )
        yield Static(intro, classes="intro")
        yield Static(Text(FLOW), classes="flow")
        if session.demo:
            # One line: a second one overflowed the body at 80x24 (a scrollbar
            # for one row, and a second layout before the first frame).
            note = "Demo, all on loopback: Enter through the filled-in answers, or edit them."
            if session.nginx_note:
                note += " " + session.nginx_note
            yield Static(note, classes="note")
        yield Static("Which messaging providers?", classes="field-label")
        self._marked = self.answers.mode
        options = [Option(_prompt(mode, mode == self._marked), id=mode) for mode in MODES]
        yield OptionList(*options, id="mode", compact=True)
        yield Static("", id="mode-note", classes="note")

    def setup(self) -> None:
        """Highlight the current mode."""
        self.query_one("#mode", OptionList).highlighted = MODES.index(self.answers.mode)
        self._describe(self.answers.mode)

    def initial_focus(self) -> Widget:
        """The provider choice."""
        return self.query_one("#mode", OptionList)

    def _describe(self, mode: str) -> None:
        note = self.query_one("#mode-note", Static)
        note.set_class(mode == "slack-no-exposure", "-warning")
        note.update(MODE_NOTES[mode])

    @on(OptionList.OptionHighlighted, "#mode")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        mode = event.option_id or self.answers.mode
        if mode == self._marked:
            # The highlight setup() places, before the first frame: already marked and
            # described; redrawing every option again only delayed that frame.
            return
        self._marked = self.answers.mode = mode
        choice = event.option_list
        for index, each in enumerate(MODES):
            choice.replace_option_prompt_at_index(index, _prompt(each, each == mode))
        self._describe(mode)
        self.refresh_sidebar()

    @on(OptionList.OptionSelected, "#mode")
    async def _selected(self) -> None:
        await self.action_next()

    def store(self, answers: Answers) -> None:
        """The highlighted mode."""
        index = self.query_one("#mode", OptionList).highlighted
        if index is not None:
            answers.mode = MODES[index]
