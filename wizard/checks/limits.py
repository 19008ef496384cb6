"""The per-client limits and the Teams sources, as findings (``nginx.*`` and ``proxy.*``).

- Before the install (:func:`check_limits`, run by :func:`wizard.checks.nginx.check_nginx`):
  the Teams ranges file, when ``[bastion] teams_source = "azure"``
  (``nginx.teams_ranges``), and the limits of the server block that serves the
  name now (``nginx.limits``, or the ``nginx.no_limits`` warning: an older
  block, or the admin's own, lets one client load the API at will).
- After the install (:func:`limits_in_force`, run by the post-install proof):
  the limits of the block nginx serves the name with (``proxy.limits``,
  ``proxy.no_limits``).

The values and the file's format are :mod:`wizard.limits`; the limits are
read from the configuration by the nginx adapter
(:func:`wizard.nginx.server_limits`).
"""

from __future__ import annotations

import asyncio
import os

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.limits import (
    AZURE_TAG,
    MAX_RANGES_BYTES,
    REFRESH_RANGES,
    describe_limits,
    parse_ranges,
)
from wizard.nginx import ConfigError, Tree, read_tree, server_limits, serving_block
from wizard.reading import BoundedReadError, read_bounded

_REFRESH = (
    f"Write Microsoft's {AZURE_TAG} ranges into it, one CIDR a line: {REFRESH_RANGES} "
    '(README.md, "Limits"), then run apply again.'
)
# The codes of limits_in_force, by area: written out, so that each can be found.
_CODES = {
    "nginx": ("nginx.limits", "nginx.no_limits"),
    "proxy": ("proxy.limits", "proxy.no_limits"),
}


class TeamsRangesError(ValueError):
    """The Teams ranges file cannot be used; the message names the file, why, and the fix."""


def read_teams_ranges(path: str) -> list[str]:
    """The CIDR ranges in the Teams ranges file ``path``: a bounded read, checked strictly.

    Raises:
        TeamsRangesError: The file is not an absolute path, missing, not a
            regular file, too large, not ASCII, or a line is not a CIDR range.
    """
    if not os.path.isabs(path):
        raise TeamsRangesError(f"{path!r:.80} is not an absolute path; give the file's full path")
    try:
        data = read_bounded(path, MAX_RANGES_BYTES)  # the one bounded reader
    except BoundedReadError as exc:
        raise TeamsRangesError(f"{path}: {exc.why}. {_REFRESH}") from None
    try:
        return parse_ranges(data.decode("ascii"))
    except UnicodeDecodeError as exc:
        raise TeamsRangesError(
            f"{path}: byte {exc.start} is not ASCII; the file holds CIDR ranges only. {_REFRESH}"
        ) from None
    except ValueError as exc:
        raise TeamsRangesError(f"{path}: {exc}. {_REFRESH}") from None


def _teams_ranges_findings(answers: Answers) -> list[Finding]:
    bastion = answers.bastion
    if not answers.uses_msteams or bastion.teams_source != "azure":
        return []
    try:
        ranges = read_teams_ranges(bastion.teams_ranges)
    except TeamsRangesError as exc:
        return [
            fail(
                "nginx.teams_ranges",
                "The Teams ranges file cannot be used",
                str(exc),
                f"Fix [bastion] teams_ranges. {_REFRESH}",
            )
        ]
    return [
        ok(
            "nginx.teams_ranges",
            f"The Teams route will accept only Microsoft's {len(ranges)} ranges",
            f'teams_source = "azure": {len(ranges)} {AZURE_TAG} ranges from '
            f"{bastion.teams_ranges}; every other address gets 403. Refresh the file weekly: "
            f"{REFRESH_RANGES}.",
        )
    ]


def _wanted(answers: Answers) -> str:
    bastion = answers.bastion
    return describe_limits(
        bastion.requests_per_second, bastion.request_burst, bastion.connections_per_client
    )


def limits_summary(answers: Answers) -> str:
    """What the server block will limit, for the wizard's Review: limits, then Teams sources."""
    bastion = answers.bastion
    teams = ""
    if answers.uses_msteams:
        teams = (
            f"; Teams route: only the ranges in {bastion.teams_ranges or '(no file given)'}"
            if bastion.teams_source == "azure"
            else "; Teams route: any source"
        )
    return (
        f"{_wanted(answers).capitalize()}, 429 with Retry-After beyond{teams}. "
        "Tune them in [bastion] of the answers file (0: off)."
    )


def limits_in_force(answers: Answers, tree: Tree, area: str) -> Finding | None:
    """The limits of the block that serves the bastion's name and port now.

    Args:
        answers: The name, the port and the limits wanted.
        tree: The configuration nginx loads.
        area: ``nginx`` (before the install) or ``proxy`` (the installed block).

    Returns:
        ``AREA.limits`` (what is in force, or none as the answers ask), the
        ``AREA.no_limits`` warning, or ``None`` when no block serves the name.
    """
    from wizard.hostnames import to_ascii_lenient

    bastion = answers.bastion
    name, port = to_ascii_lenient(bastion.hostname), bastion.listen_port
    server = serving_block(tree, name, port)
    if server is None:
        return None
    found = server_limits(tree, server)
    wanted = bastion.requests_per_second or bastion.connections_per_client
    limited, unlimited = _CODES[area]
    if found.any:
        return ok(
            limited,
            f"The block serving {name} on port {port} limits each client",
            f"{found.where}: " + "; ".join(found.requests + found.connections) + ". A client "
            "over them gets 429 with Retry-After, logged as 'limiting requests' or 'limiting "
            f"connections' in its error log. The answers ask for {_wanted(answers)}.",
        )
    if not wanted:
        return ok(
            limited,
            f"No per-client limits on {name}, as the answers ask",
            f"{found.where} has no limit_req nor limit_conn; [bastion] requests_per_second and "
            "connections_per_client are 0.",
        )
    return warn(
        unlimited,
        f"The block serving {name} on port {port} has no per-client limits",
        f"{found.where} has no limit_req nor limit_conn: one client can send the internal "
        "CodeStream API as many requests as it likes.",
        f"Run apply: the server block it writes allows {_wanted(answers)} and answers 429 "
        "beyond ([bastion] requests_per_second, request_burst, connections_per_client).",
    )


def check_limits(answers: Answers, tree: Tree | None) -> list[Finding]:
    """Before the install: the Teams ranges file, and the limits of the block serving the name now.

    Args:
        answers: What the admin chose.
        tree: The configuration nginx loads (``None``: unreadable, not judged).
    """
    findings = _teams_ranges_findings(answers)
    if tree is not None:
        found = limits_in_force(answers, tree, "nginx")
        findings += [found] if found is not None else []
    return findings


async def proxy_limits(answers: Answers, ctx: CheckContext) -> list[Finding]:
    """After the install: the limits in force for the name (``proxy.limits``, ``proxy.no_limits``).

    Read from the configuration under ``ctx.nginx_root``; a ``proxy.limits``
    skip when no block there serves the name (the proof ran from elsewhere).
    """

    def read() -> Finding | None:
        try:
            return limits_in_force(answers, read_tree(ctx.nginx_root), "proxy")
        except ConfigError as exc:
            return skip("proxy.limits", "The limits in force are not known", exc.message)

    found = await asyncio.to_thread(read)
    if found is not None:
        return [found]
    return [
        skip(
            "proxy.limits",
            "The limits in force are not known",
            f"No server block under {ctx.nginx_root} serves {answers.bastion.hostname} on port "
            f"{answers.bastion.listen_port}.",
        )
    ]
