"""Step 3, Public IP: the address Slack and Microsoft connect to, and the port.

The public addresses found on this host's interfaces are offered; when there
are none, the screen explains 1:1 NAT (cloud public IPs never appear on an
interface). The address is checked offline (:func:`check_public_ip`) and
against DNS: the host name must resolve to it (the address findings of
:func:`check_dns`).
"""

from __future__ import annotations

import ipaddress

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import OptionList, Static

from wizard.answers import Answers
from wizard.checks.address import ip_syntax_error, local_interface_addresses, not_public_reason
from wizard.findings import LISTEN_PORT, Finding
from wizard.tui.screens.base import StepScreen
from wizard.tui.screens.hostname import ADDRESS_CODES
from wizard.tui.widgets.field import CheckedField


def port_syntax_error(text: str) -> str | None:
    """Why ``text`` is not a TCP port number, or ``None``."""
    if not text.isdigit():
        return "enter a port number (443 for Slack and Teams)"
    if not 1 <= int(text) <= 65535:
        return f"{text} is not a TCP port: use 1 to 65535 (443 for Slack and Teams)"
    return None


def interface_candidates(addresses: list[str], *, lab: bool) -> list[str]:
    """The addresses worth offering: public ones (any but loopback in lab mode)."""
    offered: list[str] = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if not_public_reason(ip) is None or (lab and not ip.is_link_local):
            offered.append(str(ip))
    return offered


class PublicIpScreen(StepScreen):
    """The bastion's public address and listen port."""

    STEP = "public_ip"
    TITLE = "Public IP address"

    def compose_body(self) -> ComposeResult:
        """Interface addresses to pick from, the address, the port."""
        ctx = self.wizard.context
        found = (
            list(ctx.interface_addresses)
            if ctx.interface_addresses is not None
            else local_interface_addresses()
        )
        offered = interface_candidates(found, lab=ctx.lab)
        if offered:
            which = "Addresses" if ctx.lab else "Public addresses"
            yield Static(f"{which} on this host's interfaces (Enter picks one)", classes="note")
            yield OptionList(*offered, id="candidates", compact=True)
        else:
            shown = ", ".join(found) or "none"
            yield Static(
                f"No public address on this host's interfaces (found: {shown}). Behind 1:1 "
                "NAT (AWS Elastic IP, GCP external IP, Azure public IP) the public address "
                "never appears on an interface: type it below.",
                classes="note",
            )
        yield CheckedField(
            "Public IP address of the bastion",
            self.answers.bastion.public_ip,
            syntax=ip_syntax_error,
            check=self._check_ip,
            placeholder="203.0.113.10",
            progress="Checking the address and DNS",
            id="public-ip",
        )
        yield CheckedField(
            f"{LISTEN_PORT.field} (443 unless this is a lab)",
            str(self.answers.bastion.listen_port),
            syntax=port_syntax_error,
            check=self._check_port,
            debounce=0.0,
            id="listen-port",
        )

    def initial_focus(self) -> Widget:
        """The address field (not the list of candidates)."""
        return self.query_one("#public-ip", CheckedField).input

    async def _check_ip(self, text: str) -> list[Finding]:
        from wizard.checks.address import check_public_ip
        from wizard.checks.dns import check_dns

        ctx = self.wizard.context
        findings = check_public_ip(text, ctx)
        hostname = self.answers.bastion.hostname
        if hostname:
            dns = await check_dns(hostname, text, ctx)
            findings += [f for f in dns if f.code in ADDRESS_CODES and f.status != "skip"]
        return findings

    async def _check_port(self, text: str) -> list[Finding]:
        from wizard.checks.listen import check_listen_port

        return check_listen_port(int(text))

    @on(OptionList.OptionSelected, "#candidates")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        field = self.query_one("#public-ip", CheckedField)
        field.value = str(event.option.prompt)
        field.input.focus()

    def store(self, answers: Answers) -> None:
        """The address as typed, the port when it is a number."""
        answers.bastion.public_ip = self.query_one("#public-ip", CheckedField).value
        port = self.query_one("#listen-port", CheckedField).value
        if port_syntax_error(port) is None:
            answers.bastion.listen_port = int(port)
