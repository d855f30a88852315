"""The layering rule of ARCHITECTURE.md, checked on the source: no import cycle (deferred imports
count), no resource kind importing the facade, leaves importing only leaves."""

from __future__ import annotations

import ast
from pathlib import Path

import esxnb

PACKAGE = Path(esxnb.__file__).parent

# Modules that may import esxnb.connection: the facade itself and the front ends above it
# (with esxnb/widgets/ and the esxnb/_cli_*.py sub-command modules).
ABOVE_FACADE = {
    "esxnb",
    "esxnb.__main__",
    "esxnb.connection",
    "esxnb.cli",
    "esxnb.many",
    "esxnb.commands",
    "esxnb.lab",
    "esxnb.labenv",
}
LEAVES = (
    "esxnb.errors",
    "esxnb.uri",
    "esxnb.credentials",
    "esxnb._vocabulary",
    "esxnb._lazy",
    "esxnb._version",
    "esxnb.vmx",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every esxnb module ``name`` imports, wherever the import statement is."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            candidates = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names
            ]
        else:
            continue
        for candidate in candidates:
            # ``from . import errors`` names a module; ``from .x import f`` names module x.
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
                # importing a.b.c runs a.b's __init__ first: that is an edge too, unless the
                # importer lives in a.b itself
                parts = candidate.split(".")
                for depth in range(2, len(parts)):
                    package_name = ".".join(parts[:depth])
                    if (
                        package_name in modules
                        and not name.startswith(package_name + ".")
                        and package_name != name
                    ):
                        targets.add(package_name)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "esxnb.connection" in graph["esxnb"]
    assert "esxnb.domain" in graph["esxnb.connection"]
    assert "esxnb._protocol" in graph["esxnb.host._facet"]


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_front_ends_import_the_facade() -> None:
    offenders = {
        name
        for name, targets in _graph().items()
        if "esxnb.connection" in targets
        and name not in ABOVE_FACADE
        and not name.startswith(("esxnb.widgets", "esxnb._cli_"))
    }
    assert offenders == set()


def test_leaves_import_only_leaves() -> None:
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith(LEAVES):
            higher = {t for t in targets if not t.startswith(LEAVES)}
            assert higher == set(), f"{name} imports {sorted(higher)}"
