"""Command-line entry point: parse the command line, hand it to the command that runs it.

Start-up stays cheap: only the standard library (and :mod:`wizard.constants`,
which imports nothing else) is imported here; the command's module under
:mod:`wizard.commands`, and through it the checks, the TUI and the heavy
libraries (cryptography, httpx, dnspython, jinja2), load when the command runs.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

from wizard import __version__
from wizard.constants import SYSTEM_NGINX_ROOT

EXIT_CODES = """\
exit status:
  0    no check failed (warnings allowed); apply: installed, unchanged or a dry run
  1    at least one check failed; apply: refused, declined, or failed and rolled back
  2    bad usage or an unreadable answers file (the message names the file, line
       and key); apply: no terminal to confirm on and no --yes
  130  interrupted (Ctrl+C); nothing is left half-written
check --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"""


class UsageError(Exception):
    """A command line argparse refused (raised instead of exiting, see :func:`main`)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors :func:`main` reports (JSON too, when asked)."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` instead of printing and exiting."""
        raise UsageError(self, message)


if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[_Parser]

N = TypeVar("N", int, float)


def _number(
    convert: Callable[[str], N], low: N, high: N, *, what: str, out_of_range: str
) -> Callable[[str], N]:
    """An argparse type: ``convert``, then ``low <= value <= high``, else the message."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(out_of_range)
        return value

    return parse


# A timeout of exactly 0 would fail every operation: the smallest is a millisecond.
_timeout = _number(
    float, 0.001, 300.0, what="a number of seconds",
    out_of_range="use a timeout between 0 and 300 seconds",
)  # fmt: skip
_lock_wait = _number(
    float, 0.0, 3600.0, what="a number of seconds",
    out_of_range="use a wait between 0 and 3600 seconds",
)  # fmt: skip
_port = _number(
    int, 1, 65535, what="a TCP port (1-65535)", out_of_range="use a TCP port (1-65535)",
)  # fmt: skip
_port_or_any = _number(
    int, 0, 65535, what="a port number",
    out_of_range="use a port between 1 and 65535 (0: any free one)",
)  # fmt: skip


def _add_shared(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes (README.md, "Headless commands")."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("environment")
    group.add_argument(
        "--dns-server",
        action="append",
        metavar="ADDR[:PORT]",
        default=default(None),
        help="resolver to use instead of the system's (repeatable)",
    )
    group.add_argument(
        "--public-dns",
        action="append",
        metavar="ADDR[:PORT]",
        default=default(None),
        help="resolvers that prove public resolvability (default 1.1.1.1, 8.8.8.8, 9.9.9.9)",
    )
    group.add_argument(
        "--ca-bundle",
        metavar="PATH",
        default=default(None),
        help="trust store for certificate checks (default: SSL_CERT_FILE or the system bundle)",
    )
    group.add_argument(
        "--nginx-root",
        metavar="DIR",
        default=default(str(SYSTEM_NGINX_ROOT)),
        help=f"nginx configuration directory (default {SYSTEM_NGINX_ROOT})",
    )
    group.add_argument(
        "--lab",
        action="store_true",
        default=default(False),
        help="non-public addresses and ports other than 443 warn instead of fail",
    )
    group.add_argument(
        "--timeout",
        type=_timeout,
        metavar="SECONDS",
        default=default(5.0),
        help="bound on every network operation (default 5)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = _Parser(
        prog="codestream-bastion",
        description=(
            "Prepare and prove a CodeStream On-Prem bastion host for two-way Slack and "
            "Microsoft Teams messaging. Without a command, runs the wizard."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--answers", metavar="FILE", help="start the wizard from this answers file")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_shared(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        _add_check,
        _add_render,
        _add_apply,
        _add_certificate,
        _add_merge_config,
        _add_demo,
    ):
        add(commands)
    return parser


def _command(
    commands: Subparsers, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A command: its one line in the command list, that line (or more) and the exit codes."""
    return commands.add_parser(
        name,
        help=summary,
        description=description or summary[:1].upper() + summary[1:] + ".",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_check(commands: Subparsers) -> None:
    """``check``: every check headless, in one of four formats."""
    check = _command(commands, "check", "run every check headless and report")
    check.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    check.add_argument(
        "--format",
        choices=("text", "json", "prometheus", "nagios"),
        default=None,
        help="text (default), json, prometheus (node_exporter textfile) or nagios "
        "(one line; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
    )
    check.add_argument(
        "--json", action="store_true", help="print one JSON object, nothing else (--format json)"
    )
    check.add_argument(
        "--post-install",
        action="store_true",
        help="also test the installed proxy end to end through the public name",
    )
    check.add_argument(
        "--textfile",
        metavar="FILE",
        help="with --format prometheus: write the report to FILE atomically, for "
        "node_exporter's textfile collector, instead of printing it",
    )
    _add_shared(check, suppress=True)


def _add_render(commands: Subparsers) -> None:
    """``render``: every file into a directory."""
    render = _command(commands, "render", "write the files to a directory (no network)")
    render.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    render.add_argument("--out", metavar="DIR", required=True, help="directory to write into")
    _add_shared(render, suppress=True)


def _add_apply(commands: Subparsers) -> None:
    """``apply``: the install pipeline, with the renewal hook and the monitor."""
    apply = _command(commands, "apply", "check, then install the nginx block safely")
    apply.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    apply.add_argument("--yes", action="store_true", help="do not ask before writing")
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="show the plan and the diff, write nothing (even when a check fails: exit 1)",
    )
    apply.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (ok, changed, reloaded, files, findings), nothing else",
    )
    apply.add_argument(
        "--state-dir",
        metavar="DIR",
        default=None,
        help="where the journal and backups live (default /var/lib/codestream-bastion, "
        "or $CODESTREAM_BASTION_STATE_DIR); must be writable by root alone",
    )
    apply.add_argument(
        "--lock-wait",
        type=_lock_wait,
        metavar="SECONDS",
        default=5.0,
        help="how long to wait for another run on the same nginx tree (default 5)",
    )
    apply.add_argument(
        "--discard-journal",
        action="store_true",
        help="show the journal of an interrupted run and discard it without restoring "
        "(with --dry-run: only show)",
    )
    apply.add_argument(
        "--renew-hook",
        action="store_true",
        help="also install a certbot deploy hook that reloads nginx after each renewal "
        "(certificates under <config>/live/<name>/ with a renewal/<name>.conf)",
    )
    apply.add_argument(
        "--monitor",
        action="store_true",
        help="also install a systemd service and timer that run check --post-install daily "
        "and write the Prometheus report for node_exporter's textfile collector",
    )
    apply.add_argument(
        "--textfile-dir",
        metavar="DIR",
        default=None,
        help="with --monitor: node_exporter's textfile directory "
        "(default /var/lib/prometheus/node-exporter)",
    )
    apply.add_argument(
        "--systemd-dir",
        metavar="DIR",
        default=None,
        help="with --monitor: where the unit files go (default /etc/systemd/system)",
    )
    _add_shared(apply, suppress=True)


def _add_certificate(commands: Subparsers) -> None:
    """``certificate``: an ACME certificate through the host's certbot, pre-checked."""
    cert = _command(
        commands,
        "certificate",
        "get the bastion's certificate from an ACME CA through certbot (pre-checked)",
        (
            "Check that DNS points here, the challenge port is free or served by nginx and "
            "CAA allows the CA; then run the host's certbot (standalone, webroot through a "
            "temporary nginx server block, or DNS-01), write the lineage into the answers "
            "file and install the deploy hook that reloads nginx after each renewal."
        ),
    )
    cert.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    cert.add_argument(
        "--acme-server",
        metavar="URL",
        default=None,
        help="the ACME directory URL (default Let's Encrypt)",
    )
    cert.add_argument(
        "--staging", action="store_true", help="use Let's Encrypt's staging directory"
    )
    cert.add_argument("--email", metavar="ADDR", help="the ACME account's contact address")
    cert.add_argument(
        "--challenge",
        choices=("http-01", "dns-01"),
        default="http-01",
        help="http-01 (default; port 80 reachable) or dns-01 (a TXT record you create)",
    )
    cert.add_argument(
        "--http-port",
        type=_port,
        metavar="N",
        default=80,
        help="where the HTTP-01 challenge is answered (default 80, what the CA calls)",
    )
    cert.add_argument(
        "--certbot-config-dir",
        metavar="DIR",
        default="/etc/letsencrypt",
        help="certbot's configuration directory (default /etc/letsencrypt)",
    )
    cert.add_argument("--certbot-work-dir", metavar="DIR", help="certbot's --work-dir")
    cert.add_argument("--certbot-logs-dir", metavar="DIR", help="certbot's --logs-dir")
    cert.add_argument(
        "--dns-wait",
        type=_lock_wait,
        metavar="SECONDS",
        default=600.0,
        help="dns-01: how long to wait for the public resolvers to see the TXT record "
        "(default 600)",
    )
    cert.add_argument("--yes", action="store_true", help="ask the CA without a question")
    cert.add_argument(
        "--dry-run", action="store_true", help="run the pre-check only; ask nothing of the CA"
    )
    cert.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (ok, certificate, private_key, lineage, issued, ...)",
    )
    cert.add_argument(
        "--state-dir",
        metavar="DIR",
        default=None,
        help="where the install journal lives (as apply --state-dir)",
    )
    _add_shared(cert, suppress=True)


def _add_merge_config(commands: Subparsers) -> None:
    """``merge-config``: the snippet into a CodeStream configuration."""
    merge = _command(
        commands,
        "merge-config",
        "merge the rendered snippet into a whole CodeStream configuration (JSON)",
        (
            "Deep-merge the 'integrations' section of the snippet into a CodeStream "
            "configuration (a dump of the active one, or codestream-services-config.json): "
            "shows the diff with secrets masked, backs the file up, writes it atomically "
            "with its mode, and keeps every other key."
        ),
    )
    merge.add_argument("--snippet", metavar="FILE", required=True, help="the rendered snippet")
    merge.add_argument(
        "--into", metavar="CONFIG", required=True, help="the configuration file to merge into"
    )
    merge.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")


def _add_demo(commands: Subparsers) -> None:
    """``demo``: the wizard or the check against the simulated environment."""
    demo = _command(commands, "demo", "the wizard against a simulated environment on loopback")
    demo.add_argument(
        "--check", action="store_true", help="run the headless check in the demo and exit"
    )
    demo.add_argument(
        "--dir",
        metavar="DIR",
        help="keep the demo files (answers, certificates) here; re-use them on the next run",
    )
    demo.add_argument("--json", action="store_true", help="with --check: print JSON")
    _add_demo_web(demo)
    _add_shared(demo, suppress=True)


def _add_demo_web(demo: argparse.ArgumentParser) -> None:
    """``demo --web``: the demo in a browser (README.md, "Guided demo")."""
    web = demo.add_argument_group("in a browser (needs the 'web' extra: textual-serve)")
    web.add_argument(
        "--web",
        action="store_true",
        help="serve the demo to browsers instead of this terminal; each tab gets its own demo",
    )
    web.add_argument(
        "--port", type=_port_or_any, help="with --web: the port (default 8000; 0: any free one)"
    )
    web.add_argument(
        "--host",
        help="with --web: the address to listen on (default 127.0.0.1; others need --public)",
    )
    web.add_argument(
        "--public",
        action="store_true",
        help="with --web: allow an address beyond loopback (no authentication: anyone who "
        "reaches it drives the demo)",
    )
    web.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        help="with --web: browser sessions at once (default 4)",
    )
    # The directory of one browser session, made and removed by the --web server.
    web.add_argument("--session-dir", metavar="DIR", help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        return _usage_error(exc, arguments)
    command = args.command
    # Each command's module is imported only when it runs (start-up time).
    if command == "check":
        from wizard.commands.check import run
    elif command == "render":
        from wizard.commands.render import run
    elif command == "apply":
        from wizard.commands.apply import run
    elif command == "certificate":
        from wizard.commands.certificate import run
    elif command == "merge-config":
        from wizard.commands.merge_config import run
    elif command == "demo":
        from wizard.commands.demo import run
    else:
        from wizard.commands.interactive import run
    if not _opens_the_wizard(args):
        return run(args)
    # Loading Textual and the first screen allocates much and frees almost nothing:
    # no collection until the app runs (run_app freezes what was loaded, then turns
    # the collector back on), 10-20 ms sooner to the first frame.
    gc.disable()
    try:
        return run(args)
    finally:
        gc.enable()


def _opens_the_wizard(args: argparse.Namespace) -> bool:
    """Whether the command runs the wizard's screens (the wizard, the terminal demo)."""
    if args.command is None:
        return True
    return args.command == "demo" and not (args.check or args.web)


def _wants_json(arguments: Sequence[str]) -> bool:
    """Whether the command line asks for JSON (``--json``, ``--format json``)."""
    return any(
        arg in ("--json", "--format=json")
        or (arg == "--format" and arguments[i + 1 : i + 2] == ["json"])
        for i, arg in enumerate(arguments)
    )


def _usage_error(exc: UsageError, arguments: Sequence[str]) -> int:
    """Say what argparse refused, as argparse would (exit 2); JSON too when it was asked for.

    ``check --json`` and ``apply --json`` promise one JSON object on stdout
    whatever happens, so a script never reads an empty output.
    """
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
    if _wants_json(arguments):
        from wizard.commands.common import print_usage_json

        print_usage_json(exc.parser.prog.split()[-1], exc.message)
    return 2
