"""What one run of the wizard works with, gathered before the app starts.

:class:`WizardSession` is plain data (no Textual): the check context, the
answers to start from, where the resume state and the final answers go, where
to look for certificates, and, for the demo, the real nginx that Install and
Test drive. Tests build one pointing at temporary directories.

The TUI never imports the demo (ARCHITECTURE.md, "Layers"): what it needs of
the demo's nginx and of the demo's environment is said here as two protocols,
:class:`LocalNginx` and :class:`EnvironmentLauncher`, and the commands layer
(:mod:`wizard.commands.demo`) hands in the demo's objects, which fit them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wizard.constants import SYSTEM_NGINX_ROOT

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.checks.context import CheckContext
    from wizard.install.acme import CertificateRequest
    from wizard.tui.state import StateStore

CERTIFICATE_ROOTS: tuple[Path, ...] = (
    Path("/etc/letsencrypt/live"),
    Path("/etc/ssl"),
    Path("/etc/pki/tls"),
    SYSTEM_NGINX_ROOT,
)
"""Where certificates usually live; the working directory is searched too."""


class LocalNginx(Protocol):
    """An nginx master the wizard installs into instead of the system's (the demo's).

    The installer writes under :attr:`root`, tests and reloads with the
    commands given here, and keeps its state beside the tree.
    """

    @property
    def root(self) -> Path:
        """The configuration tree (its ``nginx.conf``)."""
        ...

    @property
    def log_dir(self) -> Path:
        """Where the server block's logs go."""
        ...

    def start_argv(self) -> list[str]:
        """The command that starts this master (when it is not running)."""
        ...

    def reload_argv(self) -> list[str]:
        """The command that reloads this master."""
        ...

    def test_argv(self) -> list[str]:
        """The command that tests this tree (``nginx -t``)."""
        ...


class EnvironmentLauncher(Protocol):
    """A simulated environment the app starts after its first paint (the demo's).

    :meth:`start` blocks and runs in a worker thread; :meth:`stop` may come
    at any time, even while :meth:`start` runs. After :meth:`start`,
    :attr:`nginx`, :attr:`nginx_usable` and :attr:`nginx_note` say what the
    environment found.
    """

    @property
    def nginx(self) -> LocalNginx | None:
        """The environment's nginx, once started (``None``: none usable)."""
        ...

    @property
    def nginx_usable(self) -> bool:
        """Install and Test can run."""
        ...

    @property
    def nginx_note(self) -> str:
        """Why Install and Test are skipped (empty when they are not)."""
        ...

    def start(self) -> CheckContext:
        """Start everything; the context the checks then run against."""
        ...

    def stop(self) -> None:
        """Stop everything started; never raises."""
        ...


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
        acme: Builds what the Certificate step's "Get a certificate" asks for
            (the CA, certbot's directories; the name and address come from the
            answers), called when it is pressed: the ACME module and the
            installer behind it load then, not before the first frame.
            ``None``: not offered, as in the demo, where nothing may leave
            loopback.
        demo_web: A browser session of ``demo --web``: its files are always
            removed (there is no ``--dir`` to keep them).
    """

    context: CheckContext
    answers: Answers
    answers_path: Path
    state: StateStore
    certificate_roots: tuple[Path, ...] = CERTIFICATE_ROOTS
    prefilled_from: Path | None = None
    demo_nginx: LocalNginx | None = None
    nginx_usable: bool = True
    nginx_note: str = ""
    demo: bool = False
    output_dir: Path = field(default_factory=Path.cwd)
    launcher: EnvironmentLauncher | None = None
    demo_kept: Path | None = None
    acme: Callable[[], CertificateRequest] | None = None
    demo_web: bool = False
