"""Suite-wide rules: nothing leaves this machine, and no test touches /var/lib.

Every socket ``connect``/``sendto`` to an address outside loopback raises
:class:`OffMachineTraffic` before a packet is sent; so does resolving any name
other than ``localhost`` through the system. A test that would reach the
internet fails loudly instead of quietly depending on it. The guard itself is
:mod:`tests.loopback_guard`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback_guard import OffMachineTraffic, install, uninstall
from tests.nginx_harness import stop_masters_under

__all__ = ["OffMachineTraffic"]


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
    install()
    try:
        yield
    finally:
        uninstall()


@pytest.fixture(autouse=True)
def _no_nginx_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """No nginx master a test started outlives it.

    ``apply`` starts nginx when no master runs for the tree; the tests that
    make it do so stop it themselves, and this stops (and warns about) any
    master still running from the test's own temporary directory.
    """
    if "tmp_path" not in request.fixturenames:
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    yield
    left = stop_masters_under(tmp_path)
    if left:
        warnings.warn(f"nginx masters {left} were left running by the test; stopped", stacklevel=1)
