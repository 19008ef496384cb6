"""Do the CodeStream API's clock and this host's agree? (``proxy.clock*``)

CodeStream refuses every Slack request whose ``X-Slack-Request-Timestamp`` is
more than 300 seconds from its own clock (``verifySlackRequest`` in
``api_server/modules/providers/provider_action_request.js`` and
``slack_events_request.js``: ``Math.abs(time - timestamp) > 300``). Slack's
clock is right, so an API host whose clock is off by more than five minutes
breaks every Slack callback while every other check passes.

The API's clock is read from the ``Date`` header of its own answer, asked
straight from this host: through the bastion the header is nginx's (nginx does
not pass an upstream's ``Date``: ``proxy_hide_header``'s default list). This
host's own state comes from ``timedatectl`` or ``chronyc`` where they can say,
because the proof signs with this host's clock too.
"""

from __future__ import annotations

import email.utils
import shutil
from collections.abc import Awaitable, Callable, Sequence

from wizard.findings import Finding, fail, ok, warn
from wizard.nginx.command import CommandResult, run_command

SLACK_WINDOW = 300
"""Seconds CodeStream allows between a Slack timestamp and its clock."""
NEAR_LIMIT = 60
"""Seconds of skew worth a warning: half a minute of drift a day reaches the limit in a week."""
NTP_REMEDY = (
    "Keep both clocks synchronised with NTP: on the CodeStream host and on this one, "
    "'timedatectl set-ntp true' (systemd-timesyncd) or install and enable chrony; then check "
    "'timedatectl' says 'System clock synchronized: yes'."
)

Runner = Callable[[Sequence[str], float], Awaitable[CommandResult]]


def parse_http_date(value: str) -> float | None:
    """The Unix time of an HTTP ``Date`` header (IMF-fixdate), or ``None``."""
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def sync_state_from(timedatectl: CommandResult | None, chronyc: CommandResult | None) -> str:
    """This host's clock synchronisation, from the commands' outputs.

    Args:
        timedatectl: ``timedatectl show --property=NTPSynchronized --value``, if run.
        chronyc: ``chronyc -n tracking``, if run.

    Returns:
        ``"synchronised (...)"``, ``"NOT synchronised (...)"`` or ``"unknown (...)"``.
    """
    if timedatectl is not None and timedatectl.returncode == 0:
        value = timedatectl.output.strip().lower()
        if value in ("yes", "no"):
            state = "synchronised" if value == "yes" else "NOT synchronised"
            return f"{state} (timedatectl: NTPSynchronized={value})"
    if chronyc is not None and chronyc.returncode == 0:
        for line in chronyc.output.splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip().lower() == "leap status":
                leap = value.strip()
                state = "NOT synchronised" if "not synchronised" in leap.lower() else "synchronised"
                return f"{state} (chronyc tracking: Leap status {leap})"
    return "unknown (neither timedatectl nor chronyc could say)"


async def host_sync_state(timeout: float, run: Runner | None = None) -> str:
    """Ask this host whether its clock is synchronised (see :func:`sync_state_from`)."""
    runner: Runner = run or (lambda argv, limit: run_command(argv, limit))
    state = sync_state_from(None, None)
    if shutil.which("timedatectl"):
        argv = ["timedatectl", "show", "--property=NTPSynchronized", "--value"]
        state = sync_state_from(await runner(argv, timeout), None)
    if state.startswith("unknown") and shutil.which("chronyc"):
        state = sync_state_from(None, await runner(["chronyc", "-n", "tracking"], timeout))
    return state


def clock_findings(api_date: str, why: str, host_now: float, host_state: str) -> list[Finding]:
    """Judge the API's ``Date`` against this host's clock.

    Args:
        api_date: The ``Date`` header the API sent (``""`` when none was read).
        why: Why no header was read, when ``api_date`` is empty.
        host_now: This host's clock when the answer arrived (Unix time).
        host_state: This host's synchronisation, from :func:`host_sync_state`.

    Returns:
        ``proxy.clock`` (ok), ``proxy.clock_near_limit`` (warn), ``proxy.clock_skew``
        (fail) or ``proxy.clock_unknown`` (warn); plus ``proxy.host_clock_unsynced``
        (warn) when this host says its clock is not synchronised.
    """
    findings: list[Finding] = []
    host = f"This host's clock is {host_state}."
    if host_state.startswith("NOT"):
        findings.append(
            warn(
                "proxy.host_clock_unsynced",
                "This host's clock is not synchronised",
                f"{host} The signed proof uses this host's time as Slack's timestamp.",
                NTP_REMEDY,
            )
        )
    api_time = parse_http_date(api_date) if api_date else None
    if api_time is None:
        sent = f"sent Date: {api_date!r:.60}" if api_date else why or "sent no Date header"
        return [
            warn(
                "proxy.clock_unknown",
                "The CodeStream API's clock could not be read",
                f"Asking the API directly from this host: {sent}. {host}",
                "Run 'date -u' on the CodeStream host and on this one and compare; CodeStream "
                f"refuses Slack requests more than {SLACK_WINDOW} s off its clock. " + NTP_REMEDY,
            ),
            *findings,
        ]
    skew = api_time - host_now
    ahead = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} this host's"
    detail = f"The API's Date header ({api_date}) is {ahead} clock. {host}"
    if abs(skew) > SLACK_WINDOW:
        verdict = fail(
            "proxy.clock_skew",
            f"The CodeStream API's clock is {abs(skew):.0f} s off: Slack requests will be refused",
            f"{detail} CodeStream refuses a Slack request whose timestamp is more than "
            f"{SLACK_WINDOW} s from its clock, so every Slack callback fails (403) whatever the "
            "signing secret.",
            "Fix the clock of the host that is wrong (the one not synchronised; if both say "
            "they are, the CodeStream host's container or VM clock). " + NTP_REMEDY,
        )
    elif abs(skew) > NEAR_LIMIT:
        verdict = warn(
            "proxy.clock_near_limit",
            f"The CodeStream API's clock is {abs(skew):.0f} s off this host's",
            f"{detail} CodeStream allows {SLACK_WINDOW} s before it refuses Slack's requests.",
            NTP_REMEDY,
        )
    else:
        verdict = ok(
            "proxy.clock",
            "The CodeStream API's clock agrees with this host's",
            f"{detail} (CodeStream allows {SLACK_WINDOW} s).",
        )
    return [verdict, *findings]
