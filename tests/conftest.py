"""Suite-wide rules: nothing leaves this machine, and no test touches /var/lib.

Every socket ``connect``/``sendto`` to an address outside loopback raises
:class:`OffMachineTraffic` before a packet is sent; so does resolving any name
other than ``localhost`` through the system. A test that would reach the
internet fails loudly instead of quietly depending on it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class OffMachineTraffic(RuntimeError):
    """Raised when code under test tries to talk to a non-loopback address."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _guard(address: Any) -> None:
    if not _is_local(address):
        raise OffMachineTraffic(f"test tried to reach {address!r}: only loopback is allowed")


def _connect(self: socket.socket, address: Any) -> None:
    _guard(address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _guard(address)
    return _real_connect_ex(self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _guard(args[-1])
    return _real_sendto(self, data, *args)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost", b"localhost"):
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            raise OffMachineTraffic(
                f"test tried to resolve {name!r} through the system resolver"
            ) from None
        _guard((name, 0))
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _private_install_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test keeps the install state (journal, backups, lock) in its own directory.

    No test may touch ``/var/lib/codestream-bastion``: the variable is what
    ``apply --state-dir`` defaults to, and child processes inherit it.
    """
    state = tmp_path_factory.mktemp("install-state")
    monkeypatch.setenv("CODESTREAM_BASTION_STATE_DIR", str(state))
    return state


# Function scope: re-applied before every test, so no plugin can undo it for long.
@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = _real_sendto  # type: ignore[method-assign]
        socket.getaddrinfo = _real_getaddrinfo
