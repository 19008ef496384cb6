"""Host names to ASCII: the one place that speaks IDNA.

Names are shown as typed and compared, resolved and written into nginx in
their ASCII form: lower case, Unicode labels as punycode (``xn--``), no final
dot. The rules are IDNA 2008 with the UTS #46 mapping, from the ``idna``
package (it comes with httpx); without it, Python's own IDNA 2003 codec is the
fallback. ``idna`` is imported where it is used, never at start-up.
"""

from __future__ import annotations

import re
import unicodedata


def uts46_map(text: str) -> str:
    """``text`` mapped per UTS #46: lower case, compatibility forms folded, full-width dots.

    Raises:
        ValueError: When a character cannot appear in a host name (the message says which).
    """
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        mapped = unicodedata.normalize("NFKC", text).casefold()
        return re.sub("[\u3002\uff0e\uff61]", ".", mapped)
    try:
        return str(idna.uts46_remap(text, std3_rules=True, transitional=False))
    except idna.IDNAError as exc:
        raise ValueError(str(exc)) from None


def label_to_ascii(label: str) -> str:
    """One label in ASCII: punycode (``xn--``) for a non-ASCII label, else unchanged.

    Raises:
        ValueError: When the label is not a valid internationalized label.
    """
    if label.isascii():
        return label
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        try:
            return label.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(str(exc)) from None
    try:
        return str(idna.alabel(label).decode("ascii"))
    except idna.IDNAError as exc:
        raise ValueError(str(exc)) from None


def label_to_unicode(label: str) -> str:
    """One ``xn--`` label decoded for display (other labels unchanged).

    Raises:
        ValueError: When a label starting with ``xn--`` is not valid punycode.
    """
    if not label.startswith("xn--"):
        return label
    try:
        import idna

        return str(idna.ulabel(label))
    except (ImportError, UnicodeError) as exc:
        raise ValueError(str(exc)) from None


def to_ascii(name: str) -> str:
    """A whole name in ASCII: UTS #46 mapping (lower case), then each label checked.

    ASCII names are checked too (IDNA refuses empty labels and ``_``).

    Args:
        name: A host name, without a final dot.

    Raises:
        ValueError: When the name cannot be written in ASCII (the message says why).
    """
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        try:
            return name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(str(exc)) from None
    try:
        return str(idna.encode(name, uts46=True).decode("ascii"))
    except idna.IDNAError as exc:
        raise ValueError(str(exc)) from None


def to_ascii_lenient(hostname: str) -> str:
    """``hostname`` as nginx compares ``server_name``: lower case, punycode, no final dot.

    Never raises: a name that cannot be converted is compared as typed (lower
    case), which can only fail to match.
    """
    name = hostname.strip().rstrip(".")
    try:
        return to_ascii(name).lower()
    except ValueError:
        return name.lower()
