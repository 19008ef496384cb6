"""No god functions or modules under wizard/: at most 80 lines a function, 600 a module.

A longer one must say why, in a comment where it starts: ``# long-function:
<why>`` on the line above the ``def`` (or its first decorator), ``# long-module:
<why>`` among the module's first ten lines (ARCHITECTURE.md, "Cross-cutting
concerns"). Lines are counted from the first decorator to the last line of
the body, docstring included, as a reader scrolls them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600
FUNCTION_REASON = "# long-function:"
MODULE_REASON = "# long-module:"


@dataclass(frozen=True)
class Long:
    """A function or module over its limit."""

    where: str  # path, or path:Qualified.name
    lines: int
    reason: str  # the comment's words, "" when there is none


def _functions(
    tree: ast.AST, prefix: str = ""
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((prefix + node.name, node))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        else:
            found += _functions(node, prefix)
    return found


def measure(root: Path = ROOT) -> list[Long]:
    """Every function and module under ``root/wizard`` over its limit."""
    found: list[Long] = []
    for path in sorted((root / "wizard").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_MODULE_LINES:
            reason = next((line for line in lines[:10] if MODULE_REASON in line), "")
            found.append(Long(name, len(lines), reason.partition(MODULE_REASON)[2].strip()))
        for qualified, node in _functions(ast.parse("\n".join(lines), name)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                above = lines[start - 2] if start >= 2 else ""
                reason = above.partition(FUNCTION_REASON)[2].strip()
                found.append(Long(f"{name}:{qualified}", length, reason))
    return found


def test_no_function_or_module_is_too_long_without_saying_why() -> None:
    unexplained = [f"{long.where} ({long.lines} lines)" for long in measure() if not long.reason]
    assert unexplained == []


def test_the_measure_finds_a_long_function_and_reads_its_reason(tmp_path: Path) -> None:
    package = tmp_path / "wizard"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (package / "long.py").write_text(
        f"class A:\n    def f(self) -> None:\n{body.replace('    ', '        ')}\n\n"
        f"{FUNCTION_REASON} a table, one row a line\ndef g() -> None:\n{body}\n"
        f"def short() -> None:\n    pass\n"
    )
    found = {long.where: long for long in measure(tmp_path)}
    assert set(found) == {"wizard/long.py:A.f", "wizard/long.py:g"}
    assert found["wizard/long.py:A.f"].lines == MAX_FUNCTION_LINES + 1
    assert found["wizard/long.py:A.f"].reason == ""
    assert found["wizard/long.py:g"].reason == "a table, one row a line"
