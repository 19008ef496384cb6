"""The simulated environment: loopback DNS server, test CA and fake CodeStream API.

Used by the tests and by ``codestream-bastion demo``; everything in here binds
to 127.0.0.1 and talks to nothing else.
"""

from __future__ import annotations

# The parts (submodules, imported on use).
__all__ = ["ca", "dns_server", "environment", "fake_api", "nginx", "service"]
