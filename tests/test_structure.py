"""The layering of the project, read from the source (every import statement, lazy ones inside functions too).

- the core (``geo``) never reaches the HTTP layer (``api``) nor the command line (``cli``);
- the HTTP layer never reaches the command line;
- no import cycle anywhere in the project, counting module-level and lazy imports alike.

The graph is built with :mod:`ast` over every file, so an import hidden in a function body counts; a call
``importlib.import_module("x.y")`` with a literal name counts as an import too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "api", "cli")


def _modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its ``__init__``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts and path.parent.name == "versions":
                continue  # alembic revision scripts are loaded by alembic, not imported
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The most specific project module that ``name`` (a module or a name inside one) stands for."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that the module imports, wherever in the file the import stands."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            targets.add(node.args[0].value)
    resolved = {_resolve(t, modules) for t in targets}
    return {t for t in resolved if t is not None and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module reachable from ``start``, each with the module that first imported it on the way."""
    seen, todo = {start: ""}, [start]
    while todo:
        current = todo.pop()
        for target in graph[current]:
            if target not in seen:
                seen[target] = current
                todo.append(target)
    return seen


def _path(seen: dict[str, str], end: str) -> str:
    chain = [end]
    while seen[chain[-1]]:
        chain.append(seen[chain[-1]])
    return " -> ".join(reversed(chain))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        result.append(sorted(component))
    return result


@pytest.mark.parametrize(("layer", "forbidden"), [("geo", ("api", "cli")), ("api", ("cli",))])
def test_lower_layer_never_reaches_upper(layer, forbidden):
    graph = import_graph()
    breaches = []
    for module in sorted(m for m in graph if m == layer or m.startswith(layer + ".")):
        seen = _reach(graph, module)
        for target in sorted(seen):
            if target.split(".")[0] in forbidden:
                breaches.append(_path(seen, target))
                break
    assert not breaches, f"{layer}/ reaches {'/'.join(forbidden)}/:\n" + "\n".join(breaches)


def test_no_import_cycles():
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles (module-level and lazy imports):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_graph_sees_lazy_imports():
    """The reader counts an import inside a function body: it finds the lazy imports the code is known to have."""
    graph = import_graph()
    assert "geo.db.migrate" in graph["geo.db.engine"]  # imported inside prepare_database
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
