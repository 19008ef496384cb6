"""Per-client limits on the bot routes, and where the Teams route takes requests from.

The bastion is the internet's one door to the internal CodeStream API, which
judges every bot request (signature, token) only after it has parsed it: so
nginx refuses a client that sends too much before the API sees it (README.md,
"Limits"). These are the values, their bounds and defaults, and the format of
the Teams ranges file; the server block is written by :mod:`wizard.render.nginx`,
the findings by :mod:`wizard.checks.limits`.

The defaults are far above what Slack and Microsoft send. Slack delivers at
most 30,000 Events API events per workspace per app per hour (about 8 a
second, from a pool of addresses) and retries a failed delivery three times
(at once, after 1 minute, after 5 minutes); interactivity requests follow
people's clicks (https://api.slack.com/apis/events-api, "Rate limiting" and
"Failure conditions"). The Bot Framework sends one request per Teams activity
for the bot. One client address at 20 requests a second, with a burst of 50
answered at once, is never refused; a single client flooding the bastion gets
20 a second through.

Nothing here reads a file or prints: the bounded read of the ranges file is
:func:`wizard.checks.limits.read_teams_ranges`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

DEFAULT_LIMITS: dict[str, int] = {
    "requests_per_second": 20,
    "request_burst": 50,
    "connections_per_client": 50,
}
"""The [bastion] limit keys and their defaults; 0 turns a limit off."""
LIMIT_BOUNDS: dict[str, tuple[int, int]] = {
    "requests_per_second": (0, 100_000),
    "request_burst": (0, 100_000),
    "connections_per_client": (0, 65_535),  # nginx refuses a limit_conn of 65536 or more
}
_ZERO = {
    "requests_per_second": "0: no request limit",
    "request_burst": "0: no burst; one sooner than the rate allows is refused",
    "connections_per_client": "0: no connection limit",
}
TEAMS_SOURCES: tuple[str, ...] = ("any", "azure")
"""``[bastion] teams_source``: any address, or only the ranges in ``teams_ranges``."""
MAX_RANGES_BYTES = 256 * 1024
"""The ranges file is a few KiB (Microsoft's AzureBotService tag lists a few dozen)."""
MAX_RANGES = 5000
NARROWEST_ALLOWED_PREFIX = {4: 8, 6: 16}
"""A range wider than /8 (IPv4) or /16 (IPv6) is not Microsoft's: refused."""
RETRY_AFTER_SECONDS = 1
"""What a refused client is told to wait: the rate refills a request within a second."""

# Microsoft's published ranges for the Bot Framework are the AzureBotService
# service tag, in the weekly "Azure IP Ranges and Service Tags - Public Cloud"
# file (https://www.microsoft.com/download/details.aspx?id=56519), also listed by
# `az network list-service-tags`; Microsoft's own advice for letting only the Bot
# Service reach a bot is that tag (https://techcommunity.microsoft.com/blog/
# iis-support-blog/service-tags-for-azure-bot-simplifying-ip-management/4369246).
AZURE_TAG = "AzureBotService"
REFRESH_RANGES = (
    "az network list-service-tags --location westus "
    "--query \"values[?name=='AzureBotService'].properties.addressPrefixes[]\" -o tsv > FILE"
)
"""The command that writes (or refreshes) the ranges file; see README.md, "Limits"."""
REFRESH_RANGES_JQ = (
    "jq -r '.values[] | select(.name == \"AzureBotService\") | .properties.addressPrefixes[]' "
    "ServiceTags_Public_*.json > FILE"
)
"""The same from the downloaded ``ServiceTags_Public_YYYYMMDD.json``."""


def limit_problems(
    limits: Mapping[str, int], teams_source: str, teams_ranges: str, *, partial: bool
) -> list[tuple[str, str]]:
    """Why the [bastion] limit keys cannot be used: ``(key, message)`` pairs, in order.

    Args:
        limits: The values of :data:`DEFAULT_LIMITS`' keys.
        teams_source: ``[bastion] teams_source``.
        teams_ranges: ``[bastion] teams_ranges`` (the file's path).
        partial: A resume state, which may not name the ranges file yet.
    """
    problems = [
        (key, f"{limits[key]} is out of range; use {low}-{high} ({_ZERO[key]}).")
        for key, (low, high) in LIMIT_BOUNDS.items()
        if not low <= limits[key] <= high
    ]
    if teams_source not in TEAMS_SOURCES:
        problems.append(("teams_source", f"unknown value; use one of: {', '.join(TEAMS_SOURCES)}."))
    elif teams_source == "azure" and not teams_ranges.strip() and not partial:
        problems.append(
            (
                "teams_ranges",
                'is required with teams_source = "azure": give the absolute path of the '
                f'file of Microsoft\'s {AZURE_TAG} ranges (README.md, "Limits").',
            )
        )
    return problems


def parse_ranges(text: str) -> list[str]:
    """The CIDR ranges of a Teams ranges file, checked strictly, duplicates dropped.

    One ``ADDRESS/PREFIX`` a line (IPv4 or IPv6, host bits zero), blank lines
    ignored, nothing else: no comments, no bare addresses, no range wider than
    :data:`NARROWEST_ALLOWED_PREFIX`, at most :data:`MAX_RANGES`.

    Raises:
        ValueError: Naming the first line that is not a range, and why.
    """
    ranges: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        shown = repr(entry[:60])
        if "/" not in entry:
            raise ValueError(f"line {number}: {shown} is not ADDRESS/PREFIX (a CIDR range)")
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError as exc:
            raise ValueError(f"line {number}: {shown} is not a CIDR range ({exc})") from None
        widest = NARROWEST_ALLOWED_PREFIX[network.version]
        if network.prefixlen < widest:
            raise ValueError(
                f"line {number}: {network} is wider than /{widest}; no range of Microsoft's "
                'is (with teams_source = "any" every address may call)'
            )
        if str(network) not in ranges:
            ranges.append(str(network))
        if len(ranges) > MAX_RANGES:
            raise ValueError(f"holds over {MAX_RANGES} ranges; Microsoft's list is far shorter")
    if not ranges:
        raise ValueError("holds no range; write Microsoft's ranges into it, one a line")
    return ranges


def describe_limits(requests_per_second: int, request_burst: int, connections: int) -> str:
    """The limits in one line, e.g. ``20 requests a second (burst 50), 50 connections``."""
    parts = []
    if requests_per_second:
        parts.append(f"{requests_per_second} requests a second (burst {request_burst})")
    if connections:
        parts.append(f"{connections} connections at once")
    if not parts:
        return "no per-client limits (set to 0)"
    return " and ".join(parts) + " per client address"
