"""The offline bundle installs with no network on every supported Python, and refuses tampering.

``./dev bundle`` builds ``dist/codestream-bastion-VERSION-offline.tar.gz`` (it
needs the package index; .ci/run builds it before the tests). These tests never
reach a network: each install runs under ``unshare -n`` (a network namespace
with nothing but a down loopback), into a fresh venv of each interpreter that
``./dev pythons`` names; the installed command then runs ``--version``,
``check --help`` and ``render`` of the README's example answers file. The
aarch64 wheels cannot run here: pip's own resolver, with the bundle as its only
source, shows they are complete for every Python.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

import wizard

ROOT = Path(__file__).resolve().parents[2]
TARBALL = ROOT / "dist" / f"codestream-bastion-{wizard.__version__}-offline.tar.gz"
# What goes into the bundle: a tarball older than any of them is stale.
SOURCES = ("wizard", "templates", "pyproject.toml", "scripts/install.sh")
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")


def _newest_source() -> tuple[float, Path]:
    paths = [ROOT / s for s in SOURCES]
    files = [p for s in paths for p in ([s] if s.is_file() else s.rglob("*")) if p.is_file()]
    return max((p.stat().st_mtime, p) for p in files if "__pycache__" not in p.parts)


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, unpacked once per session (read-only: copy it to change it)."""
    problem = ""
    if not TARBALL.is_file():
        problem = f"{TARBALL.relative_to(ROOT)} is missing"
    else:
        newest, source = _newest_source()
        if TARBALL.stat().st_mtime < newest:
            problem = f"{TARBALL.name} is older than {source.relative_to(ROOT)}"
    if problem:
        # .ci/run builds it first; elsewhere building it needs PyPI, which tests never reach.
        message = f"{problem}: run ./dev bundle"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    where = tmp_path_factory.mktemp("bundle")
    with tarfile.open(TARBALL) as archive:
        archive.extractall(where)  # noqa: S202 (our own build)
    (unpacked,) = where.iterdir()
    return unpacked


@pytest.fixture(scope="session")
def pythons() -> dict[str, str]:
    """Every supported CPython on this machine (``./dev pythons`` fails when one is missing)."""
    listed = subprocess.run(
        [str(ROOT / "dev"), "pythons"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0, listed.stderr
    found = dict(line.split(" ", 1) for line in listed.stdout.splitlines())
    assert tuple(found) == PYTHONS
    return found


def _offline(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` in a new network namespace: no route to anywhere, not even loopback.

    From ``/``: ``python -c`` puts its working directory first on ``sys.path``,
    and the checkout's ``wizard`` must not stand in for the installed one.
    """
    return subprocess.run(
        ["unshare", "--net", *argv],
        capture_output=True, text=True, timeout=600, check=False, env=env, cwd="/",
    )  # fmt: skip


def _readme_answers() -> str:
    """The example answers file of README.md ("The answers file")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The answers file", 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def _writable_by_others(prefix: Path) -> list[str]:
    return [
        str(path)
        for path in [prefix, *prefix.rglob("*")]
        if not path.is_symlink() and path.lstat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ]


@pytest.mark.parametrize("version", PYTHONS)
def test_installs_with_no_network_and_the_command_works(
    bundle: Path, pythons: dict[str, str], version: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "opt" / "codestream-bastion"
    installed = _offline(
        "sh", str(bundle / "install.sh"), "--python", pythons[version], "--prefix", str(prefix)
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = prefix / "bin" / "codestream-bastion"
    assert f"The command: {command}" in installed.stdout
    assert "Next, as root" in installed.stdout
    assert f"(Python {version})" in installed.stdout
    assert _writable_by_others(prefix) == []

    shown = _offline(str(command), "--version")
    assert shown.stdout == f"codestream-bastion {wizard.__version__}\n", shown.stderr
    helped = _offline(str(command), "check", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--post-install" in helped.stdout
    answers = tmp_path / "answers.toml"
    answers.write_text(_readme_answers(), encoding="utf-8")
    out = tmp_path / "out"
    rendered = _offline(str(command), "render", "--answers", str(answers), "--out", str(out))
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    block = (out / "codestream-bastion.conf").read_text(encoding="utf-8")
    assert re.search(r'server_name "?bastion-host\.my-company\.com"?;', block)
    # The venv's interpreter is this Python, and the package came from the bundle's wheel.
    where = _offline(str(prefix / "bin" / "python"), "-c", "import sys, wizard; "
                     "print('%d.%d' % sys.version_info[:2], wizard.__file__)")  # fmt: skip
    python_version, package = where.stdout.split()
    assert python_version == version
    assert Path(package).is_relative_to(prefix)


def _copy(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy, symlinks=True)
    return copy


def test_the_sums_verify_and_a_tampered_wheel_is_refused(
    bundle: Path, pythons: dict[str, str], tmp_path: Path
) -> None:
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=bundle, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = {line.split()[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()}
    on_disk = {f"wheels/{p.name}" for p in (bundle / "wheels").iterdir()} | {"install.sh"}
    assert listed == on_disk

    copy = _copy(bundle, tmp_path)
    (wheel,) = (copy / "wheels").glob("textual-*.whl")
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    prefix = tmp_path / "prefix"
    refused = _offline("sh", str(copy / "install.sh"), "--python", pythons["3.11"],
                       "--prefix", str(prefix))  # fmt: skip
    assert refused.returncode != 0
    assert f"wheels/{wheel.name}: FAILED" in refused.stderr
    assert "nothing was installed" in refused.stderr
    assert not prefix.exists()


def test_a_wheel_the_sums_do_not_list_is_refused(
    bundle: Path, pythons: dict[str, str], tmp_path: Path
) -> None:
    copy = _copy(bundle, tmp_path)
    (wheel,) = (copy / "wheels").glob("textual-*.whl")
    shutil.copy(wheel, copy / "wheels" / "evil-1.0-py3-none-any.whl")
    prefix = tmp_path / "prefix"
    refused = _offline("sh", str(copy / "install.sh"), "--python", pythons["3.11"],
                       "--prefix", str(prefix))  # fmt: skip
    assert refused.returncode != 0
    assert "evil-1.0-py3-none-any.whl is not listed in SHA256SUMS" in refused.stderr
    assert not prefix.exists()


def _resolve_aarch64(
    wheels: Path, python: str, version: str, into: Path
) -> subprocess.CompletedProcess[str]:
    """pip's resolver for CPython ``version`` on aarch64, with ``wheels`` as the only source.

    pip evaluates the dependencies' markers with the interpreter it runs on, so
    each Python resolves for itself.
    """
    (project,) = wheels.glob("codestream_bastion-*.whl")
    abi = "cp" + version.replace(".", "")
    return _offline(
        python, "-m", "pip", "--isolated", "download", "--disable-pip-version-check",
        "--no-index", "--find-links", str(wheels), "--only-binary=:all:",
        "--implementation", "cp", "--python-version", version,
        "--abi", abi, "--abi", "abi3", "--abi", "none",
        "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux_2_17_aarch64",
        "--platform", "manylinux2014_aarch64",
        "-d", str(into), str(project), "pip",
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip


@pytest.mark.parametrize("version", PYTHONS)
def test_the_aarch64_wheels_are_complete(
    bundle: Path, pythons: dict[str, str], version: str, tmp_path: Path
) -> None:
    resolved = _resolve_aarch64(bundle / "wheels", pythons[version], version, tmp_path / "got")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    got = {p.name for p in (tmp_path / "got").iterdir()}
    abi = "cp" + version.replace(".", "")
    assert any(n.startswith("cryptography-") and "aarch64" in n for n in got)
    assert any(n.startswith("cffi-") and f"{abi}-" in n and "aarch64" in n for n in got)
    assert any(n.startswith("textual-") for n in got)
    if version in ("3.9", "3.10"):
        assert any(n.startswith("tomli-") for n in got)
        assert any(n.startswith("exceptiongroup-") for n in got)


def test_the_completeness_check_sees_a_missing_wheel(
    bundle: Path, pythons: dict[str, str], tmp_path: Path
) -> None:
    # A bundle resolved by 3.11's pip alone would lack tomli, which 3.9 needs.
    copy = _copy(bundle, tmp_path)
    for wheel in (copy / "wheels").glob("tomli-*.whl"):
        wheel.unlink()
    resolved = _resolve_aarch64(copy / "wheels", pythons["3.9"], "3.9", tmp_path / "got")
    assert resolved.returncode != 0
    assert "tomli" in resolved.stderr


def test_a_python_without_venv_is_told_what_to_install(
    bundle: Path, pythons: dict[str, str], tmp_path: Path
) -> None:
    # Debian's python3 without python3-venv: ensurepip cannot be imported.
    shadow = tmp_path / "shadow" / "ensurepip"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('ensurepip is not available')\n")
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    refused = _offline("sh", str(bundle / "install.sh"), "--python", pythons["3.11"],
                       "--prefix", str(prefix), env=env)  # fmt: skip
    assert refused.returncode != 0
    assert "venv or ensurepip module is missing" in refused.stderr
    assert "apt-get install python3-venv" in refused.stderr
    assert "apt-cdrom add" in refused.stderr
    assert "dnf install python3-pip-wheel" in refused.stderr
    assert not prefix.exists()


def test_a_prefix_others_can_write_to_is_refused(
    bundle: Path, pythons: dict[str, str], tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the ownership rule applies to an install by root")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # world-writable, not sticky: another user could swap the install
    prefix = shared / "codestream-bastion"
    refused = _offline("sh", str(bundle / "install.sh"), "--python", pythons["3.11"],
                       "--prefix", str(prefix))  # fmt: skip
    assert refused.returncode != 0
    assert f"{shared} is not root's alone" in refused.stderr
    assert not prefix.exists()
