"""Benchmark: a no-op re-apply (``apply --yes`` with unchanged answers) must stay fast.

Ansible runs ``apply`` on every play, so the common case is "nothing to
change". This starts the demo environment on loopback (resolvers, the fake
CodeStream API, a real nginx master on the demo's tree), installs once, then
times ``apply --yes`` again ``--runs`` times in-process (the whole command:
recovery, every check, the plan, the lock; no write, no reload). The state
directory is a temporary one (``CODESTREAM_BASTION_STATE_DIR``), so the
benchmark never touches ``/var/lib``.

Usage: ``.venv/bin/python bench/apply_noop.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _args(env: object, answers: Path) -> list[str]:
    options: list[str] = env.cli_options()  # type: ignore[attr-defined]
    return ["apply", "--answers", str(answers), "--yes", *options]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from wizard.cli import main as cli_main
    from wizard.demo.environment import running_demo
    from wizard.demo.nginx import DemoNginx
    from wizard.nginx import find_binary as find_nginx

    binary = find_nginx()
    if binary is None:
        print("nginx is not installed: nothing to benchmark")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        os.environ["CODESTREAM_BASTION_STATE_DIR"] = str(base / "state")
        out = base / "out"
        out.mkdir()
        with running_demo(base / "demo", timeout=2.0) as (env, answers):
            nginx = DemoNginx(env.files.nginx_root, binary)
            nginx.start()
            cwd = Path.cwd()
            os.chdir(out)
            try:
                argv = _args(env, answers)
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink):
                    first = cli_main(argv)
                if first != 0:
                    print(sink.getvalue(), file=sys.stderr)
                    raise SystemExit(f"the first apply failed (exit {first})")
                times = []
                for _ in range(args.runs):
                    sink = io.StringIO()
                    started = time.perf_counter()
                    with contextlib.redirect_stdout(sink):
                        status = cli_main(argv)
                    times.append(time.perf_counter() - started)
                    if status != 0 or "nothing to change" not in sink.getvalue().lower():
                        print(sink.getvalue(), file=sys.stderr)
                        raise SystemExit("a re-apply was not a no-op")
            finally:
                os.chdir(cwd)
                nginx.stop()
    print("no-op re-apply (apply --yes, unchanged answers, demo environment on loopback)")
    print(f"  runs: {args.runs}, median {statistics.median(times):.3f} s, worst {max(times):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
