"""The commands: the one layer that wires the others together (ARCHITECTURE.md, "Layers").

:mod:`wizard.cli` parses the command line and hands the parsed arguments to
one module here, imported only when that command runs:

- :mod:`~wizard.commands.interactive`: the wizard on this host (no command).
- :mod:`~wizard.commands.check`: ``check``, every check headless, in four formats.
- :mod:`~wizard.commands.render`: ``render``, every file into a directory.
- :mod:`~wizard.commands.apply`: ``apply``, the install pipeline headless
  (with ``--monitor``: the daily check's systemd units).
- :mod:`~wizard.commands.merge_config`: ``merge-config``, on the CodeStream host.
- :mod:`~wizard.commands.demo`: ``demo``, the simulated environment handed to
  the wizard, or its headless check.
- :mod:`~wizard.commands.common`: what they share (exit codes, the check
  context from the shared options, usage errors).

Each module's ``run(args)`` returns the exit status. This face imports none of
them, so that ``codestream-bastion --help`` stays cheap.
"""

from __future__ import annotations

__all__ = ["apply", "check", "common", "demo", "interactive", "merge_config", "render"]
