"""Naming the cause of a 502/504 from nginx's error-log lines, and finding that log.

The integration suite (tests/integration/test_proxy_e2e.py) produces the
untrusted-certificate, refused, unresolvable and timeout lines with a real
nginx and a real failing upstream. The SELinux denial cannot be produced on
these machines (no SELinux kernel), so its line is the one nginx writes on an
enforcing RHEL host, recorded in nginx's error-log format; the other recorded
lines cover wordings the real runs do not hit (a name mismatch, a resolver
timeout, a handshake failure that is not a verification error).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.checks.proxy import explain_gateway_errors
from wizard.nginx import server_error_log

PREFIX = "2026/12/01 10:00:00 [{level}] 4242#4242: *7 "
CONTEXT = (
    ', client: 127.0.0.1, server: bastion.example.com, request: "GET '
    '/no-auth/provider-action/slack HTTP/1.1", upstream: '
    '"https://10.0.0.5:443/no-auth/provider-action/slack", host: "bastion.example.com"'
)


def line(message: str, level: str = "error", context: str = CONTEXT) -> str:
    return PREFIX.format(level=level) + message + context


@pytest.mark.parametrize(
    ("logged", "code", "fix"),
    [
        (
            line(
                "connect() to 10.0.0.5:443 failed (13: Permission denied) while connecting to "
                "upstream",
                "crit",
            ),
            "proxy.selinux_denied",
            "setsebool -P httpd_can_network_connect 1",
        ),
        (
            line(
                'upstream SSL certificate does not match "codestream.corp" while SSL handshaking '
                "to upstream"
            ),
            "proxy.upstream_tls",
            "upstream_ca",
        ),
        (
            line("codestream.corp could not be resolved (110: Operation timed out)", context=""),
            "proxy.upstream_unresolved",
            "upstream_address",
        ),
        (
            line(
                "upstream timed out (110: Connection timed out) while reading response header "
                "from upstream"
            ),
            "proxy.upstream_timeout",
            "firewall",
        ),
        (
            line(
                "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version "
                "number) while SSL handshaking to upstream",
                "crit",
            ),
            "proxy.upstream_error",
            "upstream.*",
        ),
    ],
)
def test_each_cause_is_named_with_nginx_words_and_the_fix(logged: str, code: str, fix: str) -> None:
    (finding,) = explain_gateway_errors(["unrelated line", logged], Path("/var/log/x.log"), "502")
    assert finding.code == code
    assert finding.status == "fail"
    assert fix in finding.remedy
    assert finding.detail.startswith("nginx answered 502 and wrote in /var/log/x.log")
    assert "client:" not in finding.detail  # the request context is cut, the message kept
    assert "4242#4242" not in finding.detail


def test_the_same_cause_many_times_is_one_finding_with_the_upstream_origin() -> None:
    refused = line("connect() failed (111: Connection refused) while connecting to upstream")
    (finding,) = explain_gateway_errors([refused] * 6)
    assert finding.code == "proxy.upstream_refused"
    assert finding.detail.count("Connection refused") == 1
    assert "(upstream https://10.0.0.5:443)" in finding.detail


def test_several_causes_are_each_named() -> None:
    lines = [
        line("connect() failed (111: Connection refused) while connecting to upstream"),
        line("upstream SSL certificate verify error: (19:self-signed certificate in chain)"),
    ]
    codes = [f.code for f in explain_gateway_errors(lines)]
    assert sorted(codes) == ["proxy.upstream_refused", "proxy.upstream_tls"]


def test_lines_that_explain_nothing_give_no_finding() -> None:
    assert explain_gateway_errors([line("open() failed (2: No such file)", context="")]) == []
    assert explain_gateway_errors([]) == []


# -- which log: the error_log of the server block that serves the name --------------------------


def tree(root: Path, server: str, http: str = "", main: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.d").mkdir(exist_ok=True)
    (root / "conf.d" / "bastion.conf").write_text(server, encoding="utf-8")
    (root / "nginx.conf").write_text(
        f"{main}\nevents {{}}\nhttp {{\n{http}\n include conf.d/*.conf;\n}}\n", encoding="utf-8"
    )
    return root


SERVER = "server {{ listen 443 ssl; server_name bastion.example.com; {extra} }}"


def test_the_server_blocks_own_error_log(tmp_path: Path) -> None:
    extra = 'error_log "/var/log/nginx/codestream-bastion.error.log";'
    root = tree(tmp_path, SERVER.format(extra=extra), http="error_log /var/log/nginx/h.log;")
    assert server_error_log(root, "bastion.example.com", 443) == (
        Path("/var/log/nginx/codestream-bastion.error.log"),
        "",
    )


def test_inherited_from_http_then_main_and_relative_to_the_root(tmp_path: Path) -> None:
    root = tree(tmp_path / "a", SERVER.format(extra=""), http="error_log logs/http.log warn;")
    assert server_error_log(root, "bastion.example.com", 443) == (root / "logs/http.log", "")
    root = tree(tmp_path / "b", SERVER.format(extra=""), main="error_log /var/log/main.log;")
    assert server_error_log(root, "bastion.example.com", 443) == (Path("/var/log/main.log"), "")


def test_no_file_to_read_says_why(tmp_path: Path) -> None:
    root = tree(tmp_path / "a", SERVER.format(extra="error_log syslog:server=unix:/dev/log;"))
    path, why = server_error_log(root, "bastion.example.com", 443)
    assert path is None
    assert "syslog:server=unix:/dev/log" in why
    path, why = server_error_log(root, "bastion.example.com", 8443)
    assert path is None
    assert "claims bastion.example.com on port 8443" in why
    path, why = server_error_log(tmp_path / "missing", "bastion.example.com", 443)
    assert path is None
    assert "nginx.conf" in why


# -- only what nginx wrote since the test started ----------------------------------------------


def test_only_lines_written_since_the_mark_are_read(tmp_path: Path) -> None:
    from wizard.checks.context import CheckContext
    from wizard.checks.proxy import ErrorLogMark

    log = tmp_path / "codestream-bastion.error.log"
    extra = f'error_log "{log}";'
    root = tree(tmp_path / "tree", SERVER.format(extra=extra))
    ctx = CheckContext(nginx_root=root)
    log.write_text("old refused (111: Connection refused) while connecting to upstream\n")
    mark = ErrorLogMark.start(ctx, "bastion.example.com", 443)
    assert mark.path == log
    with log.open("a") as handle:
        handle.write("new line\n")
    assert mark.new_lines() == (["new line"], "")
    log.write_text("rotated\n")  # logrotate truncated it: everything in it is new
    assert mark.new_lines() == (["rotated"], "")
    log.unlink()
    assert mark.new_lines() == ([], f"{log} does not exist")
    nowhere = ErrorLogMark.start(ctx, "other.example.com", 443)
    assert nowhere.path is None
    assert "claims other.example.com on port 443" in nowhere.new_lines()[1]
