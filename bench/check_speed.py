"""Benchmark: how long a full ``check`` takes on a slow network, and how a dead resolver ends.

Runs the demo environment on loopback with every DNS answer and every API
response delayed, then times the whole engine. Sequential lookups would cost
one delay each (a dozen or more); concurrent ones cost about one per hop of the
longest path. Also times a resolver that never answers against ``--timeout``.

Usage: ``.venv/bin/python bench/check_speed.py [--delay 0.3] [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace

from wizard.answers import load_answers
from wizard.demo.environment import running_demo
from wizard.engine import run_checks


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    with running_demo(None, timeout=args.timeout) as (env, answers_path):
        answers = load_answers(answers_path)
        ctx = env.context()
        asyncio.run(run_checks(answers, ctx))  # warm imports and caches
        if env.local_dns is None or env.public_dns is None or env.api is None:
            raise SystemExit("the demo environment did not start")
        env.local_dns.delay = env.public_dns.delay = env.api.delay = args.delay
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            findings = asyncio.run(run_checks(answers, ctx))
            times.append(time.perf_counter() - started)
        failed = [f.code for f in findings if f.status == "fail"]
        median = statistics.median(times)
        print(f"full check, every DNS answer and API response delayed {args.delay * 1000:.0f} ms")
        print(f"  runs: {args.runs}, median {median:.3f} s, worst {max(times):.3f} s")
        print(f"  ratio to one delay: {median / args.delay:.2f}x (goal < 4x); failures: {failed}")

        env.local_dns.delay = env.public_dns.delay = env.api.delay = 0.0
        env.local_dns.silent = env.public_dns.silent = True
        silent_ctx = replace(ctx, timeout=args.timeout)
        started = time.perf_counter()
        findings = asyncio.run(run_checks(answers, silent_ctx))
        elapsed = time.perf_counter() - started
        dns_codes = sorted({f.code for f in findings if f.area == "dns" and f.status == "fail"})
        print(f"resolvers that never answer, --timeout {args.timeout:g} s")
        print(f"  full check ended in {elapsed:.3f} s (goal < timeout + 1 s)")
        print(f"  dns findings: {dns_codes}")
        env.local_dns.silent = env.public_dns.silent = False
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
