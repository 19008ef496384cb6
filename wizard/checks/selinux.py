"""SELinux on RHEL-family bastions: will it let nginx do its job? (``selinux.*`` codes)

On RHEL, Rocky, Alma, Fedora and Amazon Linux, SELinux is enforcing by
default and nginx runs confined in the ``httpd_t`` domain. Three things then
stop a bastion that is otherwise right, and nginx's own ``nginx -t`` (run as
root, unconfined) sees none of them:

- ``httpd_t`` may not open connections to the upstream unless the boolean
  ``httpd_can_network_connect`` is on (or ``httpd_can_network_relay`` for an
  upstream port labelled ``http_port_t``): every proxied request gets a 502
  and ``connect() ... failed (13: Permission denied)`` in the error log.
- It may only read certificates and keys whose file type it is allowed to
  read (``cert_t``, ``httpd_config_t``, ...): a certificate copied from a home
  directory keeps ``user_home_t`` and nginx cannot start.
- It may only listen on ports labelled ``http_port_t`` (80, 443, 8443, ...).

The check asks the host the way an admin would: ``getenforce`` (or
``/sys/fs/selinux/enforce``), ``getsebool``, the ``security.selinux`` attribute
of each file against ``matchpathcon``, and ``semanage port -l``. Commands run
through an injected runner and the host's files through injected readers
(:class:`SelinuxHost`), so tests replay outputs recorded on RHEL hosts:
SELinux cannot run on the machines the tests run on. Where SELinux is absent,
disabled or permissive, every question is skipped, saying so.

Sources: the reference policy's ``apache.te`` (``httpd_can_network_connect``
allows connecting to all ports, ``httpd_can_network_relay`` to the http, ftp
and cache ports), ``semanage-port(8)``, ``matchpathcon(8)``, ``restorecon(8)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.findings import Finding, fail, ok, skip, warn
from wizard.nginx.command import CommandResult, run_command

CommandRunner = Callable[[Sequence[str], float], Awaitable[CommandResult]]
"""Runs ``argv`` with a timeout (:func:`wizard.nginx.run_command`'s shape)."""

COMMAND_TIMEOUT = 30.0
"""``semanage port -l`` loads the whole policy: seconds, not milliseconds."""

DEFAULT_HTTP_PORTS: frozenset[int] = frozenset({80, 81, 443, 488, 8008, 8009, 8443, 9000})
"""The ports the stock policy labels ``http_port_t`` (when ``semanage`` cannot be asked)."""

RELAY_PORT_TYPES: frozenset[str] = frozenset(
    {"http_port_t", "http_cache_port_t", "ftp_port_t", "gopher_port_t", "squid_port_t"}
)
"""Port types ``httpd_can_network_relay`` lets ``httpd_t`` connect to."""

READABLE_TYPES: frozenset[str] = frozenset(
    {
        "cert_t",  # /etc/pki/tls/{certs,private}, /etc/ssl, /etc/letsencrypt
        "httpd_config_t",  # /etc/nginx
        "httpd_sys_content_t",
        "httpd_sys_rw_content_t",
        "etc_t",
    }
)
"""File types nginx (``httpd_t``) may read a certificate or key from."""

_TOOLS_PACKAGE = "policycoreutils"
_SEMANAGE_PACKAGE = "policycoreutils-python-utils"


def read_file_label(path: Path) -> str | None:
    """The SELinux context of ``path`` (its ``security.selinux`` attribute), or ``None``."""
    try:
        raw = os.getxattr(path, "security.selinux")
    except OSError:  # no attribute (SELinux absent), no such file, unreadable
        return None
    return raw.rstrip(b"\x00").decode("ascii", errors="replace") or None


def read_text_file(path: Path) -> str | None:
    """The text of a small file such as ``/sys/fs/selinux/enforce``, or ``None``."""
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class SelinuxHost:
    """How the check asks the host (replaced in tests by recorded answers).

    Attributes:
        run: Runs a command (``getenforce``, ``getsebool``, ``matchpathcon``,
            ``semanage``) and returns its exit status and output.
        enforce_file: The kernel's enforcing switch (``1`` enforcing, ``0`` permissive).
        read_label: The ``security.selinux`` context of a file, or ``None``.
        read_text: Reads ``enforce_file``.
    """

    run: CommandRunner = run_command
    enforce_file: Path = field(default_factory=lambda: Path("/sys/fs/selinux/enforce"))
    read_label: Callable[[Path], str | None] = read_file_label
    read_text: Callable[[Path], str | None] = read_text_file


def _not_installed(result: CommandResult) -> bool:
    return result.returncode is None and result.output.startswith("cannot run")


def context_type(context: str) -> str | None:
    """The type of an SELinux context: ``cert_t`` in ``system_u:object_r:cert_t:s0``."""
    parts = context.strip().split(":")
    return parts[2] if len(parts) >= 3 and parts[2] else None


async def selinux_mode(host: SelinuxHost, timeout: float) -> tuple[str, str]:
    """``enforcing``, ``permissive``, ``disabled`` or ``absent``, and how it was found."""
    result = await host.run(["getenforce"], timeout)
    word = result.output.strip().lower()
    if result.ok and word in ("enforcing", "permissive", "disabled"):
        return word, f"getenforce says {result.output.strip()}"
    text = host.read_text(host.enforce_file)
    if text is not None and text.strip() in ("0", "1"):
        mode = "enforcing" if text.strip() == "1" else "permissive"
        return mode, f"{host.enforce_file} holds {text.strip()}"
    how = "getenforce is not installed" if _not_installed(result) else "getenforce gave no mode"
    return "absent", f"{how} and {host.enforce_file} does not exist"


_BOOL = re.compile(r"^(\S+)\s+-->\s+(on|off)\s*$", re.MULTILINE)


async def sebool(host: SelinuxHost, name: str, timeout: float) -> bool | None:
    """The value of boolean ``name`` (``getsebool``), or ``None`` when unknown."""
    result = await host.run(["getsebool", name], timeout)
    for match in _BOOL.finditer(result.output):
        if match.group(1) == name:
            return match.group(2) == "on"
    return None


_PORT_LINE = re.compile(r"^(\S+_t)\s+(tcp|udp|sctp|dccp)\s+(.+)$")


def parse_semanage_ports(output: str) -> dict[int, dict[str, bool]]:
    """The TCP port labels of ``semanage port -l`` output: port -> {type: exact}.

    ``exact`` is true when the port is listed on its own rather than inside a
    range (``32768-60999``): only an exact record can be changed with
    ``semanage port -m``; a port only covered by a range takes ``-a``. A port
    may carry several types (a local customisation listed beside the policy's).
    """
    ports: dict[int, dict[str, bool]] = {}
    for line in output.splitlines():
        match = _PORT_LINE.match(line.strip())
        if match is None or match.group(2) != "tcp":
            continue
        for item in match.group(3).split(","):
            low, dash, high = item.strip().partition("-")
            if not low.isdigit() or (dash and not high.isdigit()):
                continue
            for port in range(int(low), int(high or low) + 1):
                labels = ports.setdefault(port, {})
                labels[match.group(1)] = labels.get(match.group(1), False) or not dash
    return ports


def _mode_findings(mode: str, how: str) -> list[Finding]:
    if mode == "enforcing":
        return [ok("selinux.enforcing", "SELinux is enforcing: nginx runs confined", how + ".")]
    if mode == "permissive":
        return [
            skip(
                "selinux.permissive",
                "SELinux is permissive: it logs denials but blocks nothing, so not checked",
                f"{how}. Run the check again after switching to enforcing ('setenforce 1').",
            )
        ]
    return [
        skip(
            "selinux.absent",
            "SELinux is not active on this host: nothing to check",
            f"{how}." if mode == "absent" else f"{how}: SELinux is disabled.",
        )
    ]


def _tool_missing(tool: str, package: str, what: str) -> Finding:
    return warn(
        "selinux.tool_missing",
        f"Could not check {what}: {tool} is not installed",
        f"SELinux is enforcing, but '{tool}' could not be run, so {what} is unproven.",
        f"Install it ('dnf install {package}') and run the check again.",
    )


async def _network_findings(
    answers: Answers, host: SelinuxHost, ports: dict[int, dict[str, bool]] | None, timeout: float
) -> list[Finding]:
    from wizard.checks.api_url import parse_api_url

    try:
        target = parse_api_url(answers.codestream.api_url)
    except ValueError:
        return []  # upstream.bad_url says what is wrong; there is no connection to judge
    connect = await sebool(host, "httpd_can_network_connect", timeout)
    if connect is None:
        return [_tool_missing("getsebool", _TOOLS_PACKAGE, "whether nginx may connect out")]
    where = f"{target.host} port {target.port}"
    if connect:
        return [
            ok(
                "selinux.network_connect",
                "nginx may connect to the CodeStream API (httpd_can_network_connect is on)",
            )
        ]
    port_types = set((ports or {}).get(target.port, {}))
    if ports is None and target.port in DEFAULT_HTTP_PORTS:
        port_types = {"http_port_t"}
    if port_types & RELAY_PORT_TYPES and await sebool(host, "httpd_can_network_relay", timeout):
        return [
            ok(
                "selinux.network_connect",
                "nginx may connect to the CodeStream API (httpd_can_network_relay is on)",
                f"The API's port {target.port} is labelled {', '.join(sorted(port_types))}, "
                "which httpd_can_network_relay opens.",
            )
        ]
    return [
        fail(
            "selinux.network_connect",
            "SELinux forbids nginx to connect to the CodeStream API",
            f"httpd_can_network_connect is off, so nginx (httpd_t) may not open a connection "
            f"to {where}: every bot request would get a 502 and the bastion's error log "
            "would say 'connect() ... failed (13: Permission denied)'.",
            "Allow it, permanently: setsebool -P httpd_can_network_connect 1",
        )
    ]


async def _file_finding(
    what: str, path_text: str, host: SelinuxHost, timeout: float
) -> Finding | None:
    if not path_text.strip():
        return None  # cert.missing / key.missing already say so
    path = Path(path_text)
    label = host.read_label(path)
    actual = context_type(label) if label else None
    if actual is None:
        return None  # the file is missing or unreadable: cert.* / key.* say so
    result = await host.run(["matchpathcon", "-n", str(path)], timeout)
    expected = context_type(result.output.splitlines()[0]) if result.ok and result.output else None
    directory = str(path.parent)
    relabel_rule = (
        f"semanage fcontext -a -t cert_t '{directory}(/.*)?' && restorecon -Rv {directory}"
    )
    if actual in READABLE_TYPES:
        if expected is None or expected in READABLE_TYPES:
            return ok(
                "selinux.file_context",
                f"nginx may read the {what} ({actual})",
                f"{path}: {label}"
                + (f"; the policy's default there is {expected}." if expected else "."),
            )
        return warn(
            "selinux.file_context",
            f"The {what}'s context {actual} would be lost on a relabel",
            f"{path} is labelled {label}, which nginx may read, but the policy's default for "
            f"that place is {expected}: the next 'restorecon' or full relabel would set it and "
            "nginx would no longer start.",
            f"Make the label permanent: {relabel_rule}; or keep the file under /etc/pki/tls.",
        )
    if expected is not None and expected in READABLE_TYPES:
        return fail(
            "selinux.file_context",
            f"nginx may not read the {what}: it is labelled {actual}",
            f"{path} is labelled {label}; the policy's default there is {expected}, which "
            "nginx may read (the file was probably moved there with 'mv', which keeps the "
            "old label). nginx -t passes as root, but the nginx service would fail to start "
            "with 'Permission denied'.",
            f"Restore the default label: restorecon -v {path}",
        )
    default = f" (the policy's default there is {expected})" if expected else ""
    return fail(
        "selinux.file_context",
        f"nginx may not read the {what}: it is labelled {actual}",
        f"{path} is labelled {label}{default}; nginx (httpd_t) may only read types such as "
        "cert_t or httpd_config_t. nginx -t passes as root, but the nginx service would "
        "fail to start with 'Permission denied'.",
        f"Copy the file under /etc/pki/tls (certs/ or private/) and run 'restorecon -Rv "
        f"/etc/pki/tls', or label its directory: {relabel_rule}",
    )


def _port_finding(
    port: int, ports: dict[int, dict[str, bool]] | None, listing: CommandResult
) -> Finding:
    labels = (ports or {}).get(port, {})
    if ports is None:
        if _not_installed(listing):
            why = "'semanage' is not installed"
            first = f"Install {_SEMANAGE_PACKAGE} ('dnf install {_SEMANAGE_PACKAGE}'), then: "
        else:  # e.g. not root: the policy store cannot be read
            said = listing.output.splitlines()[0] if listing.output else "no output"
            why = f"'semanage port -l' failed ({said})"
            first = "Run the check as root, or: "
        if port in DEFAULT_HTTP_PORTS:
            return ok(
                "selinux.port",
                f"Port {port} is an http_port_t port in the stock policy",
                f"{why}, so local changes to the port labels were not read.",
            )
        return warn(
            "selinux.port",
            f"Could not check that nginx may listen on port {port}",
            f"Port {port} is not an http_port_t port in the stock policy and {why}, so the "
            "local labels are unknown; if it is not labelled http_port_t, nginx cannot bind "
            "it (bind() ... failed (13: Permission denied)).",
            f"{first}semanage port -a -t http_port_t -p tcp {port}",
        )
    if "http_port_t" in labels:
        return ok("selinux.port", f"nginx may listen on port {port} (http_port_t)")
    types = ", ".join(sorted(labels)) or "no type"
    # Only a record for exactly this port can be modified; a port that is
    # merely inside a range (unreserved_port_t 1024-32767) gets its own record.
    verb = "-m" if any(labels.values()) else "-a"
    return fail(
        "selinux.port",
        f"nginx may not listen on port {port}: it is labelled {types}, not http_port_t",
        f"SELinux lets nginx bind only http_port_t ports; port {port} is {types}, so nginx "
        "would fail to start with 'bind() ... failed (13: Permission denied)'.",
        f"Label the port for nginx: semanage port {verb} -t http_port_t -p tcp {port}",
    )


async def check_selinux(
    answers: Answers, ctx: CheckContext, host: SelinuxHost | None = None
) -> list[Finding]:
    """Check that SELinux lets nginx run the bastion (``selinux.*`` findings).

    Args:
        answers: The certificate, key, listen port and API URL.
        ctx: ``ctx.selinux_host`` (when set) says how to ask the host.
        host: Overrides ``ctx.selinux_host``; ``None`` asks this host.

    Returns:
        ``selinux.skipped`` when the mode needs no nginx; ``selinux.absent`` or
        ``selinux.permissive`` (skip) where SELinux does not enforce; else
        ``selinux.enforcing`` and ``selinux.network_connect``,
        ``selinux.file_context`` (certificate and key), ``selinux.port``, and
        ``selinux.tool_missing`` for each question no tool could answer.
    """
    if not answers.exposes_bastion:
        return [skip("selinux.skipped", "No nginx to confine: this mode exposes nothing")]
    host = host or ctx.selinux_host or SelinuxHost()
    timeout = max(ctx.timeout, COMMAND_TIMEOUT)
    mode, how = await selinux_mode(host, timeout)
    findings = _mode_findings(mode, how)
    if mode != "enforcing":
        return findings
    listing = await host.run(["semanage", "port", "-l"], timeout)
    ports = parse_semanage_ports(listing.output) if listing.ok else None
    findings += await _network_findings(answers, host, ports, timeout)
    bastion = answers.bastion
    for what, path in (("certificate", bastion.certificate), ("private key", bastion.private_key)):
        finding = await _file_finding(what, path, host, timeout)
        if finding is not None:
            findings.append(finding)
    findings.append(_port_finding(bastion.listen_port, ports, listing))
    return findings
