"""Command-line entry point: the wizard, the demo, and the headless commands.

Start-up stays cheap: only the standard library is imported here; the checks,
the TUI and the heavy libraries (cryptography, httpx, dnspython, jinja2) load
when a command needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.checks.context import CheckContext
    from wizard.findings import Finding
    from wizard.install.monitor import MonitorSpec
    from wizard.report import CheckRun

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


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
        default=default("/etc/nginx"),
        help="nginx configuration directory (default /etc/nginx)",
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
    _add_shared(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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

    render = commands.add_parser("render", help="write the files to a directory (no network)")
    render.add_argument("--answers", metavar="FILE", required=True, help="the answers file")
    render.add_argument("--out", metavar="DIR", required=True, help="directory to write into")
    _add_shared(render, suppress=True)

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
    return parser


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


def _load(path: str) -> Answers:
    from wizard.answers import load_answers

    return load_answers(path)


def _check_format(args: argparse.Namespace) -> str:
    """The output format of ``check``; ``--json`` is ``--format json``."""
    fmt = getattr(args, "format", None)
    if getattr(args, "json", False) and fmt not in (None, "json"):
        raise ValueError(f"--json and --format {fmt} disagree; give one of them.")
    return "json" if args.json else (fmt or "text")


def _run_check(args: argparse.Namespace, answers: Answers, ctx: CheckContext) -> int:
    import time
    from datetime import UTC, datetime

    from wizard.checks.certificate import leaf_not_after
    from wizard.engine import run_checks
    from wizard.findings import has_failure
    from wizard.report import CheckRun, nagios_exit_code, print_check

    fmt = _check_format(args)
    if args.textfile and fmt != "prometheus":
        raise ValueError("--textfile writes the Prometheus report: add --format prometheus.")
    checked_at = datetime.now(UTC)
    started = time.monotonic()
    findings = asyncio.run(run_checks(answers, ctx, post_install=args.post_install))
    certificate = answers.bastion.certificate if answers.exposes_bastion else ""
    run = CheckRun(
        checked_at=checked_at,
        duration=time.monotonic() - started,
        certificate=certificate,
        certificate_not_after=leaf_not_after(certificate) if certificate else None,
    )
    if args.textfile:
        _write_textfile(Path(args.textfile), findings, run)
    else:
        print_check(findings, sys.stdout, fmt, run)
    if fmt == "nagios":
        return nagios_exit_code(findings)
    return EXIT_FAILED if has_failure(findings) else EXIT_OK


def _write_textfile(path: Path, findings: Sequence[Finding], run: CheckRun) -> None:
    """The Prometheus report, atomically (the collector never reads half of it).

    Raises:
        ValueError: When the file cannot be written, naming it and why.
    """
    from wizard.fsutil import atomic_write
    from wizard.report import format_prometheus

    try:
        atomic_write(path, format_prometheus(findings, run).encode(), 0o644)
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def _run_render(args: argparse.Namespace, answers: Answers, ctx: CheckContext) -> int:
    from wizard.render import run_render

    # --dns-server and --ca-bundle stand for the host's own resolver and trust
    # store, so the rendered file uses them too; otherwise render's defaults.
    return run_render(
        answers,
        Path(args.out),
        sys.stdout,
        resolvers=[str(server) for server in ctx.nameservers] if args.dns_server else None,
        ca_bundle=str(ctx.ca_bundle) if ctx.ca_bundle else None,
    )


def _run_apply(args: argparse.Namespace, answers: Answers, ctx: CheckContext) -> int:
    from wizard.apply_command import run_apply

    return asyncio.run(
        run_apply(
            answers,
            ctx,
            yes=args.yes,
            dry_run=args.dry_run,
            stdout=sys.stdout,
            as_json=args.json,
            state_dir=args.state_dir,
            lock_wait=args.lock_wait,
            discard_journal=args.discard_journal,
            renew_hook=args.renew_hook,
            monitor=_monitor_spec(args),
        )
    )


def _shared_argv(args: argparse.Namespace) -> list[str]:
    """The shared options as given, for a command line that repeats them."""
    argv = [f"--dns-server={server}" for server in args.dns_server or ()]
    argv += [f"--public-dns={server}" for server in args.public_dns or ()]
    if args.ca_bundle:
        argv.append(f"--ca-bundle={Path(args.ca_bundle).resolve()}")
    argv += [f"--nginx-root={Path(args.nginx_root).resolve()}", f"--timeout={args.timeout:g}"]
    return [*argv, "--lab"] if args.lab else argv


def _monitor_spec(args: argparse.Namespace) -> MonitorSpec | None:
    """What ``apply --monitor`` installs: this very program's check, with the same options."""
    from wizard.install.monitor import DEFAULT_SYSTEMD_DIR, DEFAULT_TEXTFILE_DIR, MonitorSpec

    if not args.monitor:
        if args.textfile_dir or args.systemd_dir:
            raise ValueError("--textfile-dir and --systemd-dir go with --monitor; add it.")
        return None
    # The interpreter of this installation, so the unit runs the same code.
    check = [
        sys.executable,
        "-m",
        "wizard",
        "check",
        "--answers",
        str(Path(args.answers).resolve()),
    ]
    check += ["--post-install", "--format", "prometheus", *_shared_argv(args)]
    return MonitorSpec(
        tuple(check),
        Path(args.textfile_dir).resolve() if args.textfile_dir else DEFAULT_TEXTFILE_DIR,
        Path(args.systemd_dir).resolve() if args.systemd_dir else DEFAULT_SYSTEMD_DIR,
    )


def _apply_json_error(args: argparse.Namespace, exc: Exception) -> None:
    """``apply --json`` prints its one JSON object even when it cannot start."""
    if args.command == "apply" and getattr(args, "json", False):
        from wizard.apply_command import print_json, usage_json

        print_json(
            usage_json("install.bad_input", str(exc), "Fix the input named above."), sys.stdout
        )


def _run_demo(args: argparse.Namespace) -> int:
    from wizard.demo.environment import run_demo

    return run_demo(
        check_only=args.check,
        directory=Path(args.dir) if args.dir else None,
        as_json=args.json,
        timeout=args.timeout,
    )


def _run_merge_config(args: argparse.Namespace) -> int:
    from wizard.merge_config import run_merge_config

    return run_merge_config(Path(args.snippet), Path(args.into), sys.stdout, dry_run=args.dry_run)


def _run_wizard(args: argparse.Namespace, ctx: CheckContext) -> int:
    from wizard.tui.app import run_wizard

    return run_wizard(ctx, answers_path=Path(args.answers) if args.answers else None)


def _main_nagios(args: argparse.Namespace) -> int:
    """``check --format nagios``: whatever goes wrong, one status line and a plugin exit code."""
    from wizard.answers import AnswersError
    from wizard.report import NAGIOS_UNKNOWN, nagios_unknown

    try:
        ctx = context_from_args(args)
        return _run_check(args, _load(args.answers), ctx)
    except (AnswersError, ValueError) as exc:
        # Nagios reads exit 2 as CRITICAL: a check that could not run is UNKNOWN (3).
        print(nagios_unknown(f"cannot check: {exc}"))
        return NAGIOS_UNKNOWN
    except KeyboardInterrupt:
        print(nagios_unknown("interrupted"))
        return NAGIOS_UNKNOWN


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from wizard.answers import AnswersError

    if args.command == "check" and getattr(args, "format", None) == "nagios":
        return _main_nagios(args)
    try:
        if args.command == "demo":
            return _run_demo(args)
        if args.command == "merge-config":
            return _run_merge_config(args)
        ctx = context_from_args(args)
        if args.command is None:
            return _run_wizard(args, ctx)
        answers = _load(args.answers)
        if args.command == "check":
            return _run_check(args, answers, ctx)
        if args.command == "render":
            return _run_render(args, answers, ctx)
        return _run_apply(args, answers, ctx)
    except (AnswersError, ValueError) as exc:
        _apply_json_error(args, exc)
        print(f"codestream-bastion: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("codestream-bastion: interrupted; nothing was left half-written.", file=sys.stderr)
        return 130
