"""codestream-bastion: prepare and prove a CodeStream On-Prem bastion host.

The package is split by kind: ``checks`` holds the UI-free live validation,
``demo`` the simulated loopback environment, ``tui`` the Textual wizard, and
the top-level modules the answers model, rendering and installation.
"""

from __future__ import annotations

__version__ = "0.1.0"
