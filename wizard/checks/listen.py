"""Is the bastion listening where Slack and Microsoft call? (``listen.*`` codes; no network)

Slack request URLs and the Azure Bot messaging endpoint are ``https://`` URLs
on the default port, so anything but 443 only fits labs and demos (``--lab``
turns the failure into a warning, in :func:`wizard.findings.apply_lab_mode`).
"""

from __future__ import annotations

from wizard.findings import LISTEN_PORT, Finding, fail, ok


def check_listen_port(port: int) -> list[Finding]:
    """Slack and the Bot Framework only call HTTPS on the standard port 443."""
    if port == 443:
        return [ok("listen.ok", "Listening on 443, the port Slack and Microsoft call")]
    return [
        fail(
            "listen.not_443",
            f"Listen port {port} is not 443",
            "Slack request URLs and the Azure Bot messaging endpoint must be https:// URLs "
            "on the default port; other ports are only fit for labs and demos.",
            f"Set {LISTEN_PORT} to 443 (its default), or forward 443 to this port.",
        )
    ]
