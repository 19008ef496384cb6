"""Step 2, Hostname: a fully qualified name that public DNS resolves.

The syntax is checked on every keystroke (:func:`hostname_syntax_error`);
the name is then looked up live with this host's resolvers and the public
ones (:func:`check_dns`). Whether it resolves to the chosen address is the
next step's business, so the address-matching findings are left out here.
"""

from __future__ import annotations

from textual.app import ComposeResult

from wizard.answers import Answers
from wizard.checks.hostname import hostname_syntax_error
from wizard.findings import Finding
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.field import CheckedField

# dns.* findings about the chosen address, shown on the Public IP step instead.
ADDRESS_CODES: frozenset[str] = frozenset(
    {
        "dns.matches",
        "dns.mismatch",
        "dns.match_skipped",
        "dns.aaaa_elsewhere",
        "dns.extra_addresses",
    }
)


class HostnameScreen(StepScreen):
    """The bastion's public, fully qualified host name."""

    STEP = "hostname"
    TITLE = "Bastion host name"

    def compose_body(self) -> ComposeResult:
        """One field: the name, checked against local and public DNS."""
        yield CheckedField(
            "Public host name of this bastion",
            self.answers.bastion.hostname,
            syntax=hostname_syntax_error,
            check=self._check,
            placeholder="bastion-host.my-company.com",
            progress="Looking the name up in DNS",
            id="hostname",
        )

    async def _check(self, name: str) -> list[Finding]:
        from wizard.checks.dns import check_dns
        from wizard.checks.hostname import check_hostname

        findings = check_hostname(name)
        dns = await check_dns(name, "", self.wizard.context)
        return findings + [f for f in dns if f.code not in ADDRESS_CODES]

    def store(self, answers: Answers) -> None:
        """The name as typed."""
        answers.bastion.hostname = self.query_one("#hostname", CheckedField).value.strip()
