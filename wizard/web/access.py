"""Who may reach ``demo --web``: loopback unless ``--public`` is given; the URL to open.

The web demo has no authentication: whoever reaches its port gets a shell-free
but live demo of a tool that runs as root (its own nginx, its own servers). So
it listens on 127.0.0.1, and any other address is refused unless ``--public``
says the presenter accepts that, and then it is said loudly.

Listening on loopback is not enough against a web page the presenter has
open in the same browser: any site may open a websocket to 127.0.0.1
(:func:`origin_allowed` refuses one from another origin), and a name of the
attacker's that resolves to 127.0.0.1 (DNS rebinding) makes the browser send
its own name in ``Host`` (:func:`host_allowed` accepts only this server's
names).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_HOST",
    "check_host",
    "host_allowed",
    "is_loopback",
    "origin_allowed",
    "page_url",
    "public_warning",
]

DEFAULT_HOST = "127.0.0.1"
"""Where ``demo --web`` listens unless told otherwise."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    No name is looked up: a name other than ``localhost`` could resolve anywhere,
    so it counts as not loopback.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, *, public: bool) -> None:
    """Refuse a listening address beyond loopback unless ``public`` (``--public``) is set.

    Raises:
        ValueError: The address is not loopback and ``--public`` was not given;
            the message says why and how to reach the demo from elsewhere safely.
    """
    if public or is_loopback(host):
        return
    raise ValueError(
        f"demo --web refuses to listen on {host}: the web demo has no authentication, and "
        "anyone who reaches it drives the demo of a tool that runs as root. It listens on "
        f"{DEFAULT_HOST} by default; to show it from another machine, forward the port over "
        "SSH (ssh -L 8000:127.0.0.1:8000 this-host, then open http://127.0.0.1:8000/ there), "
        "or add --public if you accept that risk on a network you trust."
    )


def public_warning(host: str) -> str:
    """What ``--public`` prints when the address is not loopback."""
    return (
        f"WARNING: demo --web listens on {host} with no authentication: anyone who can reach "
        "this port drives the demo of a tool that runs as root, with its own nginx and "
        "servers on this host. Stop it (Ctrl+C) as soon as the demo is over."
    )


def _split_host(value: str) -> str:
    """The name or address of a ``Host`` header (``[::1]:8000`` -> ``::1``)."""
    try:
        return urlsplit(f"//{value}").hostname or ""
    except ValueError:
        return ""


def host_allowed(host_header: str | None, *, listen_host: str, public: bool) -> bool:
    """Whether a request's ``Host`` names this server (DNS rebinding names another).

    Loopback addresses and ``localhost`` are accepted on any port (an SSH
    tunnel may forward another one), and so is the address it listens on. With
    ``--public`` every name is: the presenter accepted that anyone may reach it.
    """
    if public:
        return True
    if not host_header:
        return False
    name = _split_host(host_header)
    return is_loopback(name) or name == listen_host.strip("[]").lower()


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """Whether a websocket comes from this server's own page.

    Browsers always send ``Origin`` on a websocket; another site's page sends
    its own. A client without one is not a browser (and could send anything).
    """
    if origin is None:
        return True
    return bool(host_header) and urlsplit(origin).netloc.lower() == (host_header or "").lower()


def page_url(host: str, port: int) -> str:
    """The address to open in a browser (IPv6 in brackets; 0.0.0.0 and :: as 127.0.0.1)."""
    shown = host.strip("[]")
    if shown in ("0.0.0.0", "::"):  # noqa: S104 - names the wildcard, binds nothing
        shown = DEFAULT_HOST
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"
