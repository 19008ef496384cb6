"""The ``selinux.*`` checks, against recorded command outputs.

SELinux cannot run on the machines these tests run on (Debian/Ubuntu kernels
without the SELinux LSM, containers), so this is one of the few places where
a real part is impossible: the checks get an injected command runner that
replays what ``getenforce``, ``getsebool``, ``matchpathcon -n`` and
``semanage port -l`` print on an enforcing RHEL 9 host (the formats of
getenforce(8), getsebool(8), matchpathcon(8) and semanage-port(8)), and an
injected reader for the ``security.selinux`` attribute. The real readers are
exercised too, on this host, where they must report SELinux as absent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.selinux import (
    SelinuxHost,
    check_selinux,
    context_type,
    parse_semanage_ports,
    read_file_label,
)
from wizard.engine import AREA_ORDER, run_checks
from wizard.findings import Finding
from wizard.nginx import CommandResult

CERT = "/etc/pki/tls/certs/bastion.example.com.crt"
KEY = "/etc/pki/tls/private/bastion.example.com.key"
HOME_CERT = "/home/admin/bastion.example.com.crt"

# `semanage port -l` on RHEL 9 (excerpt: the lines that matter plus neighbours,
# in the tool's own column layout).
SEMANAGE_PORTS = """\
SELinux Port Type              Proto    Port Number

dns_port_t                     tcp      53, 853
dns_port_t                     udp      53, 853
ephemeral_port_t               tcp      32768-60999
hi_reserved_port_t             tcp      512-1023
http_cache_port_t              tcp      8080, 8118, 8123, 10001-10010
http_cache_port_t              udp      3130
http_port_t                    tcp      80, 81, 443, 488, 8008, 8009, 8443, 9000
reserved_port_t                tcp      1-511
unreserved_port_t              tcp      61000-65535, 1024-32767
"""


class Recorded:
    """A command runner that replays recorded outputs and remembers what was asked.

    A command with no recording behaves like a tool that is not installed
    (exactly what :func:`wizard.nginx.run_command` returns then).
    """

    def __init__(self, outputs: dict[str, str | tuple[int, str]]) -> None:
        self.outputs = outputs
        self.calls: list[str] = []

    async def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        command = " ".join(argv)
        self.calls.append(command)
        assert timeout >= 30  # semanage loads the whole policy: never a network timeout
        if command not in self.outputs:
            return CommandResult(None, f"cannot run {argv[0]}: No such file or directory")
        recorded = self.outputs[command]
        code, text = recorded if isinstance(recorded, tuple) else (0, recorded)
        return CommandResult(code, text.strip())


def enforcing(**extra: str | tuple[int, str]) -> Recorded:
    """An enforcing RHEL 9 host set up right, with ``extra`` recordings replacing defaults."""
    outputs: dict[str, str | tuple[int, str]] = {
        "getenforce": "Enforcing\n",
        "getsebool httpd_can_network_connect": "httpd_can_network_connect --> on\n",
        "getsebool httpd_can_network_relay": "httpd_can_network_relay --> off\n",
        "semanage port -l": SEMANAGE_PORTS,
        f"matchpathcon -n {CERT}": "system_u:object_r:cert_t:s0\n",
        f"matchpathcon -n {KEY}": "system_u:object_r:cert_t:s0\n",
        f"matchpathcon -n {HOME_CERT}": "unconfined_u:object_r:user_home_t:s0\n",
    }
    outputs.update(extra)
    return Recorded(outputs)


def host(
    runner: Recorded, labels: dict[str, str] | None = None, enforce: str | None = None
) -> SelinuxHost:
    files = {CERT: "system_u:object_r:cert_t:s0", KEY: "system_u:object_r:cert_t:s0"}
    files.update(labels or {})
    return SelinuxHost(
        run=runner,
        enforce_file=Path("/sys/fs/selinux/enforce"),
        read_label=lambda path: files.get(str(path)),
        read_text=lambda _path: enforce,
    )


def answers(port: int = 443, api: str = "https://codestream.my-company.com") -> Answers:
    a = Answers(mode="slack+msteams")
    a.bastion.hostname = "bastion.example.com"
    a.bastion.public_ip = "203.0.113.10"
    a.bastion.certificate = CERT
    a.bastion.private_key = KEY
    a.bastion.listen_port = port
    a.codestream.api_url = api
    return a


async def run(a: Answers, h: SelinuxHost) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in await check_selinux(a, CheckContext(timeout=2.0), h):
        grouped.setdefault(finding.code, []).append(finding)
    return grouped


# -- enforcing or not ---------------------------------------------------------------------------


async def test_a_well_set_up_enforcing_host_passes() -> None:
    runner = enforcing()
    found = await run(answers(), host(runner))
    assert set(found) == {
        "selinux.enforcing",
        "selinux.network_connect",
        "selinux.file_context",
        "selinux.port",
    }
    assert all(f.status == "ok" for fs in found.values() for f in fs)
    assert len(found["selinux.file_context"]) == 2  # the certificate and the key
    assert "getenforce says Enforcing" in found["selinux.enforcing"][0].detail


@pytest.mark.parametrize(
    ("recorded", "enforce", "code", "words"),
    [
        ("Permissive\n", None, "selinux.permissive", "permissive"),
        ("Disabled\n", None, "selinux.absent", "disabled"),
        (None, None, "selinux.absent", "getenforce is not installed"),
        (None, "0", "selinux.permissive", "/sys/fs/selinux/enforce holds 0"),
    ],
)
async def test_absent_disabled_or_permissive_is_skipped_saying_so(
    recorded: str | None, enforce: str | None, code: str, words: str
) -> None:
    runner = Recorded({"getenforce": recorded} if recorded is not None else {})
    findings = await check_selinux(answers(), CheckContext(), host(runner, enforce=enforce))
    assert [(f.code, f.status) for f in findings] == [(code, "skip")]
    assert words in findings[0].title + findings[0].detail
    assert runner.calls == ["getenforce"]  # nothing else was asked


async def test_the_kernel_switch_is_read_when_getenforce_is_missing() -> None:
    runner = enforcing()
    del runner.outputs["getenforce"]
    found = await run(answers(), host(runner, enforce="1\n"))
    assert found["selinux.enforcing"][0].status == "ok"
    assert "/sys/fs/selinux/enforce holds 1" in found["selinux.enforcing"][0].detail


@pytest.mark.skipif(
    os.path.exists("/sys/fs/selinux/enforce"), reason="this host has SELinux: not the absent case"
)
async def test_this_host_has_no_selinux_and_the_real_probes_say_so(tmp_path: Path) -> None:
    # The default host: the real run_command, /sys/fs/selinux/enforce, os.getxattr.
    findings = await check_selinux(answers(), CheckContext())
    assert [(f.code, f.status) for f in findings] == [("selinux.absent", "skip")]
    plain = tmp_path / "plain.pem"
    plain.write_text("x", encoding="ascii")
    assert read_file_label(plain) is None
    assert read_file_label(tmp_path / "missing.pem") is None


async def test_no_exposure_needs_no_nginx() -> None:
    runner = enforcing()
    findings = await check_selinux(Answers(mode="slack-no-exposure"), CheckContext(), host(runner))
    assert [(f.code, f.status) for f in findings] == [("selinux.skipped", "skip")]
    assert runner.calls == []


# -- httpd_can_network_connect ------------------------------------------------------------------


async def test_network_connect_off_fails_with_setsebool() -> None:
    runner = enforcing(
        **{"getsebool httpd_can_network_connect": "httpd_can_network_connect --> off\n"}
    )
    (finding,) = (await run(answers(api="https://api.corp.internal:8443"), host(runner)))[
        "selinux.network_connect"
    ]
    assert finding.status == "fail"
    assert finding.remedy.endswith("setsebool -P httpd_can_network_connect 1")
    assert "api.corp.internal port 8443" in finding.detail
    assert "13: Permission denied" in finding.detail


async def test_network_relay_is_enough_for_an_http_port() -> None:
    runner = enforcing(
        **{
            "getsebool httpd_can_network_connect": "httpd_can_network_connect --> off\n",
            "getsebool httpd_can_network_relay": "httpd_can_network_relay --> on\n",
        }
    )
    (on_443,) = (await run(answers(), host(runner)))["selinux.network_connect"]
    assert on_443.status == "ok"
    assert "httpd_can_network_relay" in on_443.title
    # 3000 is no relay port (unreserved_port_t): relay does not open it.
    (on_3000,) = (await run(answers(api="http://10.0.0.5:3000"), host(runner)))[
        "selinux.network_connect"
    ]
    assert on_3000.status == "fail"


async def test_getsebool_missing_is_a_warning_naming_the_package() -> None:
    runner = enforcing()
    del runner.outputs["getsebool httpd_can_network_connect"]
    (finding,) = (await run(answers(), host(runner)))["selinux.tool_missing"]
    assert finding.status == "warn"
    assert "dnf install policycoreutils" in finding.remedy


async def test_a_bad_api_url_is_left_to_upstream_checks() -> None:
    found = await run(answers(api="not a url"), host(enforcing()))
    assert "selinux.network_connect" not in found


# -- file contexts ------------------------------------------------------------------------------


async def test_a_certificate_in_a_home_directory_needs_a_new_label() -> None:
    a = answers()
    a.bastion.certificate = HOME_CERT
    labels = {HOME_CERT: "unconfined_u:object_r:user_home_t:s0"}
    contexts = (await run(a, host(enforcing(), labels)))["selinux.file_context"]
    cert = next(f for f in contexts if "certificate" in f.title)
    assert cert.status == "fail"
    assert "user_home_t" in cert.title
    assert "semanage fcontext -a -t cert_t '/home/admin(/.*)?'" in cert.remedy
    assert "restorecon -Rv /home/admin" in cert.remedy


async def test_a_certificate_moved_into_pki_keeps_its_old_label_and_restorecon_fixes_it() -> None:
    labels = {KEY: "unconfined_u:object_r:user_home_t:s0"}  # mv from a home directory
    contexts = (await run(answers(), host(enforcing(), labels)))["selinux.file_context"]
    key = next(f for f in contexts if "private key" in f.title)
    assert key.status == "fail"
    assert key.remedy == f"Restore the default label: restorecon -v {KEY}"
    assert "cert_t" in key.detail


async def test_a_hand_set_label_that_a_relabel_would_undo_is_a_warning() -> None:
    a = answers()
    a.bastion.certificate = "/srv/tls/bastion.crt"
    runner = enforcing(**{"matchpathcon -n /srv/tls/bastion.crt": "system_u:object_r:var_t:s0"})
    labels = {"/srv/tls/bastion.crt": "unconfined_u:object_r:cert_t:s0"}  # chcon -t cert_t
    contexts = (await run(a, host(runner, labels)))["selinux.file_context"]
    cert = next(f for f in contexts if "certificate" in f.title)
    assert cert.status == "warn"
    assert "semanage fcontext -a -t cert_t '/srv/tls(/.*)?'" in cert.remedy


async def test_an_unreadable_file_is_left_to_the_certificate_checks() -> None:
    a = answers()
    a.bastion.certificate = "/nowhere/cert.pem"
    contexts = (await run(a, host(enforcing())))["selinux.file_context"]
    assert [f.title for f in contexts] == ["nginx may read the private key (cert_t)"]


# -- the listen port ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "status", "remedy"),
    [
        (443, "ok", ""),
        (8443, "ok", ""),
        (8444, "fail", "semanage port -a -t http_port_t -p tcp 8444"),  # only in a range
        (8080, "fail", "semanage port -m -t http_port_t -p tcp 8080"),  # http_cache_port_t
    ],
)
async def test_the_listen_port_must_be_http_port_t(port: int, status: str, remedy: str) -> None:
    (finding,) = (await run(answers(port=port), host(enforcing())))["selinux.port"]
    assert finding.status == status
    assert finding.remedy.endswith(remedy)


async def test_a_port_labelled_locally_is_accepted() -> None:
    local = SEMANAGE_PORTS + "http_port_t                    tcp      8444\n"
    (finding,) = (await run(answers(port=8444), host(enforcing(**{"semanage port -l": local}))))[
        "selinux.port"
    ]
    assert finding.status == "ok"


@pytest.mark.parametrize(("port", "status"), [(443, "ok"), (8444, "warn")])
async def test_without_semanage_the_stock_labels_are_used(port: int, status: str) -> None:
    runner = enforcing()
    del runner.outputs["semanage port -l"]
    (finding,) = (await run(answers(port=port), host(runner)))["selinux.port"]
    assert finding.status == status
    if status == "warn":
        assert "dnf install policycoreutils-python-utils" in finding.remedy


def test_semanage_output_is_parsed_with_ranges_and_exact_records() -> None:
    ports = parse_semanage_ports(SEMANAGE_PORTS)
    assert ports[443] == {"http_port_t": True, "reserved_port_t": False}
    assert ports[8080] == {"http_cache_port_t": True, "unreserved_port_t": False}
    assert ports[10005] == {"http_cache_port_t": False, "unreserved_port_t": False}
    assert ports[8444] == {"unreserved_port_t": False}
    assert ports[53] == {"dns_port_t": True, "reserved_port_t": False}  # tcp only, once
    assert ports[3130] == {"unreserved_port_t": False}  # http_cache_port_t is udp only there


def test_context_type() -> None:
    assert context_type("system_u:object_r:cert_t:s0") == "cert_t"
    assert context_type("system_u:object_r:cert_t:s0-s0:c0.c1023") == "cert_t"
    assert context_type("?") is None


# -- the engine ---------------------------------------------------------------------------------


async def test_the_engine_runs_the_selinux_checks_before_the_proxy_test() -> None:
    runner = enforcing(
        **{"getsebool httpd_can_network_connect": "httpd_can_network_connect --> off\n"}
    )
    a = answers()
    a.bastion.hostname = "bad host"  # keeps the other checks off the network
    findings = await run_checks(a, CheckContext(timeout=0.5, selinux_host=host(runner)))
    selinux = [f for f in findings if f.area == "selinux"]
    assert {f.code for f in selinux} >= {"selinux.enforcing", "selinux.network_connect"}
    assert AREA_ORDER.index("selinux") < AREA_ORDER.index("proxy")
    areas = [f.area for f in findings]
    assert areas.index("selinux") > areas.index("nginx")


async def test_semanage_failing_as_a_normal_user_says_to_run_as_root() -> None:
    refused = (1, "ValueError: SELinux policy is not managed or store cannot be accessed.")
    runner = enforcing(**{"semanage port -l": refused})
    (finding,) = (await run(answers(port=8444), host(runner)))["selinux.port"]
    assert finding.status == "warn"
    assert "store cannot be accessed" in finding.detail
    assert finding.remedy.startswith("Run the check as root")
