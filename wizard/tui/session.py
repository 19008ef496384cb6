"""What one run of the wizard works with, gathered before the app starts.

:class:`WizardSession` is plain data (no Textual): the check context, the
answers to start from, where the resume state and the final answers go, where
to look for certificates, and, for the demo, the real nginx that Install and
Test drive. Tests build one pointing at temporary directories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.checks.context import CheckContext
    from wizard.demo.environment import DemoLauncher
    from wizard.demo.nginx import DemoNginx
    from wizard.tui.state import StateStore

CERTIFICATE_ROOTS: tuple[Path, ...] = (
    Path("/etc/letsencrypt/live"),
    Path("/etc/ssl"),
    Path("/etc/pki/tls"),
    Path("/etc/nginx"),
)
"""Where certificates usually live; the working directory is searched too."""


@dataclass
class WizardSession:
    """Everything the wizard needs from outside.

    Attributes:
        context: Resolvers, trust store, timeout, lab mode, nginx root.
        answers: The answers to start from (defaults, or ``--answers``).
        answers_path: Where the final answers file is saved.
        state: The resume state store.
        certificate_roots: Directories searched for certificates.
        prefilled_from: The ``--answers`` file the answers came from, if any.
        demo_nginx: The demo's real nginx (``None`` outside the demo).
        nginx_usable: Install and Test can run; when not, they are skipped
            and ``nginx_note`` says why and how to get them.
        nginx_note: Why Install and Test are skipped.
        demo: This is ``codestream-bastion demo``.
        output_dir: Where the generated snippet and next steps are saved.
        launcher: The demo's environment, started by the app after its first
            paint (it then fills in ``context``, ``demo_nginx``,
            ``nginx_usable`` and ``nginx_note``); ``None`` once started or
            outside the demo.
        demo_kept: The demo runs in a directory kept after it (``--dir``);
            ``None`` when its files are removed on exit.
    """

    context: CheckContext
    answers: Answers
    answers_path: Path
    state: StateStore
    certificate_roots: tuple[Path, ...] = CERTIFICATE_ROOTS
    prefilled_from: Path | None = None
    demo_nginx: DemoNginx | None = None
    nginx_usable: bool = True
    nginx_note: str = ""
    demo: bool = False
    output_dir: Path = field(default_factory=Path.cwd)
    launcher: DemoLauncher | None = None
    demo_kept: Path | None = None
