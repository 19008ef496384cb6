"""``apply --monitor``: a systemd service and timer that run the check daily for Prometheus.

The service runs ``check --post-install --format prometheus --textfile FILE``
(the same options ``apply`` was given), which writes the report atomically for
node_exporter's textfile collector (README.md, "Monitoring"); the timer starts
it once a day. Both unit files are planned like every other file the install
writes: in the plan and the diff, backed up when replaced, written atomically
and put back on a rollback. Enabling the timer is left to the admin (or the
Ansible role): ``systemctl daemon-reload && systemctl enable --now`` the timer.

systemd reads ``ExecStart`` with its own quoting: every argument is written
double-quoted with ``\\``, ``"``, ``%`` (specifiers) and ``$`` (variables)
escaped, so no path or address can add an argument or expand to anything.

The service runs as root every day, so the code it runs must be root's: the
interpreter, its installation and the ``wizard`` package are refused when a
directory on their way (or the file) belongs to another user or can be written
by group or others. A checkout cloned by a normal user and run with ``sudo``
works for ``apply``, but would give that user root through the timer. What it
reads on the paths ``apply`` was given (the answers file, ``--ca-bundle``,
``--nginx-root``) is held to the same rule: whoever could change them would
steer root's daily check (the confused deputy).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.fsutil import UnsafePathError, check_readable_path
from wizard.install.errors import InstallError

SERVICE_NAME = "codestream-bastion-monitor.service"
TIMER_NAME = "codestream-bastion-monitor.timer"
TEXTFILE_NAME = "codestream_bastion.prom"
DEFAULT_SYSTEMD_DIR = Path("/etc/systemd/system")
# Debian's and Ubuntu's prometheus-node-exporter package reads this directory.
DEFAULT_TEXTFILE_DIR = Path("/var/lib/prometheus/node-exporter")
UNIT_MODE = 0o644
ROOT_ONLY = frozenset({0})
"""The service runs as root: only root's files are trusted (not the sudo user's)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class MonitorSpec:
    """What ``apply --monitor`` installs.

    Attributes:
        check_argv: The check command, program first, without ``--textfile``
            (``python -m wizard check --answers ... --post-install --format prometheus ...``).
        textfile_dir: node_exporter's textfile directory.
        systemd_dir: Where the unit files go.
        inputs: What the check reads on the paths given: the answers file,
            ``--ca-bundle``, ``--nginx-root`` (refused unless root's alone).
    """

    check_argv: tuple[str, ...]
    textfile_dir: Path = DEFAULT_TEXTFILE_DIR
    systemd_dir: Path = DEFAULT_SYSTEMD_DIR
    inputs: tuple[Path, ...] = ()

    @property
    def textfile(self) -> Path:
        """The file the daily check writes."""
        return self.textfile_dir / TEXTFILE_NAME


def systemd_quote(argument: str) -> str:
    """One ``ExecStart`` argument, double-quoted for systemd.

    Raises:
        InstallError: For a control character (a newline would end the line).
    """
    if _CONTROL.search(argument):
        raise InstallError(
            f"--monitor: {argument!r} holds a control character and cannot go into a unit file.",
            "Use paths and addresses without newlines or other control characters.",
            code="install.monitor",
        )
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def _exec_line(argv: Sequence[str]) -> str:
    return "ExecStart=" + " ".join(systemd_quote(a) for a in argv)


def service_unit(spec: MonitorSpec) -> bytes:
    """The ``.service`` file."""
    argv = [*spec.check_argv, "--textfile", str(spec.textfile)]
    return (
        "# Installed by codestream-bastion (apply --monitor): the check, through the\n"
        "# public name, written for node_exporter's textfile collector.\n"
        "[Unit]\n"
        "Description=codestream-bastion check for the node_exporter textfile collector\n"
        "Wants=network-online.target\n"
        "After=network-online.target nginx.service\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        # Exit 1 is a failed check: the report says which, so the run succeeded.
        "SuccessExitStatus=1\n"
        f"{_exec_line(argv)}\n"
    ).encode()


def timer_unit() -> bytes:
    """The ``.timer`` file: daily, spread over an hour, caught up after downtime."""
    return (
        "# Installed by codestream-bastion (apply --monitor).\n"
        "[Unit]\n"
        f"Description=Run {SERVICE_NAME} daily\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=daily\n"
        "RandomizedDelaySec=1h\n"
        "Persistent=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    ).encode()


def _not_roots(path: Path) -> str:
    """Why someone other than root could change ``path``, or ``""``.

    :func:`wizard.fsutil.check_readable_path` with root alone trusted: every
    directory as written (a link's own directory, then its target), not only
    the resolved path, so a root venv whose ``bin/`` another user owns is seen.
    """
    try:
        check_readable_path(path, uids=ROOT_ONLY)
    except UnsafePathError as exc:
        return exc.message
    return ""


def _refuse(paths: Iterable[Path], how: str, remedy: str) -> None:
    for path in paths:
        try:
            problem = _not_roots(path)
        except OSError as exc:
            problem = f"{path} cannot be examined: {exc.strerror or exc}"
        if problem:
            raise InstallError(
                f"--monitor: {problem}, and the daily check would {how} as root.",
                remedy,
                code="install.monitor",
            )


def check_root_owned(paths: Iterable[Path]) -> None:
    """Refuse code for the root service that someone other than root could change.

    Raises:
        InstallError: Naming the path, what was found, and the fix.
    """
    _refuse(
        paths,
        "run it",
        "Install codestream-bastion where only root can write (for example "
        "'python3 -m venv /opt/codestream-bastion' as root, then pip install), "
        "and run apply --monitor with that installation.",
    )


def check_root_inputs(paths: Iterable[Path]) -> None:
    """Refuse files the root service reads (answers, --ca-bundle, --nginx-root) others control.

    The daily check runs as root with these paths: whoever could change one
    could point root's check at any file, or decide what it trusts (the
    confused deputy).

    Raises:
        InstallError: Naming the path, its owner, and where to move it.
    """
    _refuse(
        paths,
        "read it",
        "Move the file where only root can write (for example /etc/codestream-bastion/, "
        "each directory owned by root and not writable by group or others), and run "
        "apply --monitor with that path.",
    )


def running_code() -> list[Path]:
    """What ``python -m wizard`` runs: the interpreter, its installation, the package."""
    import wizard

    paths = [Path(sys.executable), Path(sys.prefix), Path(wizard.__file__).parent]
    return paths + [Path(entry) for entry in sys.path if entry and Path(entry).is_dir()]


def planned_units(spec: MonitorSpec) -> list[tuple[Path, bytes]]:
    """The unit files' paths and contents.

    Raises:
        InstallError: When the textfile directory does not exist (node_exporter
            creates no directory, so the daily check would have nowhere to write),
            or the code the service would run, or a file it reads, is not root's alone.
    """
    if not spec.textfile_dir.is_dir():
        raise InstallError(
            f"--monitor: the textfile directory {spec.textfile_dir} does not exist.",
            "Pass node_exporter's --collector.textfile.directory as --textfile-dir, or "
            f"create it (mkdir -p {spec.textfile_dir}).",
            code="install.monitor",
        )
    check_root_owned(running_code())
    check_root_inputs(spec.inputs)
    return [
        (spec.systemd_dir / SERVICE_NAME, service_unit(spec)),
        (spec.systemd_dir / TIMER_NAME, timer_unit()),
    ]
