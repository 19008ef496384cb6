"""The install layer's building blocks: Secret, the masker, safe writes, the lock, the journal."""

from __future__ import annotations

import json
import os
import stat
import traceback
from pathlib import Path

import pytest

from wizard.answers import Secret, loads_answers
from wizard.fsutil import UnsafePathError, atomic_write, check_directory, read_state
from wizard.install.errors import JournalError, LockedError
from wizard.install.journal import Journal, load_journal
from wizard.install.lock import RunLock
from wizard.install.plan import Masker, secrets_in
from wizard.install.state import StateDir, tree_id


def test_a_secret_never_shows_in_repr_str_format_or_a_traceback() -> None:
    answers = loads_answers(
        'mode = "slack"\n[slack]\nsigning_secret = "hunter2-xyz"\n', partial=True
    )
    value = answers.slack.signing_secret
    assert isinstance(value, Secret)
    assert value == "hunter2-xyz"  # compares as the value
    assert json.dumps({"s": value}) == '{"s": "hunter2-xyz"}'  # serialises as the value
    for shown in (repr(value), str(value), f"{value}", repr(answers), f"{answers}"):
        assert "hunter2" not in shown
    try:
        secret = value  # a local, as Textual's crash screen would show it
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        text = traceback.format_exc()
    assert "hunter2" not in text
    assert value.reveal() == "hunter2-xyz"
    assert type(value.reveal()) is str


def test_the_masker_hides_old_and_new_values_by_value_and_by_key() -> None:
    masker = Masker(frozenset({"old-secret-1", "new-secret-2"}))
    assert (
        masker.line('-  "appClientSecret": "old-secret-1",\n')
        == '-  "appClientSecret": "********",\n'
    )
    assert (
        masker.line('+  "botAppPassword": "unknown-value",\n')
        == '+  "botAppPassword": "********",\n'
    )
    assert masker.line('-client_secret = "x1"\n') == '-client_secret = "********"\n'
    assert masker.line("+note: new-secret-2 inside text\n") == "+note: ******** inside text\n"
    # Placeholders and file references are not secrets: they stay readable.
    assert "<SLACK_CLIENT_SECRET>" in masker.line('+ "appClientSecret": "<SLACK_CLIENT_SECRET>"')
    assert "/etc/s" in masker.line('+signing_secret_file = "/etc/s"\n')


def test_secrets_are_found_in_an_old_snippet_and_an_old_answers_file() -> None:
    snippet = json.dumps({"integrations": {"slack": {"cloud": {"appSigningSecret": "s-1"}}}})
    assert secrets_in(snippet.encode()) == {"s-1"}
    assert secrets_in(b'mode = "slack"\n[msteams]\napp_password = "pw-2"\n') == {"pw-2"}
    assert secrets_in(b"\xff\xfe") == set()
    placeholder = {
        "integrations": {"slack": {"cloud": {"appSigningSecret": "<SLACK_SIGNING_SECRET>"}}}
    }
    assert secrets_in(json.dumps(placeholder).encode()) == set()  # shown as it is


def test_writes_refuse_a_directory_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafePathError) as caught:
        atomic_write(shared / "f", b"x")
    assert str(shared) in str(caught.value)
    assert "chmod go-w" in caught.value.remedy
    assert os.listdir(shared) == []
    shared.chmod(0o1777)  # sticky: fine, the name is ours
    atomic_write(shared / "f", b"x", 0o600)
    assert stat.S_IMODE((shared / "f").stat().st_mode) == 0o600
    check_directory(shared, shared / "f")


def test_a_write_replaces_a_planted_symlink_and_never_follows_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    victim.chmod(0o600)
    link = tmp_path / "out"
    link.symlink_to(victim)
    assert read_state(link).kind == "link"  # a link is described, not read through
    atomic_write(link, b"new", 0o644)
    assert victim.read_bytes() == b"keep"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"


def test_the_lock_names_its_holder(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "lock", Path("/etc/nginx"), wait=0)
    first.acquire()
    try:
        with pytest.raises(LockedError) as caught:
            RunLock(tmp_path / "lock", Path("/etc/nginx"), wait=0.2).acquire()
        assert f"pid {os.getpid()}" in caught.value.message
        assert "since" in caught.value.message
        assert "/etc/nginx" in caught.value.message
    finally:
        first.release()
    with RunLock(tmp_path / "lock", Path("/etc/nginx"), wait=0):
        pass


def test_state_ids_differ_per_tree_and_state_is_0700(tmp_path: Path) -> None:
    assert tree_id(tmp_path / "a") != tree_id(tmp_path / "b")
    assert tree_id(Path("/etc/nginx")).startswith("nginx-")
    state = StateDir.for_root(tmp_path / "nginx", tmp_path / "base")
    state.ensure()
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(state.journals.stat().st_mode) == 0o700


def test_a_journal_naming_a_path_outside_the_install_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "nginx"
    root.mkdir()
    journals = tmp_path / "journals"
    journals.mkdir(mode=0o700)
    journal = Journal.create(journals, root)
    journal.add(Path("/etc/cron.d/evil"), read_state(tmp_path / "absent"))
    journal.save("writing")
    with pytest.raises(JournalError) as caught:
        load_journal(journal.directory, root, lambda path: path.name == "answers.toml")
    assert "/etc/cron.d/evil" in caught.value.message
    assert "does not manage" in caught.value.message
    assert "--discard-journal" in caught.value.remedy
    # Cut short (a partial write of a foreign tool): explained, never a traceback.
    (journal.directory / "journal.json").write_text('{"tool": "codestream-bastion", "sta')
    (journal.directory / "journal.json").chmod(0o600)
    with pytest.raises(JournalError, match="not complete JSON"):
        load_journal(journal.directory, root, lambda _path: True)


def test_a_state_directory_that_cannot_be_made_is_explained(tmp_path: Path) -> None:
    from wizard.install.errors import InstallError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    state = StateDir.for_root(tmp_path / "nginx", blocker / "base")
    with pytest.raises(InstallError) as caught:
        state.ensure()
    assert str(state.path) in caught.value.message
    assert "--state-dir" in caught.value.remedy


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_link_in_an_untrusted_directory_is_not_followed_to_a_trusted_one(
    tmp_path: Path,
) -> None:
    """./codestream-bastion planted as a link to a root directory, in a directory another owns."""
    trusted = tmp_path / "etc-like"
    trusted.mkdir()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    (theirs / "codestream-bastion").symlink_to(trusted)
    with pytest.raises(UnsafePathError) as caught:
        atomic_write(theirs / "codestream-bastion" / "answers.toml", b"x", 0o600)
    assert str(theirs) in caught.value.message
    assert os.listdir(trusted) == []
    # A link that a trusted user made in a trusted directory is fine.
    (tmp_path / "ours").symlink_to(trusted)
    atomic_write(tmp_path / "ours" / "answers.toml", b"x", 0o600)
    assert os.listdir(trusted) == ["answers.toml"]


def test_a_starting_journal_keeps_its_start_record_and_a_forged_one_is_refused(
    tmp_path: Path,
) -> None:
    """The start record only says who started nginx and which pid; nothing in it is run."""
    import json

    from wizard.install.journal import StartRecord

    root = tmp_path / "nginx"
    root.mkdir()
    journals = tmp_path / "journals"
    journals.mkdir(mode=0o700)
    journal = Journal.create(journals, root)
    journal.start = StartRecord("systemd", False, 1_700_000_000.5, 4242)
    journal.save("starting")
    loaded = load_journal(journal.directory, root, lambda _path: True)
    assert loaded is not None
    assert loaded.state == "starting"
    assert loaded.start == StartRecord("systemd", False, 1_700_000_000.5, 4242)
    file = journal.directory / "journal.json"
    for forged in (
        {"manager": "sh -c 'rm -rf /'", "enabled_before": True, "at": 1.0, "pid": None},
        {"manager": "nginx", "enabled_before": "yes", "at": 1.0, "pid": None},
        {"manager": "nginx", "enabled_before": True, "at": 1.0, "pid": -1},
        {"manager": "nginx", "enabled_before": True, "at": 1.0, "pid": True},
        "systemctl stop sshd",
    ):
        document = json.loads(file.read_text())
        document["start"] = forged
        file.write_text(json.dumps(document))
        file.chmod(0o600)
        with pytest.raises(JournalError, match="record of the nginx start is damaged"):
            load_journal(journal.directory, root, lambda _path: True)


def test_only_a_write_asked_not_to_be_durable_skips_the_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flush to disk cannot be observed from here: the fsync calls are counted instead.
    flushed: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        flushed.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    target = tmp_path / "answers.toml"
    atomic_write(target, b"one", 0o600)
    assert len(flushed) == 2  # the file, then its directory
    atomic_write(target, b"two", 0o600, durable=False)
    assert len(flushed) == 2
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["answers.toml"]  # no temporary file left
