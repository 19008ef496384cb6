"""``codestream-bastion certificate`` against pebble, with the real certbot, on loopback.

One pebble and one demo world (its two DNS servers, the fake API, a scratch
nginx tree) serve the whole module: pebble resolves the names through the
demo's public DNS server and validates HTTP-01 on a test port, which is the
command's ``--http-port``. Each test has its own certbot directories and, but
for the one that checks the demo's own name, its own host name.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.pebble_harness import Pebble, free_port, require_tool
from tests.nginx_harness import require_nginx
from wizard.answers import load_answers, save_answers
from wizard.checks.renewal import HOOK_NAME
from wizard.cli import main
from wizard.constants import ACME_CONF_NAME
from wizard.demo.environment import DEMO_ADDRESS, DEMO_HOSTNAME, DemoEnvironment, running_demo
from wizard.demo.nginx import DemoNginx
from wizard.install.acme import CertificateRequest, obtain_certificate
from wizard.install.installer import Installer


@dataclass(frozen=True)
class World:
    """The demo, its answers file, pebble, and the file holding pebble's root."""

    env: DemoEnvironment
    answers: Path
    pebble: Pebble
    pebble_root: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Pebble and the demo world, shared by the module (pebble is slow to start)."""
    require_tool("certbot")
    base = tmp_path_factory.mktemp("acme")
    with running_demo(base / "demo", timeout=2.0) as (env, answers):
        assert env.public_dns is not None
        pebble = Pebble(base, f"127.0.0.1:{env.public_dns.port}", free_port())
        try:
            root = base / "pebble-root.pem"
            root.write_bytes(pebble.root_pem())
            yield World(env, answers, pebble, root)
        finally:
            pebble.stop()


@pytest.fixture(autouse=True)
def _certbot_trusts_pebble(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """certbot (python-requests) verifies pebble's API through this bundle."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(world.pebble.api_bundle))


def point_here(world: World, name: str, address: str = DEMO_ADDRESS) -> None:
    """Publish ``name`` A ``address`` in both of the demo's resolvers."""
    for server in (world.env.local_dns, world.env.public_dns):
        assert server is not None
        server.set_records(name, "A", [address])


def answers_without_certificate(world: World, directory: Path, hostname: str) -> Path:
    """The demo's answers for ``hostname`` with no certificate yet, mode 0640."""
    answers = load_answers(world.answers)
    answers.bastion.hostname = hostname
    answers.bastion.certificate = answers.bastion.private_key = ""
    path = directory / "answers.toml"
    save_answers(answers, path)
    path.chmod(0o640)
    return path


def certbot_dirs(directory: Path) -> list[str]:
    return [
        f"--certbot-config-dir={directory / 'le'}",
        f"--certbot-work-dir={directory / 'work'}",
        f"--certbot-logs-dir={directory / 'logs'}",
    ]


def run_certificate(
    world: World, answers: Path, directory: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object]]:
    """``certificate --yes --json`` against pebble; the exit status and the JSON object."""
    capsys.readouterr()
    status = main(
        [
            "certificate",
            "--answers",
            str(answers),
            "--acme-server",
            world.pebble.url,
            f"--http-port={world.pebble.http_port}",
            *certbot_dirs(directory),
            "--yes",
            "--json",
            *extra,
            *world.env.cli_options(),
        ]
    )
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    document = json.loads(out)
    assert {"ok", "certificate", "private_key", "lineage", "issued"} <= set(document)
    return status, document


def test_standalone_issues_writes_answers_and_check_passes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = answers_without_certificate(world, tmp_path, DEMO_HOSTNAME)
    status, document = run_certificate(world, answers, tmp_path, capsys)
    assert status == 0, document
    live = tmp_path / "le" / "live" / DEMO_HOSTNAME
    assert document["ok"] is True
    assert document["issued"] is True
    assert document["lineage"] == str(live)
    assert document["certificate"] == str(live / "fullchain.pem")
    assert document["private_key"] == str(live / "privkey.pem")
    # The answers now name the lineage; the file kept its mode.
    saved = load_answers(answers)
    assert saved.bastion.certificate == str(live / "fullchain.pem")
    assert saved.bastion.private_key == str(live / "privkey.pem")
    assert stat.S_IMODE(answers.stat().st_mode) == 0o640
    # The deploy hook that reloads nginx after each renewal is in place, executable.
    hook = tmp_path / "le" / "renewal-hooks" / "deploy" / HOOK_NAME
    assert os.access(hook, os.X_OK)
    assert b"reload" in hook.read_bytes()
    # check passes with pebble's root trusted, the renewal reloading nginx.
    options = world.env.cli_options()
    options[options.index("--ca-bundle") + 1] = str(world.pebble_root)
    capsys.readouterr()
    assert main(["check", "--answers", str(answers), "--json", *options]) == 0
    report = json.loads(capsys.readouterr().out)
    codes = {f["code"]: f["status"] for f in report["findings"]}
    assert report["ok"] is True, [f for f in report["findings"] if f["status"] == "fail"]
    assert codes["cert.ok"] == "ok"
    assert codes["cert.renewal_ok"] == "ok"

    # A second run keeps the lineage: no new certificate, nothing asked of the CA.
    before = os.path.realpath(live / "fullchain.pem")
    orders = world.pebble.orders()
    status, again = run_certificate(world, answers, tmp_path, capsys)
    assert status == 0, again
    assert again["issued"] is False
    assert again["lineage"] == str(live)
    assert os.path.realpath(live / "fullchain.pem") == before
    assert world.pebble.orders() == orders


@pytest.fixture
def nginx_on_http_port(world: World) -> Iterator[DemoNginx]:
    """The demo tree's nginx running, a default server on pebble's HTTP-01 port (like port 80)."""
    root = world.env.files.nginx_root
    default = root / "conf.d" / "00-default-http.conf"
    default.write_text(
        f"server {{\n    listen {world.pebble.http_port} default_server;\n    return 404;\n}}\n"
    )
    nginx = DemoNginx(root, require_nginx())
    nginx.start()
    try:
        yield nginx
    finally:
        nginx.stop()
        default.unlink()


def unfinished_journals() -> list[Path]:
    state = Path(os.environ["CODESTREAM_BASTION_STATE_DIR"])
    return [p for p in state.rglob("journal.json") if b'"done"' not in p.read_bytes()]


@pytest.mark.nginx
def test_webroot_through_running_nginx(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], nginx_on_http_port: DemoNginx
) -> None:
    name = "web.demo.test"
    point_here(world, name)
    root = world.env.files.nginx_root
    answers = answers_without_certificate(world, tmp_path, name)
    status, document = run_certificate(world, answers, tmp_path, capsys)
    assert status == 0, document
    assert document["issued"] is True
    assert {f["code"] for f in document["findings"]} >= {"acme.port_nginx"}  # type: ignore[attr-defined]
    # The temporary block is gone again, no journal is left, nginx still runs.
    assert not (root / "conf.d" / ACME_CONF_NAME).exists()
    assert unfinished_journals() == []
    assert nginx_on_http_port.pid() is not None


KILLED_MID_CERTBOT = """
import asyncio, os, sys
from pathlib import Path
from wizard.answers import load_answers
from wizard.commands.apply import default_installer
from wizard.checks.context import CheckContext
from wizard.install.acme_webroot import temporary_webroot

async def main() -> None:
    ctx = CheckContext(nginx_root=Path(sys.argv[2]), lab=True)
    installer = await default_installer(load_answers(sys.argv[1]), ctx)
    async with temporary_webroot(installer, "crash.demo.test", int(sys.argv[3])):
        print("installed", flush=True)
        os._exit(9)  # killed while certbot would run: no clean-up at all

asyncio.run(main())
"""


@pytest.mark.nginx
def test_a_run_killed_mid_certbot_is_undone_by_the_next(
    world: World, tmp_path: Path, nginx_on_http_port: DemoNginx
) -> None:
    import subprocess
    import sys

    root = world.env.files.nginx_root
    child = subprocess.run(
        [sys.executable, "-c", KILLED_MID_CERTBOT, str(world.answers), str(root),
         str(world.pebble.http_port)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == 9, child.stderr
    assert child.stdout == "installed\n"
    block = root / "conf.d" / ACME_CONF_NAME
    assert b"crash.demo.test" in block.read_bytes()
    assert len(unfinished_journals()) == 1
    # The next run (here the certificate command's first step) puts the tree back.
    from wizard.commands.apply import default_installer
    from wizard.install.acme_webroot import recover_first
    from wizard.install.lock import RunLock

    ctx = world.env.context()
    installer = asyncio.run(default_installer(load_answers(world.answers), ctx))
    lock = RunLock(installer.state.lock_file, ctx.nginx_root, 5)
    try:
        messages = asyncio.run(recover_first(installer, lock))
    finally:
        lock.release()
    assert messages, "the interrupted run is reported"
    assert not block.exists()
    assert unfinished_journals() == []
    assert nginx_on_http_port.pid() is not None


def test_name_pointing_elsewhere_is_refused_before_the_ca(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "elsewhere.demo.test"
    point_here(world, name, "192.0.2.44")
    answers = answers_without_certificate(world, tmp_path, name)
    orders = world.pebble.orders()
    status, document = run_certificate(world, answers, tmp_path, capsys)
    assert status == 1
    assert document["ok"] is False
    failed = {f["code"] for f in document["findings"] if f["status"] == "fail"}  # type: ignore[attr-defined]
    assert "dns.mismatch" in failed
    assert "192.0.2.44" in str(document["error"])
    assert world.pebble.orders() == orders
    assert not (tmp_path / "le").exists()
    assert load_answers(answers, partial=True).bastion.certificate == ""


def test_ca_error_is_shown_in_certbots_words(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # certbot answers on another port than the one pebble calls: the CA cannot connect.
    name = "refused.demo.test"
    point_here(world, name)
    answers = answers_without_certificate(world, tmp_path, name)
    status, document = run_certificate(
        world, answers, tmp_path, capsys, f"--http-port={free_port()}"
    )
    assert status == 1
    error = str(document["error"])
    assert "Certbot failed to authenticate some domains" in error
    assert "connection" in error.lower()
    assert "Saving debug log" not in error
    assert load_answers(answers, partial=True).bastion.certificate == ""


def test_dns01_through_the_manual_hooks(world: World, tmp_path: Path) -> None:
    name = "dns01.demo.test"
    point_here(world, name)
    public = world.env.public_dns
    assert public is not None
    answers = load_answers(answers_without_certificate(world, tmp_path, name), partial=True)
    seen: list[str] = []

    def progress(kind: str, text: str) -> None:
        if kind == "dns_record":
            # What the admin does at the DNS provider, here the test DNS server.
            record, _txt, value = text.split(" ", 2)
            seen.append(record)
            public.set_records(record, "TXT", [json.dumps(value)])

    async def installer(new: object) -> Installer:
        from wizard.commands.apply import default_installer

        return await default_installer(new, world.env.context())  # type: ignore[arg-type]

    request = CertificateRequest(
        name,
        DEMO_ADDRESS,
        acme_server=world.pebble.url,
        challenge="dns-01",
        config_dir=tmp_path / "le",
        work_dir=tmp_path / "work",
        logs_dir=tmp_path / "logs",
        dns_wait=20,
    )
    result = asyncio.run(
        obtain_certificate(
            request,
            answers,
            tmp_path / "answers.toml",
            world.env.context(),
            make_installer=installer,
            progress=progress,
        )
    )
    assert result.ok, (result.error, result.findings)
    assert result.method == "manual"
    assert result.issued
    assert seen == [f"_acme-challenge.{name}"]
    assert load_answers(tmp_path / "answers.toml").bastion.certificate == result.certificate


def test_dns01_command_shows_the_record_and_waits_for_it(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The headless command prints the TXT record, then waits until public DNS serves it."""
    import tempfile
    import threading

    name = "dns01-cli.demo.test"
    point_here(world, name)
    public = world.env.public_dns
    assert public is not None
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the hook's channel goes
    answers = answers_without_certificate(world, tmp_path, name)
    argv = [
        "certificate", "--answers", str(answers), "--acme-server", world.pebble.url,
        "--challenge", "dns-01", "--dns-wait", "30", *certbot_dirs(tmp_path), "--yes",
        *world.env.cli_options(),
    ]  # fmt: skip
    status: list[int] = []
    runner = threading.Thread(target=lambda: status.append(main(argv)))
    runner.start()
    deadline = time.monotonic() + 30
    records: list[Path] = []
    while not records and time.monotonic() < deadline:
        records = list(scratch.glob("codestream-bastion-dns01-*/record.json"))
        time.sleep(0.1)
    assert records, "the auth hook never named the record"
    record = json.loads(records[0].read_text())
    assert record["name"] == f"_acme-challenge.{name}"
    time.sleep(1.5)  # the hook is now asking public DNS, which does not have it yet
    public.set_records(record["name"], "TXT", [json.dumps(record["value"])])
    runner.join(60)
    out = capsys.readouterr().out
    assert status == [0], out
    assert "Create this DNS record at the domain's DNS provider:" in out
    assert f"  _acme-challenge.{name} TXT {record['value']}" in out
    assert "certbot issued a new certificate" in out
