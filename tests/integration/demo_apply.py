"""The demo with a running nginx, and the command lines that point ``check``/``apply`` at it.

Shared by the headless apply tests (text, JSON, renewal hook, monitoring): the
demo environment stands in for the network (loopback resolvers, the fake
CodeStream API behind its private CA) and a real nginx master runs its tree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nginx_harness import require_nginx
from wizard.demo.environment import DemoEnvironment, running_demo
from wizard.demo.nginx import DemoNginx

JSON_KEYS = {"ok", "changed", "reloaded", "started", "files", "findings"}


@pytest.fixture
def demo_with_nginx(tmp_path: Path) -> Iterator[tuple[DemoEnvironment, Path, DemoNginx]]:
    """The demo environment, its answers file and a running nginx master on its tree."""
    binary = require_nginx()
    with running_demo(tmp_path / "demo", timeout=2.0) as (env, answers):
        nginx = DemoNginx(env.files.nginx_root, binary)
        nginx.start()
        try:
            yield env, answers, nginx
        finally:
            nginx.stop()


def apply_args(env: DemoEnvironment, answers: Path, *extra: str) -> list[str]:
    """``apply`` with the demo's answers, ``extra`` options and the demo's own options."""
    return ["apply", "--answers", str(answers), *extra, *env.cli_options()]


def one_json_object(stdout: str) -> dict[str, object]:
    """The whole of stdout must be one JSON object (and its newline) with apply's keys."""
    assert stdout.endswith("\n")
    assert stdout.count("\n") == 1, stdout
    document = json.loads(stdout)
    assert isinstance(document, dict)
    # A usage error adds an "error" member (the one message, as `check --json` gives it).
    assert set(document) - {"error"} == JSON_KEYS
    for finding in document["findings"]:
        assert set(finding) == {"code", "status", "title", "detail", "remedy"}
    return document


def listing(*roots: Path) -> dict[str, tuple[int, bytes]]:
    """Every file below ``roots`` with its mode and bytes (not logs, pid or temp files)."""
    found: dict[str, tuple[int, bytes]] = {}
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                if path.suffix in (".log", ".pid") or "temp" in path.parts:
                    continue
                found[str(path)] = (path.lstat().st_mode, path.read_bytes())
    return found
