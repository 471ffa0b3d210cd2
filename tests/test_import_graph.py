"""No import cycles between raekit's modules, read from the source text (nothing is imported).

Every import statement counts, wherever it sits (module level, inside functions, classes, try
blocks), relative forms included; only imports under `if TYPE_CHECKING:` are left out, since they
never run. An edge goes from a module to the module each statement names: `import a.b` -> a.b,
`from a import b` -> a and, when b is a submodule, a.b; a name that is not a module resolves to the
longest module prefix. Importing a.b.c first runs the `__init__` of a and a.b, so those packages
are edges too. Edges between a module and its own parent packages are not counted (a package's
`__init__` importing its children to re-export them, or a child importing from its parent, is the
package's interface, not a cycle).

Besides having no cycle, the graph follows the layer order of docs/layout.md: each top-level
module or package of raekit imports only those listed above it.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "raekit"
LAYOUT = ROOT / "docs" / "layout.md"


def _modules(package_dir: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under package_dir (named `package`)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((package, *parts))] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, skipping the bodies of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package-internal modules it imports."""
    modules = _modules(package_dir, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            named: list[str] = []
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                if node.level:  # relative: from the containing package, one level up per extra dot
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    if node.level - 1 > len(here) - 1:
                        raise ValueError(f"{path}: relative import beyond the top package")
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join(here + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                named.append(base)
                named += [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            for target in named:
                if not (target == package or target.startswith(package + ".")):
                    continue
                target = _resolve(target, modules)
                if target is None:
                    continue
                for runs in _with_parents(target, package):
                    if runs == name or name.startswith(runs + "."):
                        continue  # a module and its own parent packages
                    if is_package and runs.startswith(name + "."):
                        continue  # a package's __init__ and its children
                    graph[name].add(runs)
    return graph


def _with_parents(target: str, package: str) -> list[str]:
    """`target` and the packages between it and `package` that importing it runs first."""
    parts = target.split(".")
    return [".".join(parts[:k]) for k in range(len(package.split(".")) + 1, len(parts) + 1)]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle [a, b, ..., a] per strongly connected component with a cycle."""
    return [_cycle_in(component, graph) for component in cyclic_components(graph)]


def cyclic_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
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
                if len(component) > 1:  # self-imports are not edges
                    components.append(component)
    return components


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first, inside it)."""
    start = min(component)
    previous = {start: None}
    queue = [start]
    for node in queue:
        for child in sorted(graph[node] & component):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")  # unreachable for a strongly connected set


def _describe(graph: dict[str, set[str]], components: list[set[str]]) -> str:
    """Each component as one of its cycles, with all its modules when the cycle misses some."""
    parts = []
    for component in components:
        cycle = _cycle_in(component, graph)
        text = " -> ".join(cycle)
        if len(component) > len(cycle) - 1:
            text += f" (one cycle among {', '.join(sorted(component))})"
        parts.append(text)
    return "; ".join(parts)


def test_raekit_has_no_import_cycle():
    graph = import_graph(SRC, "raekit")
    assert len(graph) > 20 and any(graph.values()), "the walk found raekit's modules and imports"
    components = cyclic_components(graph)
    assert not components, f"import cycles: {_describe(graph, components)}"


def layer_order(layout_text: str) -> list[str]:
    """The first backticked name of each numbered item of docs/layout.md, in order."""
    return re.findall(r"^\d+\. `([\w.]+)`", layout_text, flags=re.MULTILINE)


def layer_violations(graph: dict[str, set[str]], order: list[str], package: str) -> list[str]:
    """'a -> b' for each import from a layer to one listed at or below it (other layers only)."""
    rank = {name: i for i, name in enumerate(order)}

    def layer(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else None  # None: the top package's own __init__

    found = []
    for importer, targets in graph.items():
        for target in targets:
            a, b = layer(importer), layer(target)
            if a is None or b is None or a == b:
                continue
            if rank[b] >= rank[a]:
                found.append(f"{importer} -> {target}")
    return sorted(found)


def test_raekit_follows_the_layer_order_of_the_docs():
    graph = import_graph(SRC, "raekit")
    order = layer_order(LAYOUT.read_text())
    tops = {module.split(".")[1] for module in graph if module.count(".") >= 1}
    assert set(order) == tops, f"layers missing from docs/layout.md: {sorted(tops - set(order))}"
    assert len(order) == len(set(order))
    violations = layer_violations(graph, order, "raekit")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_layer_check_finds_an_upward_import(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "def f():\n    from fakepkg.high.mod import g\n",
            "high/__init__.py": "",
            "high/mod.py": "from fakepkg import low\n",
        },
    )
    graph = import_graph(package, "fakepkg")
    order = layer_order("1. `low` first\n2. `high` then\n")
    assert order == ["low", "high"]
    assert layer_violations(graph, order, "fakepkg") == [
        "fakepkg.low -> fakepkg.high",
        "fakepkg.low -> fakepkg.high.mod",
    ]
    assert layer_violations(graph, ["high", "low"], "fakepkg") == [
        "fakepkg.high.mod -> fakepkg.low"
    ]


# ---- the detector itself, on fake packages


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "fakepkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "fakepkg"


def test_detector_finds_a_cycle_hidden_in_a_function(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "from fakepkg.a import run\n",
            "a.py": "from . import b\n\ndef run():\n    return b.go()\n",
            "b.py": "def go():\n    from .sub.c import value\n    return value\n",
            "sub/__init__.py": "",
            "sub/c.py": "import os\nimport fakepkg.a\nvalue = 1\n",
            "d.py": "from .sub import c\n",
        },
    )
    graph = import_graph(package, "fakepkg")
    assert graph["fakepkg.a"] == {"fakepkg.b"}
    assert graph["fakepkg.b"] == {"fakepkg.sub", "fakepkg.sub.c"}  # importing c runs sub first
    assert graph["fakepkg.sub.c"] == {"fakepkg.a"}
    assert graph["fakepkg.d"] == {"fakepkg.sub", "fakepkg.sub.c"}
    cycles = find_cycles(graph)
    assert cycles == [["fakepkg.a", "fakepkg.b", "fakepkg.sub.c", "fakepkg.a"]]
    assert _describe(graph, cyclic_components(graph)) == (
        "fakepkg.a -> fakepkg.b -> fakepkg.sub.c -> fakepkg.a"
    )


def test_detector_resolves_two_level_relative_imports(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "x/__init__.py": "",
            "x/y.py": "class K:\n    def m(self):\n        from ..z import f\n",
            "z.py": "try:\n    from fakepkg.x.y import K\nexcept ImportError:\n    K = None\n",
        },
    )
    cycles = find_cycles(import_graph(package, "fakepkg"))
    assert cycles == [["fakepkg.x.y", "fakepkg.z", "fakepkg.x.y"]]


def test_detector_passes_an_acyclic_package(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "from fakepkg.a import run\nfrom . import b\n",  # re-exports: not cycles
            "a.py": """
            from fakepkg import b
            from .sub import c

            def run():
                from fakepkg.sub.c import value
        """,
            "b.py": """
            import json
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from fakepkg.a import run
        """,
            "sub/__init__.py": "from .c import value\n",
            "sub/c.py": "value = 1\n",
        },
    )
    graph = import_graph(package, "fakepkg")
    assert graph["fakepkg.a"] == {"fakepkg.b", "fakepkg.sub", "fakepkg.sub.c"}
    assert graph["fakepkg.b"] == set()  # the TYPE_CHECKING import never runs
    assert find_cycles(graph) == []
