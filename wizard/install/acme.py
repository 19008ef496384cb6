"""Get the bastion's certificate from an ACME CA by driving the host's certbot.

:func:`obtain_certificate` is what both the ``certificate`` command and the
wizard's "Get a certificate" run:

1. the pre-check (:func:`wizard.checks.acme.preflight`): DNS points here,
   certbot is installed, the HTTP-01 port is free or served by this tree's
   nginx, CAA allows the CA; a failure stops here, before the CA is asked;
2. ``certbot certonly --keep-until-expiring`` with ``--standalone`` (nothing
   listens on the port), ``--webroot`` through a temporary server block
   (:mod:`wizard.install.acme_webroot`), or ``--manual`` with the DNS-01
   hooks (:mod:`wizard.install.acme_hook`); a failure is certbot's own words;
3. the lineage's ``fullchain.pem`` and ``privkey.pem`` written into the
   answers file (``[bastion] certificate`` / ``private_key``), atomically,
   its mode and owner kept;
4. the deploy hook that reloads nginx after each renewal
   (:mod:`wizard.install.renew_hook`), installed through the installer
   (journaled, backed up).

This tool has no ACME client of its own: certbot talks to the CA, keeps the
account and the lineage under its configuration directory, and renews.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from wizard.answers import Answers, dumps_answers
from wizard.checks.acme import Challenge, Method, Preflight, find_certbot, preflight
from wizard.checks.caa import LETS_ENCRYPT_DIRECTORY
from wizard.checks.context import CheckContext
from wizard.checks.hostname import to_ascii_hostname
from wizard.findings import Finding, apply_lab_mode, fail
from wizard.fsutil import atomic_write
from wizard.install.acme_hook import hook_command, hook_environment, read_record
from wizard.install.acme_webroot import temporary_webroot
from wizard.install.errors import InstallError
from wizard.install.installer import Installer
from wizard.install.plan import FileChange, Plan, file_diff, masker_for
from wizard.install.renew_hook import HOOK_MODE, planned_renew_hook
from wizard.install.targets import missing_directories, read_currents
from wizard.nginx import run_command

DEFAULT_CONFIG_DIR = Path("/etc/letsencrypt")
CERTBOT_TIMEOUT = 900.0
"""certbot's whole run, DNS-01's wait for the TXT record included."""
DNS_WAIT = 600.0
"""How long the DNS-01 hook waits for the public resolvers to see the TXT record."""

Progress = Callable[[str, str], None]
"""Told each step as it starts: (kind, text); kinds ``step``, ``dns_record`` (text:
``NAME TXT VALUE``) and ``done``."""
MakeInstaller = Callable[[Answers], Awaitable[Installer]]
Confirm = Callable[["CertificateResult"], Awaitable["bool | None"]]
"""Asked once the pre-check passed, before the CA is: True go on, False no, None nobody asked."""


@dataclass(frozen=True)
class CertificateRequest:
    """What to ask certbot for (the ``certificate`` command's options).

    Attributes:
        hostname: The bastion's name (the certificate's only name).
        public_ip: Its public address (the DNS pre-check compares with it).
        email: The ACME account's contact (empty: none).
        acme_server: The ACME directory URL.
        challenge: ``http-01`` or ``dns-01``.
        http_port: Where the CA's HTTP-01 request arrives (80 on the internet).
        config_dir: certbot's ``--config-dir`` (accounts, lineages, hooks).
        work_dir: certbot's ``--work-dir`` (``None``: certbot's default).
        logs_dir: certbot's ``--logs-dir`` (``None``: certbot's default).
        dns_wait: Seconds the DNS-01 hook waits for the TXT record to be public.
    """

    hostname: str
    public_ip: str
    email: str = ""
    acme_server: str = LETS_ENCRYPT_DIRECTORY
    challenge: Challenge = "http-01"
    http_port: int = 80
    config_dir: Path = DEFAULT_CONFIG_DIR
    work_dir: Path | None = None
    logs_dir: Path | None = None
    dns_wait: float = DNS_WAIT

    @property
    def cert_name(self) -> str:
        """The lineage name (``live/<name>/``): the name in ASCII."""
        return to_ascii_hostname(self.hostname)

    @property
    def live(self) -> Path:
        """The lineage's ``live`` directory."""
        return self.config_dir / "live" / self.cert_name


@dataclass
class CertificateResult:
    """What :func:`obtain_certificate` did.

    Attributes:
        ok: A valid lineage is in the answers (or, dry run: the CA may be asked).
        findings: The pre-check's findings.
        method: The certbot method (``standalone``, ``webroot``, ``manual``).
        certificate: The lineage's ``fullchain.pem``.
        private_key: The lineage's ``privkey.pem``.
        lineage: The lineage's ``live`` directory.
        issued: certbot issued a new certificate (false: the valid one was kept).
        error: Why it failed, certbot's own words when certbot failed.
        remedy: What to do about it.
        steps: What was done, one line each, for people.
        dry_run: Nothing was asked of the CA, nothing written.
        argv: The certbot command line (run, or that would run).
        confirmed: ``None`` when nobody could be asked to confirm (exit 2).
    """

    ok: bool
    findings: tuple[Finding, ...] = ()
    method: Method | None = None
    certificate: str = ""
    private_key: str = ""
    lineage: str = ""
    issued: bool = False
    error: str = ""
    remedy: str = ""
    steps: list[str] = field(default_factory=list)
    dry_run: bool = False
    argv: tuple[str, ...] = ()
    confirmed: bool | None = True

    def to_json(self) -> dict[str, object]:
        """The ``certificate --json`` object."""
        return {
            "ok": self.ok,
            "certificate": self.certificate,
            "private_key": self.private_key,
            "lineage": self.lineage,
            "issued": self.issued,
            "error": self.error,
            "findings": [f.to_dict() for f in self.findings],
        }


def certbot_argv(
    certbot: str, request: CertificateRequest, method: Method, extra: Sequence[str] = ()
) -> list[str]:
    """The ``certbot certonly`` command line; ``extra`` (the webroot) goes before ``-d``."""
    argv = [
        certbot, "certonly", "--non-interactive", "--agree-tos", "--keep-until-expiring",
        "--cert-name", request.cert_name,
        "--server", request.acme_server, "--config-dir", str(request.config_dir),
    ]  # fmt: skip
    if request.work_dir is not None:
        argv += ["--work-dir", str(request.work_dir)]
    if request.logs_dir is not None:
        argv += ["--logs-dir", str(request.logs_dir)]
    argv += ["--email", request.email] if request.email else ["--register-unsafely-without-email"]
    if method == "standalone":
        argv += ["--standalone", "--http-01-port", str(request.http_port)]
    elif method == "webroot":
        argv += ["--webroot"]
    else:
        argv += ["--manual", "--preferred-challenges", "dns"]
        argv += ["--manual-auth-hook", hook_command("auth")]
        argv += ["--manual-cleanup-hook", hook_command("cleanup")]
    # certbot gives each -d the -w before it.
    return [*argv, *extra, "-d", request.cert_name]


_NOISE = re.compile(
    r"^(Saving debug log to|Ask for help or search for solutions at|See the logfile|"
    r"re-run Certbot with -v|- - - -)"
)
_KINDS: tuple[tuple[str, str], ...] = (
    ("ratelimited", "The CA refused: too many certificates or failures (rate limit)."),
    ("unauthorized", "The CA could not verify that this host controls the name."),
    ("type: dns", "The CA's DNS lookup of the name failed."),
    ("type: connection", "The CA could not connect to this host to validate."),
    ("connection refused", "The CA could not connect to this host to validate."),
)


def certbot_error(output: str) -> str:
    """certbot's own error, without its boilerplate lines."""
    lines = [line.rstrip() for line in output.splitlines()]
    kept = [line for line in lines if line.strip() and not _NOISE.match(line.strip())]
    return "\n".join(kept).strip()


def certbot_remedy(error: str, method: Method | None) -> str:
    """What to do, from what certbot said."""
    lowered = error.lower()
    why = next((text for needle, text in _KINDS if needle in lowered), "certbot failed.")
    fix = {
        "standalone": "Make sure port 80 of this host is reachable from the internet.",
        "webroot": "Make sure port 80 of this host reaches this nginx from the internet.",
        "manual": "Make sure the TXT record is published at the domain's DNS provider.",
    }.get(method or "", "")
    if "ratelimited" in lowered:
        fix = (
            "Wait until the limit's window has passed (certbot's message says when); "
            "try with --staging meanwhile."
        )
    parts = (why, "Read certbot's message above.", fix, "Then run again.")
    return " ".join(part for part in parts if part)


def _realpath(path: Path) -> str:
    return os.path.realpath(path) if path.exists() else ""


async def _run_certbot(
    argv: list[str], env: dict[str, str], channel: Path | None, progress: Progress
) -> tuple[bool, str]:
    """Run certbot; tell ``progress`` the DNS record as soon as the auth hook names it."""
    task = asyncio.ensure_future(run_command(argv, CERTBOT_TIMEOUT, separate_errors=True, env=env))
    told = False
    while channel is not None and not task.done():
        record = read_record(channel)
        if record is not None and not told:
            progress("dns_record", f"{record[0]} TXT {record[1]}")
            told = True
        await asyncio.wait({task}, timeout=0.1)
    result = await task
    return result.ok, certbot_error(f"{result.errors}\n{result.output}" if not result.ok else "")


@contextlib.asynccontextmanager
async def _method_args(
    request: CertificateRequest,
    method: Method,
    ctx: CheckContext,
    installer: MakeInstaller,
    answers: Answers,
) -> AsyncIterator[tuple[list[str], dict[str, str], Path | None]]:
    """The method's extra certbot options and environment, for certbot's run only."""
    if method == "webroot":
        nginx = await installer(answers)
        async with temporary_webroot(nginx, request.cert_name, request.http_port) as root:
            yield ["-w", str(root)], {}, None
    elif method == "manual":
        channel = Path(tempfile.mkdtemp(prefix="codestream-bastion-dns01-"))
        try:
            resolvers = ctx.public_nameservers or ctx.nameservers
            env = hook_environment(channel, resolvers, request.dns_wait, ctx.timeout)
            yield [], env, channel
        finally:
            shutil.rmtree(channel, ignore_errors=True)
    else:
        yield [], {}, None


def write_answers(path: Path, answers: Answers) -> None:
    """Write ``answers`` over ``path`` atomically, keeping the file's mode and owner."""
    try:
        info = os.stat(path)
        mode, owner = info.st_mode & 0o7777, (info.st_uid, info.st_gid)
    except FileNotFoundError:
        mode, owner = 0o600, None
    if os.geteuid() != 0:
        owner = None
    atomic_write(path, dumps_answers(answers).encode("utf-8"), mode, owner=owner)


async def install_renew_hook(installer: Installer) -> str:
    """The deploy hook that reloads nginx, through the installer (journaled); what was done."""
    hook, script = planned_renew_hook(installer.answers, installer.ctx.nginx_root, installer.binary)
    (current,) = await asyncio.to_thread(read_currents, [hook])
    diff = file_diff(hook, current, script, HOOK_MODE, masker_for(installer.answers, ()))
    change = FileChange(hook, script, HOOK_MODE, "renew-hook", current, diff)
    plan = Plan(
        None,
        (change,),
        (),
        tuple(missing_directories([hook], [])),
        (),
        installer.state.path,
    )
    if not plan.changed:
        return f"The deploy hook that reloads nginx after each renewal is in place: {hook}"
    result = await installer.apply(plan)
    if not result.ok:
        raise InstallError(result.message, result.remedy, code=result.code)
    return f"Installed the deploy hook that reloads nginx after each renewal: {hook}"


def _refused(pre: Preflight) -> CertificateResult:
    failed = [f for f in pre.findings if f.status == "fail"]
    first = failed[0] if failed else None
    return CertificateResult(
        False,
        pre.findings,
        pre.method,
        error=f"{first.title}. {first.detail}".strip() if first else "The pre-check failed.",
        remedy=first.remedy if first else "",
        steps=["Refused before the CA was asked: fix the failed checks."],
    )


async def obtain_certificate(
    request: CertificateRequest,
    answers: Answers,
    answers_path: Path | None,
    ctx: CheckContext,
    *,
    make_installer: MakeInstaller,
    progress: Progress | None = None,
    dry_run: bool = False,
    certbot: str | None = None,
    confirm: Confirm | None = None,
) -> CertificateResult:
    """Pre-check, run certbot, update the answers, install the renewal hook.

    Args:
        request: What to ask for.
        answers: The answers (``[bastion] certificate``/``private_key`` get the lineage).
        answers_path: The answers file to update (``None``: the caller saves).
        ctx: Resolvers, timeout, the nginx tree, lab mode.
        make_installer: Builds the installer for the given answers.
        progress: Told each step as it starts.
        dry_run: Stop after the pre-check; ask nothing of the CA, write nothing.
        certbot: The certbot executable (default: found on the host).
        confirm: Asked before the CA is (``None``: go on, as with ``--yes``).

    Returns:
        The result; never raises for trouble a person can fix.
    """
    tell = progress or (lambda _kind, _text: None)
    certbot = certbot or find_certbot()
    tell("step", "Checking DNS, the challenge port, CAA and certbot before asking the CA")
    pre = await preflight(
        request.hostname,
        request.public_ip,
        challenge=request.challenge,
        http_port=request.http_port,
        acme_server=request.acme_server,
        certbot=certbot,
        ctx=ctx,
    )
    # Lab mode is judged once, by its one rule, as engine.run_checks does.
    pre = replace(pre, findings=tuple(apply_lab_mode(pre.findings, ctx.lab)))
    if not pre.ok or certbot is None or pre.method is None:
        return _refused(pre)
    method = pre.method
    shown = ["-w", "(a temporary directory)"] if method == "webroot" else []
    argv = certbot_argv(certbot, request, method, shown)
    result = CertificateResult(True, pre.findings, method, argv=tuple(argv), dry_run=dry_run)
    if dry_run:
        result.steps.append("Dry run: the pre-check passed; would run: " + " ".join(argv))
        return result
    answer = True if confirm is None else await confirm(result)
    if not answer:
        why = "Not confirmed" if answer is False else "No terminal to confirm on"
        return replace(
            result,
            ok=False,
            error=f"{why}: the CA was not asked.",
            remedy="Pass --yes to ask the CA without a question (--dry-run: only check).",
            confirmed=answer,
        )
    try:
        return await _obtain(
            request, answers, answers_path, ctx, make_installer, result, certbot, tell
        )
    except InstallError as exc:
        refusal = fail(exc.code, exc.message, "", exc.remedy or "Fix the cause and run again.")
        return replace(
            result,
            ok=False,
            findings=(*result.findings, refusal),
            error=exc.message,
            remedy=exc.remedy,
        )


async def _obtain(
    request: CertificateRequest,
    answers: Answers,
    answers_path: Path | None,
    ctx: CheckContext,
    make_installer: MakeInstaller,
    result: CertificateResult,
    certbot: str,
    tell: Progress,
) -> CertificateResult:
    """certbot, then the answers and the hook (after the pre-check passed)."""
    assert result.method is not None
    fullchain, privkey = request.live / "fullchain.pem", request.live / "privkey.pem"
    before = await asyncio.to_thread(_realpath, fullchain)
    async with _method_args(request, result.method, ctx, make_installer, answers) as extra:
        args, env, channel = extra
        tell("step", f"Running certbot ({result.method}) against {request.acme_server}")
        argv = certbot_argv(certbot, request, result.method, args)
        ran, error = await _run_certbot(argv, {**os.environ, **env}, channel, tell)
    if not ran:
        remedy = certbot_remedy(error, result.method)
        return replace(result, ok=False, error=error or "certbot failed", remedy=remedy)
    after = await asyncio.to_thread(_realpath, fullchain)
    issued = bool(after) and after != before
    result = replace(
        result,
        certificate=str(fullchain),
        private_key=str(privkey),
        lineage=str(request.live),
        issued=issued,
    )
    result.steps.append(
        f"certbot issued a new certificate: {request.live}"
        if issued
        else f"The certificate of {request.live} is not due for renewal: kept it"
    )
    answers.bastion.certificate, answers.bastion.private_key = str(fullchain), str(privkey)
    if answers_path is not None:
        tell("step", f"Writing the certificate into {answers_path}")
        await asyncio.to_thread(write_answers, answers_path, answers)
        result.steps.append(f"Wrote [bastion] certificate and private_key into {answers_path}")
    tell("step", "Installing the deploy hook that reloads nginx after each renewal")
    result.steps.append(await install_renew_hook(await make_installer(answers)))
    tell("done", "Done")
    return result
