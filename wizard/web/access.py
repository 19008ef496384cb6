"""Who may reach ``demo --web``: loopback unless ``--public`` is given; the URL to open.

The web demo has no authentication: whoever reaches its port gets a shell-free
but live demo of a tool that runs as root (its own nginx, its own servers). So
it listens on 127.0.0.1, and any other address is refused unless ``--public``
says the presenter accepts that, and then it is said loudly.
"""

from __future__ import annotations

import ipaddress

__all__ = ["DEFAULT_HOST", "check_host", "is_loopback", "page_url", "public_warning"]

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


def page_url(host: str, port: int) -> str:
    """The address to open in a browser (IPv6 in brackets; 0.0.0.0 and :: as 127.0.0.1)."""
    shown = host.strip("[]")
    if shown in ("0.0.0.0", "::"):  # noqa: S104 - names the wildcard, binds nothing
        shown = DEFAULT_HOST
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"
