"""codestream-bastion: prepare and prove a CodeStream On-Prem bastion host.

The package is split in layers that only import downwards: the TUI and the
commands on top, then the demo, the install pipeline, rendering, the check
engine, the checks, the nginx adapter and the probes, and at the bottom the
answers model, findings and file helpers. ARCHITECTURE.md is the map.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
