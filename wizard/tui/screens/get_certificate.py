"""The Certificate step's "Get a certificate": ACME through the host's certbot, with progress.

It runs what ``codestream-bastion certificate`` runs
(:func:`wizard.install.acme.obtain_certificate`) in a worker: the pre-check
(DNS points here, the port, CAA, certbot), certbot, the renewal hook. Each
step is shown as it starts; the DNS-01 record to create is shown while the
public resolvers are asked for it; a failure is shown in certbot's own words
(or the failing check's), and the dialog stays open to try again. On
success it closes with the result, and the step fills in the new lineage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Static

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.install import Installer
    from wizard.install.acme import CertificateRequest, CertificateResult
    from wizard.tui.session import WizardSession


class GetCertificateScreen(ModalScreen["CertificateResult | None"]):
    """Ask an ACME CA for the bastion's certificate; dismisses with the result on success.

    Args:
        request: What to ask for (name, address, CA, certbot's directory).
        answers: The wizard's answers (a copy: the step fills in the result).
        session: The wizard's session (its check context, how it installs).
    """

    DEFAULT_CSS = """
    GetCertificateScreen .acme-box { height: 90%; }
    GetCertificateScreen .acme-log { height: 1fr; border: round $panel; }
    GetCertificateScreen Input { margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(
        self, request: CertificateRequest, answers: Answers, session: WizardSession
    ) -> None:
        super().__init__(classes="dialog")
        self.request = request
        self.answers = answers
        self.session = session
        self.lines = Text()

    def compose(self) -> ComposeResult:
        """What will happen, the options, the progress log, the buttons."""
        request = self.request
        with Vertical(classes="dialog-box acme-box"):
            yield Static("Get a certificate (ACME, through certbot)", classes="dialog-title")
            yield Static(
                f"For {request.cert_name}, from {request.acme_server}. First checked here: "
                "DNS points at this host, the challenge port, CAA, certbot; the CA is only "
                "asked when all pass.",
                classes="dialog-message",
            )
            yield Input(placeholder="Contact e-mail for the CA (optional)", id="acme-email")
            yield Checkbox("DNS-01: I will create a TXT record (port 80 closed)", id="acme-dns01")
            with VerticalScroll(classes="acme-log"):
                yield Static("", id="acme-progress")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", id="acme-start", compact=True, variant="primary")
                yield Button("Close (Esc)", id="acme-close", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        """Start has the focus: Enter begins."""
        self.query_one("#acme-start", Button).focus()

    def log_line(self, text: str, style: str = "") -> None:
        """Add a line to the progress log."""
        self.lines.append(text + "\n", style=style)
        self.query_one("#acme-progress", Static).update(self.lines)

    def progress(self, kind: str, text: str) -> None:
        """The worker's progress, as lines."""
        if kind == "dns_record":
            self.log_line("Create this DNS record at the domain's DNS provider:", "bold")
            self.log_line(f"  {text}", "bold")
            self.log_line("Waiting until every public resolver answers it ...")
        elif kind == "step":
            self.log_line(f"- {text}")

    @on(Button.Pressed, "#acme-start")
    def _start(self) -> None:
        from dataclasses import replace

        email = self.query_one("#acme-email", Input).value.strip()
        dns01 = self.query_one("#acme-dns01", Checkbox).value
        request = replace(self.request, email=email, challenge="dns-01" if dns01 else "http-01")
        self.query_one("#acme-start", Button).disabled = True
        self.lines = Text()
        self._obtain(request)

    @work(group="acme", exclusive=True, exit_on_error=False)
    async def _obtain(self, request: CertificateRequest) -> None:
        """The same code as ``codestream-bastion certificate``, then the verdict."""
        from wizard.install.acme import obtain_certificate
        from wizard.tui.outputs import make_installer

        session = self.session

        async def installer(new: Answers) -> Installer:
            return await make_installer(new, session)

        result = await obtain_certificate(
            request,
            self.answers,
            None,
            session.context,
            make_installer=installer,
            progress=self.progress,
        )
        self.show(result)

    def show(self, result: CertificateResult) -> None:
        """The verdict: close with the lineage, or certbot's words and try again."""
        if result.ok:
            for step in result.steps:
                self.log_line(step)
            self.dismiss(result)
            return
        failed = [f for f in result.findings if f.status == "fail"]
        for finding in failed:
            self.log_line(f"FAIL {finding.title}", "bold red")
            if finding.remedy:
                self.log_line(f"  Fix: {finding.remedy}")
        if not failed:
            self.log_line("certbot said:", "bold red")
            for line in result.error.splitlines():
                self.log_line(f"  {line}")
            self.log_line(f"Fix: {result.remedy}")
        start = self.query_one("#acme-start", Button)
        start.label = "Try again"
        start.disabled = False

    def action_close(self) -> None:
        """Close without a certificate (a running certbot is stopped: its worker is cancelled)."""
        self.workers.cancel_group(self, "acme")
        self.dismiss(None)

    @on(Button.Pressed, "#acme-close")
    def _close(self) -> None:
        self.action_close()
