"""The deploy hook ``apply --renew-hook`` writes: what it runs, for the system tree and others."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from wizard.install.renew_hook import renew_hook_script


def _commands(script: bytes) -> list[str]:
    lines = script.decode("utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_system_tree_reloads_through_systemd_where_it_runs_nginx() -> None:
    script = renew_hook_script(Path("/etc/nginx"), "/usr/sbin/nginx")
    commands = _commands(script)
    assert commands[0] == "set -e"
    assert "exec systemctl reload nginx" in [c.strip() for c in commands]
    # Without systemd: test, then signal the master of /etc/nginx (no -p prefix).
    assert shlex.split(commands[-2]) == [
        "/usr/sbin/nginx",
        "-t",
        "-q",
        "-c",
        "/etc/nginx/nginx.conf",
    ]
    assert shlex.split(commands[-1]) == [
        "exec",
        "/usr/sbin/nginx",
        "-s",
        "reload",
        "-c",
        "/etc/nginx/nginx.conf",
    ]


def test_other_trees_reload_their_own_master_with_every_path_quoted(tmp_path: Path) -> None:
    root = tmp_path / "odd $(touch pwned); name"
    script = renew_hook_script(root, "/usr/sbin/nginx")
    text = script.decode("utf-8")
    assert "systemctl" not in text
    assert shlex.split(_commands(script)[-1]) == [
        "exec", "/usr/sbin/nginx", "-s", "reload",
        "-c", f"{root}/nginx.conf", "-p", f"{root}/",
    ]  # fmt: skip
    checked = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr
