"""HTTP-01 through the running nginx: a temporary port-80 server block, journaled.

When nginx already serves the HTTP-01 port, certbot cannot listen there
(``--standalone``); it writes the challenge file into a directory instead
(``--webroot``), and nginx must serve that directory at
``/.well-known/acme-challenge/`` for the certificate's name. This module
installs that server block the way every change is installed (the run lock,
a journal with the state before, an atomic write, ``nginx -t``, a proven
reload), keeps it while certbot runs, then puts the tree back as it was and
reloads again.

The journal is left unfinished on purpose while the block is in place: if
the run is killed half-way, the next ``apply`` or ``certificate`` run finds
it and removes the block (:mod:`wizard.install.recovery`), as for any
interrupted install. The block's name is managed (:func:`.targets.is_managed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import glob
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from wizard.constants import ACME_CONF_NAME
from wizard.fsutil import atomic_write, read_state
from wizard.install.activate import Nginx, reload_restored, test_and_reload
from wizard.install.errors import InstallError
from wizard.install.installer import Installer
from wizard.install.journal import Journal
from wizard.install.lock import DEFAULT_WAIT, RunLock
from wizard.install.plan import FileChange, Plan, file_diff, masker_for
from wizard.install.recovery import roll_back
from wizard.nginx import Layout, resolve_include

WEBROOT_MODE = 0o755
"""nginx's workers (not root) read the challenge files certbot writes there."""


def challenge_block(hostname: str, port: int, webroot: Path, *, ipv6: bool) -> bytes:
    """The temporary server block: the challenge directory for ``hostname``, 404 for the rest."""
    from wizard.render.core import nginx_int, nginx_quote

    listens = [f"    listen {nginx_int(port)};"]
    if ipv6:
        listens.append(f"    listen [::]:{nginx_int(port)};")
    lines = [
        "# Temporary: written by codestream-bastion certificate for the ACME HTTP-01",
        "# challenge, and removed as soon as certbot is done.",
        "server {",
        *listens,
        f"    server_name {nginx_quote(hostname)};",
        "    location ^~ /.well-known/acme-challenge/ {",
        f"        root {nginx_quote(str(webroot))};",
        "        default_type text/plain;",
        "        try_files $uri =404;",
        "    }",
        "    location / {",
        "        return 404;",
        "    }",
        "}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def block_path(layout: Layout) -> Path:
    """Where nginx loads the block from: beside what the layout's ``include`` loads.

    Raises:
        InstallError: When that include names one file, not a pattern the
            block's name matches (a custom ``nginx_conf``).
    """
    full = resolve_include(layout.include, layout.root)
    head, pattern = os.path.split(full)
    if glob.has_magic(head) or not fnmatch.fnmatch(ACME_CONF_NAME, pattern):
        raise InstallError(
            f"nginx loads the server block through 'include {layout.include};', which would "
            f"not load a temporary {ACME_CONF_NAME} for the challenge.",
            "Stop nginx while the certificate is issued (then certbot listens itself), or "
            "use --challenge dns-01.",
            code="acme.webroot_unusable",
        )
    return Path(head) / ACME_CONF_NAME


def _nginx(installer: Installer) -> Nginx:
    """What the install's nginx phase needs: reload only, never a start, no TLS proof."""
    return Nginx(
        installer.binary,
        installer.ctx.nginx_root,
        installer.command_timeout,
        installer.prove_wait,
        installer.command_runner,
        installer.config_test_argv(),
        None,
        False,
        installer.reload_argv,
        installer.start_plan,
    )


def _plan(installer: Installer, layout: Layout, content: bytes) -> Plan:
    path = block_path(layout)
    current = read_state(path, 1 << 20)
    masker = masker_for(installer.answers, ())
    change = FileChange(
        path, content, 0o644, "nginx", current, file_diff(path, current, content, 0o644, masker)
    )
    return Plan(layout, (change,), (), (), (), installer.state.path)


async def recover_first(installer: Installer, lock: RunLock) -> list[str]:
    """Take the lock and undo an interrupted run (as ``apply`` does first)."""
    await asyncio.to_thread(installer.state.ensure)
    await asyncio.to_thread(lock.acquire)
    messages = await asyncio.to_thread(installer.recover)
    if installer.recovered_a_reload:
        messages.append(await installer.reload_restored())
    return messages + await installer.stop_recovered()


@contextlib.asynccontextmanager
async def temporary_webroot(
    installer: Installer, hostname: str, port: int, *, lock_wait: float = DEFAULT_WAIT
) -> AsyncIterator[Path]:
    """Serve ``hostname``'s challenge directory on ``port`` through nginx, for the block's life.

    Yields:
        The webroot to give certbot (``--webroot -w``).

    Raises:
        InstallError: When the block cannot be installed (nginx's own message in
            the text); the tree is then as it was.
    """
    layout = installer.prepare()
    if layout is None:
        raise InstallError("This mode exposes no bastion: there is no name to certify.")
    webroot = Path(tempfile.mkdtemp(prefix="codestream-bastion-acme-"))
    lock = RunLock(installer.state.lock_file, installer.ctx.nginx_root, lock_wait)
    try:
        os.chmod(webroot, WEBROOT_MODE)
        await recover_first(installer, lock)
        content = challenge_block(hostname, port, webroot, ipv6=installer.features.listen_ipv6)
        plan = await asyncio.to_thread(_plan, installer, layout, content)
        nginx = _nginx(installer)
        journal = Journal.create(installer.state.journals, installer.ctx.nginx_root)
        try:
            journal.add(plan.files[0].path, plan.files[0].current)
            journal.save("writing")
            await asyncio.to_thread(atomic_write, plan.files[0].path, content, 0o644)
            outcome = await test_and_reload(nginx, plan, journal)
            if outcome.failure is not None:
                message, output, remedy = outcome.failure
                raise InstallError(
                    f"The temporary challenge block could not be loaded: {output or message}",
                    remedy,
                    code="acme.webroot_failed",
                )
            yield webroot
        finally:
            problems = await asyncio.to_thread(roll_back, plan, journal)
            await reload_restored(nginx)
            if not problems:
                journal.discard()
    finally:
        lock.release()
        shutil.rmtree(webroot, ignore_errors=True)
