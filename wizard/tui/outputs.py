"""From answers to files: the installer for this session, and what Review shows.

Where nginx can be driven (always on a real bastion; in the demo when nginx
is installed) the files come from :class:`wizard.install.Installer`: its plan
has every target, its status and a diff, and the Install step applies it. In
the demo the installer tests and reloads the demo's own nginx master, never
the system's. Where nginx cannot be driven (a demo without nginx) the files
are only rendered, into the output directory, for a later ``apply``. Slack
without exposure needs no nginx at all: the installer writes the snippet and
the next steps only.

The snippet is written for the CodeStream release the live probe found
(``X-CS-API-Version``, :func:`wizard.checks.fingerprint.release_in`), which the
screens pass in; ``[codestream] release`` in the answers overrides it.

No Textual here; the screens call these functions from workers.
"""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.answers import Answers, save_answers
from wizard.fsutil import atomic_write
from wizard.safetext import visible

if TYPE_CHECKING:
    from wizard.findings import Finding
    from wizard.install import Installer, InstallPlan, PipelineResult
    from wizard.render import RenderedFile
    from wizard.tui.session import WizardSession


@dataclass(frozen=True)
class PlannedFile:
    """One file the wizard will write.

    Attributes:
        path: Where it goes.
        status: ``new``, ``changed``, ``mode`` or ``unchanged``.
        mode: Its permission bits.
        diff: A unified diff against what is there (secrets are not shown).
    """

    path: Path
    status: str
    mode: int
    diff: str


@dataclass
class OutputPlan:
    """What the wizard will write, for Review, Install and Done.

    Attributes:
        files: Every file, with its status and diff.
        notes: Where the server block goes, links, directories, conflicts.
        install_plan: The installer's plan, when the installer applies it.
        rendered: The files to write directly (files-only fallback).
        release: The CodeStream release the live probe found, the snippet is for.
    """

    files: list[PlannedFile]
    notes: list[str] = field(default_factory=list)
    install_plan: InstallPlan | None = None
    rendered: list[tuple[Path, RenderedFile]] = field(default_factory=list)
    release: str | None = None

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Other server blocks claiming the name and port (the install refuses them)."""
        return self.install_plan.conflicts if self.install_plan is not None else ()


def release_note(answers: Answers, release: str | None) -> str:
    """Which CodeStream release the snippet is written for, and where that came from."""
    configured = answers.codestream.release.strip()
    if configured:
        return f"Snippet written for CodeStream {configured} ([codestream] release)."
    if release:
        return f"Snippet written for CodeStream {release}, the release the API reports."
    return (
        "Snippet written for current CodeStream releases: no release known "
        "(set [codestream] release for an older one)."
    )


def uses_installer(answers: Answers, session: WizardSession) -> bool:
    """Whether the installer writes the files (else they are only rendered)."""
    return session.nginx_usable or not answers.exposes_bastion


async def make_installer(
    answers: Answers, session: WizardSession, release: str | None = None
) -> Installer:
    """The installer for ``answers`` in this session (the demo's nginx in the demo).

    Args:
        answers: The answers.
        session: Where things go, and the demo's nginx.
        release: The CodeStream release the live probe found
            (:func:`wizard.checks.fingerprint.release_in`): the snippet is written for it.
    """
    from wizard.install import Installer
    from wizard.nginx import detect_nginx_features

    ctx = session.context
    features = await asyncio.to_thread(detect_nginx_features, ctx.nginx_binary)
    bundle = ctx.trust_bundle()
    extra: dict[str, Any] = {}
    demo = session.demo_nginx
    if demo is not None:
        extra = {
            "systemd": False,
            "reload_command": demo.reload_argv(),
            "start_command": demo.start_argv(),  # when the demo's master is not running
            "test_command": demo.test_argv(),
            "log_dir": str(demo.log_dir),
            # The demo's install state stays in the demo's directory, not /var/lib.
            "state_dir": demo.root.parent / "install-state",
        }
    return Installer(
        answers,
        ctx,
        features=features,
        resolvers=[str(server) for server in ctx.nameservers],
        ca_bundle=str(bundle) if bundle is not None else None,
        output_dir=session.output_dir,
        release=release,
        **extra,
    )


def _diff(path: Path, content: bytes, secret: bool) -> tuple[str, str]:
    """Status and unified diff of writing ``content`` to ``path``."""
    from wizard.fsutil import read_state
    from wizard.install.targets import MAX_CURRENT

    try:
        current = read_state(path, MAX_CURRENT + 1)  # bounded, as every read
    except OSError:
        return "changed", f"{path}: cannot be read to compare\n"
    if current.kind == "link":
        return "changed", f"{path} is a symbolic link to {current.target}: not read, replaced\n"
    old: bytes | None = current.content if current.kind == "file" else None
    if old == content:
        return "unchanged", ""
    status = "new" if old is None else "changed"
    if secret:
        return status, f"{path}: holds secrets, not shown ({len(content)} bytes, mode 0600)\n"
    lines = difflib.unified_diff(
        (old or b"").decode("utf-8", "replace").splitlines(keepends=True),
        content.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile="/dev/null" if old is None else str(path),
        tofile=str(path),
    )
    return status, visible("".join(lines), lines=True)


def output_plan(plan: InstallPlan, answers: Answers) -> OutputPlan:
    """What Review shows of an installer's plan (with the release its snippet is written for)."""
    files = [PlannedFile(f.path, f.status, f.mode, f.diff) for f in plan.files]
    notes = [f"Create directory {d}" for d in plan.directories]
    if plan.layout is not None:
        notes.insert(0, "nginx: " + plan.layout.describe())
    notes += [f"Link {link.path} -> {link.target} ({link.status})" for link in plan.links]
    notes += [f"CONFLICT: {c}" for c in plan.conflicts]
    notes.append(release_note(answers, plan.release))
    return OutputPlan(files, notes, install_plan=plan, release=plan.release)


async def review_with_installer(
    answers: Answers, session: WizardSession
) -> tuple[list[Finding], OutputPlan | None]:
    """Review's half of the install pipeline: recover, check, plan, diff (nothing written).

    Returns:
        The findings (refusals included: ``install.*``) and the plan, when one was made.
    """
    from wizard.install import run_pipeline

    installer = await make_installer(answers, session)
    result = await run_pipeline(answers, session.context, installer, stop_after="diff")
    return result.findings, output_plan(result.plan, answers) if result.plan is not None else None


async def install_reviewed(
    answers: Answers, session: WizardSession, reviewed: InstallPlan
) -> PipelineResult:
    """Install's half: the same pipeline, confirmed, checked against the reviewed plan."""
    from wizard.install import run_pipeline

    installer = await make_installer(answers, session)
    return await run_pipeline(answers, session.context, installer, findings=[], reviewed=reviewed)


async def build_plan(
    answers: Answers, session: WizardSession, release: str | None = None
) -> OutputPlan:
    """What the wizard will write for ``answers``; nothing is written.

    Args:
        answers: The answers.
        session: Where things go.
        release: The CodeStream release the live probe found, for the snippet.

    Raises:
        wizard.install.InstallError: When nothing can be planned (no usable nginx
            layout, answers that cannot be rendered); it carries a remedy.
    """
    if uses_installer(answers, session):
        installer = await make_installer(answers, session, release)
        return output_plan(await asyncio.to_thread(installer.plan), answers)
    return await asyncio.to_thread(_render_only, answers, session, release)


def _render_only(answers: Answers, session: WizardSession, release: str | None) -> OutputPlan:
    from wizard.install import InstallError
    from wizard.nginx import detect_nginx_features
    from wizard.render import RenderError, render_all

    ctx = session.context
    bundle = ctx.trust_bundle()
    try:
        rendered = render_all(
            answers,
            features=detect_nginx_features(ctx.nginx_binary),
            resolvers=[str(server) for server in ctx.nameservers],
            ca_bundle=str(bundle) if bundle is not None else None,
            release=release,
        )
    except RenderError as exc:
        raise InstallError(str(exc), "Go back and fix the answers named above.") from None
    placed = [(session.output_dir / item.name, item) for item in rendered]
    files = []
    for path, item in placed:
        status, diff = _diff(path, item.content, secret=item.mode & 0o077 == 0)
        files.append(PlannedFile(path, status, item.mode, diff))
    notes = [
        f"nginx is not available here: the server block is only written to "
        f"{session.output_dir}, for 'codestream-bastion apply' on the real bastion.",
        release_note(answers, release),
    ]
    return OutputPlan(files, notes, rendered=placed, release=release)


def write_rendered(plan: OutputPlan) -> list[Path]:
    """Write the files of a files-only plan (atomically, with their modes).

    Raises:
        OSError: When the output directory cannot be written.
    """
    written: list[Path] = []
    for path, item in plan.rendered:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, item.content, item.mode)
        written.append(path)
    return written


def save_final_answers(answers: Answers, session: WizardSession) -> Path:
    """Save the answers for ``check``/``apply`` later; returns where.

    Raises:
        OSError: When the file cannot be written.
    """
    session.answers_path.parent.mkdir(parents=True, exist_ok=True)
    save_answers(answers, session.answers_path)
    return session.answers_path
