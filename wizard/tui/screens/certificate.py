"""Step 4, Certificate: a publicly trusted certificate for the name, and its key.

Certificates found on this host (``/etc/letsencrypt/live``, ``/etc/ssl``,
``/etc/pki/tls``, ``/etc/nginx``, the working directory; in the demo, its own
certificate directory) are listed in a table that fits 80 columns (verdict,
subject, expiry, why), the highlighted one spelled out below it (the whole
verdict, path, names, issuer). Only server certificates are listed (no CA
certificate, nothing from the trust store's directories), and the note says
plainly when none is for the host name. Enter on a row picks it and finds
the matching key (only there: Enter in the empty field never fills one in);
a path can also be typed. "Get a certificate" asks an ACME CA through
certbot (:mod:`wizard.tui.screens.get_certificate`) and fills in the new
lineage. The chain and key are then checked live (:func:`check_certificate`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.widgets import Button, DataTable, Input, Static

from wizard.answers import Answers
from wizard.findings import Finding, counted
from wizard.safetext import visible
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.field import CheckedField, Extra
from wizard.tui.widgets.findings import BADGES

if TYPE_CHECKING:
    from wizard.checks.cert_discovery import CertificateSummary
    from wizard.install.acme import CertificateResult


def certificate_path_error(text: str) -> str | None:
    """Offline: a path was entered."""
    return None if text.strip() else "enter the certificate file (the full chain, PEM)"


def key_path_error(text: str) -> str | None:
    """Offline: a path was entered."""
    return None if text.strip() else "enter the private key file (PEM)"


# Column widths of the certificate table: with the cell padding (2 per column)
# it takes 74 columns, what the body has at 80 columns with the step line. A
# wider body gives the rest to "Why".
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Verdict", 7),
    ("Subject", 22),
    ("Expires", 10),
    ("Why", 27),
)


WIDE_WHY = 40
"""From this width (a 120-column terminal) the Why column wraps instead of being cut."""


def _cell(text: str, width: int) -> Text:
    """``text`` cut to ``width`` with an ellipsis (the detail below has it whole)."""
    return Text(text if len(text) <= width else text[: width - 1] + "…", no_wrap=True)


class CertificateScreen(StepScreen):
    """Pick or type the certificate chain; the key is found when possible."""

    STEP = "certificate"
    TITLE = "TLS certificate"
    HINT = "Tab: key, Get a certificate, the certificates here.  Ctrl+R: check again."

    def __init__(self) -> None:
        super().__init__()
        self._summaries: dict[str, CertificateSummary] = {}

    def compose_body(self) -> ComposeResult:
        """The certificate and key paths with their findings, then the ones found here."""
        bastion = self.answers.bastion
        yield CheckedField(
            "Certificate chain (fullchain.pem)",
            bastion.certificate,
            syntax=certificate_path_error,
            check=self._check,
            placeholder="/etc/letsencrypt/live/<name>/fullchain.pem",
            progress="Validating the chain and the key",
            extras=[
                Extra(
                    "private-key",
                    "Private key (found automatically when possible)",
                    bastion.private_key,
                    syntax=key_path_error,
                    optional=False,
                    placeholder="/etc/letsencrypt/live/<name>/privkey.pem",
                )
            ],
            id="certificate",
        )
        yield Static("Looking for certificates on this host ...", id="cert-note", classes="note")
        yield Button(
            "No certificate yet? Get a certificate (Let's Encrypt, via certbot)",
            id="get-certificate",
            compact=True,
        )
        table: DataTable[str | Text] = DataTable(
            id="candidates", cursor_type="row", zebra_stripes=True
        )
        table.display = False
        yield table
        yield Static("", id="cert-detail")

    def setup(self) -> None:
        """Start looking for certificates."""
        self._discover()

    @property
    def field(self) -> CheckedField:
        """The certificate field."""
        return self.query_one("#certificate", CheckedField)

    async def _check(self, cert_path: str) -> list[Finding]:
        from wizard.checks.certificate import check_certificate

        key_path = self.field.extra_value("private-key")
        return await check_certificate(
            cert_path, key_path, self.answers.bastion.hostname, self.wizard.context
        )

    @work(group="discover", exclusive=True, exit_on_error=False)
    async def _discover(self) -> None:
        """Find and summarise candidate certificates (file work in a thread)."""
        await self.wizard.preloaded()  # cryptography, imported off the event loop
        from wizard.checks.cert_discovery import (
            discover_server_certificates,
            summarize_certificate,
            summary_matches,
        )

        roots = self.wizard.session.certificate_roots
        hostname = self.answers.bastion.hostname
        ctx = self.wizard.context

        def find() -> list[CertificateSummary]:
            return [
                summarize_certificate(str(path), hostname, ctx)
                for path in discover_server_certificates(roots, ctx)
            ]

        summaries = await asyncio.to_thread(find)
        note = self.query_one("#cert-note", Static)
        if not summaries:
            where = ", ".join(str(root) for root in roots)
            # The roots include the working directory: a name, never markup.
            note.update(
                Text(
                    visible(
                        f"No server certificate found in {where}. Type its path above, or get "
                        "one with the button below."
                    )
                )
            )
            return
        matching = [s for s in summaries if hostname and summary_matches(s, hostname)]
        if hostname and not matching:
            # The host name is typed text: shown as a name, never markup.
            note.update(
                Text(
                    visible(
                        f"None of the {counted(len(summaries), 'certificate')} found on this "
                        f"host is for {hostname}. Get one with the button below, or type the "
                        "path of one."
                    )
                )
            )
        else:
            note.update(
                f"{counted(len(summaries), 'certificate')} found on this host: Tab here, "
                "Up/Down, Enter picks one"
            )
        table = self.query_one("#candidates", DataTable)
        widths = [width for _, width in COLUMNS]
        # Less the cell padding, and a column for a vertical scrollbar that may come.
        room = self.query_one("#body").content_size.width - 2 * len(widths) - 2
        widths[-1] = max(widths[-1], room - sum(widths[:-1]))
        # Shown before it is filled: an auto-height table filled while hidden could keep
        # the height it had then (none), the rows there and no table on the screen.
        table.display = True
        for (label, _), width in zip(COLUMNS, widths):
            table.add_column(label, width=width)
        self._summaries = {summary.path: summary for summary in summaries}
        # A wide body (120x40) has the room for the whole "why": it wraps onto a second
        # line there; at 80x24 one line a row keeps every candidate in view, the detail
        # below spelling the highlighted one out.
        wide = widths[3] >= WIDE_WHY
        for summary in summaries:
            word, style = BADGES[summary.status]
            expires = summary.not_after.strftime("%Y-%m-%d") if summary.not_after else "?"
            table.add_row(
                Text(word, style=style),
                _cell(summary.subject or "?", widths[1]),
                expires,
                Text(summary.verdict) if wide else _cell(summary.verdict, widths[3]),
                key=summary.path,
                height=None if wide else 1,
            )
        chosen = self.field.value.strip()
        if chosen in self._summaries:
            table.move_cursor(row=list(self._summaries).index(chosen))
        # The focus stays in the field: Enter there never picks a row the admin did not choose.

    @on(events.DescendantFocus)
    def _focused(self, event: events.DescendantFocus) -> None:
        """With the table focused, show it with its heading and the highlighted details."""
        if event.widget.id == "candidates":
            self.query_one("#cert-note").scroll_visible(top=True, animate=False)

    @on(DataTable.RowHighlighted, "#candidates")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Spell out the highlighted certificate (the columns are narrow at 80x24)."""
        summary = self._summaries.get(str(event.row_key.value))
        if summary is None:
            return
        word, style = BADGES[summary.status]
        detail = Text(word, style=style)
        detail.append(f" {summary.verdict}\n")
        detail.append(summary.path + "\n", style="bold")
        if summary.names:
            detail.append("Names: " + ", ".join(summary.names) + "\n")
        detail.append(f"Issuer: {summary.issuer or '?'}")
        self.query_one("#cert-detail", Static).update(detail)

    @on(DataTable.RowSelected, "#candidates")
    async def _picked(self, event: DataTable.RowSelected) -> None:
        from wizard.checks.cert_discovery import find_matching_key

        path = str(event.row_key.value)
        field = self.field
        key = await asyncio.to_thread(find_matching_key, path)
        field.extra("private-key").value = key or ""
        field.value = path
        if key is None:
            self.say("No matching key found beside it: type the key's path.", problem=True)
            field.extra("private-key").focus()
        else:
            self.say(f"Key found: {Path(key).name}")
            field.input.focus()

    @on(Input.Changed, "#certificate .main-input")
    async def _typed(self, event: Input.Changed) -> None:
        """A typed (or pasted) certificate path finds its key too, as a picked one does."""
        from wizard.checks.cert_discovery import find_matching_key

        key = self.field.extra("private-key")
        path = event.value.strip()
        if key.value.strip() or not os.path.isabs(path):
            return

        def beside() -> str | None:
            return find_matching_key(path) if os.path.isfile(path) else None

        found = await asyncio.to_thread(beside)
        if found is not None and not key.value.strip() and self.field.value.strip() == path:
            key.value = found
            self.say(f"Key found beside it: {Path(found).name}")

    @on(Button.Pressed, "#get-certificate")
    def _get_certificate(self) -> None:
        """Open "Get a certificate" for the host name (not in the demo: it needs the internet)."""
        from dataclasses import replace

        from wizard.tui.screens.get_certificate import GetCertificateScreen

        session, bastion = self.wizard.session, self.answers.bastion
        if session.acme is None:
            self.say("Getting a certificate needs a real CA on the internet: not in the demo.")
            return
        if not bastion.hostname or not bastion.public_ip:
            self.say(
                "Enter the host name and the public IP first: the CA checks them.", problem=True
            )
            return
        request = replace(session.acme(), hostname=bastion.hostname, public_ip=bastion.public_ip)
        screen = GetCertificateScreen(request, self.answers.copy(), session)
        self.app.push_screen(screen, self._got_certificate)

    def _got_certificate(self, result: CertificateResult | None) -> None:
        """Continue with the new lineage selected (and checked live)."""
        if result is None or not result.ok:
            return
        field = self.field
        field.extra("private-key").value = result.private_key
        field.value = result.certificate
        field.input.focus()
        done = "New certificate" if result.issued else "Certificate kept (not due)"
        self.say(f"{done}: {result.lineage}; certbot renews it and nginx reloads after.")

    def store(self, answers: Answers) -> None:
        """Both paths as typed."""
        answers.bastion.certificate = self.field.value.strip()
        answers.bastion.private_key = self.field.extra_value("private-key").strip()
