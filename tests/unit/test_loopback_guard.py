"""The suite itself refuses traffic that would leave the machine."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import OffMachineTraffic


def test_connect_to_public_address_is_refused_before_sending() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(OffMachineTraffic):
            sock.connect(("192.0.2.1", 53))  # TEST-NET-1: never routed anyway
        with pytest.raises(OffMachineTraffic):
            sock.sendto(b"x", ("192.0.2.1", 53))


def test_system_resolution_of_names_is_refused() -> None:
    with pytest.raises(OffMachineTraffic):
        socket.getaddrinfo("example.com", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", 9))
        assert sock.getpeername() == ("127.0.0.1", 9)
