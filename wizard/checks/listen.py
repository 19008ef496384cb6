"""Is the bastion listening where Slack and Microsoft call? (``listen.*`` codes; no network)

Slack request URLs and the Azure Bot messaging endpoint are ``https://`` URLs
on the default port, so anything but 443 only fits labs and demos (``--lab``
turns the failure into a warning).
"""

from __future__ import annotations

from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, warn


def check_listen_port(port: int, ctx: CheckContext) -> list[Finding]:
    """Slack and the Bot Framework only call HTTPS on the standard port 443."""
    if port == 443:
        return [ok("listen.ok", "Listening on 443, the port Slack and Microsoft call")]
    make = warn if ctx.lab else fail
    return [
        make(
            "listen.not_443",
            f"Listen port {port} is not 443",
            "Slack request URLs and the Azure Bot messaging endpoint must be https:// URLs "
            "on the default port; other ports are only fit for labs and demos.",
            "Set [bastion] listen_port = 443 (or remove it), or forward 443 to this port.",
        )
    ]
