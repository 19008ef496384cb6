"""Run every check for a set of answers, concurrently, and collect the findings.

The engine knows which checks apply to which mode and in what order findings
are shown; the checks themselves live in :mod:`wizard.checks`, one module per
requirement. Independent network checks (DNS, upstream, nginx) run at the same
time, so a slow network costs one delay, not the sum of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.listen import check_listen_port
from wizard.checks.mode import check_mode
from wizard.findings import Finding, apply_lab_mode, fail

__all__ = [
    "AREA_ORDER",
    "AREA_TITLES",
    "run_checks",
    "sort_findings",
]

# The order areas are reported in: the order an admin fixes things.
AREA_ORDER: tuple[str, ...] = (
    "mode",
    "hostname",
    "ip",
    "listen",
    "dns",
    "acme",
    "caa",
    "cert",
    "key",
    "upstream",
    "secrets",
    "nginx",
    "selinux",
    "firewall",
    "proxy",
)
AREA_TITLES: dict[str, str] = {
    "mode": "Messaging mode",
    "hostname": "Bastion hostname",
    "ip": "Public IP address",
    "listen": "Listen port",
    "dns": "Public DNS",
    "acme": "Getting a certificate (certbot, the HTTP-01 port)",
    "caa": "CAA records (which CAs may issue)",
    "cert": "TLS certificate",
    "key": "Private key",
    "upstream": "CodeStream API (upstream)",
    "secrets": "Secrets",
    "nginx": "Nginx",
    "selinux": "SELinux",
    "firewall": "Local firewall",
    "proxy": "End-to-end proxy test",
}


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Findings ordered by area (stable within an area)."""
    rank = {area: i for i, area in enumerate(AREA_ORDER)}
    return sorted(findings, key=lambda f: rank.get(f.area, len(rank)))


async def _guarded(name: str, work: Awaitable[list[Finding]]) -> list[Finding]:
    """Run one check; a bug in it becomes a finding instead of a traceback."""
    try:
        return await work
    except Exception as exc:  # reported as a finding, never swallowed silently
        return [
            fail(
                f"{name}.internal_error",
                f"The {name} check crashed: {exc.__class__.__name__}",
                str(exc) or repr(exc),
                "This is a bug in codestream-bastion: please report it with this message. "
                "The other checks still ran.",
            )
        ]


async def run_checks(
    answers: Answers, ctx: CheckContext, *, post_install: bool = False
) -> list[Finding]:
    """Run every check that applies to ``answers``.

    Args:
        answers: What the admin chose.
        ctx: Resolvers, trust store, timeout and transport.
        post_install: Also prove the installed proxy works (``proxy.*``).

    Returns:
        The findings, ordered by area, lab mode applied (``ctx.lab``).
    """
    from wizard.checks.secrets import check_secrets

    findings: list[Finding] = check_mode(answers) + check_secrets(answers.secret_sources)
    if not answers.exposes_bastion:
        return apply_lab_mode(findings, ctx.lab)
    from wizard.checks.address import check_public_ip
    from wizard.checks.certificate import check_certificate
    from wizard.checks.dns import check_dns
    from wizard.checks.firewall import check_firewall
    from wizard.checks.hostname import check_hostname
    from wizard.checks.nginx import check_nginx
    from wizard.checks.renewal import check_renewal
    from wizard.checks.selinux import check_selinux
    from wizard.checks.upstream import check_upstream

    bastion = answers.bastion
    findings += check_hostname(bastion.hostname)
    findings += check_public_ip(bastion.public_ip, ctx)
    findings += check_listen_port(bastion.listen_port)
    jobs: list[Awaitable[list[Finding]]] = [
        _guarded("dns", check_dns(bastion.hostname, bastion.public_ip, ctx)),
        _guarded(
            "cert",
            check_certificate(bastion.certificate, bastion.private_key, bastion.hostname, ctx),
        ),
        _guarded("upstream", check_upstream(answers.codestream, ctx)),
        _guarded("nginx", check_nginx(answers, ctx)),
        _guarded("selinux", check_selinux(answers, ctx)),
        _guarded("cert", asyncio.to_thread(check_renewal, bastion.certificate)),
        _guarded("firewall", check_firewall(bastion.listen_port, ctx)),
    ]
    if post_install:
        from wizard.checks.proxy import check_proxy

        jobs.append(_guarded("proxy", check_proxy(answers, ctx)))
    for result in await asyncio.gather(*jobs):
        findings += result
    # Lab mode is judged here, once, for every check (wizard.findings.apply_lab_mode).
    return sort_findings(apply_lab_mode(findings, ctx.lab))
