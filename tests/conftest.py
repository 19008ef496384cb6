"""Suite-wide rules: nothing leaves this machine.

Every socket ``connect``/``sendto`` to an address outside loopback raises
:class:`OffMachineTraffic` before a packet is sent; so does resolving any name
other than ``localhost`` through the system. A test that would reach the
internet fails loudly instead of quietly depending on it. The guard itself is
:mod:`tests.loopback_guard`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.loopback_guard import OffMachineTraffic, install, uninstall

__all__ = ["OffMachineTraffic"]


# Function scope: re-applied before every test, so no plugin can undo it for long.
@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()
