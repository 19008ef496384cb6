"""The install layer, one module per phase (the way certbot splits its reverter and installer).

- :mod:`~wizard.install.state`: where the journal and backups live (root-only, per nginx tree);
- :mod:`~wizard.install.lock`: one run at a time per tree;
- :mod:`~wizard.install.plan`: the plan and the only diff, secrets masked;
- :mod:`~wizard.install.journal`: the journal written before the first change;
- :mod:`~wizard.install.reload`: the reload and its proof;
- :mod:`~wizard.install.start`: starting nginx where no master runs, and undoing that;
- :mod:`~wizard.install.installer`: prepare / plan / config_test / apply / rollback / recover;
- :mod:`~wizard.install.pipeline`: recover -> check -> plan -> diff -> confirm -> apply,
  called by the ``apply`` command and the wizard alike.

Nothing here prints: :mod:`wizard.commands.apply` shows the results.
"""

from __future__ import annotations

from wizard.install.errors import InstallError, JournalError, LockedError, UnsafeStateError
from wizard.install.installer import Installer
from wizard.install.pipeline import PipelineResult, run_pipeline
from wizard.install.plan import FileChange, InstallPlan, LinkChange, Plan
from wizard.install.result import InstallResult

__all__ = [
    "FileChange",
    "InstallError",
    "InstallPlan",
    "InstallResult",
    "Installer",
    "JournalError",
    "LinkChange",
    "LockedError",
    "PipelineResult",
    "Plan",
    "UnsafeStateError",
    "run_pipeline",
]
