"""Is nginx there, healthy, and where does the server block go? (``nginx.*`` codes)

Four questions, answered through the nginx adapter (:mod:`wizard.nginx`):

- Is nginx installed, and which version?
- Does ``nginx -t`` pass on the configuration as it is *now* (before anything
  is written)? A tree that already fails cannot be reloaded, whatever the
  wizard adds. The test is run as ``nginx -T``, so that when it passes the
  questions below are answered from nginx's own view of its configuration.
- Which layout does the tree use (:func:`wizard.nginx.detect_layout`)?
- Does another enabled server block already claim the bastion's name on the
  listen port (:func:`wizard.nginx.find_conflicting_server_blocks`)?
- Does the block serving the name now limit each client, and can the Teams
  ranges file be used (:mod:`wizard.checks.limits`)?

Nothing here changes a file.
"""

from __future__ import annotations

import asyncio

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.hostname import hostname_syntax_error
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.nginx import (
    COMMAND_TIMEOUT,
    CommandResult,
    ConfigError,
    Layout,
    LayoutError,
    Tree,
    config_dump,
    config_test_message,
    detect_layout,
    find_binary,
    find_conflicting_server_blocks,
    nginx_argv,
    nginx_version,
    read_tree,
)

__all__ = ["OLDEST_RECOMMENDED", "check_nginx"]

OLDEST_RECOMMENDED = (1, 18, 0)
"""Older nginx releases are out of support and lack parts of the TLS policy."""
_INSTALL_REMEDY = (
    "Install nginx: 'apt-get install nginx' (Debian, Ubuntu) or 'dnf install nginx' "
    "(RHEL, Fedora, Amazon Linux); or pass the path of the nginx binary."
)
_STYLE = {"debian": "Debian layout", "conf.d": "conf.d layout", "custom": "Custom file"}


def _version_finding(version: tuple[int, int, int] | None, binary: str) -> Finding:
    if version is None:
        return warn(
            "nginx.version",
            "Could not tell the nginx version",
            f"'{binary} -v' did not print a version.",
            f"Run '{binary} -v' by hand; if it fails, reinstall nginx.",
        )
    text = ".".join(map(str, version))
    if version < OLDEST_RECOMMENDED:
        return warn(
            "nginx.version",
            f"nginx {text} is very old",
            f"nginx {text} is older than "
            f"{'.'.join(map(str, OLDEST_RECOMMENDED))}: it is out of support and may lack "
            "parts of the TLS policy (TLS 1.3, modern ciphers).",
            "Upgrade nginx from your distribution or from nginx.org's packages.",
        )
    return ok("nginx.version", f"nginx {text}")


def _config_test_finding(binary: str, ctx: CheckContext, test: CommandResult) -> Finding:
    if test.ok:
        return ok("nginx.config_test", "nginx -t passes on the current configuration")
    argv = " ".join(nginx_argv(binary, ctx.nginx_root, "-t"))
    return fail(
        "nginx.config_test",
        "nginx -t fails on the configuration as it is now",
        f"{argv}: {config_test_message(test.errors or test.output)}",
        "Fix the file and line nginx names above (the wizard has not written "
        "anything yet), then run again: nginx cannot reload while its "
        "configuration fails.",
    )


def _read(ctx: CheckContext, test: CommandResult | None) -> Tree | None:
    """nginx's own view when ``nginx -T`` passed, else the files; ``None`` if unreadable."""
    try:
        return read_tree(ctx.nginx_root, test.output if test is not None and test.ok else None)
    except ConfigError:
        if test is None or not test.ok:
            return None
        return _read(ctx, None)  # a dump without our nginx.conf: read the files instead


def _layout_findings(
    answers: Answers, ctx: CheckContext, tree: Tree | None
) -> tuple[list[Finding], Layout | None]:
    try:
        layout = detect_layout(ctx.nginx_root, answers.output.nginx_conf, tree)
    except LayoutError as exc:
        return [
            fail(
                "nginx.layout",
                "No place nginx would load the server block from",
                exc.message,
                exc.remedy,
            )
        ], None
    title = f"{_STYLE[layout.style]}: {layout.server_block}"
    return [ok("nginx.layout", title, layout.describe())], layout


def _conflict_findings(
    answers: Answers, ctx: CheckContext, layout: Layout, tree: Tree | None
) -> list[Finding]:
    bastion = answers.bastion
    if hostname_syntax_error(bastion.hostname) is not None:
        # hostname.* already failed; comparing an invalid name would only mislead.
        return [
            skip("nginx.conflict", "Server-name conflicts not checked: the host name is invalid")
        ]
    conflicts = find_conflicting_server_blocks(
        ctx.nginx_root, bastion.hostname, bastion.listen_port, layout.server_block, tree
    )
    if conflicts:
        return [
            fail(
                "nginx.conflict",
                f"Another server block already claims {bastion.hostname} on port "
                f"{bastion.listen_port}",
                "; ".join(conflicts)
                + ". nginx would warn 'conflicting server name' and serve only the first "
                "block it read.",
                "Remove or disable that server block (on Debian, delete its link in "
                "sites-enabled), or change its server_name, then run again.",
            )
        ]
    return [
        ok(
            "nginx.conflict",
            f"No other server block claims {bastion.hostname} on port {bastion.listen_port}",
        )
    ]


async def _probe(
    binary: str, ctx: CheckContext
) -> tuple[tuple[int, int, int] | None, CommandResult | None]:
    """``nginx -v`` and ``nginx -T`` side by side (no test without an ``nginx.conf``)."""
    if not (ctx.nginx_root / "nginx.conf").is_file():
        return await nginx_version(binary, COMMAND_TIMEOUT), None
    version, test = await asyncio.gather(
        nginx_version(binary, COMMAND_TIMEOUT),
        config_dump(binary, ctx.nginx_root, COMMAND_TIMEOUT),
    )
    return version, test


async def check_nginx(answers: Answers, ctx: CheckContext) -> list[Finding]:
    """Check nginx on this host for the answers (``nginx.*`` findings).

    Args:
        answers: What the admin chose (hostname, listen port, output file).
        ctx: ``nginx_root`` and ``nginx_binary`` say which nginx.

    Returns:
        ``nginx.ok`` or ``nginx.missing``, ``nginx.version``, ``nginx.config_test``,
        ``nginx.layout`` and ``nginx.conflict``; ``nginx.limits`` or
        ``nginx.no_limits`` for a block that serves the name already, and
        ``nginx.teams_ranges`` (:mod:`wizard.checks.limits`).
    """
    if not answers.exposes_bastion:
        return [skip("nginx.skipped", "No nginx needed: this mode exposes nothing")]
    findings: list[Finding] = []
    binary = find_binary(ctx.nginx_binary)
    test: CommandResult | None = None
    if binary is None:
        findings.append(
            fail(
                "nginx.missing",
                "nginx is not installed",
                f"No executable '{ctx.nginx_binary}' was found on PATH or in /usr/sbin.",
                _INSTALL_REMEDY,
            )
        )
    else:
        version, test = await _probe(binary, ctx)
        findings.append(ok("nginx.ok", f"nginx found: {binary}"))
        findings.append(_version_finding(version, binary))
    tree = await asyncio.to_thread(_read, ctx, test)
    layout_findings, layout = await asyncio.to_thread(_layout_findings, answers, ctx, tree)
    findings += layout_findings
    if binary is not None and test is not None:
        findings.append(_config_test_finding(binary, ctx, test))
    if layout is not None:
        findings += await asyncio.to_thread(_conflict_findings, answers, ctx, layout, tree)
    from wizard.checks.limits import check_limits

    return findings + await asyncio.to_thread(check_limits, answers, tree)
