"""``python -m wizard.demo.serve ROOT API_PORT``: the demo's simulated world, in its own process.

The wizard's demo (:class:`wizard.demo.environment.DemoLauncher`) starts this
child instead of running the servers in its own process: the certificates,
the two DNS servers and the fake API (with cryptography, dnspython and h11)
then live here, and the wizard holds only what its current screen needs; the
servers' threads no longer compete with the screen for the interpreter either.

The protocol is one JSON line on stdout once everything serves,
``{"local": "127.0.0.1:PORT", "public": "127.0.0.1:PORT"}`` (the two
resolvers; the fake API listens on ``API_PORT``), or ``{"error": "..."}`` when
it cannot start; then it serves until its stdin closes (the wizard left, or
died: nothing is left running) and stops.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the demo's world for the directory and API port in ``argv``; the exit status."""
    from wizard.demo.environment import DemoEnvironment, DemoFiles

    root, api_port = list(sys.argv[1:] if argv is None else argv)
    env = DemoEnvironment(DemoFiles(Path(root)), api_port=int(api_port))
    try:
        env.start()
    except OSError as exc:
        env.stop()
        print(json.dumps({"error": f"{exc.strerror or exc}"}), flush=True)
        return 1
    try:
        ctx = env.context()
        ready = {"local": str(ctx.nameservers[0]), "public": str(ctx.public_nameservers[0])}
        print(json.dumps(ready), flush=True)
        sys.stdin.buffer.read()  # until the wizard closes it (or is gone)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
