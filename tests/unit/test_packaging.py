"""The wheel ships every package: a sub-package missing from pyproject.toml breaks installs only."""

from __future__ import annotations

from pathlib import Path

from wizard.compat import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_every_wizard_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "wizard").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found, "no package found under wizard/"
    assert sorted(found - listed) == []


def test_version_is_the_one_in_pyproject() -> None:
    import subprocess
    import sys

    import wizard

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert wizard.__version__ == config["project"]["version"]
    shown = subprocess.run(
        [sys.executable, "-m", "wizard", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"codestream-bastion {wizard.__version__}\n"
