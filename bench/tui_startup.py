"""Benchmark: the wizard's first paint, and the event loop while slow checks run.

1. First paint. Each app starts in a fresh interpreter and is timed from the
   child's first line to the first compositor refresh of its first screen (the
   moment the first full frame is rendered and written out), headless at
   80x24. The reference is a bare Textual app with a Header, an Input and a
   Footer, measured exactly the same way; runs alternate between the two.
   Goal: wizard <= 1.3x the bare app (medians).
2. Stalls. The wizard runs in-process against the demo with every DNS answer
   and every API response delayed (1 s by default), while an admin types a
   host name, goes back and forth and walks to Review (from the moment the
   first screen is up: its painting is part 1). A 10 ms interval timer
   in the app's own message loop and a 10 ms asyncio task record the largest
   gap between their ticks. Goal: no stall over 100 ms.

Usage: ``.venv/bin/python bench/tui_startup.py [--runs 15] [--delay 1.0]``
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any other import: the child's start

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

GOAL_RATIO = 1.3
GOAL_STALL_MS = 100.0


# -- 1. first paint (child side) -------------------------------------------------------------


def _child(kind: str) -> None:
    """Start one app headless, print the ms until its first screen is painted, exit."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Input

    app: App[Any]
    if kind == "bare":

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Input()
                yield Footer()

        app, target = Bare(), "Screen"
    else:
        from wizard.answers import Answers
        from wizard.checks.context import CheckContext
        from wizard.tui.app import WizardApp
        from wizard.tui.session import WizardSession
        from wizard.tui.state import StateStore

        state = Path(tempfile.mkdtemp()) / "state.toml"
        session = WizardSession(
            CheckContext(), Answers(), state.with_name("a.toml"), StateStore(state)
        )
        app, target = WizardApp(session), "WelcomeScreen"

    # "Painted" = the first compositor refresh of the target screen: the moment its
    # first full frame is rendered and written to the (headless) driver.
    from textual.screen import Screen

    elapsed: list[float] = []
    refresh = Screen._compositor_refresh

    def painted(screen: Screen[Any]) -> None:
        refresh(screen)
        if not elapsed and type(screen).__name__ == target and screen.is_current:
            elapsed.append(time.perf_counter() - T0)
            screen.app.call_later(screen.app.exit)

    Screen._compositor_refresh = painted  # type: ignore[method-assign,assignment]
    app.run(headless=True, size=(80, 24))
    print(f"{elapsed[0] * 1000:.1f}")


def first_paint(runs: int) -> tuple[float, float]:
    """Median ms to first paint: (bare app, wizard)."""
    times: dict[str, list[float]] = {"bare": [], "wizard": []}
    for _ in range(runs):
        for kind in ("bare", "wizard"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            times[kind].append(float(out.strip().splitlines()[-1]))
    return statistics.median(times["bare"]), statistics.median(times["wizard"])


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
    parser.add_argument("--child", choices=("bare", "wizard"), help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0

    bare, wizard = first_paint(args.runs)
    ratio = wizard / bare
    print(f"first paint at 80x24, median of {args.runs} fresh interpreters each")
    print(f"  bare Textual app (Header, Input, Footer): {bare:7.1f} ms")
    print(f"  wizard, Welcome screen:                   {wizard:7.1f} ms")
    verdict = "ok" if ratio <= GOAL_RATIO else "TOO SLOW"
    print(f"  ratio {ratio:.2f}x (goal <= {GOAL_RATIO}x): {verdict}")

    timer_ms, loop_ms, seconds = asyncio.run(_walk(args.delay))
    worst = max(timer_ms, loop_ms)
    print(f"event loop during checks, every DNS answer and API response delayed {args.delay:g} s")
    print(f"  walk Welcome -> Review with typing and Back: {seconds:.1f} s")
    print(f"  longest stall: app timer {timer_ms:.1f} ms, asyncio loop {loop_ms:.1f} ms")
    verdict = "ok" if worst <= GOAL_STALL_MS else "STALLS"
    print(f"  worst {worst:.1f} ms (goal <= {GOAL_STALL_MS:.0f} ms): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
