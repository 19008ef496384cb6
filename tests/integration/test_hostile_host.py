"""The install layer against a hostile host: the tests act as the attacker.

The suite runs as root (as the tool does on a bastion). An unprivileged user
(``nobody``, in a child process that drops its privileges) plants journals,
symlink swarms and files in the working, output and state directories; two
runs race; a reload cannot bind; runs are SIGKILLed at every phase; answers
files are hostile; secrets change and disappear across applies. Only what
can be observed is asserted: bytes, modes, owners, listings, exit codes and
messages. nginx is real throughout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_install import Env, Tree
from tests.nginx_harness import free_port, require_nginx
from wizard.answers import load_answers, save_answers
from wizard.cli import main
from wizard.commands.apply import run_apply
from wizard.install import Installer, run_pipeline
from wizard.install.state import StateDir
from wizard.nginx import NginxFeatures

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacker tests run as root")


# -- the attacker -----------------------------------------------------------------------------


def as_nobody(script: str) -> None:
    """Run a shell script as ``nobody`` (a child that drops root before exec)."""
    nobody = pwd.getpwnam("nobody")

    def drop() -> None:
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    done = subprocess.run(
        ["/bin/sh", "-ec", script],
        preexec_fn=drop,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory under /tmp that ``nobody`` can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="cb-hostile-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = os.lstat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode), st.st_uid


def victim(directory: Path) -> Path:
    """A root-only 0600 file in a 0700 directory: what the attacker is after."""
    vault = directory / "vault"
    vault.mkdir(mode=0o700)
    secret = vault / "shadow"
    secret.write_bytes(b"root-only secret\n")
    secret.chmod(0o600)
    return secret


def installer_for(tree: Tree, env: Env, feats: NginxFeatures, **kwargs: object) -> Installer:
    options: dict[str, object] = {"systemd": False, "log_dir": str(tree.logs)}
    options.update(kwargs)
    return Installer(
        env.answers(int(options.pop("port", 0)) or free_port()),
        tree.ctx(),
        features=feats,
        resolvers=["127.0.0.1"],
        ca_bundle=None,
        **options,  # type: ignore[arg-type]
    )


# -- planted journals and symlink swarms --------------------------------------------------------


@pytest.mark.nginx
async def test_a_journal_planted_in_the_working_directory_is_never_read(
    shared: Path, rhel: Tree, certs: Env, features: NginxFeatures, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = victim(shared)
    work = shared / "work"
    work.mkdir()
    work.chmod(0o777)  # a directory the attacker can write, as the old tool trusted
    nginx_backup = rhel.root / ".codestream-bastion-backup" / "20200101T000000Z"
    as_nobody(
        f"""
        mkdir -p {work}/.codestream-bastion-backup/20200101T000000Z
        cd {work}/.codestream-bastion-backup/20200101T000000Z
        printf 'attacker bytes\\n' > 0001-shadow
        printf '{{"tool": "codestream-bastion", "state": "writing", "created_directories": [],
          "entries": [{{"path": "{target}", "kind": "file", "backup": "0001-shadow",
          "mode": 420, "uid": 65534, "gid": 65534}},
          {{"path": "{shared}/vault/new-root-file", "kind": "absent"}}]}}' > manifest.json
        """
    )
    # The same journal where the old tool kept its backups, planted by root's mistake.
    shutil.copytree(work / ".codestream-bastion-backup", nginx_backup.parent)
    before = fingerprint(target)
    planted = sorted(str(p) for p in (work / ".codestream-bastion-backup").rglob("*"))
    monkeypatch.chdir(work)
    installer = installer_for(rhel, certs, features, output_dir=rhel.out, reload_command=["true"])
    dry = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[], dry_run=True)
    assert dry.exit_code == 0
    done = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert done.exit_code == 0, done.message
    assert fingerprint(target) == before
    assert sorted(os.listdir(target.parent)) == ["shadow"]
    assert sorted(str(p) for p in (work / ".codestream-bastion-backup").rglob("*")) == planted
    assert (nginx_backup / "manifest.json").is_file()  # not read, not removed
    assert (rhel.root / "conf.d" / "codestream-bastion.conf").is_file()


@pytest.mark.nginx
async def test_state_another_user_can_write_is_refused_and_nothing_is_restored(
    shared: Path, rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    target = victim(shared)
    base = shared / "state"
    base.mkdir()
    os.chown(base, 65534, 65534)  # the attacker owns the state base
    state = StateDir.for_root(rhel.root, base)
    as_nobody(
        f"""
        mkdir -m 700 -p {state.journals}/20200101T000000Z
        cd {state.journals}/20200101T000000Z
        printf 'attacker\\n' > 0001.bak
        printf '{{"tool": "codestream-bastion", "version": 1, "state": "writing",
          "nginx_root": "{rhel.root.resolve()}", "pid": 1, "started": "x",
          "created_directories": [], "entries": [{{"path": "{target}", "kind": "absent"}}]}}' \\
          > journal.json
        """
    )
    before = fingerprint(target)
    installer = installer_for(
        rhel, certs, features, output_dir=rhel.out, reload_command=["true"], state_dir=base
    )
    tree = rhel.snapshot()
    for dry_run in (True, False):
        result = await run_pipeline(
            installer.answers, rhel.ctx(), installer, findings=[], dry_run=dry_run
        )
        assert result.exit_code == 1
        refusal = next(f for f in result.findings if f.code == "install.unsafe_path")
        assert str(base) in refusal.title
        assert "nobody" in refusal.title
        assert "root" in refusal.remedy
    assert fingerprint(target) == before
    assert rhel.snapshot() == tree


@pytest.mark.nginx
async def test_a_state_directory_with_loose_mode_is_refused(
    tmp_path: Path, rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    installer = installer_for(
        rhel, certs, features, output_dir=rhel.out, reload_command=["true"], state_dir=tmp_path
    )
    installer.state.path.mkdir(mode=0o755)
    installer.state.path.chmod(0o755)
    result = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert result.exit_code == 1
    refusal = next(f for f in result.findings if f.code == "install.unsafe_path")
    assert "mode 0755, not 0700" in refusal.title
    assert f"rm -r {installer.state.path}" in refusal.remedy
    assert not (rhel.root / "conf.d" / "codestream-bastion.conf").exists()


@pytest.mark.nginx
async def test_a_symlink_swarm_in_an_output_directory_another_user_owns_is_refused(
    shared: Path, rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    target = victim(shared)
    out = shared / "out"
    out.mkdir()
    os.chown(out, 65534, 65534)
    names = "answers.toml codestream-messaging.json next-steps.md"
    as_nobody(
        f"for n in {names}; do ln -s {target} {out}/$n; "
        f"for p in $(seq 1 300); do ln -s {target} {out}/.$n.tmp-$p; done; done"
    )
    before = fingerprint(target)
    listing = sorted(os.listdir(out))
    installer = installer_for(rhel, certs, features, output_dir=out, reload_command=["true"])
    result = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert result.exit_code == 1
    (refusal,) = [f for f in result.findings if f.status == "fail"]
    assert refusal.code == "install.unsafe_path"  # refused before anything was written
    message = f"{refusal.title} {refusal.remedy}"
    assert str(out) in message
    assert "nobody" in message
    assert fingerprint(target) == before
    assert sorted(os.listdir(out)) == listing
    assert not (rhel.root / "conf.d" / "codestream-bastion.conf").exists()  # all or nothing


@pytest.mark.nginx
async def test_a_sticky_shared_directory_with_planted_names(
    shared: Path, rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    target = victim(shared)
    out = shared / "drop"
    out.mkdir()
    out.chmod(0o1777)  # like /tmp
    # The temporary names the old tool used, all pointing at the root-only file.
    as_nobody(
        f"for p in $(seq 1 2000); do ln -s {target} {out}/.answers.toml.tmp-$p; "
        f"ln -s {target} {out}/.next-steps.md.tmp-$p; done"
    )
    before = fingerprint(target)
    installer = installer_for(rhel, certs, features, output_dir=out, reload_command=["true"])
    result = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert result.exit_code == 0, result.message
    assert fingerprint(target) == before
    answers = out / "answers.toml"
    assert not answers.is_symlink()
    assert (stat.S_IMODE(answers.stat().st_mode), answers.stat().st_uid) == (0o600, 0)
    # Now the attacker plants the target itself: a file of theirs is never replaced.
    answers.unlink()
    as_nobody(f"printf 'mine\\n' > {answers}")
    installer = installer_for(rhel, certs, features, output_dir=out, reload_command=["true"])
    refused = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert refused.exit_code == 1
    assert [f.code for f in refused.findings if f.status == "fail"] == ["install.unsafe_path"]
    assert answers.read_bytes() == b"mine\n"
    assert any(str(answers) in f.title for f in refused.findings)


def test_render_out_into_a_directory_another_user_owns_is_refused(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = shared / "render"
    out.mkdir()
    os.chown(out, 65534, 65534)
    answers = shared / "answers.toml"
    answers.write_text('mode = "slack-no-exposure"\n[codestream]\napi_url = "https://cs.test"\n')
    status = main(["render", "--answers", str(answers), "--out", str(out)])
    captured = capsys.readouterr()
    assert status != 0
    assert str(out) in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err
    assert os.listdir(out) == []


# -- one run at a time ----------------------------------------------------------------------------

_PIPELINE = textwrap.dedent(
    """\
    import asyncio, json, sys
    from pathlib import Path
    from wizard.answers import load_answers
    from wizard.checks.context import CheckContext
    from wizard.install import Installer, run_pipeline
    from wizard.nginx import NginxFeatures
    config = json.loads(sys.argv[1])
    answers = load_answers(config["answers"])
    ctx = CheckContext(nginx_root=Path(config["root"]))
    installer = Installer(
        answers, ctx, features=NginxFeatures(**config["features"]), resolvers=["127.0.0.1"],
        ca_bundle=None, systemd=False, output_dir=Path(config["out"]), log_dir=config["logs"],
    )
    result = asyncio.run(run_pipeline(answers, ctx, installer, findings=[],
                                      lock_wait=config.get("lock_wait", 5.0)))
    for finding in result.findings:
        print(finding.code, finding.status, finding.title, finding.remedy)
    print("RESULT", result.exit_code, result.stage, result.changed, result.reloaded)
    sys.exit(result.exit_code)
    """
)


def pipeline_config(tree: Tree, env: Env, feats: NginxFeatures, port: int, tmp: Path) -> dict:
    answers_file = tmp / "answers.toml"
    if not answers_file.exists():
        save_answers(env.answers(port), answers_file)
    return {
        "answers": str(answers_file),
        "root": str(tree.root),
        "out": str(tree.out),
        "logs": str(tree.logs),
        "features": {k: v for k, v in dataclasses.asdict(feats).items() if k != "version"},
    }


def start_pipeline(config: dict, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _PIPELINE, json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
    )


@pytest.mark.nginx
def test_two_applies_at_once_one_waits_and_names_the_holder(
    rhel: Tree, certs: Env, features: NginxFeatures, tmp_path: Path, nginx_binary: str
) -> None:
    # The slow run's nginx: a wrapper first on PATH that takes 4 s for 'nginx -t'.
    wrapper_dir = tmp_path / "slow-bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "nginx"
    wrapper.write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = -t ] && sleep 4; done\nexec {nginx_binary} "$@"\n'
    )
    wrapper.chmod(0o755)
    port = free_port()
    config = pipeline_config(rhel, certs, features, port, tmp_path)
    state = StateDir.for_root(rhel.root)
    with rhel.harness.running(free_port_default(rhel)):
        slow = start_pipeline(config, PATH=f"{wrapper_dir}:{os.environ['PATH']}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the slow run holds the lock
            if state.lock_file.exists() and f'"pid": {slow.pid}' in state.lock_file.read_text():
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the slow run never took the lock: {slow.communicate()}")
        quick = start_pipeline({**config, "lock_wait": 0.5})
        quick_out, _quick_err = quick.communicate(timeout=30)
        slow_out, slow_err = slow.communicate(timeout=60)
    assert quick.returncode == 1, quick_out
    assert "install.locked fail" in quick_out
    assert f"pid {slow.pid}" in quick_out
    assert "since" in quick_out
    assert "--lock-wait" in quick_out
    assert slow.returncode == 0, slow_out + slow_err
    assert "RESULT 0 done True True" in slow_out  # installed, reload proven
    conf = rhel.root / "conf.d" / "codestream-bastion.conf"
    assert conf.is_file()
    with rhel.harness.running(free_port_default(rhel)):
        again = start_pipeline(config)
        again_out, _ = again.communicate(timeout=60)
    assert again.returncode == 0
    assert "RESULT 0 done False False" in again_out
    assert conf.is_file()


def free_port_default(tree: Tree) -> int:
    """The port of the tree's default server (the harness waits for it to accept)."""
    text = (tree.root / "conf.d" / "default.conf").read_text()
    return int(text.split("listen 127.0.0.1:", 1)[1].split(";", 1)[0])


# -- a reload that cannot bind --------------------------------------------------------------------


@pytest.mark.nginx
async def test_a_reload_that_cannot_bind_is_rolled_back_with_nginx_message(
    rhel: Tree, certs: Env, features: NginxFeatures
) -> None:
    port = free_port()
    installer = installer_for(rhel, certs, features, output_dir=rhel.out, port=port)
    before = rhel.snapshot()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter,
        rhel.harness.running(free_port_default(rhel)),
    ):
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        assert rhel.harness.test().ok  # nginx -t cannot see it coming
        result = await run_pipeline(installer.answers, rhel.ctx(), installer, findings=[])
    assert result.exit_code == 1
    assert result.install is not None
    assert not result.reloaded
    assert result.install.rolled_back
    assert "did not take effect" in result.install.message
    assert f"bind() to 127.0.0.1:{port} failed" in result.install.nginx_output
    assert "Address already in use" in result.install.nginx_output
    assert rhel.snapshot() == before
    assert {f.action for f in result.files} == {"unchanged"}
    assert any("restored configuration" in note for note in result.install.notes)


# -- SIGKILL at each phase ------------------------------------------------------------------------


@pytest.mark.nginx
@pytest.mark.parametrize("phase", ["planned", "writing", "written", "testing", "reloading", "done"])
def test_killed_at_each_phase_then_a_normal_run_installs(
    phase: str, rhel: Tree, certs: Env, features: NginxFeatures, tmp_path: Path
) -> None:
    rhel.out.mkdir()
    (rhel.out / "next-steps.md").write_text("old notes\n")
    original = rhel.snapshot()
    config = pipeline_config(rhel, certs, features, free_port(), tmp_path)
    state = StateDir.for_root(rhel.root)
    with rhel.harness.running(free_port_default(rhel)):
        killed = start_pipeline(
            config, CODESTREAM_BASTION_TESTING="1", CODESTREAM_BASTION_FAULT=phase
        )
        killed.communicate(timeout=60)
        assert killed.returncode == -signal.SIGKILL
        # Every target is old or new, never partial; the journal says where it stopped.
        journals = [json.loads(p.read_text()) for p in state.journals.glob("*/journal.json")]
        assert [j["state"] for j in journals] == [
            {"written": "writing", "done": "reloading"}.get(phase, phase)
        ]
        normal = start_pipeline(config)
        out, err = normal.communicate(timeout=60)
    assert normal.returncode == 0, out + err
    assert "install.recovered warn" in out
    assert "RESULT 0 done True True" in out
    installed = rhel.snapshot()
    assert installed != original
    assert (rhel.root / "conf.d" / "codestream-bastion.conf").is_file()
    assert [json.loads(p.read_text())["state"] for p in state.journals.glob("*/journal.json")] == [
        "done"
    ]
    leftovers = [p for p in rhel.out.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# -- a broken journal never wedges it -------------------------------------------------------------


@pytest.mark.nginx
def test_a_journal_with_a_missing_backup_is_explained_and_can_be_discarded(
    rhel: Tree, certs: Env, features: NginxFeatures, tmp_path: Path
) -> None:
    rhel.out.mkdir()
    (rhel.out / "next-steps.md").write_text("old notes\n")
    config = pipeline_config(rhel, certs, features, free_port(), tmp_path)
    state = StateDir.for_root(rhel.root)
    killed = start_pipeline(
        config, CODESTREAM_BASTION_TESTING="1", CODESTREAM_BASTION_FAULT="written"
    )
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    (journal_dir,) = state.journals.iterdir()
    (backup,) = journal_dir.glob("*.bak")
    backup.unlink()
    wedged = start_pipeline(config)
    out, err = wedged.communicate(timeout=60)
    assert wedged.returncode == 1
    assert "Traceback" not in out + err
    assert "install.journal_damaged fail" in out
    assert "is missing" in out
    assert "--discard-journal" in out
    answers = load_answers(config["answers"])
    ctx = rhel.ctx()
    installer = Installer(
        answers,
        ctx,
        features=features,
        resolvers=["127.0.0.1"],
        ca_bundle=None,
        systemd=False,
        output_dir=rhel.out,
        log_dir=str(rhel.logs),
    )
    import io

    shown = io.StringIO()
    assert (
        asyncio.run(
            run_apply(
                answers,
                ctx,
                yes=True,
                dry_run=True,
                stdout=shown,
                installer=installer,
                discard_journal=True,
            )
        )
        == 0
    )
    assert "Would discard" in shown.getvalue()
    assert "is missing" in shown.getvalue()
    assert journal_dir.is_dir()
    as_json = io.StringIO()
    status = asyncio.run(
        run_apply(
            answers,
            ctx,
            yes=True,
            dry_run=True,
            stdout=as_json,
            installer=installer,
            discard_journal=True,
            as_json=True,
        )
    )
    assert status == 0
    document = json.loads(as_json.getvalue())
    assert document["ok"] is True
    assert document["findings"][0]["code"] == "install.journal_discarded"
    assert "is missing" in document["findings"][0]["detail"]
    assert journal_dir.is_dir()
    done = io.StringIO()
    assert (
        asyncio.run(
            run_apply(
                answers,
                ctx,
                yes=True,
                dry_run=False,
                stdout=done,
                installer=installer,
                discard_journal=True,
            )
        )
        == 0
    )
    assert "Discarded 1 journal(s)" in done.getvalue()
    assert not journal_dir.exists()
    with rhel.harness.running(free_port_default(rhel)):
        fresh = start_pipeline(config)
        out, err = fresh.communicate(timeout=60)
    assert fresh.returncode == 0, out + err
    # The killed run had written the server block; a discard restores nothing, so this
    # run finds it in place and writes the rest.
    assert "RESULT 0 done True" in out
    assert (rhel.root / "conf.d" / "codestream-bastion.conf").is_file()


# -- hostile answers files ------------------------------------------------------------------------


def _nested(path: Path) -> Path:
    path.write_text('mode = "slack"\n[slack]\napp_id = ' + "[" * 100_000 + "\n")
    return path


def _huge(path: Path) -> Path:
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB (sparse)
    return path


def _nul(path: Path) -> Path:
    path.write_bytes(b'mode = "slack"\n[slack]\nclient_id = "a\x00b"\n')
    return path


@pytest.mark.parametrize(
    ("make", "words", "line"),
    [
        (lambda _tmp: Path("/dev/zero"), "not a regular file", None),
        (lambda tmp: _huge(tmp / "huge.toml"), "larger than 1024 KiB", None),
        (lambda tmp: _nested(tmp / "nested.toml"), "nests arrays or tables too deeply", 3),
        (lambda tmp: _nul(tmp / "nul.toml"), "NUL byte", 3),
    ],
    ids=["dev-zero", "50MB", "deeply-nested", "nul-byte"],
)
def test_hostile_answers_files_are_exit_2_fast(
    make: object,
    words: str,
    line: int | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    for command in (["apply", "--yes"], ["check"], ["render", "--out", str(tmp_path / "o")]):
        started = time.monotonic()
        status = main([command[0], "--answers", str(path), *command[1:]])
        elapsed = time.monotonic() - started
        captured = capsys.readouterr()
        assert status == 2
        assert elapsed < 2.0
        assert "Traceback" not in captured.err
        assert words in captured.err
        assert f"{path}:{line}:" in captured.err if line else str(path) in captured.err
    assert not (tmp_path / "o").exists()


def test_a_wrong_typed_secret_is_named_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('mode = "slack"\n\n[slack]\nclient_secret = 1234567890\n')
    assert main(["apply", "--answers", str(path), "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4: key 'slack.client_secret': must be a string, not an integer" in err
    assert "1234567890" not in err


# -- secrets never leave ------------------------------------------------------------------------

_OLD = {"client_secret": "OLD-client-5e3f9a", "signing_secret": "OLD-signing-77b1c2"}
_NEW = {"client_secret": "NEW-client-a9d4e0", "signing_secret": "NEW-signing-3c8f61"}
_TEAMS = {"OLD": "OLD-teams-pw-0b7e", "NEW": "NEW-teams-pw-41aa"}


@pytest.mark.nginx
def test_secrets_changed_then_removed_never_reach_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_apply_json import apply_args
    from wizard.demo.environment import running_demo
    from wizard.demo.nginx import DemoNginx

    binary = require_nginx()
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    monkeypatch.setenv("NO_COLOR", "1")
    every_secret = [*_OLD.values(), *_NEW.values(), *_TEAMS.values()]
    transcripts: list[str] = []
    with running_demo(tmp_path / "demo", timeout=2.0) as (env, answers_path):
        nginx = DemoNginx(env.files.nginx_root, binary)
        nginx.start()
        try:

            def set_secrets(values: dict[str, str] | None, teams: str) -> None:
                answers = load_answers(answers_path)
                answers.slack.client_secret = (values or {}).get("client_secret", "")
                answers.slack.signing_secret = (values or {}).get("signing_secret", "")
                answers.msteams.app_password = teams
                save_answers(answers, answers_path)

            def run(*extra: str) -> int:
                status = main(apply_args(env, answers_path, *extra))
                captured = capfd.readouterr()
                transcripts.append(captured.out + captured.err)
                return status

            set_secrets(_OLD, _TEAMS["OLD"])
            assert run("--yes") == 0
            for values, teams in ((_NEW, _TEAMS["NEW"]), (None, "")):
                set_secrets(values, teams)
                assert run("--dry-run") == 0
                assert run("--json", "--dry-run") == 0
                assert run() == 2  # no terminal to confirm on: the diff is shown, then refused
                assert run("--yes") == 0
                assert run("--json", "--yes") == 0  # a no-op now
        finally:
            nginx.stop()
    snippet = out / "codestream-messaging.json"
    assert "OLD-" not in snippet.read_text()  # the files did change
    joined = "\n".join(transcripts)
    assert "********" in joined  # the changes were shown, masked
    assert "appClientSecret" in joined
    for secret in every_secret:
        assert secret not in joined, f"{secret} leaked into an output"
        assert secret.encode() not in joined.encode()
