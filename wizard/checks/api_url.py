"""The CodeStream API URL and the pinned address: syntax only, no network.

:func:`parse_api_url` accepts ``http://`` or ``https://``, a host name (IDN as
punycode, :mod:`wizard.hostnames`) or an IP literal, an optional port and no
path, query or credentials; :func:`api_url_error` and
:func:`upstream_address_error` are cheap enough for keystroke validation.

:class:`Route` (where the probe connects) and :class:`Trust` (how it verifies
the API's certificate) are the plain data the upstream check
(:mod:`wizard.checks.upstream`) and its failure explanations
(:mod:`wizard.checks.upstream_failures`) share.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

EXAMPLE_URL = "https://codestream.my-company.com"
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass(frozen=True)
class ApiTarget:
    """The parts of an accepted ``api_url``.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The host, lower case; ASCII (punycode) for a name, bare for an IP.
        port: The TCP port (the scheme's default when the URL gives none).
    """

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        """True for ``https``."""
        return self.scheme == "https"

    @property
    def host_is_ip(self) -> bool:
        """True when the host is an IP literal (nothing to resolve)."""
        return _is_ip(self.host)

    @property
    def authority(self) -> str:
        """``host[:port]`` as in a URL and a ``Host`` header (default port omitted)."""
        return self._authority(self.host)

    def url(self, path: str = "", *, via: str | None = None) -> str:
        """The URL of ``path`` on the API, or on the address ``via`` (same port)."""
        return f"{self.scheme}://{self._authority(via or self.host)}{path}"

    def _authority(self, host: str) -> str:
        default = 443 if self.tls else 80
        bracketed = f"[{host}]" if ":" in host else host
        return bracketed if self.port == default else f"{bracketed}:{self.port}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host_to_ascii(host: str) -> str:
    """An IDN host as punycode (UTS 46), or the host unchanged when ASCII.

    Raises:
        ValueError: When the host cannot be written in ASCII.
    """
    if host.isascii():
        return host
    from wizard.hostnames import to_ascii

    try:
        return to_ascii(host)
    except ValueError as exc:
        raise ValueError(f"the host {host!r} is not a valid international name ({exc})") from None


def _host_error(host: str) -> str | None:
    """Why ``host`` (ASCII, lower case) is not a usable host name, or ``None``."""
    if len(host) > 253:
        return f"the host name is {len(host)} characters long; at most 253 are allowed"
    labels = host.split(".")
    for label in labels:
        if not _LABEL.match(label):
            return (
                f"the host label {label!r} is not valid: use 1-63 letters, digits and "
                "hyphens, not starting or ending with a hyphen"
            )
    if labels[-1].isdigit():
        return f"{host!r} looks like an IPv4 address but is not one: check the digits"
    return None


def parse_api_url(url: str) -> ApiTarget:
    """Split and validate ``api_url`` (syntax only, nothing is looked up).

    Args:
        url: The URL as typed, e.g. ``https://codestream.my-company.com:8443``.

    Returns:
        The scheme, host and port.

    Raises:
        ValueError: With a message naming the problem and the fix.
    """
    if not url.strip():
        raise ValueError(f"the API URL is empty: enter it, e.g. {EXAMPLE_URL}")
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise ValueError("the API URL contains blanks: remove them")
    if "://" not in url:
        raise ValueError(f"the API URL has no scheme: write https://{url} (or http://{url})")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(
            f"the API URL cannot be parsed ({exc}): write it like {EXAMPLE_URL}:8443"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"the scheme {parts.scheme!r} is not supported: use https:// or http://")
    if "@" in parts.netloc:
        raise ValueError(
            "the API URL contains a user name or password (user@): remove it, "
            "the bot endpoints need no login"
        )
    if "?" in url or "#" in url:
        raise ValueError("the API URL has a query or fragment (? or #): remove it")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"the API URL has a path ({parts.path}): the bot endpoints live at the API's "
            f"root, give only scheme, host and port, e.g. {EXAMPLE_URL}"
        )
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not a TCP port: use 1-65535 or leave it out")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"the API URL has no host: write it like {EXAMPLE_URL}")
    if "[" in parts.netloc and not (_is_ip(host) and ":" in host):
        # urlsplit refuses this itself from 3.11.4 on; 3.9 and 3.10 take any name in brackets.
        raise ValueError(
            f"the API URL cannot be parsed ({host!r} in brackets is not an IPv6 address): "
            "write an IPv6 address as https://[2001:db8::5]:8443 and a name without brackets"
        )
    if not _is_ip(host):
        host = _host_to_ascii(host).lower()
        problem = _host_error(host)
        if problem:
            raise ValueError(problem)
    return ApiTarget(scheme, host, port or (443 if scheme == "https" else 80))


def api_url_error(url: str) -> str | None:
    """Why ``url`` is not a usable ``api_url``, or ``None`` when it is.

    Syntax only (offline, cheap enough for every keystroke): scheme ``http`` or
    ``https``, a host, an optional port 1-65535, no user name or password, no
    query or fragment, and no path beyond ``/``.

    Args:
        url: The URL as typed.

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    try:
        parse_api_url(url)
    except ValueError as exc:
        return str(exc)
    return None


def upstream_address_error(text: str) -> str | None:
    """Why ``text`` is not a usable ``upstream_address``, or ``None`` when it is.

    Args:
        text: The pinned address as typed: a bare IPv4 or IPv6 address.

    Returns:
        A message naming the problem and the fix, or ``None``.
    """
    if text != text.strip():
        return "remove the blanks before or after the address"
    if "%" in text:
        return f"{text!r} has a zone id (%...), which nginx cannot use: give the bare address"
    if _is_ip(text):
        return None
    return (
        f"{text!r} is not an IP address: pin the API's address as a bare IPv4 or IPv6 "
        "address (e.g. 10.0.0.5), without port or brackets"
    )


_Origin = Literal["pinned", "literal", "resolved"]


@dataclass(frozen=True)
class Route:
    """The address the probe connects to, and how it was found."""

    address: str
    origin: _Origin

    def describe(self) -> str:
        how = {"pinned": "pinned", "literal": "from the URL", "resolved": "resolved"}
        return f"{self.address} ({how[self.origin]})"


@dataclass(frozen=True)
class Trust:
    """How the API's certificate is verified."""

    context: ssl.SSLContext | None  # None: plain HTTP, nothing to verify
    source: str  # for people: "upstream_ca /x.pem", "the trust store /etc/..."
    from_upstream_ca: bool = False
