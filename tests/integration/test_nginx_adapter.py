"""The nginx adapter against a real nginx: binary, ``nginx -T``, and the two views of a tree.

Every tree here is loaded by the real nginx first (``nginx -T`` must pass), so
what the adapter reads from the files is compared with what nginx itself says
it loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.nginx_harness import NginxHarness, free_port, require_nginx
from wizard.answers import Answers
from wizard.checks.context import CheckContext
from wizard.checks.nginx import check_nginx
from wizard.nginx import (
    ConfigError,
    Tree,
    config_dump,
    detect_layout,
    find_binary,
    find_conflicting_server_blocks,
    nginx_version,
    read_tree,
    split_dump,
)

pytestmark = pytest.mark.nginx
HOSTNAME = "bastion.demo.test"


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    return require_nginx()


@pytest.fixture
def tree(tmp_path: Path, nginx_binary: str) -> Path:
    """A conf.d tree with a glob include, a nested relative include and two servers."""
    harness = NginxHarness(tmp_path / "p", binary=nginx_binary)
    root = harness.conf.parent
    (root / "conf.d" / "extra").mkdir(parents=True)
    harness.write_conf(includes=[root / "conf.d" / "*.conf"])
    (root / "conf.d" / "a.conf").write_text(
        f"# a comment {{ ; }}\nserver {{\n    listen 127.0.0.1:{free_port()};\n"
        '    server_name "other.demo.test";\n    include conf.d/extra/*.inc;\n}\n',
        encoding="utf-8",
    )
    (root / "conf.d" / "extra" / "headers.inc").write_text(
        'add_header X-Test "a;b";\n', encoding="utf-8"
    )
    (root / "conf.d" / "b.conf").write_text(
        f"server {{\n    listen 127.0.0.1:{free_port()};\n    server_name _;\n}}\n",
        encoding="utf-8",
    )
    (root / "conf.d" / "c.conf.off").write_text("server { server_name ignored; }\n")
    return root


async def test_find_binary_and_version(nginx_binary: str, tmp_path: Path) -> None:
    assert find_binary(nginx_binary) == nginx_binary
    assert find_binary("nginx") is not None
    assert find_binary(str(tmp_path / "nginx")) is None
    assert find_binary("no-such-nginx-binary") is None
    version = await nginx_version(nginx_binary)
    assert version is not None
    assert version >= (1, 0, 0)


async def test_nginx_t_dump_keeps_nginx_words_apart_from_the_files(
    tree: Path, nginx_binary: str
) -> None:
    result = await config_dump(nginx_binary, tree)
    assert result.ok, result.errors
    assert "test is successful" in result.errors
    files = split_dump(result.output)
    assert next(iter(files)) == str(tree / "nginx.conf")
    assert str(tree / "conf.d" / "a.conf") in files
    assert str(tree / "conf.d" / "extra" / "headers.inc") in files
    assert str(tree / "conf.d" / "c.conf.off") not in files
    assert files[str(tree / "conf.d" / "extra" / "headers.inc")] == 'add_header X-Test "a;b";\n\n'


async def test_nginx_view_and_files_view_agree(tree: Path, nginx_binary: str) -> None:
    result = await config_dump(nginx_binary, tree)
    assert result.ok, result.errors
    nginx_view = read_tree(tree, result.output)
    files_view = read_tree(tree)
    assert (nginx_view.source, files_view.source) == ("nginx -T", "files")

    def servers(view: Tree) -> list[tuple[Path, int, list[str]]]:
        return [(s.file, s.line, [d.name for d in s.block or ()]) for s in view.servers]

    assert servers(nginx_view) == servers(files_view)
    assert [s[:2] for s in servers(nginx_view)] == [
        (tree / "conf.d" / "a.conf", 2),
        (tree / "conf.d" / "b.conf", 1),
    ]
    # The nested include is expanded inside the server block, in both views.
    assert [d.name for d in nginx_view.servers[0].block or ()][-1] == "include"
    assert [d.args for d in nginx_view.http_includes] == [[str(tree / "conf.d" / "*.conf")]]
    assert detect_layout(tree, tree=nginx_view) == detect_layout(tree)


async def test_check_reads_nginx_view_when_the_test_passes(tree: Path) -> None:
    port = free_port()
    (tree / "conf.d" / "claim.conf").write_text(
        f"server {{\n    listen 127.0.0.1:{port};\n    server_name {HOSTNAME.upper()}.;\n}}\n",
        encoding="utf-8",
    )
    answers = _answers(port)
    findings = {f.code: f for f in await check_nginx(answers, CheckContext(nginx_root=tree))}
    assert findings["nginx.config_test"].status == "ok"
    assert findings["nginx.layout"].status == "ok"
    conflict = findings["nginx.conflict"]
    assert conflict.status == "fail"
    assert f"{tree / 'conf.d' / 'claim.conf'}:1" in conflict.detail


async def test_check_falls_back_to_the_files_when_nginx_t_fails(tree: Path) -> None:
    port = free_port()
    (tree / "conf.d" / "broken.conf").write_text(
        f"server {{ listen 127.0.0.1:{port}; server_name {HOSTNAME}; bogus_directive on; }}\n",
        encoding="utf-8",
    )
    findings = {f.code: f for f in await check_nginx(_answers(port), CheckContext(nginx_root=tree))}
    assert findings["nginx.config_test"].status == "fail"
    assert 'unknown directive "bogus_directive"' in findings["nginx.config_test"].detail
    assert findings["nginx.layout"].status == "ok"
    assert findings["nginx.conflict"].status == "fail"
    assert "broken.conf:1" in findings["nginx.conflict"].detail
    assert find_conflicting_server_blocks(tree, HOSTNAME, port) != []


def test_a_dump_of_another_tree_is_not_taken_for_this_one(tree: Path) -> None:
    other = "# configuration file /elsewhere/nginx.conf:\nhttp { }\n"
    with pytest.raises(ConfigError, match=r"no readable nginx\.conf"):
        read_tree(tree, other)
    assert read_tree(tree).servers  # the files themselves are readable


def _answers(port: int) -> Answers:
    answers = Answers(mode="slack")
    answers.bastion.hostname = HOSTNAME
    answers.bastion.listen_port = port
    return answers
