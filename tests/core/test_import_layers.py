"""Layers without circles: no import cycle inside the ``vetrai`` package.

The graph is read with ``ast`` from the source, so it counts every import statement: module
level, ``if TYPE_CHECKING:`` blocks and imports inside functions alike (a deferred import
still means the two modules need each other). ``from package import name`` counts as an
import of the submodule when ``name`` is one, else of the package; the implicit import of a
module's parent packages is not counted (no import graph tool counts it either).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "plugins", "engine", "entrypoints")
NOT_PACKAGE = {"migrations"}

# Cycles still being restructured elsewhere, each with the issue that removes it. Anything
# not listed here fails the test.
KNOWN_CYCLES: set[frozenset[str]] = set()


def package_modules() -> dict[str, Path]:
    """Module name -> file; the repository root is the ``vetrai`` package (setuptools package-dir)."""
    modules = {}
    paths = [ROOT / "__init__.py", *(path for top in PACKAGES for path in (ROOT / top).rglob("*.py"))]
    for path in paths:
        relative = path.relative_to(ROOT)
        if NOT_PACKAGE & set(relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(["vetrai", *parts])] = path
    return modules


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target in modules and target != module:
                found.add(target)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_graph_sees_the_whole_package():
    graph = import_graph()
    assert {"vetrai.core.hooks", "vetrai.core.platform", "vetrai.plugins.auth.routes", "vetrai.engine"} <= set(graph)
    assert "vetrai.core.hooks" in graph["vetrai.core.permissions"]


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_there_is_no_import_cycle_inside_vetrai():
    unexpected = [sorted(cycle) for cycle in cycles(import_graph()) if cycle not in KNOWN_CYCLES]
    assert not unexpected, f"import cycles: {unexpected}"


def test_known_cycles_still_exist():
    """A known exception that was fixed must leave the list, so it cannot come back unnoticed."""
    current = set(cycles(import_graph()))
    assert KNOWN_CYCLES <= current, f"no longer cycles, remove from KNOWN_CYCLES: {KNOWN_CYCLES - current}"


@pytest.mark.parametrize("module", ["vetrai.core.hooks"])
def test_the_contract_imports_nothing_of_vetrai(module):
    assert import_graph()[module] == set()


def test_the_core_imports_no_plugin():
    """The conformance kit (a pytest plugin that drives the auth plugin) is a test tool on top."""
    graph = import_graph()
    lower = [
        name for name in graph if name.startswith("vetrai.core") and not name.startswith("vetrai.core.conformance")
    ]
    for name in lower:
        above = {
            target
            for target in graph[name]
            if target.startswith(("vetrai.plugins", "vetrai.engine", "vetrai.entrypoints"))
        }
        assert not above, f"{name} imports {sorted(above)}"
