"""Will nginx pick up the renewed certificate? (``cert.renewal_*`` codes)

certbot renews a Let's Encrypt certificate in place (``live/<name>/`` links
to the newest files under ``archive/``), but nginx keeps serving the one it
loaded until it is reloaded, so without a reload the renewed certificate is
never served and the old one expires. certbot reloads nginx after a renewal
only when one of these is true (certbot's ``_internal/hooks.py`` and
``_internal/main.py``):

- the lineage has an installer (``installer = nginx`` in ``[renewalparams]``
  of ``renewal/<name>.conf``, from ``certbot --nginx``): certbot reloads the
  server it installed into after renewing;
- a deploy hook reloads nginx: an executable file in
  ``renewal-hooks/deploy/`` (non-executable files and names ending in ``~``
  are ignored), or ``renew_hook``/``deploy_hook`` in the renewal file (certbot
  stores ``--deploy-hook`` as ``renew_hook``), or ``deploy-hook`` in
  ``cli.ini``;
- a post hook does (``renewal-hooks/post/``, ``post_hook``): it runs after
  every renewal attempt, so it reloads too.

A certificate is taken as certbot's when its path is
``<config>/live/<name>/<file>`` and ``<config>/renewal/<name>.conf`` exists;
``<config>`` is usually ``/etc/letsencrypt``, and deriving it from the path
lets tests build a real certbot tree under a temporary directory.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from wizard.findings import Finding, ok, skip, warn
from wizard.reading import read_head

_RELOADS_NGINX = re.compile(r"\bnginx\b.*\b(reload|restart)\b|\b(reload|restart)\b.*\bnginx\b")
_HOOK_KEYS = ("renew_hook", "deploy_hook", "post_hook")
_CLI_HOOK_KEYS = ("deploy-hook", "renew-hook", "post-hook")
_MAX_READ = 256 * 1024
HOOK_NAME = "reload-nginx"
"""The file name the remedy (and, later, ``apply --renew-hook``) uses for the hook."""


@dataclass(frozen=True)
class Lineage:
    """A certbot-managed certificate.

    Attributes:
        config_dir: certbot's configuration directory (``/etc/letsencrypt``).
        name: The certificate name (``live/<name>``).
    """

    config_dir: Path
    name: str

    @property
    def renewal_file(self) -> Path:
        """``renewal/<name>.conf``."""
        return self.config_dir / "renewal" / f"{self.name}.conf"

    def hooks_dir(self, kind: str) -> Path:
        """``renewal-hooks/<kind>`` (``deploy``, ``post``, ``pre``)."""
        return self.config_dir / "renewal-hooks" / kind


def find_lineage(cert_path: str) -> Lineage | None:
    """The certbot lineage a certificate path belongs to, or ``None``.

    Both the ``live/<name>/fullchain.pem`` path and the ``archive/<name>/...``
    file it links to are recognised.
    """
    for candidate in (Path(cert_path), Path(os.path.realpath(cert_path))):
        parts = candidate.parts
        if len(parts) >= 4 and parts[-3] in ("live", "archive"):
            lineage = Lineage(Path(*parts[:-3]), parts[-2])
            if lineage.renewal_file.exists():
                return lineage
    return None


def parse_renewal_conf(text: str) -> dict[str, dict[str, str]]:
    """Sections of a certbot renewal file (configobj syntax); top-level keys under ``""``."""
    sections: dict[str, dict[str, str]] = {"": {}}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1)
            sections.setdefault(current, {})
            continue
        key, sep, value = line.partition("=")
        if sep:
            sections[current][key.strip()] = value.strip().strip("\"'")
    return sections


def _read(path: Path) -> str:
    return read_head(path, _MAX_READ).decode("utf-8", errors="replace")


def _command_reloads(command: str) -> bool:
    """Whether a hook command reloads nginx, itself or through the script it names."""
    if _RELOADS_NGINX.search(command):
        return True
    program = command.split(None, 1)[0] if command.strip() else ""
    if os.path.isabs(program) and os.path.isfile(program):
        try:
            return bool(_RELOADS_NGINX.search(_read(Path(program))))
        except OSError:
            return False
    return False


@dataclass
class _Evidence:
    """What reloads nginx after a renewal, and hooks that would but are skipped."""

    reloads: list[str]
    ignored: list[Path]


def _directory_hooks(directory: Path, evidence: _Evidence) -> None:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        path = directory / name
        try:
            info = path.stat()
            text = _read(path) if stat.S_ISREG(info.st_mode) else ""
        except OSError:
            continue
        if not _RELOADS_NGINX.search(text):
            continue
        if name.endswith("~") or not info.st_mode & 0o111:
            evidence.ignored.append(path)
        else:
            evidence.reloads.append(f"the hook {path}")


def _gather(lineage: Lineage, params: dict[str, str]) -> _Evidence:
    evidence = _Evidence([], [])
    installer = params.get("installer", "")
    if installer == "nginx":
        evidence.reloads.append("certbot's nginx installer (installer = nginx)")
    for key in _HOOK_KEYS:
        command = params.get(key, "")
        if command and command != "None" and _command_reloads(command):
            evidence.reloads.append(f"{key} = {command} in {lineage.renewal_file}")
    cli_ini = lineage.config_dir / "cli.ini"
    try:
        cli = parse_renewal_conf(_read(cli_ini))[""]
    except OSError:
        cli = {}
    for key in _CLI_HOOK_KEYS:
        if _command_reloads(cli.get(key, "")):
            evidence.reloads.append(f"{key} = {cli[key]} in {cli_ini}")
    if params.get("directory_hooks", "True") != "False":
        for kind in ("deploy", "post"):
            _directory_hooks(lineage.hooks_dir(kind), evidence)
    return evidence


def reload_hook_command(lineage: Lineage) -> str:
    """The shell command that installs a deploy hook reloading nginx for ``lineage``."""
    hook = lineage.hooks_dir("deploy") / HOOK_NAME
    return (
        f"mkdir -p {lineage.hooks_dir('deploy')} && "
        f"printf '#!/bin/sh\\nsystemctl reload nginx\\n' > {hook} && chmod 755 {hook}"
    )


def check_renewal(cert_path: str) -> list[Finding]:
    """Whether nginx is reloaded after certbot renews the certificate at ``cert_path``.

    Args:
        cert_path: The certificate file the server block uses.

    Returns:
        One ``cert.renewal_*`` finding.
    """
    if not cert_path:
        return []
    lineage = find_lineage(cert_path)
    if lineage is None:
        return [
            skip(
                "cert.renewal_skipped",
                "The certificate is not managed by certbot: renewal not checked",
                f"No certbot renewal file matches {cert_path}. Renew it before it expires "
                "and reload nginx afterwards (systemctl reload nginx).",
            )
        ]
    try:
        params = parse_renewal_conf(_read(lineage.renewal_file)).get("renewalparams", {})
    except OSError as exc:
        return [
            skip(
                "cert.renewal_skipped",
                "certbot's renewal file cannot be read: renewal not checked",
                f"{lineage.renewal_file}: {exc.strerror or exc}. Run the check as root.",
            )
        ]
    evidence = _gather(lineage, params)
    if evidence.reloads:
        return [
            ok(
                "cert.renewal_ok",
                f"certbot renews {lineage.name} and nginx is reloaded afterwards",
                "Reloaded by " + "; ".join(evidence.reloads) + ".",
            )
        ]
    detail = (
        f"certbot renews {lineage.name} ({lineage.renewal_file}), but nothing reloads nginx "
        "after a renewal: nginx would keep serving the old certificate until it expires."
    )
    remedy = f"Install a deploy hook: {reload_hook_command(lineage)}"
    if evidence.ignored:
        shown = " ".join(str(path) for path in evidence.ignored)
        detail += f" certbot skips {shown}: not executable, or a backup name ending in '~'."
        remedy = f"Make the hook executable: chmod 755 {shown} (or {remedy[0].lower()}{remedy[1:]})"
    return [
        warn(
            "cert.renewal_no_reload",
            "nginx is not reloaded after certbot renews the certificate",
            detail,
            remedy,
        )
    ]
