"""``codestream-bastion certificate``: get the bastion's certificate through certbot, headless.

All the work is :func:`wizard.install.acme.obtain_certificate` (the wizard's
"Get a certificate" runs it too); this module turns the options into a
:class:`~wizard.install.acme.CertificateRequest`, asks before the CA is asked
(unless ``--yes``), and prints. ``--json`` prints exactly one object::

    {"ok": bool, "certificate": str, "private_key": str, "lineage": str,
     "issued": bool, "error": str,
     "findings": [{"code", "status", "title", "detail", "remedy"}, ...]}

Exit status: 0 a valid lineage is in the answers (or the dry run's
pre-check passed); 1 refused by the pre-check or failed (certbot's words);
2 bad usage, an unreadable answers file, or nobody to confirm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TextIO

from wizard.answers import Answers, load_answers
from wizard.checks.caa import LETS_ENCRYPT_DIRECTORY, LETS_ENCRYPT_STAGING_DIRECTORY
from wizard.checks.context import CheckContext
from wizard.commands.apply import default_installer, print_json
from wizard.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ask_yes_no,
    context_from_args,
    guarded,
)
from wizard.install.acme import CertificateRequest, CertificateResult, obtain_certificate
from wizard.install.installer import Installer

__all__ = ["request_from_args", "run", "run_certificate"]


def request_from_args(args: argparse.Namespace, answers: Answers) -> CertificateRequest:
    """The request the options and the answers make.

    Raises:
        ValueError: When the answers lack the name or address, or options clash.
    """
    bastion = answers.bastion
    if not answers.exposes_bastion:
        raise ValueError(
            f"{args.answers}: mode {answers.mode!r} exposes no bastion, so it needs no certificate."
        )
    for key in ("hostname", "public_ip"):
        if not getattr(bastion, key):
            raise ValueError(f"{args.answers}: set [bastion] {key} first; the CA checks it.")
    if args.staging and args.acme_server:
        raise ValueError("--staging and --acme-server name two CAs; give one.")
    server = args.acme_server or (
        LETS_ENCRYPT_STAGING_DIRECTORY if args.staging else LETS_ENCRYPT_DIRECTORY
    )
    if not server.startswith("https://"):
        raise ValueError(f"--acme-server {server!r}: an ACME directory is an https:// URL.")
    return CertificateRequest(
        hostname=bastion.hostname,
        public_ip=bastion.public_ip,
        email=args.email or "",
        acme_server=server,
        challenge=args.challenge,
        http_port=args.http_port,
        config_dir=Path(args.certbot_config_dir).resolve(),
        work_dir=Path(args.certbot_work_dir).resolve() if args.certbot_work_dir else None,
        logs_dir=Path(args.certbot_logs_dir).resolve() if args.certbot_logs_dir else None,
        dns_wait=args.dns_wait,
    )


def _print_text(result: CertificateResult, stdout: TextIO) -> None:
    from wizard.report import format_report, use_colour

    width = 80
    with contextlib.suppress(OSError, ValueError, AttributeError):
        width = os.get_terminal_size(stdout.fileno()).columns
    stdout.write(format_report(result.findings, colour=use_colour(stdout), width=width) + "\n")
    for step in result.steps:
        stdout.write(f"{step}\n")
    if result.ok and not result.dry_run:
        stdout.write(
            f"\nCertificate: {result.certificate}\nPrivate key: {result.private_key}\n"
            "Next: codestream-bastion check (then apply) with the same answers.\n"
        )
    elif not result.ok:
        if result.method is not None and "\n" in result.error:
            stdout.write("\ncertbot said:\n")
            stdout.writelines(f"  {line}\n" for line in result.error.splitlines())
        else:
            stdout.write(f"\nFAILED: {result.error}\n")
        if result.remedy:
            stdout.write(f"Fix: {result.remedy}\n")


async def run_certificate(
    request: CertificateRequest,
    answers: Answers,
    answers_path: Path,
    ctx: CheckContext,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
    stdout: TextIO,
    stdin: TextIO | None = None,
    state_dir: str | None = None,
) -> int:
    """The ``certificate`` command; returns its exit status."""
    progress_out = sys.stderr if as_json else stdout
    reader = stdin if stdin is not None else sys.stdin

    def progress(kind: str, text: str) -> None:
        if kind == "dns_record":
            progress_out.write(
                f"Create this DNS record at the domain's DNS provider:\n  {text}\n"
                f"Waiting until every public resolver answers it (up to {request.dns_wait:g} s)"
                "...\n"
            )
        elif kind == "step":
            progress_out.write(f"- {text}\n")
        progress_out.flush()

    async def confirm(result: CertificateResult) -> bool | None:
        question = (
            f"The pre-check passed. Ask {request.acme_server} for a certificate for "
            f"{request.cert_name} (certbot --{result.method})? [y/N] "
        )
        return await asyncio.to_thread(ask_yes_no, reader, progress_out, question)

    async def make_installer(new: Answers) -> Installer:
        return await default_installer(new, ctx, state_dir=state_dir)

    result = await obtain_certificate(
        request,
        answers,
        answers_path,
        ctx,
        make_installer=make_installer,
        progress=progress,
        dry_run=dry_run,
        confirm=None if yes else confirm,
    )
    if as_json:
        print_json(result.to_json(), stdout)
    else:
        _print_text(result, stdout)
    if result.ok:
        return EXIT_OK
    return EXIT_USAGE if result.confirmed is None else EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """The ``certificate`` command; returns its exit status."""

    def body() -> int:
        ctx = context_from_args(args)
        # The certificate is what this command fills in: the file may lack it.
        answers = load_answers(args.answers, partial=True)
        request = request_from_args(args, answers)
        return asyncio.run(
            run_certificate(
                request,
                answers,
                Path(args.answers),
                ctx,
                yes=args.yes,
                dry_run=args.dry_run,
                as_json=args.json,
                stdout=sys.stdout,
                state_dir=args.state_dir,
            )
        )

    def json_error(exc: Exception) -> None:
        if getattr(args, "json", False):
            document = CertificateResult(False, error=str(exc)).to_json()
            print_json(document, sys.stdout)

    return guarded(body, on_usage_error=json_error)
