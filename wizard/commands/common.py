"""What every command shares: exit codes, the check context, the answers, usage errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.checks.context import CheckContext

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ask_yes_no",
    "context_from_args",
    "guarded",
    "load_answers_arg",
    "print_usage_json",
    "shared_argv",
    "usage_document",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports Ctrl+C."""


def ask_yes_no(stdin: TextIO, prompt: TextIO, text: str) -> bool | None:
    """Ask ``text`` on a terminal; ``None`` when there is nobody to ask (no terminal, EOF)."""
    isatty = getattr(stdin, "isatty", None)
    if not (isatty and isatty()):
        return None
    prompt.write(text)
    prompt.flush()
    line = stdin.readline()
    if not line:
        return None
    return line.strip().lower() in ("y", "yes")


def context_from_args(args: argparse.Namespace) -> CheckContext:
    """A :class:`CheckContext` from the shared options.

    Raises:
        ValueError: When a resolver address is malformed.
    """
    from wizard.checks.context import build_context

    return build_context(
        dns_servers=args.dns_server,
        public_dns=args.public_dns,
        ca_bundle=args.ca_bundle,
        timeout=args.timeout,
        lab=args.lab,
        nginx_root=args.nginx_root,
    )


def load_answers_arg(args: argparse.Namespace) -> Answers:
    """The answers file of ``--answers``.

    Raises:
        AnswersError: When it cannot be read or is not valid (the message names
            the file, line and key).
    """
    from wizard.answers import load_answers

    return load_answers(args.answers)


def shared_argv(args: argparse.Namespace) -> list[str]:
    """The shared options as given, for a command line that repeats them."""
    argv = [f"--dns-server={server}" for server in args.dns_server or ()]
    argv += [f"--public-dns={server}" for server in args.public_dns or ()]
    if args.ca_bundle:
        argv.append(f"--ca-bundle={Path(args.ca_bundle).resolve()}")
    argv += [f"--nginx-root={Path(args.nginx_root).resolve()}", f"--timeout={args.timeout:g}"]
    return [*argv, "--lab"] if args.lab else argv


def guarded(
    body: Callable[[], int], *, on_usage_error: Callable[[Exception], None] | None = None
) -> int:
    """Run a command's ``body``: bad usage and Ctrl+C become a message and an exit status.

    Bad usage (an unreadable answers file, a malformed option) is a message
    naming the problem, exit 2, never a traceback.

    Args:
        body: The command; returns its exit status.
        on_usage_error: Called first on bad usage (``apply --json`` prints its
            one JSON object even then).
    """
    from wizard.answers import AnswersError
    from wizard.safetext import visible

    try:
        return body()
    except (AnswersError, ValueError) as exc:
        if on_usage_error is not None:
            on_usage_error(exc)
        # The message may quote a file name or a key: escaped, never sent to the terminal.
        print(f"codestream-bastion: {visible(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("codestream-bastion: interrupted; nothing was left half-written.", file=sys.stderr)
        return EXIT_INTERRUPTED


def usage_document(command: str, message: str) -> dict[str, object]:
    """The one JSON object of ``check --json`` or ``apply --json`` that could not run (exit 2).

    ``error`` says why; ``check``'s has no findings (nothing was checked),
    ``apply``'s keeps its shape and says it as ``install.bad_input``.
    """
    if command != "apply":
        return {"ok": False, "error": message, "findings": []}
    from wizard.findings import fail

    refusal = fail("install.bad_input", message, "", "Fix the input named above.")
    return {
        "ok": False,
        "error": message,
        "changed": False,
        "reloaded": False,
        "started": False,
        "files": [],
        "findings": [refusal.to_dict()],
    }


def print_usage_json(command: str, message: str) -> None:
    """Print :func:`usage_document` on stdout: one object and a newline."""
    import json  # only for a usage error: the wizard's start-up does without it

    sys.stdout.write(json.dumps(usage_document(command, message), ensure_ascii=False) + "\n")
