"""Shared fixtures for the unit tests: one test CA and a good certificate from it."""

from __future__ import annotations

import pytest

from wizard.demo.ca import Issued, TestCA

HOST = "bastion.example.com"


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """A fresh CA per test module (root + intermediate)."""
    return TestCA()


@pytest.fixture(scope="module")
def good(ca: TestCA) -> Issued:
    """A valid leaf for :data:`HOST`."""
    return ca.issue([HOST])
