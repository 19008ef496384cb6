"""Command-line entry point: parse the command line, hand it to the command that runs it.

Start-up stays cheap: only the standard library (and :mod:`wizard.constants`,
which imports nothing else) is imported here; the command's module under
:mod:`wizard.commands`, and through it the checks, the TUI and the heavy
libraries (cryptography, httpx, dnspython, jinja2), load when the command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.constants import SYSTEM_NGINX_ROOT

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("use a timeout between 0 and 300 seconds")
    return value


def _lock_wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("use a wait between 0 and 3600 seconds")
    return value


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
    parser = argparse.ArgumentParser(
        prog="codestream-bastion",
        description=(
            "Prepare and prove a CodeStream On-Prem bastion host for two-way Slack and "
            "Microsoft Teams messaging. Without a command, runs the wizard."
        ),
    )
    parser.add_argument("--answers", metavar="FILE", help="start the wizard from this answers file")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_shared(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_check, _add_render, _add_apply, _add_merge_config, _add_demo):
        add(commands)
    return parser


def _add_check(commands: Subparsers) -> None:
    """``check``: every check headless, in one of four formats."""
    check = commands.add_parser("check", help="run every check headless and report")
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
    render = commands.add_parser("render", help="write the files to a directory (no network)")
    render.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    render.add_argument("--out", metavar="DIR", required=True, help="directory to write into")
    _add_shared(render, suppress=True)


def _add_apply(commands: Subparsers) -> None:
    """``apply``: the install pipeline, with the renewal hook and the monitor."""
    apply = commands.add_parser("apply", help="check, then install the nginx block safely")
    apply.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    apply.add_argument("--yes", action="store_true", help="do not ask before writing")
    apply.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
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


def _add_merge_config(commands: Subparsers) -> None:
    """``merge-config``: the snippet into a CodeStream configuration."""
    merge = commands.add_parser(
        "merge-config",
        help="merge the rendered snippet into a whole CodeStream configuration (JSON)",
        description=(
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
    demo = commands.add_parser(
        "demo", help="the wizard against a simulated environment on loopback"
    )
    demo.add_argument(
        "--check", action="store_true", help="run the headless check in the demo and exit"
    )
    demo.add_argument(
        "--dir",
        metavar="DIR",
        help="keep the demo files (answers, certificates) here; re-use them on the next run",
    )
    demo.add_argument("--json", action="store_true", help="with --check: print JSON")
    _add_shared(demo, suppress=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command
    # Each command's module is imported only when it runs (start-up time).
    if command == "check":
        from wizard.commands.check import run
    elif command == "render":
        from wizard.commands.render import run
    elif command == "apply":
        from wizard.commands.apply import run
    elif command == "merge-config":
        from wizard.commands.merge_config import run
    elif command == "demo":
        from wizard.commands.demo import run
    else:
        from wizard.commands.interactive import run
    return run(args)
