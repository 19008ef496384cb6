"""``cert.renewal_*``: a real certbot configuration tree under a temporary root.

The tree is laid out as certbot 2.x leaves it: ``archive/<name>/fullchain1.pem``
holding a real certificate from the test CA, ``live/<name>/fullchain.pem`` a
relative symlink to it, ``renewal/<name>.conf`` in certbot's configobj format
and the ``renewal-hooks/{pre,deploy,post}`` directories.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from wizard.checks.renewal import (
    HOOK_NAME,
    check_renewal,
    find_lineage,
    parse_renewal_conf,
    reload_hook_command,
)
from wizard.demo.ca import Issued, key_pem
from wizard.findings import Finding

NAME = "bastion.example.com"


def _renewal_conf(root: Path, params: str) -> str:
    live, archive = root / "live" / NAME, root / "archive" / NAME
    return (
        "# renew_before_expiry = 30 days\n"
        "version = 2.1.0\n"
        f"archive_dir = {archive}\n"
        f"cert = {live}/cert.pem\n"
        f"privkey = {live}/privkey.pem\n"
        f"chain = {live}/chain.pem\n"
        f"fullchain = {live}/fullchain.pem\n\n"
        "# Options used in the renewal process\n"
        "[renewalparams]\n"
        "account = 0123456789abcdef0123456789abcdef\n"
        "server = https://acme-v02.api.letsencrypt.org/directory\n"
        "key_type = ecdsa\n" + params
    )


def certbot_tree(root: Path, good: Issued, params: str = "authenticator = standalone\n") -> Path:
    """Lay out certbot's tree under ``root``; return the live fullchain path."""
    archive, live = root / "archive" / NAME, root / "live" / NAME
    archive.mkdir(parents=True)
    live.mkdir(parents=True)
    (archive / "fullchain1.pem").write_bytes(good.fullchain_pem())
    (archive / "privkey1.pem").write_bytes(key_pem(good.key, None))
    for kind in ("fullchain", "privkey"):
        os.symlink(f"../../archive/{NAME}/{kind}1.pem", live / f"{kind}.pem")
    (root / "renewal").mkdir()
    (root / "renewal" / f"{NAME}.conf").write_text(_renewal_conf(root, params), encoding="utf-8")
    for kind in ("pre", "deploy", "post"):
        (root / "renewal-hooks" / kind).mkdir(parents=True)
    return live / "fullchain.pem"


def _one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_no_reload_warns_with_a_command_that_really_installs_the_hook(
    tmp_path: Path, good: Issued
) -> None:
    cert = certbot_tree(tmp_path, good)
    finding = _one(check_renewal(str(cert)))
    assert (finding.code, finding.status) == ("cert.renewal_no_reload", "warn")
    assert str(tmp_path / "renewal" / f"{NAME}.conf") in finding.detail
    lineage = find_lineage(str(cert))
    assert lineage is not None
    assert finding.remedy == f"Install a deploy hook: {reload_hook_command(lineage)}"
    # The remedy is a real command: run it, and the check is satisfied.
    subprocess.run(["sh", "-c", reload_hook_command(lineage)], check=True)
    hook = tmp_path / "renewal-hooks" / "deploy" / HOOK_NAME
    assert hook.read_text(encoding="utf-8") == "#!/bin/sh\nsystemctl reload nginx\n"
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    fixed = _one(check_renewal(str(cert)))
    assert fixed.code == "cert.renewal_ok"
    assert str(hook) in fixed.detail


def test_archive_path_is_recognised_too(tmp_path: Path, good: Issued) -> None:
    certbot_tree(tmp_path, good)
    archived = tmp_path / "archive" / NAME / "fullchain1.pem"
    assert _one(check_renewal(str(archived))).code == "cert.renewal_no_reload"


@pytest.mark.parametrize(
    "params",
    [
        "authenticator = nginx\ninstaller = nginx\n",
        "authenticator = webroot\nrenew_hook = systemctl reload nginx\n",
        "authenticator = webroot\ndeploy_hook = service nginx reload\n",
        "authenticator = standalone\npost_hook = /usr/sbin/nginx -s reload\n",
    ],
)
def test_certbot_reloads_through_installer_or_renewal_file_hook(
    tmp_path: Path, good: Issued, params: str
) -> None:
    cert = certbot_tree(tmp_path, good, params)
    finding = _one(check_renewal(str(cert)))
    assert finding.code == "cert.renewal_ok", finding
    assert params.splitlines()[-1].split(" = ")[0] in finding.detail


def test_hook_command_naming_a_script_is_read(tmp_path: Path, good: Issued) -> None:
    script = tmp_path / "bin" / "after-renewal.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nnginx -t && systemctl reload nginx\n", encoding="utf-8")
    cert = certbot_tree(tmp_path / "le", good, f"renew_hook = {script} --quiet\n")
    assert _one(check_renewal(str(cert))).code == "cert.renewal_ok"


def test_cli_ini_deploy_hook_counts(tmp_path: Path, good: Issued) -> None:
    cert = certbot_tree(tmp_path, good)
    (tmp_path / "cli.ini").write_text(
        "max-log-backups = 0\ndeploy-hook = systemctl reload nginx\n", encoding="utf-8"
    )
    finding = _one(check_renewal(str(cert)))
    assert finding.code == "cert.renewal_ok"
    assert "cli.ini" in finding.detail


def test_non_executable_hook_is_ignored_like_certbot_does(tmp_path: Path, good: Issued) -> None:
    cert = certbot_tree(tmp_path, good)
    hook = tmp_path / "renewal-hooks" / "deploy" / "nginx"
    hook.write_text("#!/bin/sh\nsystemctl reload nginx\n", encoding="utf-8")
    hook.chmod(0o644)
    finding = _one(check_renewal(str(cert)))
    assert finding.code == "cert.renewal_no_reload"
    assert str(hook) in finding.detail
    assert finding.remedy.startswith(f"Make the hook executable: chmod 755 {hook}")
    hook.chmod(0o755)
    assert _one(check_renewal(str(cert))).code == "cert.renewal_ok"


def test_hooks_that_do_not_reload_nginx_and_disabled_directory_hooks(
    tmp_path: Path, good: Issued
) -> None:
    cert = certbot_tree(tmp_path, good, "directory_hooks = False\n")
    other = tmp_path / "renewal-hooks" / "deploy" / "postfix"
    other.write_text("#!/bin/sh\nsystemctl reload postfix\n", encoding="utf-8")
    other.chmod(0o755)
    assert _one(check_renewal(str(cert))).code == "cert.renewal_no_reload"
    nginx_hook = tmp_path / "renewal-hooks" / "post" / "nginx"
    nginx_hook.write_text("#!/bin/sh\nsystemctl reload nginx\n", encoding="utf-8")
    nginx_hook.chmod(0o755)
    # certbot --no-directory-hooks: the directories are not run at all.
    assert _one(check_renewal(str(cert))).code == "cert.renewal_no_reload"


def test_not_certbot_and_unreadable_renewal_file_skip(tmp_path: Path, good: Issued) -> None:
    crt, _ = good.write(tmp_path / "ssl", "bastion")
    skipped = _one(check_renewal(str(crt)))
    assert (skipped.code, skipped.status) == ("cert.renewal_skipped", "skip")
    assert "not managed by certbot" in skipped.title
    # live/ without renewal/<name>.conf is not certbot's either.
    live = tmp_path / "other" / "live" / NAME
    live.mkdir(parents=True)
    (live / "fullchain.pem").write_bytes(good.fullchain_pem())
    assert _one(check_renewal(str(live / "fullchain.pem"))).code == "cert.renewal_skipped"
    # A renewal file that is a directory cannot be read.
    cert = certbot_tree(tmp_path / "broken", good)
    conf = tmp_path / "broken" / "renewal" / f"{NAME}.conf"
    conf.unlink()
    conf.mkdir()
    unreadable = _one(check_renewal(str(cert)))
    assert unreadable.code == "cert.renewal_skipped"
    assert "cannot be read" in unreadable.title
    assert check_renewal("") == []


def test_parse_renewal_conf_sections() -> None:
    parsed = parse_renewal_conf(
        "version = 2.1.0\n[renewalparams]\ninstaller = nginx\n"
        '[[webroot_map]]\nexample.com = "/var/www"\n'
    )
    assert parsed[""] == {"version": "2.1.0"}
    assert parsed["renewalparams"] == {"installer": "nginx"}
    assert parsed["webroot_map"] == {"example.com": "/var/www"}
