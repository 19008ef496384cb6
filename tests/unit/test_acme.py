"""The ``certificate`` command's parts that need no CA: CAA verdicts, the port, certbot's words."""

from __future__ import annotations

import os
import shlex
import socket
import stat
from pathlib import Path

import pytest

from wizard.answers import Answers, load_answers, save_answers
from wizard.checks.acme import certbot_install_hint, check_certbot, judge_http_port
from wizard.checks.caa import LETS_ENCRYPT_DIRECTORY, ca_identity, judge_caa, parse_caa
from wizard.constants import ACME_CONF_NAME
from wizard.install.acme import (
    CertificateRequest,
    certbot_argv,
    certbot_error,
    certbot_remedy,
    write_answers,
)
from wizard.install.acme_webroot import block_path, challenge_block
from wizard.install.errors import InstallError
from wizard.install.targets import is_managed
from wizard.nginx import Layout
from wizard.probes.listeners import PortListeners, port_listeners

# -- CAA -------------------------------------------------------------------------------------


def test_caa_records_are_parsed_as_zone_text() -> None:
    prop = parse_caa('0 issue "letsencrypt.org; validationmethods=dns-01"')
    assert prop is not None
    assert (prop.flags, prop.tag, prop.issuer) == (0, "issue", "letsencrypt.org")
    assert parse_caa('0 issue ";"') is not None
    assert parse_caa('0 issue ";"').issuer == ""  # type: ignore[union-attr]
    assert parse_caa("garbage") is None


def test_caa_allowing_the_ca_passes_and_naming_others_fails() -> None:
    le = ca_identity(LETS_ENCRYPT_DIRECTORY)
    assert le == "letsencrypt.org"
    name = "bastion.example.com"
    allowed = judge_caa(name, "example.com", ('0 issue "letsencrypt.org"',), le)
    assert [(f.code, f.status) for f in allowed] == [("caa.allows", "ok")]
    forbidden = judge_caa(name, "example.com", ('0 issue "digicert.com"',), le)
    assert [(f.code, f.status) for f in forbidden] == [("caa.forbids", "fail")]
    assert "digicert.com" in forbidden[0].detail
    assert 'CAA 0 issue "letsencrypt.org"' in forbidden[0].remedy
    nobody = judge_caa(name, "example.com", ('0 issue ";"',), le)
    assert nobody[0].code == "caa.forbids"
    assert "no CA at all" in nobody[0].detail


def test_caa_without_issue_property_or_unknown_ca() -> None:
    only_iodef = judge_caa("a.test", "a.test", ('0 iodef "mailto:x@a.test"',), "letsencrypt.org")
    assert only_iodef[0].code == "caa.allows"
    unknown = judge_caa("a.test", "a.test", ('0 issue "digicert.com"',), None)
    assert [(f.code, f.status) for f in unknown] == [("caa.unverified", "warn")]
    critical = judge_caa(
        "a.test", "a.test", ('0 issue "letsencrypt.org"', '128 tbs "x"'), "letsencrypt.org"
    )
    assert critical[0].code == "caa.critical_unknown"


# -- the HTTP-01 port ------------------------------------------------------------------------


def test_port_free_means_standalone_nginx_means_webroot_else_refused() -> None:
    root = Path("/etc/nginx")
    free = judge_http_port(PortListeners(80, False), None, root)
    assert (free.finding.code, free.method) == ("acme.port_free", "standalone")
    served = judge_http_port(PortListeners(80, True, (10, 11), ("nginx", "nginx")), 10, root)
    assert (served.finding.code, served.method) == ("acme.port_nginx", "webroot")
    other = judge_http_port(PortListeners(80, True, (42,), ("apache2",)), 10, root)
    assert (other.finding.code, other.finding.status, other.method) == (
        "acme.port_busy",
        "fail",
        None,
    )
    assert "apache2 (pid 42)" in other.finding.title
    unseen = judge_http_port(PortListeners(80, True), None, root)
    assert "an unknown program" in unseen.finding.title


def test_port_listeners_finds_this_process_on_a_listening_socket() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        found = port_listeners(port)
        assert found.listening
        assert os.getpid() in found.pids
    assert not port_listeners(port).listening


# -- certbot ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_release", "command"),
    [
        ('ID=debian\nVERSION_ID="12"\n', "apt-get install certbot"),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "dnf install epel-release"),
        ("ID=ubuntu\nID_LIKE=debian\n", "apt-get install certbot"),
        ("ID=plan9\n", "snap install --classic certbot"),
    ],
)
def test_missing_certbot_says_how_to_install_it(
    tmp_path: Path, os_release: str, command: str
) -> None:
    path = tmp_path / "os-release"
    path.write_text(os_release)
    assert certbot_install_hint(path).startswith(command)
    finding = check_certbot(None, path)
    assert (finding.code, finding.status) == ("acme.certbot_missing", "fail")
    assert command in finding.remedy
    assert check_certbot("/usr/bin/certbot").code == "acme.certbot_found"


def _request(tmp_path: Path, **changes: object) -> CertificateRequest:
    return CertificateRequest(
        "Bastion.Example.com",
        "203.0.113.10",
        config_dir=tmp_path / "le",
        **changes,  # type: ignore[arg-type]
    )


def test_certbot_command_lines(tmp_path: Path) -> None:
    request = _request(tmp_path, email="admin@example.com", http_port=8080)
    standalone = certbot_argv("certbot", request, "standalone")
    assert standalone[:2] == ["certbot", "certonly"]
    assert "--keep-until-expiring" in standalone
    assert standalone[-2:] == ["-d", "bastion.example.com"]
    assert standalone[standalone.index("--http-01-port") + 1] == "8080"
    assert standalone[standalone.index("--email") + 1] == "admin@example.com"
    assert standalone[standalone.index("--config-dir") + 1] == str(tmp_path / "le")
    # certbot gives each -d the -w before it.
    webroot = certbot_argv("certbot", _request(tmp_path), "webroot", ["-w", "/srv/x"])
    assert webroot[-4:] == ["-w", "/srv/x", "-d", "bastion.example.com"]
    assert "--register-unsafely-without-email" in webroot
    manual = certbot_argv("certbot", _request(tmp_path), "manual")
    hook = shlex.split(manual[manual.index("--manual-auth-hook") + 1])
    assert hook[-3:] == ["-m", "wizard.install.acme_hook", "auth"]
    assert manual[manual.index("--preferred-challenges") + 1] == "dns"


CERTBOT_FAILURE = """Saving debug log to /var/log/letsencrypt/letsencrypt.log
Requesting a certificate for bastion.example.com

Certbot failed to authenticate some domains (authenticator: standalone). The Certificate Authority reported these problems:
  Domain: bastion.example.com
  Type:   connection
  Detail: 203.0.113.10: Fetching http://bastion.example.com/.well-known/acme-challenge/x: Connection refused

Hint: The Certificate Authority failed to download the challenge files from the temporary standalone webserver started by Certbot on port 80.

Some challenges have failed.
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile /var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.
"""  # noqa: E501


def test_certbot_error_is_quoted_without_its_boilerplate() -> None:
    error = certbot_error(CERTBOT_FAILURE)
    assert error.startswith("Requesting a certificate for bastion.example.com")
    assert "Type:   connection" in error
    assert "Connection refused" in error
    assert "Saving debug log" not in error
    assert "Ask for help" not in error
    remedy = certbot_remedy(error, "standalone")
    assert remedy.startswith("The CA could not connect to this host")
    assert "port 80" in remedy
    limited = certbot_remedy(
        "Error creating new order :: too many certificates (rateLimited)", None
    )
    assert limited.startswith("The CA refused: too many certificates")


def test_answers_are_rewritten_keeping_mode(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    answers = Answers(mode="slack")
    answers.bastion.hostname = "bastion.example.com"
    save_answers(answers, path)
    path.chmod(0o640)
    answers.bastion.certificate = "/etc/letsencrypt/live/bastion.example.com/fullchain.pem"
    write_answers(path, answers)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load_answers(path, partial=True).bastion.certificate == answers.bastion.certificate
    assert not [p for p in tmp_path.iterdir() if p.name != "answers.toml"]


# -- the temporary server block --------------------------------------------------------------


def _layout(root: Path, include: str, style: str = "conf.d") -> Layout:
    return Layout(style, root, root / "nginx.conf", root / "conf.d" / "x.conf", None, include)  # type: ignore[arg-type]


def test_challenge_block_goes_where_the_include_loads_it(tmp_path: Path) -> None:
    assert block_path(_layout(tmp_path, "conf.d/*.conf")) == tmp_path / "conf.d" / ACME_CONF_NAME
    assert (
        block_path(_layout(tmp_path, str(tmp_path / "sites-enabled" / "*"), "debian"))
        == tmp_path / "sites-enabled" / ACME_CONF_NAME
    )
    with pytest.raises(InstallError) as refused:
        block_path(_layout(tmp_path, "bastion.conf", "custom"))
    assert refused.value.code == "acme.webroot_unusable"


def test_challenge_block_serves_only_the_challenge_with_values_quoted() -> None:
    text = challenge_block("bastion.example.com", 80, Path('/tmp/a b;"c'), ipv6=True).decode()
    assert "    listen 80;\n    listen [::]:80;\n" in text
    assert 'server_name "bastion.example.com";' in text
    assert 'root "/tmp/a b;\\"c";' in text
    assert "location ^~ /.well-known/acme-challenge/ {" in text
    assert "return 404;" in text
    assert "listen [::]" not in challenge_block("a.test", 80, Path("/w"), ipv6=False).decode()


def test_the_block_is_managed_inside_the_tree_only(tmp_path: Path) -> None:
    answers = Answers(mode="slack")
    root = tmp_path / "nginx"
    assert is_managed(root / "conf.d" / ACME_CONF_NAME, answers, root)
    assert is_managed(root / "sites-enabled" / ACME_CONF_NAME, answers, root)
    assert not is_managed(tmp_path / "elsewhere" / ACME_CONF_NAME, answers, root)
