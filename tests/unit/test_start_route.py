"""Which command starts nginx: systemd's unit, or nginx itself (:mod:`wizard.install.start`).

systemd cannot be driven on these test machines (it is not PID 1 here), so the
systemd route is selected with an injected "host manager": a directory that
stands for ``/run/systemd/system`` (sd_booted(3)) and a command runner that
answers ``systemctl show nginx`` and ``nginx -V`` with the outputs written
below. They are written in the exact format systemctl prints, for the units
the distribution packages install: RHEL 9's ``nginx.service``
(``ExecStart=/usr/sbin/nginx``, the configuration compiled in as
``--conf-path=/etc/nginx/nginx.conf``), Debian's (``ExecStart=/usr/sbin/nginx
-g 'daemon on; master_process on;'``), and a unit that names its tree with
``-c``. Nothing here runs ``systemctl`` or starts nginx; the nginx route is
run for real in ``tests/integration/test_start_nginx.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.install import Installer
from wizard.install.start import (
    SYSTEMD_START,
    StartPlan,
    parse_systemctl_show,
    plan_start,
    stop_started,
    unit_argv,
    unit_config_path,
)
from wizard.nginx import NginxFeatures
from wizard.nginx.command import CommandResult

RHEL_NGINX_V = (
    "nginx version: nginx/1.20.1\nbuilt by gcc 11.3.1\nbuilt with OpenSSL 3.0.7\n"
    "configure arguments: --prefix=/usr/share/nginx --sbin-path=/usr/sbin/nginx "
    "--modules-path=/usr/lib64/nginx/modules --conf-path=/etc/nginx/nginx.conf "
    "--error-log-path=/var/log/nginx/error.log --http-log-path=/var/log/nginx/access.log "
    "--pid-path=/run/nginx.pid --lock-path=/run/lock/subsys/nginx --user=nginx --group=nginx"
)


def systemctl_show(
    exec_start_argv: str, unit_file_state: str = "disabled", active: str = "inactive"
) -> str:
    """``systemctl show nginx`` of an installed, stopped nginx unit (the lines that matter)."""
    return (
        "Type=forking\n"
        "Restart=no\n"
        "PIDFile=/run/nginx.pid\n"
        "ExecMainStartTimestampMonotonic=0\n"
        "ExecMainPID=0\n"
        "ExecMainCode=0\n"
        "ExecMainStatus=0\n"
        "ExecStartPre={ path=/usr/bin/rm ; argv[]=/usr/bin/rm -f /run/nginx.pid ; "
        "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; "
        "status=0/0 }\n"
        "ExecStartPre={ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -t ; ignore_errors=no ; "
        "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n"
        f"ExecStart={{ path=/usr/sbin/nginx ; argv[]={exec_start_argv} ; ignore_errors=no ; "
        "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n"
        "ExecReload={ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -s reload ; "
        "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; "
        "status=0/0 }\n"
        "Id=nginx.service\n"
        "Names=nginx.service\n"
        "Description=The nginx HTTP and reverse proxy server\n"
        "LoadState=loaded\n"
        f"ActiveState={active}\n"
        "SubState=dead\n"
        "FragmentPath=/usr/lib/systemd/system/nginx.service\n"
        f"UnitFileState={unit_file_state}\n"
        "UnitFilePreset=disabled\n"
    )


NOT_FOUND = (
    "Id=nginx.service\nNames=nginx.service\nLoadState=not-found\nActiveState=inactive\n"
    "SubState=dead\nUnitFileState=\n"
)


class Recorded:
    """Answers commands with recorded outputs and keeps what was asked."""

    def __init__(self, outputs: dict[str, CommandResult]) -> None:
        self.outputs = outputs
        self.calls: list[str] = []

    async def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        command = " ".join(argv)
        self.calls.append(command)
        if command.endswith(" -V"):
            return CommandResult(0, RHEL_NGINX_V)
        return self.outputs.get(command, CommandResult(1, f"{command}: not recorded"))


def tree(root: Path) -> Path:
    """A stopped tree: its nginx.conf names a pid file that does not exist."""
    root.mkdir(parents=True)
    (root / "nginx.conf").write_text(f"pid {root}/nginx.pid;\nevents {{}}\n", encoding="utf-8")
    return root


@pytest.fixture
def booted(tmp_path: Path) -> Path:
    """Stands for /run/systemd/system: systemd is the init system."""
    run_dir = tmp_path / "run-systemd-system"
    run_dir.mkdir()
    return run_dir


async def test_a_unit_that_runs_this_trees_config_starts_it_with_systemctl(
    tmp_path: Path, booted: Path
) -> None:
    root = tree(tmp_path / "opt-nginx")
    show = systemctl_show(f"/usr/sbin/nginx -c {root}/nginx.conf")
    run = Recorded({"systemctl show nginx": CommandResult(0, show)})
    start = await plan_start("/usr/sbin/nginx", root, run=run, run_dir=booted)
    assert start is not None
    assert (start.argv, start.manager, start.enabled_before) == (SYSTEMD_START, "systemd", False)
    assert (
        start.describe()
        == "nginx is not running: it will be started (systemctl enable --now nginx)"
    )
    assert start.pid_file == root / "nginx.pid"
    assert "does not exist" in start.why
    assert run.calls == ["/usr/sbin/nginx -V", "systemctl show nginx", "/usr/sbin/nginx -V"]


async def test_a_unit_systemd_says_is_active_is_never_started_nor_stopped(
    tmp_path: Path, booted: Path
) -> None:
    """No pid file names a master, yet systemd runs nginx (its unit's own PIDFile): no start."""
    root = tree(tmp_path / "opt-nginx")
    show = systemctl_show(f"/usr/sbin/nginx -c {root}/nginx.conf", "enabled", active="active")
    run = Recorded({"systemctl show nginx": CommandResult(0, show)})
    assert await plan_start("/usr/sbin/nginx", root, run=run, run_dir=booted) is None


@pytest.mark.parametrize(
    "exec_start",
    ["/usr/sbin/nginx", "/usr/sbin/nginx -g daemon on; master_process on;"],
    ids=["rhel-unit", "debian-unit"],
)
async def test_the_packaged_unit_runs_etc_nginx_so_another_tree_is_started_by_nginx(
    tmp_path: Path, booted: Path, exec_start: str
) -> None:
    root = tree(tmp_path / "copy")
    run = Recorded({"systemctl show nginx": CommandResult(0, systemctl_show(exec_start))})
    start = await plan_start("/usr/sbin/nginx", root, run=run, run_dir=booted)
    assert start is not None
    assert start.argv == ("/usr/sbin/nginx", "-c", f"{root}/nginx.conf", "-p", f"{root}/")
    assert start.manager == "nginx"
    # The unit's config is the compiled one (no -c): /etc/nginx/nginx.conf, not this tree's.
    unit = parse_systemctl_show(systemctl_show(exec_start))
    compiled = "/etc/nginx/nginx.conf"
    assert unit_config_path(unit_argv(unit["ExecStart"]), compiled) == compiled


async def test_no_unit_or_no_systemd_means_nginx_starts_itself(
    tmp_path: Path, booted: Path
) -> None:
    root = tree(tmp_path / "etc")
    run = Recorded({"systemctl show nginx": CommandResult(0, NOT_FOUND)})
    start = await plan_start("/usr/sbin/nginx", root, run=run, run_dir=booted)
    assert start is not None
    assert start.manager == "nginx"
    # Not booted with systemd: systemctl is not even asked.
    run = Recorded({})
    start = await plan_start("/usr/sbin/nginx", root, run=run, run_dir=tmp_path / "absent")
    assert start is not None
    assert start.manager == "nginx"
    assert run.calls == ["/usr/sbin/nginx -V"]


def test_exec_start_parsing() -> None:
    debian = parse_systemctl_show(
        systemctl_show("/usr/sbin/nginx -g daemon on; master_process on;")
    )
    assert unit_argv(debian["ExecStart"]) == [
        "/usr/sbin/nginx", "-g", "daemon", "on;", "master_process", "on;"
    ]  # fmt: skip
    assert debian["LoadState"] == "loaded"
    assert debian["ExecStartPre"].startswith("{ path=/usr/bin/rm")  # the first one is kept
    assert unit_config_path(["/usr/sbin/nginx", "-c", "/opt/n.conf"], "/x") == "/opt/n.conf"
    assert unit_config_path(["/usr/sbin/nginx", "-c/opt/n.conf"], "/x") == "/opt/n.conf"
    assert unit_argv("") == []


async def test_the_installer_plans_the_systemd_start_and_undoes_it_with_stop_and_disable(
    tmp_path: Path, booted: Path
) -> None:
    """The Installer with the injected host manager: the plan says so, the undo is exact."""
    root = tree(tmp_path / "srv-nginx")
    (root / "conf.d").mkdir()
    (root / "nginx.conf").write_text(
        f"pid {root}/nginx.pid;\nevents {{}}\nhttp {{ include {root}/conf.d/*.conf; }}\n",
        encoding="utf-8",
    )
    show = systemctl_show(f"/usr/sbin/nginx -c {root}/nginx.conf")
    run = Recorded(
        {
            "systemctl show nginx": CommandResult(0, show),
            "systemctl stop nginx": CommandResult(0, ""),
            "systemctl disable nginx": CommandResult(0, ""),
        }
    )
    answers = Answers(mode="slack")
    answers.bastion.hostname = "bastion.example.test"
    answers.bastion.public_ip = "127.0.0.1"
    answers.bastion.certificate = str(tmp_path / "c.pem")
    answers.bastion.private_key = str(tmp_path / "k.pem")
    answers.codestream.api_url = "https://codestream.example.test"
    installer = Installer(
        answers,
        CheckContext(nginx_root=root, nginx_binary="/usr/sbin/nginx"),
        features=NginxFeatures(),
        resolvers=["127.0.0.1"],
        ca_bundle=None,
        output_dir=tmp_path / "out",
        state_dir=tmp_path / "state",
        test_command=["true"],
        command_runner=run,
        systemd_run_dir=booted,
    )
    plan = await installer.make_plan()
    assert plan.start is not None
    assert plan.start.argv == SYSTEMD_START
    assert "  nginx is not running: it will be started (systemctl enable --now nginx)" in (
        plan.summary()
    )
    from wizard.commands.apply import question

    assert question(plan).startswith(
        "nginx is not running: it will be started (systemctl enable --now nginx). "
        "Write these files and start nginx?"
    )
    said = await stop_started(plan.start, run=run)
    assert run.calls[-2:] == ["systemctl stop nginx", "systemctl disable nginx"]
    assert "systemctl stop nginx and systemctl disable nginx" in said
    # A unit that was enabled before stays enabled: only stopped.
    enabled = StartPlan(SYSTEMD_START, "systemd", "", root / "nginx.pid", enabled_before=True)
    await stop_started(enabled, run=run)
    assert run.calls[-1] == "systemctl stop nginx"
    assert run.calls.count("systemctl disable nginx") == 1
