"""This checkout as a wheel, installed into a new venv without a package index.

Tests may not reach a package index (nothing leaves loopback), so a new venv
sees this venv's dependencies through a ``.pth`` file instead: a directory of
links to every distribution in this venv's site-packages except this project,
pip and setuptools. ``pip install --no-index WHEEL`` then finds every
requirement met, and the project itself comes only from the wheel.
Used by the wheel test and the Ansible role's test.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PTH_NAME = "zz-test-dependencies.pth"
_OWN_PROJECTS = ("codestream_bastion", "pip", "setuptools")
_OWN_PREFIXES = ("__editable__", "_distutils_hack", "pkg_resources")


def build_wheel(out: Path, timeout: float = 600) -> Path:
    """A wheel of this checkout, built without a package index."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("codestream_bastion-*.whl")
    return wheel


def dependencies_dir(work: Path) -> Path:
    """A directory of links to this venv's distributions, this project (and pip) excepted."""
    deps = work / "deps"
    deps.mkdir()
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for entry in site_packages.iterdir():
        own = entry.name.split("-")[0] in _OWN_PROJECTS or entry.name.startswith(_OWN_PREFIXES)
        if own or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    return deps


def see_dependencies(venv: Path, deps: Path) -> None:
    """Make ``venv`` import from ``deps`` (a ``.pth`` file in each of its site-packages)."""
    for site in venv.glob("lib/python3*/site-packages"):
        (site / PTH_NAME).write_text(f"{deps}\n", encoding="utf-8")
