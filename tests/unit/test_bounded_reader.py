"""The one bounded reader and the ownership rule for files the tool reads.

``reading.read_bounded``: a regular file by ``fstat`` on the open descriptor,
opened ``O_NONBLOCK`` (a FIFO never blocks), refused above the cap after at
most ``cap + 1`` bytes. ``fsutil.check_readable_path``: the sshd StrictModes
rule, lexically and through each link's own directory, for files root later
trusts. Owners are changed for real (root only).
"""

from __future__ import annotations

import os
import pwd
import resource
import time
from pathlib import Path

import pytest

from wizard.fsutil import UnsafePathError, check_readable_path
from wizard.install.errors import InstallError
from wizard.install.monitor import check_root_inputs, check_root_owned
from wizard.reading import BoundedReadError, read_bounded, read_head, read_since

ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")


def test_a_regular_file_is_read_whole_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    with pytest.raises(BoundedReadError) as refused:
        read_bounded(path, 99)
    assert refused.value.kind == "too_large"
    assert read_head(path, 10) == b"x" * 10


def test_dev_zero_a_fifo_a_directory_and_a_missing_file_are_refused_at_once(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = {Path("/dev/zero"): "special", fifo: "special", tmp_path: "directory"}
    cases[tmp_path / "missing"] = "missing"
    for path, kind in cases.items():
        for read in (lambda p: read_bounded(p, 1 << 20), lambda p: read_head(p, 10)):
            started = time.monotonic()
            with pytest.raises(BoundedReadError) as refused:
                read(path)
            assert refused.value.kind == kind, path
            assert time.monotonic() - started < 1.0


def test_a_huge_sparse_file_costs_nothing_to_refuse(tmp_path: Path) -> None:
    path = tmp_path / "huge"
    with path.open("wb") as handle:
        handle.truncate(8 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BoundedReadError, match="over 1,048,576 bytes"):
        read_bounded(path, 1 << 20)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 << 10  # far below what reading it would take


def test_a_link_is_refused_when_not_to_be_followed(tmp_path: Path) -> None:
    target = tmp_path / "t"
    target.write_text("x")
    link = tmp_path / "l"
    link.symlink_to(target)
    assert read_bounded(link, 10) == b"x"
    with pytest.raises(BoundedReadError) as refused:
        read_bounded(link, 10, follow=False)
    assert refused.value.kind == "link"


def test_a_log_is_read_since_an_offset_and_from_the_start_after_rotation(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_bytes(b"old\nnew\n")
    assert read_since(log, 4, 100) == b"new\n"
    assert read_since(log, 100, 100) == b"old\nnew\n"  # shorter than before: rotated
    assert read_since(log, 0, 4, last=True) == b"new\n"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(BoundedReadError):
        read_since(tmp_path / "fifo", 0, 10)


@ROOT
def test_a_file_another_user_could_swap_is_named_with_its_owner(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "cert.pem").write_text("x")
    check_readable_path(theirs / "cert.pem")  # root's: fine
    os.chown(theirs, nobody, -1)
    with pytest.raises(UnsafePathError) as refused:
        check_readable_path(theirs / "cert.pem")
    assert refused.value.owner == nobody
    assert f"{theirs} belongs to nobody (uid {nobody})" in refused.value.message
    assert "Move" in refused.value.remedy
    os.chown(theirs, 0, -1)
    os.chown(theirs / "cert.pem", nobody, -1)  # the file itself
    with pytest.raises(UnsafePathError, match="who could rewrite it"):
        check_readable_path(theirs / "cert.pem")


@ROOT
def test_a_link_is_judged_by_its_own_directory_and_its_target(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    safe = tmp_path / "safe"
    safe.mkdir()
    (safe / "key.pem").write_text("x")
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "key.pem").symlink_to(safe / "key.pem")
    check_readable_path(planted / "key.pem")
    os.chown(planted, nobody, -1)  # the link's own directory: nobody could repoint it
    with pytest.raises(UnsafePathError, match=str(planted)):
        check_readable_path(planted / "key.pem")
    # A root venv whose bin/ another user owns: realpath alone would not see it.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/usr/bin/env")
    check_root_owned([venv / "bin" / "python"])
    os.chown(venv / "bin", nobody, -1)
    with pytest.raises(InstallError, match="belongs to nobody") as refused:
        check_root_owned([venv / "bin" / "python"])
    assert refused.value.code == "install.monitor"


@ROOT
def test_the_root_timer_refuses_inputs_another_user_controls(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    home = tmp_path / "home"
    home.mkdir()
    answers = home / "answers.toml"
    answers.write_text('mode = "slack"\n')
    check_root_inputs([answers, Path("/etc")])
    os.chown(home, nobody, -1)
    with pytest.raises(InstallError) as refused:
        check_root_inputs([Path("/etc"), answers])
    assert "read it as root" in str(refused.value)
    assert "belongs to nobody" in str(refused.value)
    assert "/etc/codestream-bastion/" in refused.value.remedy
