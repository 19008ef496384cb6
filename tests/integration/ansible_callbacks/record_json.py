"""An Ansible stdout callback for tests: one JSON document at the end of the run.

ansible-core ships no JSON stdout callback (``json`` lives in the ansible.posix
collection, which is not installed and cannot be fetched in a test), so the
role's test uses this one: every task result as ``{"task", "host", "status",
...}`` and the play recap per host, printed once as the run's only output.
Results of ``no_log`` tasks keep only their status, like Ansible's own output.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: record_json
type: stdout
short_description: Every task result and the recap as one JSON document (tests only)
description:
  - Prints nothing while the play runs and one JSON object at the end.
"""

# What a result may carry into the document; everything else is left out.
KEPT = ("changed", "failed", "skipped", "rc", "stdout", "stderr", "msg", "results")


class CallbackModule(CallbackBase):  # type: ignore[misc]
    """Collects the results and prints them with the stats."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "record_json"

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[dict[str, Any]] = []

    def _record(self, result: Any, status: str) -> None:
        entry: dict[str, Any] = {
            "task": result._task.get_name(),
            "host": result._host.get_name(),
            "status": status,
        }
        if not result._task.no_log:
            entry.update({k: result._result[k] for k in KEPT if k in result._result})
        else:
            entry["changed"] = bool(result._result.get("changed"))
        self.tasks.append(entry)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"tasks": self.tasks, "stats": recap}, default=str))
