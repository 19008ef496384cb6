"""``codestream-bastion demo --web``: the demo wizard served to browsers on loopback.

The options are checked here, before anything listens: the address must be
loopback unless ``--public`` is given (then a warning says what that means),
and textual-serve, the optional ``web`` extra, must be installed. The serving
itself is :mod:`wizard.web.server`.
"""

from __future__ import annotations

import argparse
import sys

from wizard.web.access import DEFAULT_HOST, check_host, is_loopback, public_warning

__all__ = ["DEFAULT_PORT", "MAX_SESSIONS", "MAX_SESSIONS_LIMIT", "WEB_ONLY", "run_web"]

DEFAULT_PORT = 8000
MAX_SESSIONS = 4
"""The default cap on browser sessions at once."""
MAX_SESSIONS_LIMIT = 16
"""The highest ``--max-sessions``: each session is a demo with its own servers and nginx."""
WEB_ONLY: tuple[tuple[str, str], ...] = (
    ("--port", "port"),
    ("--host", "host"),
    ("--public", "public"),
    ("--max-sessions", "max_sessions"),
)
"""The options that mean something only with ``--web`` (option, argparse dest)."""


def run_web(args: argparse.Namespace) -> int:
    """Serve the demo until Ctrl+C or SIGTERM; returns the exit status.

    Raises:
        ValueError: Bad usage (a combination of options, an address beyond
            loopback without ``--public``, textual-serve missing); exit 2.
    """
    if args.check or args.dir:
        raise ValueError(
            "demo --web cannot be combined with --check or --dir: each browser session "
            "gets a fresh demo directory of its own"
        )
    host: str = DEFAULT_HOST if args.host is None else args.host
    port: int = DEFAULT_PORT if args.port is None else args.port
    limit: int = MAX_SESSIONS if args.max_sessions is None else args.max_sessions
    if not 1 <= limit <= MAX_SESSIONS_LIMIT:
        raise ValueError(f"--max-sessions must be between 1 and {MAX_SESSIONS_LIMIT}")
    check_host(host, public=args.public)
    try:
        from wizard.web.server import serve_demo
    except ImportError as exc:
        raise ValueError(
            f"demo --web needs textual-serve ({exc.name or exc} is missing): install the "
            "optional 'web' extra, pip install 'codestream-bastion[web]' "
            "(./dev installs it in a checkout)"
        ) from None
    if not is_loopback(host):
        print(public_warning(host), file=sys.stderr, flush=True)
    return serve_demo(host=host, port=port, limit=limit, timeout=args.timeout, public=args.public)
