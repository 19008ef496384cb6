"""``codestream-bastion merge-config``: the snippet merged into a CodeStream configuration.

Run on the CodeStream host; the merge itself is :mod:`wizard.merge_config`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.commands.common import guarded

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """The ``merge-config`` command; returns its exit status."""
    from wizard.merge_config import run_merge_config

    return guarded(
        lambda: run_merge_config(
            Path(args.snippet), Path(args.into), sys.stdout, dry_run=args.dry_run
        )
    )
