"""Fixtures shared by the integration tests.

The real nginx trees and certificates of test_install, and the demo with a
running nginx (tests/integration/demo_apply.py) for the headless apply tests.
"""

from __future__ import annotations

from tests.integration.demo_apply import demo_with_nginx
from tests.integration.test_install import certs, debian, features, nginx_binary, rhel

__all__ = ["certs", "debian", "demo_with_nginx", "features", "nginx_binary", "rhel"]
