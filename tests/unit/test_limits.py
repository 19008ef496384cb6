"""The per-client limits and the Teams sources: answers, the ranges file, the block, the findings.

Offline: the server block is rendered and read back with crossplane (the real
nginx runs it in tests/integration/test_limits.py); the findings are judged on
configuration trees written under a temporary directory.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.nginx_harness import parse_server_blocks
from wizard.answers import AnswersError, dumps_answers, loads_answers
from wizard.checks.limits import (
    TeamsRangesError,
    check_limits,
    limits_summary,
    read_teams_ranges,
)
from wizard.constants import MSTEAMS_ENDPOINT, SERVER_CONF_NAME, SLACK_ENDPOINT
from wizard.limits import MAX_RANGES, MAX_RANGES_BYTES, describe_limits, parse_ranges
from wizard.nginx import NginxFeatures, read_tree, server_limits, serving_block
from wizard.render import RenderError, render_all

ANSWERS = """\
mode = "slack+msteams"

[bastion]
hostname = "bastion-host.my-company.com"
public_ip = "203.0.113.10"
certificate = "/etc/ssl/fullchain.pem"
private_key = "/etc/ssl/privkey.pem"
{extra}

[codestream]
api_url = "https://codestream.my-company.com"
"""
NAME = "bastion-host.my-company.com"


def answers_with(extra: str = "", *, partial: bool = False) -> Any:
    return loads_answers(ANSWERS.format(extra=extra), "answers.toml", partial=partial)


def conf(extra: str = "") -> str:
    files = render_all(
        answers_with(extra),
        features=NginxFeatures(listen_ipv6=False),
        resolvers=["127.0.0.53"],
        ca_bundle="/etc/ssl/certs/ca-certificates.crt",
    )
    return next(f for f in files if f.name == SERVER_CONF_NAME).content.decode()


def directives(block: list[dict[str, Any]], name: str) -> list[list[str]]:
    found = []
    for directive in block:
        if directive["directive"] == name:
            found.append(directive["args"])
        found += directives(directive.get("block", []), name)
    return found


# -- the answers -----------------------------------------------------------------------------


def test_defaults_are_generous_and_saved_for_the_admin_to_tune() -> None:
    answers = answers_with()
    b = answers.bastion
    assert (b.requests_per_second, b.request_burst, b.connections_per_client) == (20, 50, 50)
    assert (b.teams_source, b.teams_ranges) == ("any", "")
    saved = dumps_answers(answers)
    assert "requests_per_second = 20\n" in saved
    assert loads_answers(saved, "again.toml").bastion == b


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ("requests_per_second = -1", "bastion.requests_per_second", "use 0-100000"),
        ("request_burst = 100001", "bastion.request_burst", "use 0-100000"),
        ("connections_per_client = 65536", "bastion.connections_per_client", "use 0-65535"),
        ('teams_source = "microsoft"', "bastion.teams_source", "use one of: any, azure"),
        ('teams_source = "azure"', "bastion.teams_ranges", "is required"),
    ],
)
def test_bad_limits_name_the_key_and_line(line: str, key: str, words: str) -> None:
    with pytest.raises(AnswersError) as caught:
        answers_with(line)
    assert caught.value.key == key
    assert words in caught.value.message
    assert caught.value.line == (8 if "teams_ranges" not in key else None)


def test_a_resumed_wizard_may_name_the_ranges_file_later() -> None:
    assert answers_with('teams_source = "azure"', partial=True).bastion.teams_source == "azure"


# -- the ranges file -------------------------------------------------------------------------


def test_ranges_are_cidrs_one_a_line() -> None:
    text = "52.112.0.0/14\r\n\n  20.37.158.0/23  \n2603:1063::/38\n52.112.0.0/14\n"
    assert parse_ranges(text) == ["52.112.0.0/14", "20.37.158.0/23", "2603:1063::/38"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("# AzureBotService\n52.112.0.0/14\n", "line 1: '# AzureBotService' is not ADDRESS/PREFIX"),
        ("52.112.0.0/14\n52.112.0.1\n", "line 2: '52.112.0.1' is not ADDRESS/PREFIX"),
        ("52.112.0.1/14\n", "line 1: '52.112.0.1/14' is not a CIDR range (52.112.0.1/14 has host"),
        ("0.0.0.0/0\n", "is wider than /8"),
        ("2600::/15\n", "is wider than /16"),
        ("52.112.0.0/14; allow all\n", "is not a CIDR range"),
        ("\n\n", "holds no range"),
        ("".join(f"10.{i // 256}.{i % 256}.0/24\n" for i in range(MAX_RANGES + 1)), "over 5000"),
    ],
)
def test_anything_but_a_cidr_is_refused_naming_the_line(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("/", "/")):
        parse_ranges(text)


def test_the_ranges_file_is_read_with_a_bound(tmp_path: Path) -> None:
    good = tmp_path / "ranges.txt"
    good.write_text("52.112.0.0/14\n", encoding="ascii")
    assert read_teams_ranges(str(good)) == ["52.112.0.0/14"]
    with pytest.raises(TeamsRangesError, match="not an absolute path"):
        read_teams_ranges("ranges.txt")
    with pytest.raises(TeamsRangesError, match=r"missing\.txt: no such file"):
        read_teams_ranges(str(tmp_path / "missing.txt"))
    with pytest.raises(TeamsRangesError, match="it is a directory"):
        read_teams_ranges(str(tmp_path))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(TeamsRangesError, match="not a regular file"):
        read_teams_ranges(str(fifo))  # refused at once, never read until a writer comes
    big = tmp_path / "big.txt"
    big.write_bytes(b"52.112.0.0/14\n" * (MAX_RANGES_BYTES // 14 + 1))
    with pytest.raises(TeamsRangesError, match="it is over 262,144 bytes"):
        read_teams_ranges(str(big))
    binary = tmp_path / "binary.txt"
    binary.write_bytes("52.112.0.0/14\n52.112.0.0/14é\n".encode())
    with pytest.raises(TeamsRangesError, match="byte 27 is not ASCII"):
        read_teams_ranges(str(binary))


# -- the server block ------------------------------------------------------------------------


def test_the_block_limits_each_client_with_zones_named_after_its_name_and_port(
    tmp_path: Path,
) -> None:
    text = conf()
    zone = f"codestream_bastion_{NAME}_443"
    head = text.split("server {", 1)[0]
    assert f'limit_req_zone $binary_remote_addr "zone={zone}_req:10m" "rate=20r/s";' in head
    assert f'limit_conn_zone $binary_remote_addr "zone={zone}_conn:10m";' in head
    (server,) = parse_server_blocks(text, tmp_path)
    assert directives(server, "limit_req") == [[f"zone={zone}_req", "burst=50", "nodelay"]]
    assert directives(server, "limit_conn") == [[f"{zone}_conn", "50"]]
    assert directives(server, "limit_req_status") == directives(server, "limit_conn_status")
    assert directives(server, "limit_req_status") == [["429"]]
    assert ["429", "@codestream_bastion_429"] in directives(server, "error_page")
    named = next(d for d in server if d["args"] == ["@codestream_bastion_429"])["block"]
    assert ["Retry-After", "1", "always"] in directives(named, "add_header")
    assert ["Strict-Transport-Security", "max-age=63072000", "always"] in directives(
        named, "add_header"
    )
    other_port = conf("listen_port = 8443")
    assert f"codestream_bastion_{NAME}_8443_req" in other_port
    assert f"{zone}_req" not in other_port


def test_each_limit_is_off_at_0(tmp_path: Path) -> None:
    no_rate = conf("requests_per_second = 0")
    assert "limit_req" not in no_rate
    assert "limit_conn " in no_rate
    assert "@codestream_bastion_429" in no_rate
    nothing = conf("requests_per_second = 0\nconnections_per_client = 0")
    assert "limit_" not in nothing
    assert "@codestream_bastion_429" not in nothing
    assert "@codestream_bastion_405" in nothing  # the methods are still checked
    parse_server_blocks(nothing, tmp_path)


def test_azure_lets_only_the_ranges_and_the_bastion_reach_teams(tmp_path: Path) -> None:
    ranges = tmp_path / "teams-ranges.txt"
    ranges.write_text("52.112.0.0/14\n2603:1063::/38\n", encoding="ascii")
    text = conf(f'teams_source = "azure"\nteams_ranges = "{ranges}"')
    (server,) = parse_server_blocks(text, tmp_path / "parse")
    by_path = {tuple(d["args"]): d["block"] for d in server if d["directive"] == "location"}
    for path in (MSTEAMS_ENDPOINT, MSTEAMS_ENDPOINT + "/"):
        block = by_path[("=", path)]
        assert directives(block, "allow") == [
            ["52.112.0.0/14"],
            ["2603:1063::/38"],
            ["203.0.113.10/32"],
        ]
        assert directives(block, "deny") == [["all"]]
    assert directives(by_path[("=", SLACK_ENDPOINT)], "allow") == []
    ranges.write_text("52.112.0.0/14\n52.112.0.9\n", encoding="ascii")
    with pytest.raises(RenderError) as caught:
        conf(f'teams_source = "azure"\nteams_ranges = "{ranges}"')
    assert caught.value.keys == ("bastion.teams_ranges",)
    assert "line 2: '52.112.0.9' is not ADDRESS/PREFIX" in str(caught.value)


# -- reading them back, and the findings ------------------------------------------------------


def _tree(tmp_path: Path, block: str) -> Path:
    root = tmp_path / "nginx"
    (root / "conf.d").mkdir(parents=True)
    (root / "nginx.conf").write_text("events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    (root / "conf.d" / "site.conf").write_text(block, encoding="utf-8")
    return root


OLD_BLOCK = textwrap.dedent(
    f"""\
    server {{
        listen 443 ssl;
        server_name {NAME};
        location = /no-auth/provider-action/slack {{ proxy_pass https://10.0.0.5; }}
    }}
    """
)


def test_the_adapter_reads_the_limits_in_force(tmp_path: Path) -> None:
    tree = read_tree(_tree(tmp_path, conf()))
    server = serving_block(tree, NAME, 443)
    assert server is not None
    found = server_limits(tree, server)
    zone = f"codestream_bastion_{NAME}_443"
    assert found.requests == (f"zone={zone}_req rate=20r/s burst=50",)
    assert found.connections == (f"zone={zone}_conn 50",)
    line = conf().splitlines().index("server {") + 1
    assert found.where == f"{tree.servers[0].file}:{line}"
    old = read_tree(_tree(tmp_path / "old", OLD_BLOCK))
    assert not server_limits(old, old.servers[0]).any
    # nginx's own view (nginx -T) is read the same way.
    root = tmp_path / "nginx"
    dump = "".join(
        f"# configuration file {path}:\n{path.read_text(encoding='utf-8')}\n"
        for path in (root / "nginx.conf", root / "conf.d" / "site.conf")
    )
    dumped = read_tree(root, dump)
    assert dumped.source == "nginx -T"
    assert server_limits(dumped, dumped.servers[0]).requests == found.requests


def test_check_warns_when_the_block_serving_the_name_has_no_limits(tmp_path: Path) -> None:
    answers = answers_with()
    (finding,) = check_limits(answers, read_tree(_tree(tmp_path, OLD_BLOCK)))
    assert (finding.code, finding.status) == ("nginx.no_limits", "warn")
    assert "site.conf:1 has no limit_req nor limit_conn" in finding.detail
    assert "20 requests a second (burst 50)" in finding.remedy
    (finding,) = check_limits(answers, read_tree(_tree(tmp_path / "new", conf())))
    assert (finding.code, finding.status) == ("nginx.limits", "ok")
    off = answers_with("requests_per_second = 0\nconnections_per_client = 0")
    (finding,) = check_limits(off, read_tree(_tree(tmp_path / "off", OLD_BLOCK)))
    assert (finding.code, finding.status) == ("nginx.limits", "ok")
    other = answers_with("listen_port = 8443")
    assert check_limits(other, read_tree(_tree(tmp_path / "port", OLD_BLOCK))) == []
    assert check_limits(answers, None) == []


def test_the_teams_ranges_finding(tmp_path: Path) -> None:
    ranges = tmp_path / "r.txt"
    ranges.write_text("52.112.0.0/14\n", encoding="ascii")
    good = answers_with(f'teams_source = "azure"\nteams_ranges = "{ranges}"')
    (finding,) = check_limits(good, None)
    assert (finding.code, finding.status) == ("nginx.teams_ranges", "ok")
    assert "1 AzureBotService ranges" in finding.detail
    ranges.write_text("everyone\n", encoding="ascii")
    (finding,) = check_limits(good, None)
    assert (finding.code, finding.status) == ("nginx.teams_ranges", "fail")
    assert "az network list-service-tags" in finding.remedy


def test_the_review_and_the_findings_say_the_limits_in_words() -> None:
    assert describe_limits(20, 50, 50) == (
        "20 requests a second (burst 50) and 50 connections at once per client address"
    )
    assert describe_limits(0, 50, 0) == "no per-client limits (set to 0)"
    summary = limits_summary(answers_with())
    assert summary.startswith("20 requests a second (burst 50)")
    assert "Teams route: any source" in summary
    assert "[bastion]" in summary
