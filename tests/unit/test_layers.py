"""The import contracts of pyproject.toml catch what they are there to catch.

``./dev lint`` runs lint-imports on the code as it is; these tests run the
same contracts (import-linter's own classes, the options read from
pyproject.toml) on the real import graph with one import added, and check
that each kind of mistake breaks them: an upward import, the TUI and the demo
importing each other, a cycle, an adapter importing findings, a new module
outside every layer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

try:
    import grimp
    from importlinter.configuration import configure
    from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
    from importlinter.contracts.forbidden import ForbiddenContract
    from importlinter.contracts.layers import LayersContract
    from importlinter.domain.contract import Contract
except ImportError:
    # import-linter is a dev tool (the dev extra): the lint's Python has it; the
    # other Pythons' venvs (./dev test-pythons) have the test extra only, and the
    # import graph is the same whatever Python reads it.
    pytest.skip("import-linter is not installed (the dev extra)", allow_module_level=True)

from wizard.compat import tomllib

configure()  # what lint-imports does first: the contracts read its timer
ROOT = Path(__file__).resolve().parents[2]
CLASSES: dict[str, type[Contract]] = {
    "layers": LayersContract,
    "forbidden": ForbiddenContract,
    "acyclic_siblings": AcyclicSiblingsContract,
}


@cache
def _config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return config["tool"]["importlinter"]


def _contract(kind: str, name_part: str = "") -> Contract:
    config = _config()
    (options,) = [c for c in config["contracts"] if c["type"] == kind and name_part in c["name"]]
    options = {k: v for k, v in options.items() if k not in ("name", "type", "id")}
    for key, value in options.items():  # the command line reads TOML lists as strings too
        if isinstance(value, (bool, int)):
            options[key] = str(value).lower() if isinstance(value, bool) else str(value)
    session = {
        "root_packages": [config["root_package"]],
        "include_external_packages": str(config.get("include_external_packages", False)),
    }
    return CLASSES[kind](name=kind, session_options=session, contract_options=options)


def _kept(contract: Contract, *extra: tuple[str, str]) -> bool:
    """Whether ``contract`` holds on the real import graph plus the ``extra`` imports.

    A fresh graph each time: a contract removes the imports it ignores from
    the graph it is given.
    """
    graph = grimp.build_graph("wizard", include_external_packages=True, cache_dir=None)
    for importer, imported in extra:
        graph.add_import(importer=importer, imported=imported)
    return bool(contract.check(graph, verbose=False).kept)


@pytest.mark.parametrize(
    ("kind", "name_part"),
    [
        ("layers", ""),
        ("acyclic_siblings", ""),
        ("forbidden", "Textual"),
        ("forbidden", "adapter"),
    ],
)
def test_the_code_keeps_every_contract(kind: str, name_part: str) -> None:
    assert _kept(_contract(kind, name_part))


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("wizard.checks.mode", "wizard.engine"),  # a check calling the engine above it
        ("wizard.answers", "wizard.checks.hostname"),  # the base calling a check
        ("wizard.render.files", "wizard.install.plan"),  # render calling the installer
        ("wizard.install.plan", "wizard.commands.apply"),  # a layer calling its command
        ("wizard.tui.app", "wizard.cli"),
        ("wizard.demo.environment", "wizard.tui.app"),  # the demo starting the TUI
        ("wizard.tui.app", "wizard.demo.nginx"),  # the TUI building the demo
        ("wizard.nginx.binary", "wizard.probes.dns"),  # the two adapters are independent
    ],
)
def test_an_upward_or_sideways_import_breaks_the_layers(importer: str, imported: str) -> None:
    assert not _kept(_contract("layers"), (importer, imported))


@pytest.mark.parametrize(
    "added",
    [
        ("wizard.engine", "wizard.report"),  # engine and report share a layer
        ("wizard.checks.context", "wizard.checks.selinux"),  # inside the checks
    ],
)
def test_a_cycle_inside_a_layer_breaks_the_acyclic_contract(added: tuple[str, str]) -> None:
    # The layers contract allows both imports; only the cycle contract sees them.
    assert _kept(_contract("layers"), added)
    assert not _kept(_contract("acyclic_siblings"), added)


@pytest.mark.parametrize("imported", ["wizard.findings", "wizard.checks.dns", "wizard.answers"])
def test_the_adapters_cannot_import_findings_checks_or_answers(imported: str) -> None:
    added = ("wizard.nginx.config", imported)
    assert not _kept(_contract("forbidden", "adapter"), added)


def test_textual_stays_in_the_tui() -> None:
    added = ("wizard.checks.dns", "textual")  # external packages are nodes by their top name
    assert not _kept(_contract("forbidden", "Textual"), added)


def test_every_part_of_wizard_is_in_a_layer() -> None:
    """The layers contract is exhaustive: a new module must be placed before lint passes."""
    layered = {
        name.strip() for layer in _contract_layers() for name in layer.replace("|", ":").split(":")
    }
    parts = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "wizard").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert sorted(parts - layered) == []
    assert next(c for c in _config()["contracts"] if c["type"] == "layers")["exhaustive"], (
        "lint-imports itself refuses a module outside every layer"
    )


def _contract_layers() -> list[str]:
    (layers,) = [c["layers"] for c in _config()["contracts"] if c["type"] == "layers"]
    assert isinstance(layers, list)
    return layers
