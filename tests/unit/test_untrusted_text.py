"""Untrusted text through every output: no control character the tool did not write.

A property test over arbitrary strings (hypothesis): whatever a certificate,
a header, a DNS answer, a log line or a file name holds, it reaches the text
report, JSON, Prometheus, Nagios, the next steps, the log explanations and the
TUI (the rendered screen and the bytes its driver writes) with every C0
control, DEL and C1 control shown as an escape (``\\x1b``, ``\\u009b``), never
emitted. Certificates with OSC 52, CSI and C1 in subject, issuer and SAN are
real ones, issued by the test CA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App, ComposeResult
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Static

from tests.unit.test_render import make_answers, render
from wizard.checks.cert_discovery import discover_certificates, summarize_certificate
from wizard.checks.context import CheckContext
from wizard.checks.fingerprint import release_findings, release_in
from wizard.checks.proxy import explain_gateway_errors
from wizard.constants import NEXT_STEPS_NAME
from wizard.demo.ca import TestCA, cert_pem
from wizard.findings import Finding
from wizard.probes.tls import describe_certificate
from wizard.report import (
    CheckRun,
    findings_json,
    format_nagios,
    format_prometheus,
    format_report,
    nagios_unknown,
)
from wizard.safetext import CONTROL, visible
from wizard.tui.widgets.findings import FindingsList

# Every control character a terminal may act on, and the printable neighbours.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0, max_codepoint=0x20),
        st.characters(min_codepoint=0x7F, max_codepoint=0xA0),
        st.sampled_from(list("[]@=:/\\;\"'|{}%$ab \u202e\u2028")),
        st.characters(),
    ),
    max_size=60,
)
OSC52 = "\x1b]52;c;Y3VybCB4fHNo\x07"  # sets the clipboard to "curl x|sh"
TITLE = "\x1b]0;pwned\x1b\\"
CSI = "\x1b[5i\x9b2J"  # printer on; C1 CSI clear screen
PAYLOADS = (OSC52, TITLE, CSI, "\x00\x08\x0d\x7f\x85\x9d")
LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # line feeds and tabs are the layout


def clean(text: str, *, lines: bool = True) -> bool:
    """No control character (a line feed allowed where the output has lines)."""
    return (LINES if lines else CONTROL).search(text) is None


def finding(title: str, detail: str, remedy: str) -> Finding:
    return Finding("cert.untrusted", "fail", title, detail, "fix: " + remedy)


# -- the sanitiser ----------------------------------------------------------------------------


@given(HOSTILE)
def test_visible_leaves_no_control_character_and_names_each(text: str) -> None:
    shown = visible(text)
    assert CONTROL.search(shown) is None
    for char in set(CONTROL.findall(text)):
        code = ord(char)
        assert (f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}") in shown
    assert clean(visible(text, lines=True))
    assert "\r" not in visible(text, lines=True)  # a carriage return could overwrite a line
    if CONTROL.search(text) is None:
        assert shown == text


def test_visible_spells_the_attacks_out() -> None:
    assert visible(OSC52) == "\\x1b]52;c;Y3VybCB4fHNo\\x07"
    assert visible(CSI) == "\\x1b[5i\\u009b2J"
    assert visible("a\nb\tc", lines=True) == "a\nb\tc"
    assert visible("a\nb") == "a\\x0ab"


# -- the outputs of findings ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_findings_reach_every_format_without_control_characters(
    title: str, detail: str, remedy: str, path: str
) -> None:
    findings = [finding(title, detail, remedy), Finding("upstream.ok", "ok", title, detail)]
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    run = CheckRun(now, 0.25, path, now + dt.timedelta(days=40))
    outputs = {
        "text": format_report(findings, colour=False),
        "json": findings_json(findings),
        "prometheus": format_prometheus(findings, run),
        "nagios": format_nagios(findings, run),
        "unknown": nagios_unknown(title),
    }
    for name, text in outputs.items():
        assert clean(text), name
        raw = text.encode("utf-8")
        assert b"\x1b" not in raw, name
        assert b"\x07" not in raw, name
    assert clean(outputs["nagios"], lines=False)
    parsed = json.loads(outputs["json"])["findings"][0]
    # JSON keeps the text readable: the escape is spelled, not decoded back to ESC.
    assert all(clean(value) for value in parsed.values())
    assert CONTROL.search(parsed["title"]) is None


@settings(max_examples=60, deadline=None)
@given(HOSTILE)
def test_a_release_header_keeps_only_the_version_it_matched(header: str) -> None:
    for prefix in ("", "14.0.3", "8.2.30-"):
        findings = release_findings(prefix + header, "")
        assert all(clean(f.title + f.detail + f.remedy) for f in findings)
        release = release_in(findings)
        assert release is None or re.fullmatch(r"\d+\.\d+\.\d+", release)
    for payload in PAYLOADS:  # nothing of the header but the matched numbers is repeated
        for f in release_findings("14.0.3" + payload + header, ""):
            assert visible(payload) not in f.title + f.detail


@pytest.mark.parametrize("payload", PAYLOADS)
def test_next_steps_carry_only_the_matched_release(payload: str) -> None:
    release = release_in(release_findings("14.0.3" + payload, ""))
    assert release == "14.0.3"
    text = render(make_answers(), release=release)[NEXT_STEPS_NAME].content.decode("utf-8")
    assert clean(text)
    assert "pwned" not in text


@settings(max_examples=40, deadline=None)
@given(HOSTILE)
def test_error_log_lines_are_explained_without_their_control_characters(text: str) -> None:
    text = text.replace("\n", "") + OSC52  # one line, as the log is read line by line
    line = (
        "2026/12/01 10:00:00 [error] 42#42: *7 connect() to 10.0.0.5:443 failed "
        f"(111: Connection refused) while connecting to upstream {text}, upstream: "
        f'"https://10.0.0.5:443/{text}"'
    )
    findings = explain_gateway_errors([line], Path("/var/log/nginx/x.log"))
    assert findings
    assert all(clean(f.title + f.detail + f.remedy) for f in findings)
    assert any(visible(OSC52) in f.detail for f in findings)  # nginx's words, spelled out


# -- certificates carrying the attack -----------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real certificate with OSC 52, CSI and C1 in its subject, issuer and SAN."""
    ca = TestCA(f"Evil{OSC52}", with_intermediate=False)
    issued = ca.issue(["ok.example.test", f"x{TITLE}.example.test"], common_name=f"a{CSI}b{OSC52}")
    directory = tmp_path_factory.mktemp("hostile")
    path = directory / "fullchain.pem"
    path.write_bytes(cert_pem(issued.cert))
    return path


def test_a_hostile_certificate_is_summarised_and_described_escaped(
    hostile_certificate: Path,
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    summary = summarize_certificate(str(hostile_certificate), "ok.example.test", CheckContext())
    for text in (summary.subject, summary.issuer, summary.verdict, *summary.names):
        assert CONTROL.search(text) is None, text
    assert "\\x1b]52;c;Y3VybCB4fHNo\\x07" in summary.subject
    assert "\\u009b2J" in summary.subject
    assert "Evil\\x1b]52" in summary.issuer
    assert any("\\x1b]0;pwned" in name for name in summary.names)
    der = x509.load_pem_x509_certificate(hostile_certificate.read_bytes()).public_bytes(
        Encoding.DER
    )
    assert CONTROL.search(describe_certificate(der)) is None


def test_discovery_leaves_out_a_name_holding_a_control_character(
    hostile_certificate: Path, tmp_path: Path
) -> None:
    data = hostile_certificate.read_bytes()
    (tmp_path / "plain.pem").write_bytes(data)
    (tmp_path / f"x{OSC52}.pem").write_bytes(data)
    (tmp_path / f"d{TITLE}").mkdir()
    (tmp_path / f"d{TITLE}" / "fullchain.pem").write_bytes(data)
    assert discover_certificates([tmp_path]) == [tmp_path / "plain.pem"]


# -- the TUI: the screen and the bytes its driver writes -----------------------------------------


class RecordingDriver(HeadlessDriver):
    """The headless driver, but rendering as a terminal's would, every byte kept."""

    written: ClassVar[list[str]] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        RecordingDriver.written.append(data)


class Host(App[None]):
    """The wizard's findings list and a status line, as the steps use them."""

    def __init__(self, findings: list[Finding], message: str) -> None:
        super().__init__(driver_class=RecordingDriver)
        self.findings = findings
        self.message = message

    def compose(self) -> ComposeResult:
        yield FindingsList(id="list")
        yield Static(id="status")
        yield FindingsList(id="error")

    def on_mount(self) -> None:
        self.query_one("#list", FindingsList).show_findings(self.findings, verbose=True)
        self.query_one("#error", FindingsList).show_error(self.message)
        self.query_one("#status", Static).update(Text(visible(self.message)))
        self.notify(visible(self.message), markup=False)


async def shown(findings: list[Finding], message: str) -> tuple[str, str]:
    RecordingDriver.written.clear()
    app = Host(findings, message)
    async with app.run_test(headless=False, size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
    return screen, "".join(RecordingDriver.written)


def attacker_bytes(written: str) -> list[str]:
    """Sequences in the driver's output that the app itself never writes."""
    # Textual's own: the mouse pointer's shape (OSC 22), e.g. "\x1b]22;default\x07".
    written = re.sub("\x1b\\]22;[a-z-]*\x07", "", written)
    found = [s for s in ("\x1b]", "\x07", "\x1b[5i", "\x1bP", "\x1b_", "\x1b^") if s in written]
    found += [c for c in written if 0x80 <= ord(c) <= 0x9F]
    found += [c for c in written if ord(c) < 0x20 and c not in "\x1b\r\n"]
    return found


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(HOSTILE, HOSTILE)
def test_the_tui_shows_hostile_text_escaped_on_screen_and_in_the_driver_bytes(
    title: str, detail: str
) -> None:
    findings = [finding(title, detail + OSC52, "x"), finding(CSI, TITLE, "y")]
    screen, written = asyncio.run(shown(findings, f"[bold]{title}[/] a[link=a:b].pem {OSC52}"))
    assert written, "the recording driver saw no output"
    assert attacker_bytes(written) == []
    assert "\\x1b]52;c;Y3VybCB4fHNo" in screen  # shown, spelled out
    assert "a[link=a:b].pem" in screen  # a name, never markup


def test_markup_in_a_message_is_shown_as_typed() -> None:
    message = "[@click=app.quit]x.pem [b]y[/b]"
    screen, written = asyncio.run(shown([], message))
    assert "[@click=app.quit]x.pem [b]y[/b]" in screen
    assert attacker_bytes(written) == []
