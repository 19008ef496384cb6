"""Benchmark: the cost of starting the CLI (``--help``) and which heavy modules it loads.

Usage: ``.venv/bin/python bench/startup_import.py [--runs 10]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("cryptography", "httpx", "dns", "jinja2", "textual")


def main() -> int:
    """Time ``python -m wizard --help`` and a bare interpreter for comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    def timed(command: list[str]) -> float:
        samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    bare = timed([sys.executable, "-c", "pass"])
    helped = timed([sys.executable, "-m", "wizard", "--help"])
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, wizard.cli; wizard.cli.build_parser();"
            f"print([m for m in {HEAVY!r} if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"python -c pass:            {bare * 1000:.0f} ms (median of {args.runs})")
    print(f"python -m wizard --help:   {helped * 1000:.0f} ms")
    print(f"heavy modules after import of wizard.cli: {probe.stdout.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
