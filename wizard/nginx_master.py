"""Moved to :mod:`wizard.nginx.master`; this module keeps the old import path working."""

# TODO(issue 9): re-point after merge (then delete this module).
from __future__ import annotations

from wizard.nginx.master import (
    PROC,
    START_WAIT,
    SYSTEMD_RUN_DIR,
    CommandRunner,
    CompiledPaths,
    MasterState,
    compiled_paths,
    find_master,
    master_state,
    parse_compiled_paths,
    pid_file,
    runtime_prefix,
    start_argv,
    systemd_manages_nginx,
    wait_for_master,
)

__all__ = [
    "PROC",
    "START_WAIT",
    "SYSTEMD_RUN_DIR",
    "CommandRunner",
    "CompiledPaths",
    "MasterState",
    "compiled_paths",
    "find_master",
    "master_state",
    "parse_compiled_paths",
    "pid_file",
    "runtime_prefix",
    "start_argv",
    "systemd_manages_nginx",
    "wait_for_master",
]
