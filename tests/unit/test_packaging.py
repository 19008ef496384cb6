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
