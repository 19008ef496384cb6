"""Is the bastion's hostname a usable, fully qualified DNS name? (no network)

Slack and Microsoft reach the bastion by name, over HTTPS, so the name must be
a fully qualified host name (letters, digits and hyphens per label, at most 63
characters a label and 253 in all) that the public DNS can answer for.
Internationalized names are accepted: they are shown as typed and checked, and
looked up, in their ASCII (punycode) form, converted per IDNA 2008 with the
UTS #46 mapping when the ``idna`` package is present (it comes with httpx),
else with the standard library's IDNA 2003 codec.

:func:`hostname_syntax_error` is cheap enough for keystroke validation;
:func:`check_hostname` returns the findings (``hostname.*`` codes).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from wizard.findings import Finding, fail, ok, warn
from wizard.hostnames import label_to_ascii, label_to_unicode, uts46_map

MAX_LABEL = 63
MAX_NAME = 253

# Top-level (or final two-label) domains that the public DNS never answers for.
RESERVED_SUFFIXES: dict[str, str] = {
    "local": "reserved for multicast DNS on the local link (RFC 6762)",
    "localhost": "reserved for the host itself (RFC 6761)",
    "test": "reserved for testing (RFC 6761)",
    "example": "reserved for documentation (RFC 6761)",
    "invalid": "reserved to be invalid (RFC 6761)",
    "internal": "reserved by ICANN for private networks",
    "home.arpa": "reserved for home networks (RFC 8375)",
    "lan": "a private-network convention, not a public top-level domain",
    "localdomain": "a private-network convention, not a public top-level domain",
    "corp": "a private-network convention that ICANN will not delegate",
    "home": "a private-network convention that ICANN will not delegate",
}

# Letters of other scripts that look like Latin ones (after Unicode TR #39).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q", "г": "r",
    "ѕ": "s", "т": "t", "ս": "u", "ѵ": "v", "ԝ": "w", "х": "x", "у": "y", "ӡ": "z",
    "ё": "e", "ї": "i", "ӧ": "o",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Armenian
    "օ": "o", "ո": "n", "հ": "h", "ց": "g", "զ": "q",
}  # fmt: skip

# Script combinations that are normal within one label (UTS #39 "highly restrictive").
_ALLOWED_MIXES: tuple[frozenset[str], ...] = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)
_ASCII_OK = re.compile(r"[a-z0-9.-]")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_EXAMPLE = "e.g. bastion.my-company.com"
_RETYPE = "retype the name with letters, digits, hyphens and dots only"


class _Problem(Exception):
    """A syntax problem: its finding code, what is wrong and how to fix it."""

    def __init__(self, code: str, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.code = code
        self.problem = problem
        self.fix = fix

    @property
    def message(self) -> str:
        """The problem and its fix in one sentence."""
        return str(self)


# -- conversion ----------------------------------------------------------------


def _describe_char(char: str) -> str:
    """``'a space'``, ``"';'"``, ``'U+00A0 (NO-BREAK SPACE)'``: a character named for people."""
    names = {" ": "a space", "\n": "a line break", "\r": "a carriage return", "\t": "a tab"}
    if char in names:
        return names[char]
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'a control character')})"


def _reject_characters(text: str) -> None:
    """Refuse blanks, control characters and ASCII punctuation other than ``.-``."""
    for position, char in enumerate(text, start=1):
        if char == "_":
            raise _Problem(
                "hostname.invalid",
                f"underscore at position {position}: host names may not contain '_' "
                "(certificates and browsers reject it)",
                "use a hyphen '-' instead",
            )
        ascii_bad = char.isascii() and not _ASCII_OK.fullmatch(char.lower())
        if ascii_bad or char.isspace() or not char.isprintable():
            raise _Problem(
                "hostname.invalid",
                f"{_describe_char(char)} at position {position} is not allowed in a host name",
                f"remove it and use only letters, digits, hyphens and dots ({_EXAMPLE})",
            )


def _unicode_form(text: str) -> str:
    """The name mapped per UTS #46 (lower case, full-width dots to '.'), final dot removed."""
    try:
        mapped = uts46_map(text)
    except ValueError as exc:
        raise _Problem(
            "hostname.invalid", f"it cannot be used as a host name ({exc})", _RETYPE
        ) from None
    return mapped[:-1] if mapped.endswith(".") else mapped


def _label_to_ascii(label: str) -> str:
    """One label in ASCII: punycode (``xn--``) for non-ASCII labels."""
    try:
        return label_to_ascii(label)
    except ValueError as exc:
        raise _Problem(
            "hostname.invalid",
            f"label {label!r} is not a valid internationalized name under IDNA 2008 ({exc})",
            _RETYPE,
        ) from None


def _label_to_unicode(label: str) -> str:
    """One label for display: ``xn--`` labels decoded (refused when not valid punycode)."""
    try:
        return label_to_unicode(label)
    except ValueError as exc:
        raise _Problem(
            "hostname.invalid",
            f"label {label!r} starts with 'xn--' but is not valid punycode ({exc})",
            "type the name in its Unicode form or copy the exact punycode",
        ) from None


# -- syntax --------------------------------------------------------------------


def _check_label(label: str, position: int) -> None:
    """Refuse an empty, too long, hyphen-edged or non-LDH ASCII label."""
    shown = label if len(label) <= 24 else label[:20] + "..."
    where = f"label {position} ({shown!r})"
    if not label:
        raise _Problem("hostname.invalid", f"label {position} is empty", "remove the extra dot")
    if len(label) > MAX_LABEL:
        raise _Problem(
            "hostname.label_too_long",
            f"{where} is {len(label)} characters long; a label may have at most {MAX_LABEL}",
            "shorten that label",
        )
    if label.startswith("-") or label.endswith("-"):
        raise _Problem(
            "hostname.invalid",
            f"{where} starts or ends with a hyphen",
            "start and end every label with a letter or digit",
        )
    if not _LABEL.fullmatch(label):
        raise _Problem(
            "hostname.invalid",
            f"{where} has characters other than letters, digits and hyphens",
            f"use only those ({_EXAMPLE})",
        )


def _reject_ip(text: str) -> None:
    candidate = text.strip("[]")
    candidate = candidate[:-1] if candidate.endswith(".") else candidate
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return
    raise _Problem(
        "hostname.ip_address",
        f"{candidate} is an IP address, not a host name: Slack, Microsoft and the "
        "certificate need a DNS name",
        f"enter the name that resolves to this address ({_EXAMPLE})",
    )


def _check_whole(ascii_name: str, labels: list[str]) -> None:
    """Refuse a name too long, with a bad label, single-label or with a numeric TLD."""
    if len(ascii_name) > MAX_NAME:
        raise _Problem(
            "hostname.too_long",
            f"the name is {len(ascii_name)} characters long in ASCII form; a host name may "
            f"have at most {MAX_NAME}",
            "use a shorter name",
        )
    for position, label in enumerate(labels, start=1):
        _check_label(label, position)
    if len(labels) == 1:
        raise _Problem(
            "hostname.single_label",
            f"{ascii_name!r} is not fully qualified (it has no domain)",
            f"add the domain, e.g. {ascii_name}.my-company.com",
        )
    if labels[-1].isdigit():
        raise _Problem(
            "hostname.invalid",
            f"the last label {labels[-1]!r} is all digits, and no top-level domain is numeric",
            "enter a DNS name, or check whether this is an incomplete IP address",
        )


def _parse(text: str) -> tuple[str, str]:
    """Validate ``text``; return (ASCII name, Unicode name), both without the final dot.

    Raises:
        _Problem: With the finding code and message of the first problem found.
    """
    if not text.strip():
        raise _Problem("hostname.empty", "no host name was given", f"enter one ({_EXAMPLE})")
    _reject_ip(text)
    _reject_characters(text)
    labels = [_label_to_ascii(label) for label in _unicode_form(text).split(".")]
    ascii_name = ".".join(labels)
    _check_whole(ascii_name, labels)
    return ascii_name, ".".join(_label_to_unicode(label) for label in labels)


def hostname_syntax_error(text: str) -> str | None:
    """Why ``text`` is not a valid fully qualified host name, or ``None`` when it is.

    Cheap and offline: fit for validating every keystroke.

    Args:
        text: The name as typed (Unicode allowed; one final dot allowed).

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    try:
        _parse(text)
    except _Problem as problem:
        return problem.message
    return None


def to_ascii_hostname(text: str) -> str:
    """The ASCII form of a valid host name: lower case, punycode labels, no final dot.

    Args:
        text: The name as typed, e.g. ``Bücher.Example.com.``.

    Returns:
        E.g. ``xn--bcher-kva.example.com``.

    Raises:
        ValueError: When ``text`` is not a valid fully qualified host name; the
            message is the one of :func:`hostname_syntax_error`.
    """
    try:
        return _parse(text)[0]
    except _Problem as problem:
        raise ValueError(problem.message) from None


# -- findings ------------------------------------------------------------------


def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name (``None`` for digits and '-')."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0].split("-", 1)[0]  # KATAKANA-HIRAGANA ... -> KATAKANA
    return "CJK" if first in ("CJK", "IDEOGRAPHIC") else first or None


def _lookalike_reason(label: str) -> str | None:
    """Why a Unicode label could pass for another name, or ``None``."""
    scripts = {s for s in map(_script, label) if s is not None}
    if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
        return f"{label!r} mixes scripts ({', '.join(sorted(scripts))})"
    letters = [c for c in label if c.isalpha()]
    if letters and scripts and "LATIN" not in scripts and all(c in CONFUSABLES for c in letters):
        skeleton = "".join(CONFUSABLES.get(c, c) for c in label)
        return f"{label!r} is written in {scripts.pop().title()} but reads as Latin {skeleton!r}"
    return None


def _idn_findings(typed: str, ascii_name: str, unicode_name: str) -> list[Finding]:
    """``hostname.idn`` when the name is not plain ASCII as typed; ``hostname.lookalike``."""
    findings: list[Finding] = []
    if unicode_name != ascii_name:
        title = f"Internationalized name: {unicode_name} is {ascii_name} in DNS"
    elif typed.rstrip(".").lower() != ascii_name:
        title = f"{_shorten(typed)!r} is {ascii_name} in DNS (characters normalized)"
    else:
        title = ""
    if title:
        findings.append(
            ok(
                "hostname.idn",
                title,
                f"Typed as {typed!r}; DNS, certificates and nginx use the ASCII form "
                f"{ascii_name}. Enter that form at Slack and Microsoft if they refuse the "
                "Unicode one.",
            )
        )
    reasons = [r for r in map(_lookalike_reason, unicode_name.split(".")) if r]
    if reasons:
        findings.append(
            warn(
                "hostname.lookalike",
                f"{unicode_name} contains look-alike characters",
                "; ".join(reasons)
                + f". In DNS it is {ascii_name}, a different name from the one it resembles.",
                "Check that this is really the name you registered; retype it with a plain "
                "keyboard layout if the look-alike letters came from a copy and paste.",
            )
        )
    return findings


def _reserved_suffix(ascii_name: str) -> tuple[str, str] | None:
    labels = ascii_name.split(".")
    for suffix in (".".join(labels[-2:]), labels[-1]):
        if suffix in RESERVED_SUFFIXES:
            return suffix, RESERVED_SUFFIXES[suffix]
    return None


def _reserved_findings(ascii_name: str) -> list[Finding]:
    reserved = _reserved_suffix(ascii_name)
    if reserved is None:
        return []
    suffix, why = reserved
    title = f"{ascii_name} ends in .{suffix}, which is not publicly resolvable"
    detail = (
        f".{suffix} is {why}. Public resolvers, and so Slack and Microsoft, can never "
        "look this name up."
    )
    return [
        warn(
            "hostname.reserved_tld",
            title,
            detail,
            "Use a name in a domain registered on the internet (e.g. bastion.my-company.com); "
            "keep this one only for a lab (--lab).",
        )
    ]


def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _sentence(text: str) -> str:
    """``'no name given'`` -> ``'No name given.'``"""
    return text[:1].upper() + text[1:] + "."


def check_hostname(hostname: str) -> list[Finding]:
    """Check the bastion's host name offline.

    A reserved top-level domain warns; lab mode's relaxation is applied by the
    caller (:func:`wizard.findings.apply_lab_mode`).

    Args:
        hostname: The name as typed (Unicode allowed; one final dot allowed).

    Returns:
        ``hostname.empty``/``invalid``/``label_too_long``/``too_long``/
        ``single_label``/``ip_address`` (one ``fail``) when the syntax is
        wrong; else ``hostname.ok``, plus ``hostname.idn``,
        ``hostname.lookalike`` and ``hostname.reserved_tld`` as they apply.
    """
    try:
        ascii_name, unicode_name = _parse(hostname)
    except _Problem as problem:
        title = (
            "No host name given"
            if problem.code == "hostname.empty"
            else f"{_shorten(hostname)!r} is not a valid host name"
        )
        detail = f"{_sentence(problem.problem)} Typed: {hostname!r}."
        return [fail(problem.code, title, detail, _sentence(problem.fix))]
    findings = [ok("hostname.ok", f"{ascii_name} is a valid fully qualified host name")]
    findings += _idn_findings(hostname, ascii_name, unicode_name)
    findings += _reserved_findings(ascii_name)
    return findings
