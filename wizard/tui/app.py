"""The wizard app: steps in order, answers in memory, state saved after each step.

:class:`WizardApp` owns the answers and the step states; each step is a
screen (:mod:`wizard.tui.screens`) that reads the answers, checks them live
and writes them back on Next. The app saves the resume state after every
step, offers to resume at start, asks before leaving, and keeps the first
paint cheap: only the Welcome screen is imported up front; each step's check
modules and heavy libraries load in a thread once it is shown
(:data:`STEP_MODULES`), so memory holds what the screen in front of the admin
needs, not every later step's.

The demo paints just as early: its environment (certificates, DNS servers,
the fake API, nginx) is built in a worker after the first paint, and the
first step that needs it waits for it, saying so. A resumed step paints at
once; its live checks wait for the imports (:class:`LiveFindings`).

Entry point: :func:`run_app`, given a :class:`~wizard.tui.session.WizardSession`
built by the commands layer (:mod:`wizard.commands.interactive` for
``codestream-bastion``, :mod:`wizard.commands.demo` for ``codestream-bastion
demo``); the TUI never imports the demo.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from wizard.answers import Answers
from wizard.safetext import visible
from wizard.tui.screens import SCREENS, screen_class
from wizard.tui.screens.base import StepScreen
from wizard.tui.session import WizardSession
from wizard.tui.state import SavedState
from wizard.tui.steps import (
    STEP_BY_ID,
    STEP_IDS,
    StepState,
    first_unanswered,
    next_step,
    previous_step,
    skipped_steps,
)

if TYPE_CHECKING:
    from wizard.checks.context import CheckContext
    from wizard.tui.outputs import OutputPlan

_DNS = ("dns.asyncresolver", "dns.asyncquery")
_HTTP = ("httpx", "httpcore", "h11", "anyio", "anyio._backends._asyncio", "sniffio", "certifi")
_X509 = ("cryptography.x509", "cryptography.x509.verification")

# What each step needs, imported in a thread once the step is painted: no step
# stalls the screen on an import, and no step holds what it does not use (the
# heavy libraries cost 5 to 8 MiB each; a Welcome screen that loaded them all
# took twice the memory of a bare Textual app). The step screens themselves are
# light and load with Welcome, so moving on never waits for a module.
STEP_MODULES: dict[str, tuple[str, ...]] = {
    "welcome": tuple(module for module, _ in SCREENS.values()),
    "hostname": ("wizard.checks.hostname", "wizard.checks.dns", *_DNS),
    "public_ip": ("wizard.checks.address", "wizard.checks.dns", "wizard.checks.listen", *_DNS),
    "certificate": ("wizard.checks.certificate", "wizard.checks.cert_discovery", *_X509),
    "upstream": ("wizard.checks.upstream", "wizard.checks.fingerprint", *_HTTP, "idna"),
    "provider_app": ("wizard.render", "wizard.provider_files"),
    "credentials": ("wizard.checks.secrets", "wizard.secrets_source"),
    "review": (
        "wizard.engine",
        "wizard.render",
        "wizard.install",
        "wizard.tui.outputs",
        "jinja2",
        "wizard.checks.nginx",
        "wizard.checks.firewall",
        "wizard.checks.selinux",
        "wizard.checks.renewal",
        *_DNS,
        *_HTTP,
        *_X509,
        "rich._emoji_codes",
    ),
    "install": ("wizard.install",),
    "test": ("wizard.checks.proxy", *_HTTP),
    "done": ("wizard.render", "jinja2"),
}


def preload_modules(names: tuple[str, ...]) -> None:
    """Import ``names`` (run in a thread), then freeze what exists out of the collector's reach.

    A full collection scanning modules, classes and the app stalled the screen
    for up to 70 ms; frozen, it only scans what the steps create.
    """
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if "dns.asyncresolver" in names:
        with contextlib.suppress(Exception):
            import dns.asyncbackend

            dns.asyncbackend.get_backend("asyncio")  # imports dnspython's asyncio backend
    gc.freeze()


class WizardApp(App[int]):
    """The bastion wizard.

    Args:
        session: Context, starting answers and where things are saved.
    """

    CSS_PATH = "wizard.tcss"
    TITLE = "CodeStream bastion"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, session: WizardSession) -> None:
        super().__init__()
        self.session = session
        self.answers: Answers = session.answers.copy()
        self.step_states: dict[str, StepState] = {}
        self.current_step = "welcome"
        self.finished = False
        self.output_plan: OutputPlan | None = None
        self.installed = False
        self.release: str | None = None
        """The CodeStream release the live probe found (``X-CS-API-Version``)."""
        self.sidebar_swapped = False
        """F2 was pressed: the step line on wide terminals, the sidebar on narrow ones."""
        self._saved: SavedState | None = None
        self._preloads: dict[str, Worker[None]] = {}
        self._environment: Worker[None] | None = None

    # -- state ---------------------------------------------------------------------

    @property
    def context(self) -> CheckContext:
        """What the checks run against."""
        return self.session.context

    def skipped(self) -> frozenset[str]:
        """The steps the current answers skip."""
        return skipped_steps(
            exposes_bastion=self.answers.exposes_bastion,
            nginx_usable=self.session.nginx_usable,
        )

    def sidebar_states(self, current: str) -> dict[str, StepState]:
        """Every step's state for the sidebar, ``current`` being shown."""
        skipped = self.skipped()
        states: dict[str, StepState] = {}
        for step in STEP_IDS:
            if step == current:
                states[step] = "current"
            elif step in skipped:
                states[step] = "skipped"
            else:
                states[step] = self.step_states.get(step, "pending")
        return states

    def save_state(self, step: str) -> None:
        """Save the answers and ``step`` for a later resume (a failure is only reported)."""
        try:
            self.session.state.save(self.answers, step, self.step_states)
        except OSError as exc:
            self.notify(
                visible(
                    f"Could not save the resume state to {self.session.state.path}: "
                    f"{exc.strerror or exc}"
                ),
                severity="warning",
                markup=False,  # a path is text, never markup
            )

    # -- start-up ------------------------------------------------------------------

    async def on_mount(self) -> None:
        """Show Welcome, then offer to resume (Welcome starts :meth:`start_preload`)."""
        await self.show_step("welcome")
        # Asked once Welcome is painted: reading the state and building the
        # question would otherwise delay the first frame.
        self.call_after_refresh(self._offer_resume)

    def _offer_resume(self) -> None:
        """Ask whether to resume at the step a saved state stopped at, if any."""
        saved = self.session.state.load()
        if saved is not None and saved.step in STEP_IDS and saved.step != "welcome":
            from wizard.tui.screens.modals import ConfirmScreen

            self._saved = saved
            title = STEP_BY_ID[saved.step].title
            where = f" ({saved.answers.bastion.hostname})" if saved.answers.bastion.hostname else ""
            target = self._resume_target(saved)
            carry_on = (
                "carry on at that step with those answers."
                if target == saved.step
                else f"carry on at '{STEP_BY_ID[target].title}', whose answer is missing."
            )
            self.push_screen(
                ConfirmScreen(
                    "Resume where you stopped?",
                    f"A previous session stopped at step '{title}'{where}.\n"
                    f"Its answers are in {self.session.state.path}.\n\n"
                    f"Resume: {carry_on}\n"
                    "Start over: begin again from the start"
                    + (
                        f" with {self.session.prefilled_from}."
                        if self.session.prefilled_from
                        else "."
                    ),
                    yes="Resume (y)",
                    no="Start over (n)",
                    safe=True,
                ),
                self._resume_answered,
            )

    async def _resume_answered(self, resume: bool | None) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        if not resume:
            self.session.state.clear()
            return
        self.answers = saved.answers
        skipped = self.skipped()
        target = self._resume_target(saved)
        for step in STEP_IDS[: STEP_IDS.index(target)]:
            if step not in skipped:
                self.step_states[step] = "warn" if saved.passed.get(step) == "warn" else "ok"
        await self.show_step(target)

    def _resume_target(self, saved: SavedState) -> str:
        """Where a resume lands: the saved step, or an earlier one whose answer is missing."""
        skipped = skipped_steps(
            exposes_bastion=saved.answers.exposes_bastion, nginx_usable=self.session.nginx_usable
        )
        target = saved.step if saved.step not in skipped else "welcome"
        missing = first_unanswered(saved.answers, skipped)
        if missing is not None and STEP_IDS.index(missing) < STEP_IDS.index(target):
            return missing  # never resume past a step whose required value is missing
        return target

    def start_preload(self, step: str | None = None) -> None:
        """Start the demo's environment, and importing what ``step`` needs, in threads (once).

        Called once a step is painted (``step``: the one shown), so neither
        competes with its paint; and by :meth:`preloaded` in any case.
        """
        self.start_environment()
        step = step or self.current_step
        if step in self._preloads:
            return
        names = tuple(n for n in STEP_MODULES.get(step, ()) if n not in sys.modules)
        self._preloads[step] = self.run_worker(
            partial(preload_modules, names),
            name=f"preload {step}",
            thread=True,
            exit_on_error=False,
        )

    async def preloaded(self) -> None:
        """Wait until the modules of the step shown (and of any step before it) are imported."""
        self.start_preload()
        for worker in list(self._preloads.values()):
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

    def start_environment(self) -> None:
        """Start building the demo's environment in a thread (once; nothing outside the demo)."""
        launcher = self.session.launcher
        if launcher is None or self._environment is not None:
            return

        def launch() -> None:
            context = launcher.start()
            session = self.session
            session.context = context
            session.demo_nginx = launcher.nginx
            session.nginx_usable = launcher.nginx_usable
            session.nginx_note = launcher.nginx_note
            with contextlib.suppress(RuntimeError):  # the app already left
                self.call_from_thread(self._environment_started)

        self._environment = self.run_worker(
            launch, name="demo environment", thread=True, exit_on_error=False
        )

    def _environment_started(self) -> None:
        """Show what the demo's environment found out (no nginx: Install and Test skipped)."""
        screen = self.screen
        if isinstance(screen, StepScreen):
            screen.refresh_sidebar()
        if self.session.nginx_note:
            self.notify(
                visible(self.session.nginx_note), severity="warning", timeout=12, markup=False
            )

    async def environment_ready(self) -> bool:
        """Wait for the demo's environment, saying so; ``False`` when it could not start."""
        if self.session.launcher is None:
            return True
        self.start_environment()
        worker = self._environment
        assert worker is not None
        screen = self.screen if isinstance(self.screen, StepScreen) else None
        if not worker.is_finished and screen is not None:
            screen.say("Starting the demo environment (certificates, DNS, the API, nginx) ...")
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed) as exc:
            cause = getattr(exc, "error", exc)
            if screen is not None:
                screen.say(
                    f"The demo environment could not start: {cause}. Leave (Ctrl+Q) and run "
                    "the demo again.",
                    problem=True,
                )
            return False
        if screen is not None:
            screen.say()
            screen.refresh_sidebar()  # nginx may have turned out unusable: Install skipped
        return True

    # -- navigation ----------------------------------------------------------------

    async def show_step(self, step: str) -> None:
        """Show the screen of ``step`` (replacing the current step's screen).

        The switch is not awaited: this runs in a handler of the screen being
        replaced, which must be free to process its own removal.
        """
        if step != "welcome" and not await self.environment_ready():
            return
        screen = screen_class(step)()
        self.current_step = step
        if isinstance(self.screen, StepScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    async def complete_step(self, step: str, state: StepState) -> None:
        """Record ``step`` as passed with ``state``, save, and go to the next step."""
        self.step_states[step] = state
        following = next_step(step, self.skipped())
        if following is None:
            self.finished = True
            self.exit(0)
            return
        self.save_state(following)
        await self.show_step(following)

    async def back_from(self, step: str) -> None:
        """Go to the step before ``step`` (saving what was typed)."""
        previous = previous_step(step, self.skipped())
        if previous is None:
            return
        self.save_state(previous)
        await self.show_step(previous)

    # -- leaving -------------------------------------------------------------------

    def action_request_quit(self) -> None:
        """Ask before leaving; a second Ctrl+C (or Ctrl+Q) in the question leaves."""
        from wizard.tui.screens.modals import QuitScreen

        if isinstance(self.screen, QuitScreen):
            self.screen.dismiss(True)
            return
        if isinstance(self.screen, StepScreen):
            self.screen.store(self.answers)
            if self.current_step != "done":
                self.save_state(self.current_step)
        message = self.leaving_message()
        self.push_screen(
            QuitScreen("Leave the wizard?", message, yes="Leave (y)", no="Stay (n)"),
            self._quit_answered,
        )

    def leaving_message(self) -> str:
        """What leaving now keeps, and how to come back (true for the demo's temporary files)."""
        session = self.session
        if session.demo and session.demo_kept is None:
            return (
                "The demo's servers and nginx stop and its temporary files, answers "
                "included, are removed: nothing to resume."
                + (
                    ""
                    if session.demo_web
                    else " To keep them, run 'codestream-bastion demo --dir DIR'."
                )
            )
        if self.current_step == "done":
            return "Everything is saved."
        again = (
            f"codestream-bastion demo --dir {session.demo_kept}"
            if session.demo_kept is not None
            else "the same command"
        )
        return (
            f"Your answers so far are saved in {session.state.path}.\n"
            f"Run {again} again to resume at this step."
        )

    def _quit_answered(self, leave: bool | None) -> None:
        if leave:
            self.exit(0 if self.finished else 1)


def _farewell(app: WizardApp) -> None:
    """Tell the admin where things are, after the screen is gone (not for the demo).

    When the wizard was completed, the next steps follow, every value whole on
    its own line: the terminal's scrollback then has them for a copy and
    paste, with or without OSC 52.
    """
    session = app.session
    if app.finished:
        from wizard.constants import NEXT_STEPS_NAME
        from wizard.tui.paste import next_steps, plain_text

        print(f"codestream-bastion: answers saved in {session.answers_path}")
        print(f"Next steps (also in {session.output_dir / NEXT_STEPS_NAME}):\n")
        lines = next_steps(app.answers, session.output_dir, session.answers_path)
        print(plain_text(lines, indent="# "), end="")
    elif app.current_step != "welcome":
        print(
            f"codestream-bastion: stopped at '{STEP_BY_ID[app.current_step].title}'. "
            f"Your answers are saved in {session.state.path}; run again to resume."
        )


@dataclass(frozen=True)
class Outcome:
    """How the wizard ended.

    Attributes:
        code: The exit status (0 when completed, 1 when left before the end).
        finished: The wizard was completed.
        step_title: The step it was left at.
    """

    code: int
    finished: bool
    step_title: str


def run_app(session: WizardSession) -> Outcome:
    """Run the wizard for ``session`` until the admin leaves or finishes.

    A dropped SSH session or SIGTERM ends it like Ctrl+Q (:func:`exit_on_hangup`).
    Outside the demo, the wizard's last words are printed once the screen is
    gone; the demo's are its command's (:mod:`wizard.commands.demo`), said
    once its directory is dealt with. The session's launcher is not stopped
    here: whoever made it stops it.

    Args:
        session: Built by the commands layer (:mod:`wizard.commands.interactive`
            on this host, :mod:`wizard.commands.demo` in the demo).
    """
    app = WizardApp(session)
    # What start-up imported lives as long as the process: out of the collector's
    # reach, a full collection during the first layout (20-30 ms in the demo)
    # does not delay the first frame. The command line kept the collector off
    # while it loaded (wizard.cli.main): it runs again from here.
    gc.freeze()
    gc.enable()
    with exit_on_hangup():
        code = app.run()
    if not session.demo:
        _farewell(app)
    return Outcome(1 if code is None else code, app.finished, STEP_BY_ID[app.current_step].title)


@contextlib.contextmanager
def exit_on_hangup() -> Iterator[None]:
    """Turn SIGHUP (a dropped SSH session) and SIGTERM into a normal exit.

    Their default action ends the process on the spot, skipping every
    ``finally``: an install would not be rolled back, the demo's nginx would
    keep running and its files would stay.
    """

    def leave(signum: int, frame: FrameType | None) -> None:
        # `timeout`, systemd and others follow SIGTERM with SIGCONT; Textual's
        # SIGCONT handler would then try to resume a loop that is gone.
        signal.signal(signal.SIGCONT, signal.SIG_DFL)
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
