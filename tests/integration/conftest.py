"""Fixtures shared by the install tests: the real nginx trees and certificates of test_install."""

from __future__ import annotations

from tests.integration.test_install import certs, debian, features, nginx_binary, rhel

__all__ = ["certs", "debian", "features", "nginx_binary", "rhel"]
