"""Imports only go down (docs/architecture.md, "Layers"): no arrow up between apps, no cycle inside one.

Every import counts, including one inside a function: a lazy import still ties two files together.
Only imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lms_tool"

# Higher floors may import lower ones; apps on the same floor may not import each other.
FLOORS = {
    "core": 0,
    "ai": 1,
    "lti": 1,
    "privacy": 2,
    "grading": 3,
    "roster": 3,
    "quizzes": 4,
    "flashcards": 4,
    "webhooks": 5,
    "analytics": 5,
    "xapi": 5,
    "api": 6,
    "sandbox": 7,  # development only
    "launcher": 8,  # `make run`: above everything it starts, the sandbox included
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _target(name: str) -> str | None:
    """The module of ours that ``name`` (a module or a name inside one) refers to."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for name in names:
            target = _target(name)
            if target and target != module:
                found.add(target)
    return found


def app_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_app_has_a_floor() -> None:
    apps = {app_of(m) for m in MODULES if app_of(m)}
    assert apps <= FLOORS.keys(), f"give these apps a floor here and in docs/architecture.md: {apps - FLOORS.keys()}"


def test_no_import_runs_up_or_sideways_between_apps() -> None:
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if app_of(source) and app_of(target) and app_of(source) != app_of(target)
        if FLOORS[app_of(target)] >= FLOORS[app_of(source)]
    )
    assert not wrong, "imports that run up or sideways (docs/architecture.md, 'Layers'):\n" + "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_between_modules() -> None:
    # A package's __init__ that re-exports its submodules is part of the package, not a cycle of its own.
    cycles = [c for c in _cycles() if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_an_upward_import() -> None:
    """The checker itself works: a lower app importing a higher one is caught."""
    assert FLOORS["core"] < FLOORS["lti"]
    assert "lms_tool.core" in {_target("lms_tool.core.http.request")[:13]}  # type: ignore[index]
    tree = ast.parse("def f():\n    from lms_tool.quizzes import models\n")
    assert any(isinstance(n, ast.ImportFrom) for n in _runtime_nodes(tree))
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lms_tool.api import models\n")
    assert not any(isinstance(n, ast.ImportFrom) and n.module == "lms_tool.api" for n in _runtime_nodes(tree))
