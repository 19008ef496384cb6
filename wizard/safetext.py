"""The one sanitiser for text the tool did not write itself.

A certificate's subject, an upstream's ``Server`` header, a DNS answer, a file
name, a line of nginx's error log: any of them may carry terminal control
sequences (``ESC ] 52 ;`` sets the terminal's clipboard, ``ESC [`` moves the
cursor and recolours, ``ESC ] 0 ;`` sets the window title, a C1 ``CSI`` byte
U+009B does what ``ESC [`` does on many terminals). Rich and Textual strip BEL,
BS, VT, FF and CR, but not ESC, and a plain ``print`` strips nothing.

:func:`visible` turns every C0 control, DEL and C1 control into a visible
escape (``\\x1b``, ``\\x7f``, ``\\u009b``) so that the text still says what was
there, and the terminal never receives it. It is applied where untrusted text
enters the program's own values (a :class:`~wizard.findings.Finding`, a
certificate's names, a file name shown, an error message), not at each print,
so that every output (text, JSON, Prometheus, Nagios, the TUI, next steps)
gets clean text from one place.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL", "has_control", "visible"]

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Every C0 control, DEL, every C1 control (U+0080-U+009F), and lone surrogates.

A lone surrogate is what Python makes of a file name's bytes that are not
UTF-8 (``surrogateescape``): it cannot be written to a UTF-8 stream at all, so
printing one would end the run with a traceback.
"""

_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""The same, less line feed and tab (text the program lays out in lines)."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character shown as an escape, never emitted.

    Args:
        text: Any text, e.g. a certificate subject or an HTTP header value.
        lines: Keep line feeds and tabs (a multi-line detail the program lays
            out); carriage returns are escaped all the same, since one can
            overwrite a line that was already written.

    Returns:
        The text unchanged when it holds no control character; otherwise
        ESC as ``\\x1b``, DEL as ``\\x7f``, a C1 control as ``\\u009b`` and a
        lone surrogate as ``\\udcff``.
    """
    pattern = _KEEP_LINES if lines else CONTROL
    if pattern.search(text) is None:  # the usual case: no copy
        return text
    return pattern.sub(_escape, text)


def has_control(text: str) -> bool:
    """Whether ``text`` holds any C0, DEL or C1 control character."""
    return CONTROL.search(text) is not None
