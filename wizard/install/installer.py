"""The Installer: certbot's installer life cycle, over the plan, journal, lock and reload.

certbot's interface maps as: ``prepare`` -> :meth:`Installer.prepare` (nginx
present, layout found), ``config_test`` -> :meth:`Installer.config_test`,
``save`` -> :meth:`Installer.apply` (which also tests, reloads and proves the
reload), ``rollback`` -> :meth:`Installer.rollback` (in-process) and
:meth:`Installer.recover` (after a crash, from the journal).

:meth:`Installer.apply`:

1. refuses when another server block claims the name, or a file changed since the plan;
2. writes the journal and the backups of everything it will replace into the
   state directory (:mod:`wizard.install.state`) *before* the first change;
3. writes every file atomically (:func:`wizard.fsutil.atomic_write`) and the
   ``sites-enabled`` link atomically;
4. ``nginx -t``; only if it passes, reloads nginx and proves the reload
   (:mod:`wizard.install.reload`), or, when no nginx master runs for the
   tree, starts nginx the host's way (:mod:`wizard.install.start`) and proves
   the start with the same evidence;
5. on *any* failure, puts every file back exactly as it was (bytes, mode,
   owner, links), reloads the old configuration when the new one had been
   loaded, stops a master the run had started, and reports nginx's own message.

The caller holds the run lock (:mod:`wizard.install.lock`) around recovery
and apply; :mod:`wizard.install.pipeline` does. The pieces: what to write where
(:mod:`~wizard.install.targets`), the nginx side of step 4
(:mod:`~wizard.install.activate`), putting back (:mod:`~wizard.install.recovery`),
the result (:mod:`~wizard.install.result`).

Fault injection (:func:`wizard.install.result.fault_point`), for the tests that
kill a run at each phase: ``planned``, ``writing``, ``written``, ``testing``,
``reloading``, ``starting``, ``started`` (the start command has returned, the
master's pid is not recorded yet), ``done``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.constants import ANSWERS_NAME, DEFAULT_LOG_DIR, SERVER_CONF_NAME, SYSTEM_NGINX_ROOT
from wizard.findings import counted
from wizard.fsutil import atomic_symlink, atomic_write, check_directory
from wizard.install.activate import (
    Nginx,
    listener_for,
    reload_restored,
    stop_recovered,
    test_and_reload,
)
from wizard.install.errors import InstallError
from wizard.install.journal import Journal, StartRecord, prune_done
from wizard.install.monitor import UNIT_MODE, MonitorSpec, planned_units
from wizard.install.plan import FileChange, LinkChange, Plan, Role, file_diff, masker_for
from wizard.install.recovery import (
    describe_journals,
    discard_journals,
    recover_journals,
    roll_back,
    unfinished_journals,
)
from wizard.install.renew_hook import HOOK_MODE, planned_renew_hook
from wizard.install.result import (
    InstallResult,
    Outcome,
    failed_result,
    fault_point,
    record_run,
    write_remedy,
)
from wizard.install.start import StartPlan, plan_start
from wizard.install.state import StateDir
from wizard.install.targets import (
    answers_bytes,
    check_directories,
    is_managed,
    missing_directories,
    nginx_changes,
    read_currents,
    stale_targets,
)
from wizard.nginx import (
    COMMAND_TIMEOUT,
    CommandResult,
    Layout,
    LayoutError,
    detect_layout,
    find_binary,
    nginx_argv,
    run_command,
)
from wizard.nginx.master import SYSTEMD_RUN_DIR, CommandRunner

if TYPE_CHECKING:
    from wizard.nginx import NginxFeatures


class Installer:
    """Install the rendered files into an nginx tree and an output directory.

    Args:
        answers: What the admin chose.
        ctx: ``nginx_root``, ``nginx_binary`` and the timeout.
        features: What the installed nginx supports (``render.detect_nginx_features``).
        resolvers: DNS servers for nginx's ``resolver`` (``ADDR[:PORT]``).
        ca_bundle: Trust bundle for the upstream when ``upstream_ca`` is empty.
        systemd: Whether systemd runs nginx; ``None`` detects it.
        reload_command: The reload command to run instead of the detected one.
        test_command: The config test to run instead of ``nginx -t -c ... [-p ...]``.
        output_dir: Where the snippet, next steps and answers go (default: the
            current directory).
        state_dir: The base of the install state (default: ``--state-dir``,
            ``$CODESTREAM_BASTION_STATE_DIR`` or ``/var/lib/codestream-bastion``).
        log_dir: Directory for the server block's own logs.
        command_timeout: Bound, in seconds, on ``nginx -t`` and the reload.
        release: The API release the live probe found (written into the snippet).
        prove_wait: Seconds to wait for the proof of a reload.
        renew_hook: Also install the certbot deploy hook that reloads nginx
            (``apply --renew-hook``, :mod:`wizard.install.renew_hook`).
        monitor: Also install the daily check's systemd units (``apply
            --monitor``, :mod:`wizard.install.monitor`).
        start_command: The command that starts nginx when no master runs (the
            demo's own nginx); ``None`` chooses it (:mod:`wizard.install.start`).
            With an injected ``reload_command`` and no ``start_command`` the
            caller runs nginx itself and nothing is ever started.
        command_runner: Runs ``systemctl show``, ``nginx -V``, the start and the
            stop commands (tests inject recorded ``systemctl`` outputs).
        systemd_run_dir: ``/run/systemd/system`` (present when systemd is the init system).
    """

    def __init__(
        self,
        answers: Answers,
        ctx: CheckContext,
        *,
        features: NginxFeatures,
        resolvers: Sequence[str],
        ca_bundle: str | None,
        systemd: bool | None = None,
        reload_command: Sequence[str] | None = None,
        test_command: Sequence[str] | None = None,
        output_dir: Path | None = None,
        state_dir: str | Path | None = None,
        log_dir: str = DEFAULT_LOG_DIR,
        command_timeout: float = COMMAND_TIMEOUT,
        release: str | None = None,
        prove_wait: float = 5.0,
        renew_hook: bool = False,
        monitor: MonitorSpec | None = None,
        start_command: Sequence[str] | None = None,
        command_runner: CommandRunner = run_command,
        systemd_run_dir: Path = SYSTEMD_RUN_DIR,
    ) -> None:
        self.answers = answers
        self.ctx = ctx
        self.features = features
        self.resolvers = list(resolvers)
        self.ca_bundle = ca_bundle
        self.systemd = systemd
        self.reload_command = list(reload_command) if reload_command is not None else None
        self.test_command = list(test_command) if test_command is not None else None
        self.output_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        self.state = StateDir.for_root(ctx.nginx_root, state_dir)
        self.log_dir = log_dir
        self.command_timeout = command_timeout
        self.release = release
        self.prove_wait = prove_wait
        self.renew_hook = renew_hook
        self.monitor = monitor
        self.start_command = list(start_command) if start_command is not None else None
        self.command_runner = command_runner
        self.systemd_run_dir = systemd_run_dir
        self.recovered_a_reload = False
        """Set by :meth:`recover` when an undone run had reached its reload."""
        self.recovered_starts: list[StartRecord] = []
        """Set by :meth:`recover`: the starts of undone runs (see :meth:`stop_recovered`)."""

    # -- prepare / plan ---------------------------------------------------------------------

    @property
    def binary(self) -> str:
        """The nginx executable to test and reload with."""
        return find_binary(self.ctx.nginx_binary) or self.features.binary or self.ctx.nginx_binary

    def layout(self) -> Layout | None:
        """The nginx layout (``None`` when the mode exposes nothing).

        Raises:
            InstallError: When nginx would load the server block from nowhere.
        """
        if not self.answers.exposes_bastion:
            return None
        try:
            return detect_layout(self.ctx.nginx_root, self.answers.output.nginx_conf)
        except LayoutError as exc:
            raise InstallError(exc.message, exc.remedy) from None

    def prepare(self) -> Layout | None:
        """certbot's ``prepare``: check nginx is there and find the layout.

        Raises:
            InstallError: When nginx is missing or has no usable layout.
        """
        if not self.answers.exposes_bastion:
            return None
        if find_binary(self.ctx.nginx_binary) is None and self.test_command is None:
            raise InstallError(
                f"nginx is not installed (no '{self.ctx.nginx_binary}' found).",
                "Install nginx: 'apt-get install nginx' (Debian, Ubuntu) or "
                "'dnf install nginx' (RHEL, Fedora).",
            )
        return self.layout()

    async def config_test(self) -> CommandResult:
        """certbot's ``config_test``: ``nginx -t`` of the tree as it is now."""
        return await run_command(self.config_test_argv(), self.command_timeout)

    def managed(self, path: Path) -> bool:
        """Whether ``path`` is one this install manages (:func:`.targets.is_managed`)."""
        return is_managed(path, self.answers, self.ctx.nginx_root)

    def plan(self) -> Plan:
        """Everything :meth:`apply` would write, with diffs; nothing is written.

        Raises:
            InstallError: When there is no usable layout or the answers cannot be
                rendered (the message names the key and the fix).
        """
        layout = self.prepare()
        targets = self._targets(layout)
        check_directories(path for path, _c, _m, _r in targets)
        currents = read_currents(path for path, _c, _m, _r in targets)
        masker = masker_for(self.answers, currents)
        files: list[FileChange] = []
        for (path, content, mode, role), current in zip(targets, currents):
            if content is None:
                content, mode = answers_bytes(self.answers, current)
            diff = file_diff(path, current, content, mode, masker)
            files.append(FileChange(path, content, mode, role, current, diff))
        links: list[LinkChange] = []
        directories: list[Path] = []
        conflicts: list[str] = []
        if layout is not None:
            links, directories, conflicts = nginx_changes(layout, self.answers, self.ctx.nginx_root)
        return Plan(
            layout,
            tuple(files),
            tuple(links),
            tuple(missing_directories([f.path for f in files], directories)),
            tuple(conflicts),
            self.state.path,
            self.release,
        )

    def _targets(self, layout: Layout | None) -> list[tuple[Path, bytes | None, int, Role]]:
        """Every file to write, with content, mode and role: the rendered files, the answers
        (``None``: made from the file there now), the renewal hook and monitor units if asked.

        Raises:
            InstallError: When the answers cannot be rendered.
        """
        from wizard.constants import NEXT_STEPS_NAME, SLACK_MANIFEST_NAME
        from wizard.render import RenderError, render_all

        try:
            rendered = render_all(
                self.answers,
                features=self.features,
                resolvers=self.resolvers,
                ca_bundle=self.ca_bundle,
                log_dir=self.log_dir,
                release=self.release,
                answers_file=str(self.output_dir / ANSWERS_NAME),
            )
        except RenderError as exc:
            raise InstallError(str(exc), "Fix the answers named above and run again.") from None
        roles: dict[str, Role] = {
            self.answers.output.snippet: "snippet",
            NEXT_STEPS_NAME: "next-steps",
            SLACK_MANIFEST_NAME: "slack-manifest",
        }
        targets: list[tuple[Path, bytes | None, int, Role]] = []
        for item in rendered:
            if item.name == SERVER_CONF_NAME:
                if layout is not None:
                    targets.append((layout.server_block, item.content, item.mode, "nginx"))
            else:
                role = roles.get(item.name, "other")
                path = Path(item.name)  # a snippet name may be absolute
                path = path if path.is_absolute() else self.output_dir / path
                targets.append((path, item.content, item.mode, role))
        targets.append((self.output_dir / ANSWERS_NAME, None, 0o600, "answers"))
        if self.renew_hook:
            hook, script = planned_renew_hook(self.answers, self.ctx.nginx_root, self.binary)
            targets.append((hook, script, HOOK_MODE, "renew-hook"))
        if self.monitor is not None:
            for unit, unit_text in planned_units(self.monitor):
                targets.append((unit, unit_text, UNIT_MODE, "monitor"))
        return targets

    @property
    def may_start(self) -> bool:
        """Whether this installer starts nginx when no master runs (see ``start_command``)."""
        return self.answers.exposes_bastion and (
            self.reload_command is None or self.start_command is not None
        )

    async def start_plan(self) -> StartPlan | None:
        """How nginx will be started, or ``None`` when a master runs (or nothing is started)."""
        if not self.may_start:
            return None
        return await plan_start(
            self.binary,
            self.ctx.nginx_root,
            systemd=self.systemd,
            start_command=self.start_command,
            run=self.command_runner,
            run_dir=self.systemd_run_dir,
            timeout=self.command_timeout,
        )

    async def make_plan(self) -> Plan:
        """:meth:`plan`, and whether nginx must be started (said before anything is done)."""
        plan = await asyncio.to_thread(self.plan)
        if not plan.nginx_changed:
            return plan
        return dataclasses.replace(plan, start=await self.start_plan())

    # -- commands ---------------------------------------------------------------------------

    def config_test_argv(self) -> list[str]:
        """The ``nginx -t`` command line."""
        if self.test_command is not None:
            return list(self.test_command)
        return nginx_argv(self.binary, self.ctx.nginx_root, "-t")

    async def reload_argv(self) -> tuple[list[str] | None, str]:
        """The reload command, or ``None`` with the reason none is run."""
        if self.reload_command is not None:
            return list(self.reload_command), ""
        systemd = self.systemd
        if systemd is None:
            # systemd's nginx unit runs /etc/nginx; a tree elsewhere (a copy, a
            # demo, a test) is reloaded through its own nginx -c/-p, never the unit.
            system_tree = self.ctx.nginx_root.resolve() == SYSTEM_NGINX_ROOT
            systemd = system_tree and await asyncio.to_thread(SYSTEMD_RUN_DIR.is_dir)
        if systemd:
            active = await run_command(
                ["systemctl", "is-active", "--quiet", "nginx"], self.command_timeout
            )
            if active.ok:
                return ["systemctl", "reload", "nginx"], ""
            return None, (
                "nginx is not running under systemd, so nothing was reloaded: start it with "
                "'systemctl enable --now nginx'."
            )
        return nginx_argv(self.binary, self.ctx.nginx_root, "-s", "reload"), ""

    # -- apply / rollback -------------------------------------------------------------------

    def rollback(self, plan: Plan, journal: Journal | None = None) -> list[str]:
        """Put every target of ``plan`` back as it was when the plan was made.

        Returns:
            Problems met (empty when everything is back byte for byte).
        """
        return roll_back(plan, journal)

    def _write(self, plan: Plan, journal: Journal) -> list[Path]:
        for directory in plan.directories:
            if not directory.is_dir():
                check_directory(directory.parent)
                # Record before creating: a crash right after still cleans it up.
                journal.created_dirs.append(directory)
                journal.save()
                directory.mkdir(mode=0o755)
        written: list[Path] = []
        first = True
        for change in plan.files:
            if change.changed:
                owner = None
                if change.current.kind == "file" and os.geteuid() == 0:
                    # Keep the owner of a replaced file (set before any byte is written).
                    assert change.current.uid is not None
                    assert change.current.gid is not None
                    owner = (change.current.uid, change.current.gid)
                atomic_write(change.path, change.content, change.mode, owner=owner)
                written.append(change.path)
                if first:
                    fault_point("written")
                    first = False
        for link in plan.links:
            if link.changed:
                atomic_symlink(link.path, link.target)
                written.append(link.path)
        return written

    async def apply(self, plan: Plan) -> InstallResult:
        """Back up, write, ``nginx -t``, reload (or start) and prove it; on failure put all back.

        The caller holds the run lock (:class:`wizard.install.lock.RunLock`).

        Args:
            plan: From :meth:`plan`, unchanged on disk since.

        Returns:
            What happened; ``ok`` is false after a refusal or a rollback, with
            nginx's own message in ``nginx_output``.
        """
        refused = await self._refusal(plan)
        if refused is not None:
            return refused
        try:
            await asyncio.to_thread(self.state.ensure)
            journal = Journal.create(self.state.journals, self.ctx.nginx_root)
        except InstallError:
            raise
        except OSError as exc:
            return InstallResult(
                False,
                False,
                f"Cannot create the install state under {self.state.path}: "
                f"{exc.strerror or exc}. Nothing was written.",
                remedy=write_remedy(exc),
                code="install.failed",
            )
        written: list[Path] = []
        try:
            for change in plan.files:
                if change.changed:
                    journal.add(change.path, change.current)
            for link in plan.links:
                if link.changed:
                    journal.add(link.path, link.current)
            journal.save("planned")
            fault_point("planned")
            journal.save("writing")
            fault_point("writing")
            written = await asyncio.to_thread(self._write, plan, journal)
            outcome = await test_and_reload(self._nginx(), plan, journal)
        except BaseException as exc:
            problems = await asyncio.to_thread(self.rollback, plan, journal)
            if not problems:
                journal.discard()
            if not isinstance(exc, Exception):
                raise
            return failed_result(
                f"Writing failed: {exc}", "", problems, journal.directory, remedy=write_remedy(exc)
            )
        if outcome.failure is not None:
            return await self._undone(plan, journal, outcome)
        return self._installed(plan, journal, written, outcome)

    async def _refusal(self, plan: Plan) -> InstallResult | None:
        """Why ``plan`` is not applied (a conflict, a stale plan, nothing to do); else ``None``."""
        if plan.conflicts:
            return InstallResult(
                False,
                False,
                "Refused: another server block already claims this name and port: "
                + "; ".join(plan.conflicts),
                remedy="Remove or disable that server block, or change its server_name.",
                code="install.conflict",
            )
        stale = await asyncio.to_thread(stale_targets, plan)
        if stale:
            return InstallResult(
                False,
                False,
                "Refused: these files changed since the plan was made: "
                + ", ".join(map(str, stale)),
                remedy="Plan again (review the new diff) and apply that plan.",
                code="install.stale",
            )
        if not plan.changed:
            return InstallResult(
                True,
                False,
                "Nothing to change: every file is already installed exactly as planned.",
                code="install.unchanged",
            )
        return None

    async def _undone(self, plan: Plan, journal: Journal, outcome: Outcome) -> InstallResult:
        """After a failed test, reload or start: everything put back, and what happened."""
        assert outcome.failure is not None
        message, output, remedy = outcome.failure
        problems = await asyncio.to_thread(self.rollback, plan, journal)
        notes: tuple[str, ...] = ()
        if outcome.reload_sent and not problems:
            notes = (await self.reload_restored(),)
        if not problems:
            journal.discard()
        failed = failed_result(
            message, output, problems, journal.directory, remedy=remedy, code=outcome.code
        )
        return InstallResult(**{**failed.__dict__, "notes": failed.notes + outcome.notes + notes})

    def _installed(
        self, plan: Plan, journal: Journal, written: list[Path], outcome: Outcome
    ) -> InstallResult:
        """The run succeeded: the journal is done, the run recorded, the result said."""
        fault_point("done")
        journal.save("done")
        with contextlib.suppress(OSError):
            prune_done(self.state.journals)
            record_run(self.state.runs_file, written, outcome)
        done = (
            "nginx's configuration is unchanged."
            if not plan.nginx_changed
            else f"nginx was not running and was started ({outcome.start})."
            if outcome.started
            else f"nginx reloaded ({outcome.reload})."
            if outcome.reloaded
            else "nginx not reloaded."
            if not outcome.reload
            else f"reload sent ({outcome.reload}), not proven."
        )
        message = f"Installed {counted(len(written), 'file')}; {done}"
        return InstallResult(
            True,
            True,
            message,
            tuple(written),
            journal.directory if any(entry.backup for entry in journal.entries) else None,
            reload=outcome.reload,
            reloaded=outcome.reloaded,
            start=outcome.start,
            started=outcome.started,
            notes=outcome.notes,
        )

    async def reload_restored(self) -> str:
        """After a rollback, reload nginx once more so it runs the restored files."""
        return await reload_restored(self._nginx())

    def _nginx(self) -> Nginx:
        """What :mod:`wizard.install.activate` needs of this installer, as it is now."""
        return Nginx(
            self.binary,
            self.ctx.nginx_root,
            self.command_timeout,
            self.prove_wait,
            self.command_runner,
            self.config_test_argv(),
            listener_for(self.answers),
            self.may_start,
            self.reload_argv,
            self.start_plan,
        )

    # -- recovery ---------------------------------------------------------------------------

    def unfinished(self) -> list[Path]:
        """Journal directories of runs that did not finish (the caller holds the lock)."""
        return unfinished_journals(self.state)

    def recover(self) -> list[str]:
        """Undo an apply that was killed half-way (a journal not ``done``).

        The caller holds the run lock, so no journal found here belongs to a
        live run. Sets :attr:`recovered_a_reload` and :attr:`recovered_starts`.

        Returns:
            One message per interrupted run that was undone (empty when none).

        Raises:
            UnsafeStateError: When the state directory is not trusted.
            JournalError: When a journal is damaged or names paths this install
                does not manage (nothing is touched then).
        """
        recovered = recover_journals(self.state, self.ctx.nginx_root, self.managed)
        self.recovered_a_reload = recovered.a_reload
        self.recovered_starts = recovered.starts
        return recovered.messages

    async def stop_recovered(self) -> list[str]:
        """After :meth:`recover`: stop the masters the undone runs had started.

        See :func:`wizard.install.activate.stop_recovered`: only a master the
        run started is stopped; any other is reloaded with the restored files.
        """
        messages = await stop_recovered(self._nginx(), self.recovered_starts)
        self.recovered_starts = []
        return messages

    def describe_unfinished(self) -> list[str]:
        """What each unfinished journal holds, for ``apply --discard-journal``."""
        return describe_journals(self.state, self.ctx.nginx_root)

    def discard_unfinished(self) -> list[Path]:
        """Remove every unfinished journal without restoring anything; returns them."""
        return discard_journals(self.state)
