"""``codestream-bastion demo``: the wizard, or its headless check, in the simulated environment.

This is where the demo (:mod:`wizard.demo`) meets the TUI (:mod:`wizard.tui`):
neither imports the other. The demo's launcher and nginx are handed to the
wizard's session, which only knows them as the protocols of
:mod:`wizard.tui.session`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.commands.common import EXIT_USAGE, guarded

if TYPE_CHECKING:
    from wizard.demo.environment import DemoEnvironment, DemoLauncher
    from wizard.tui.session import WizardSession

__all__ = ["demo_session", "run", "run_demo", "run_web_session", "started_demo_session"]

STATE_NAME = "state.toml"
"""The demo's resume state, in its directory (unless ``$CODESTREAM_BASTION_STATE`` says)."""
OUTPUT_NAME = "output"
"""The directory, in the demo's, for the generated files."""


def run(args: argparse.Namespace) -> int:
    """The ``demo`` command; returns its exit status."""
    from wizard.commands.demo_web import WEB_ONLY, run_web

    if args.web:
        return guarded(lambda: run_web(args))
    given = [option for option, dest in WEB_ONLY if getattr(args, dest) not in (None, False)]
    if given:
        print(f"codestream-bastion: {', '.join(given)}: only with demo --web", file=sys.stderr)
        return EXIT_USAGE
    if args.session_dir:
        return guarded(lambda: run_web_session(Path(args.session_dir), args.timeout))
    return guarded(
        lambda: run_demo(
            check_only=args.check,
            directory=Path(args.dir) if args.dir else None,
            as_json=args.json,
            timeout=args.timeout,
        )
    )


def run_demo(*, check_only: bool, directory: Path | None, as_json: bool, timeout: float) -> int:
    """The wizard in the demo, or with ``check_only`` the headless check.

    Args:
        check_only: ``--check``: run the checks against the demo and print them.
        directory: ``--dir``: keep the demo's files there (``None``: a temporary one).
        as_json: With ``check_only``: print JSON.
        timeout: Per-operation timeout for the checks.

    Returns:
        The exit status (0 when the wizard was completed or no check failed).
    """
    if check_only:
        return _run_check(directory, as_json=as_json, timeout=timeout)
    from wizard.demo.environment import DemoLauncher, demo_answers, demo_directory, demo_farewell
    from wizard.tui.app import run_app

    with demo_directory(directory) as files:
        answers_path, api_port = demo_answers(files)
        launcher = DemoLauncher(files, timeout=timeout, api_port=api_port)
        try:
            outcome = run_app(demo_session(launcher, answers_path, kept=directory is not None))
        finally:
            # Also when it was still starting: nothing is left running.
            launcher.stop()
    # Said after the directory is gone (or kept), so it matches what is on disk.
    print(
        demo_farewell(
            kept=files.root if directory is not None else None,
            removed=files.root,
            finished=outcome.finished,
            stopped_at=outcome.step_title,
        )
    )
    return outcome.code


def run_web_session(directory: Path, timeout: float) -> int:
    """One browser tab's demo under ``demo --web`` (``--session-dir``); its exit status.

    The server made ``directory`` and wrote its answers (ports no other tab
    holds). Nothing is printed after the wizard: stdout is the browser's
    terminal. The demo ends with the server even when that is killed outright
    (:func:`~wizard.web.sessions.die_with_parent`), and removes its directory
    on the way out whatever ended it (the server removes it too).
    """
    from wizard.demo.environment import DemoFiles, DemoLauncher, demo_answers
    from wizard.tui.app import run_app
    from wizard.web.sessions import die_with_parent

    die_with_parent()
    files = DemoFiles(directory.resolve())
    try:
        answers_path, api_port = demo_answers(files)
        launcher = DemoLauncher(files, timeout=timeout, api_port=api_port)
        try:
            return run_app(demo_session(launcher, answers_path, web=True)).code
        finally:
            launcher.stop()
    finally:
        shutil.rmtree(files.root, ignore_errors=True)


def _run_check(directory: Path | None, *, as_json: bool, timeout: float) -> int:
    import asyncio

    from wizard.answers import load_answers
    from wizard.constants import ANSWERS_NAME
    from wizard.demo.environment import running_demo
    from wizard.engine import run_checks
    from wizard.findings import has_failure
    from wizard.report import print_findings

    with running_demo(directory, timeout) as (env, answers_path):
        answers = load_answers(answers_path)
        findings = asyncio.run(run_checks(answers, env.context()))
        print_findings(findings, sys.stdout, as_json=as_json)
        if not as_json:
            print(
                f"\nDemo answers: {answers_path}"
                + (
                    f"\nTo try other choices: run again with --dir DIR, edit DIR/{ANSWERS_NAME} "
                    "(e.g. point certificate and private_key at DIR/letsencrypt/live/"
                    "bastion-expired or wrong-host), and run the same command once more."
                    if directory is None
                    else "\nEdit it and run the same command again to see the checks react."
                )
            )
        return 1 if has_failure(findings) else 0


def demo_session(
    launcher: DemoLauncher, answers_path: Path, *, kept: bool = False, web: bool = False
) -> WizardSession:
    """The session of ``codestream-bastion demo``; its environment is not started yet.

    The app starts it (:meth:`~wizard.tui.app.WizardApp.start_environment`)
    after its first paint; where nginx is installed, that includes a master
    under the demo's nginx root, and Install and Test drive it; where it is
    not, they are skipped and the Welcome screen says how to get them.

    Args:
        launcher: The demo's environment, to be started.
        answers_path: The demo answers (they prefill every field).
        kept: The demo directory is kept after the demo (``--dir``).
        web: A browser session of ``demo --web`` (its directory is never kept).
    """
    from wizard.answers import load_answers
    from wizard.tui.session import WizardSession
    from wizard.tui.state import STATE_ENV, StateStore

    files = launcher.files
    state_path = Path(os.environ.get(STATE_ENV) or files.root / STATE_NAME)
    return WizardSession(
        context=launcher.placeholder_context(),
        answers=load_answers(answers_path, partial=True),
        answers_path=answers_path,
        state=StateStore(state_path),
        certificate_roots=(files.certs,),
        prefilled_from=answers_path,
        nginx_usable=launcher.nginx_usable,
        demo=True,
        output_dir=files.root / OUTPUT_NAME,
        launcher=launcher,
        demo_kept=files.root if kept else None,
        demo_web=web,
    )


def started_demo_session(env: DemoEnvironment, answers_path: Path) -> WizardSession:
    """A demo session on an environment already running (screenshots, benchmarks).

    Where nginx is installed a master is started under the demo's nginx root
    (the caller stops it: ``session.demo_nginx.stop()``).
    """
    from wizard.answers import load_answers
    from wizard.demo.nginx import start_demo_nginx
    from wizard.tui.session import WizardSession
    from wizard.tui.state import StateStore

    ctx = env.context()
    demo_nginx, note = start_demo_nginx(ctx.nginx_root, ctx.nginx_binary)
    return WizardSession(
        context=ctx,
        answers=load_answers(answers_path, partial=True),
        answers_path=answers_path,
        state=StateStore(env.files.root / STATE_NAME),
        certificate_roots=(env.files.certs,),
        prefilled_from=answers_path,
        demo_nginx=demo_nginx,
        nginx_usable=demo_nginx is not None,
        nginx_note=note,
        demo=True,
        output_dir=env.files.root / OUTPUT_NAME,
    )
