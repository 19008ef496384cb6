"""``apply --renew-hook``: a certbot deploy hook that reloads nginx, as one more planned file.

certbot runs every executable file in ``<config>/renewal-hooks/deploy/`` after
it renews a certificate (certbot's ``_internal/hooks.py``), and nginx keeps
serving the certificate it loaded until it reloads (README.md, "Certificate
renewals"). The hook is planned like every other file the install writes: it
is in the plan and the diff, backed up when replaced, written atomically
(mode 0755) and put back on a rollback. Its name is the one the
``cert.renewal_no_reload`` remedy uses, so the check then finds it and says
``cert.renewal_ok``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from wizard.answers import Answers
from wizard.checks.renewal import HOOK_NAME, find_lineage
from wizard.constants import SYSTEM_NGINX_ROOT
from wizard.install.errors import InstallError
from wizard.nginx import nginx_argv

HOOK_MODE = 0o755


def renew_hook_path(answers: Answers) -> Path | None:
    """Where the deploy hook goes for the answers' certificate (``None``: not certbot's)."""
    if not answers.exposes_bastion or not answers.bastion.certificate:
        return None
    lineage = find_lineage(answers.bastion.certificate)
    return None if lineage is None else lineage.hooks_dir("deploy") / HOOK_NAME


def renew_hook_script(nginx_root: Path, binary: str) -> bytes:
    """The hook: reload the nginx that runs ``nginx_root``, after testing its configuration.

    For the system tree, systemd's unit is reloaded where systemd runs nginx
    (as ``apply`` itself reloads it); any other tree (a copy, a lab) is
    reloaded through its own ``nginx -c/-p``, never the system's nginx.
    """
    lines = [
        "#!/bin/sh",
        "# Installed by codestream-bastion (apply --renew-hook). certbot runs the",
        "# executable files of renewal-hooks/deploy/ after it renews a certificate;",
        "# nginx serves the renewed certificate only once it reloads.",
        "set -e",
    ]
    if Path(nginx_root).resolve() == SYSTEM_NGINX_ROOT:
        lines += [
            "if [ -d /run/systemd/system ] && systemctl is-active --quiet nginx; then",
            "    exec systemctl reload nginx",
            "fi",
        ]
    lines += [
        # A broken configuration is refused here, with nginx's own message in
        # certbot's log, rather than by a reload that fails silently.
        shlex.join(nginx_argv(binary, nginx_root, "-t", "-q")),
        "exec " + shlex.join(nginx_argv(binary, nginx_root, "-s", "reload")),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def planned_renew_hook(answers: Answers, nginx_root: Path, binary: str) -> tuple[Path, bytes]:
    """The hook's path and content for ``apply --renew-hook``.

    Raises:
        InstallError: When the certificate is not certbot's: there is no
            renewal for a hook to follow.
    """
    path = renew_hook_path(answers)
    if path is None:
        certificate = answers.bastion.certificate or "(no certificate)"
        raise InstallError(
            f"--renew-hook: {certificate} is not managed by certbot (no "
            "<config>/live/<name>/ path with a <config>/renewal/<name>.conf), so there is no "
            "renewal for a hook to follow.",
            "Run apply without --renew-hook, and reload nginx yourself (systemctl reload "
            "nginx) each time the certificate is replaced.",
            code="install.renew_hook_not_certbot",
        )
    return path, renew_hook_script(nginx_root, binary)
