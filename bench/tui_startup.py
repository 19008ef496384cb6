"""Benchmark: the first frame and memory of every way in, and the event loop under slow checks.

1. First frame. Each app starts in a fresh interpreter and is timed from the
   child's first line to the first compositor refresh of a screen with
   something on it (the first full frame rendered and written out), headless
   at 80x24, through the real entry point (``codestream-bastion`` and
   ``codestream-bastion demo``). The reference is a bare Textual app (Header,
   Static, Input, Footer) measured exactly the same way; runs alternate. Four
   ways in: the bare app, the wizard fresh, the wizard with a saved state to
   resume (at the Certificate step), and the demo. Peak RSS (``ru_maxrss``)
   is read at that first frame. Goals: first frame <= 1.3x the bare app
   (medians), peak RSS <= 1.5x.
2. Stalls. The wizard runs in-process against the demo with every DNS answer
   and every API response delayed (1 s by default), while an admin types a
   host name, goes back and forth and walks to Review (from the moment the
   first screen is up: its painting is part 1). A 10 ms interval timer
   in the app's own message loop and a 10 ms asyncio task record the largest
   gap between their ticks. Goal: no stall over 100 ms.

Usage: ``.venv/bin/python bench/tui_startup.py [--runs 9] [--delay 1.0] [--no-stalls]``
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any other import: the child's start

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

GOAL_RATIO = 1.3
GOAL_RSS_RATIO = 1.5
GOAL_STALL_MS = 100.0
KINDS: tuple[str, ...] = ("bare", "wizard", "resumed", "demo")
LABELS: dict[str, str] = {
    "bare": "bare Textual app (Header, Static, Input, Footer)",
    "wizard": "wizard, fresh (Welcome)",
    "resumed": "wizard, resuming at Certificate",
    "demo": "demo (Welcome)",
}


# -- 1. first frame (child side) -------------------------------------------------------------

INTERNAL = frozenset({"ToastRack", "Tooltip"})
"""Widgets Textual puts on every screen, the empty default one included."""


def _watch_first_frame(record: list[tuple[float, int]]) -> None:
    """Record (seconds since T0, peak RSS KiB) at the first frame, then leave the app.

    "First frame" = the first compositor refresh of the current screen when it
    shows a widget (an app's default screen, before its first screen is
    pushed, holds only Textual's own toast rack and tooltip: it does not count).
    """
    import resource

    from textual.screen import Screen

    refresh = Screen._compositor_refresh

    def painted(screen: Screen[Any]) -> None:
        refresh(screen)
        shown = [c for c in screen.children if type(c).__name__ not in INTERNAL]
        if not record and screen.is_current and shown:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            record.append((time.perf_counter() - T0, peak))
            screen.app.call_later(screen.app.exit)

    Screen._compositor_refresh = painted  # type: ignore[method-assign,assignment]


def _headless_runs() -> None:
    """Make every ``App.run`` headless at 80x24 (the entry points call ``app.run()``)."""
    from textual.app import App

    run = App.run

    def headless(self: App[Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.update(headless=True, size=(80, 24))
        return run(self, *args, **kwargs)

    App.run = headless  # type: ignore[method-assign]


def _save_resume_state(path: Path) -> None:
    """A saved session stopped at the Certificate step (what a resume finds)."""
    from wizard.answers import Answers
    from wizard.tui.state import StateStore

    answers = Answers(mode="slack+msteams")
    answers.bastion.hostname = "bastion.example.com"
    answers.bastion.public_ip = "203.0.113.10"
    StateStore(path).save(answers, "certificate", {"hostname": "ok", "public_ip": "ok"})


def _child(kind: str) -> None:
    """Start one app headless, print ms to its first frame and its peak RSS, exit."""
    record: list[tuple[float, int]] = []
    if kind == "bare":
        from textual.app import App, ComposeResult
        from textual.widgets import Footer, Header, Input, Static

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Static("A bare Textual app, for reference.")
                yield Input()
                yield Footer()

        _watch_first_frame(record)
        Bare().run(headless=True, size=(80, 24))
    else:
        scratch = Path(tempfile.mkdtemp(prefix="bench-tui-"))
        state = scratch / "state.toml"
        os.environ["CODESTREAM_BASTION_STATE"] = str(state)
        os.chdir(scratch)
        if kind == "resumed":
            _save_resume_state(state)
        from wizard.cli import main

        _headless_runs()
        _watch_first_frame(record)
        with open(os.devnull, "w") as sink:  # the farewell line is not ours to print
            saved, sys.stdout = sys.stdout, sink
            try:
                main(["demo"] if kind == "demo" else [])
            finally:
                sys.stdout = saved
    seconds, rss = record[0]
    print(f"{seconds * 1000:.1f} {rss}")


def first_frames(runs: int) -> dict[str, tuple[float, float]]:
    """Median (ms to first frame, peak RSS MiB) of each kind, runs alternating."""
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rss: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(runs):
        for kind in KINDS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
            ms, kib = out.strip().splitlines()[-1].split()
            times[kind].append(float(ms))
            rss[kind].append(int(kib) / 1024)
    return {kind: (statistics.median(times[kind]), statistics.median(rss[kind])) for kind in KINDS}


# -- 2. stalls -------------------------------------------------------------------------------


async def _walk(delay: float) -> tuple[float, float, float]:
    """Walk the wizard through slow checks; returns (app timer ms, asyncio ms, seconds)."""
    from wizard.answers import load_answers
    from wizard.demo.environment import running_demo
    from wizard.tui.app import WizardApp
    from wizard.tui.session import WizardSession
    from wizard.tui.state import StateStore
    from wizard.tui.testing import press, settle

    with running_demo(None, timeout=5.0) as (env, answers_path):
        assert env.local_dns is not None
        assert env.public_dns is not None
        assert env.api is not None
        env.local_dns.delay = env.public_dns.delay = env.api.delay = delay
        scratch = Path(tempfile.mkdtemp())
        session = WizardSession(
            context=env.context(),
            answers=load_answers(answers_path, partial=True),
            answers_path=scratch / "answers.toml",
            state=StateStore(scratch / "state.toml"),
            certificate_roots=(env.files.certs,),
            nginx_usable=False,
            demo=True,
            output_dir=scratch / "out",
        )
        app = WizardApp(session)
        gaps = {"timer": 0.0, "loop": 0.0}
        last = {"timer": time.perf_counter()}

        def tick() -> None:
            now = time.perf_counter()
            gaps["timer"] = max(gaps["timer"], now - last["timer"] - 0.01)
            last["timer"] = now

        async def loop_probe() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                gaps["loop"] = max(gaps["loop"], time.perf_counter() - before - 0.01)

        started = time.perf_counter()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)  # the first paint is measured above, not here
            last["timer"] = time.perf_counter()
            app.set_interval(0.01, tick)
            probe = asyncio.create_task(loop_probe())
            await press(pilot, "enter")  # Hostname: DNS, every answer delayed
            await pilot.press(*"bastion.demo.tes")  # typed while the check runs
            await pilot.press("t")
            await settle(pilot)
            await press(pilot, "enter", "enter")  # Public IP, then Certificate
            await press(pilot, "escape", "enter")  # back and forth
            await press(pilot, "enter", "enter", "enter")  # API probe, Credentials, Review
            probe.cancel()
            reached = app.current_step
        elapsed = time.perf_counter() - started
        if reached != "review":
            raise SystemExit(f"the walk stopped at {reached!r}: the answers did not pass")
        return gaps["timer"] * 1000, gaps["loop"] * 1000, elapsed


def main() -> int:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--no-stalls", action="store_true", help="only the first frames")
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0

    figures = first_frames(args.runs)
    bare_ms, bare_rss = figures["bare"]
    print(f"first frame at 80x24, median of {args.runs} fresh interpreters each")
    print(f"  {'':48} {'ms':>7} {'ratio':>6}  {'RSS MiB':>7} {'ratio':>6}")
    slow = False
    for kind in KINDS:
        ms, rss = figures[kind]
        ratio, rss_ratio = ms / bare_ms, rss / bare_rss
        over = kind != "bare" and (ratio > GOAL_RATIO or rss_ratio > GOAL_RSS_RATIO)
        slow = slow or over
        print(
            f"  {LABELS[kind]:48} {ms:7.1f} {ratio:5.2f}x  {rss:7.1f} {rss_ratio:5.2f}x"
            + ("  OVER GOAL" if over else "")
        )
    print(f"  goals: first frame <= {GOAL_RATIO}x, peak RSS <= {GOAL_RSS_RATIO}x")
    if args.no_stalls:
        return 1 if slow else 0

    timer_ms, loop_ms, seconds = asyncio.run(_walk(args.delay))
    worst = max(timer_ms, loop_ms)
    print(f"event loop during checks, every DNS answer and API response delayed {args.delay:g} s")
    print(f"  walk Welcome -> Review with typing and Back: {seconds:.1f} s")
    print(f"  longest stall: app timer {timer_ms:.1f} ms, asyncio loop {loop_ms:.1f} ms")
    verdict = "ok" if worst <= GOAL_STALL_MS else "STALLS"
    print(f"  worst {worst:.1f} ms (goal <= {GOAL_STALL_MS:.0f} ms): {verdict}")
    return 1 if slow or worst > GOAL_STALL_MS else 0


if __name__ == "__main__":
    raise SystemExit(main())
