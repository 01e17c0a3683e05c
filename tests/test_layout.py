"""The register's layout: imports point one way (no module of the register imports, even from inside
a function, a module that imports it back), the law imports nothing but itself and the country facts,
and the tables import no service or page.

The imports are read from the source (the AST of every register/**/*.py), not by importing it: an
import inside a function is an edge too, since it runs whenever the function does.
"""

import ast
from collections import deque
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "register"


def module_names() -> dict[str, Path]:
    """Every module of the register by its dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("register",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = module_names()


def imported(name: str, path: Path) -> list[tuple[str, int]]:
    """The register modules one module imports, anywhere in it, with the line of each import."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative to the module's package: a package's own __init__ is its own package.
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from . import x` imports the submodule x when there is one, else a name of the package.
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names]
        else:
            continue
        for target in targets:
            # `import register.a.b` names the deepest register module it reaches.
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node.lineno))
    return found


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """{module: {module it imports: the line of the first such import}}."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges = graph.setdefault(name, {})
        for target, line in imported(name, path):
            edges.setdefault(target, line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(node: str) -> None:
        # Iterative: a deep import chain must not hit the recursion limit.
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[current] = min(low[current], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[current])
                if low[current] == index[current]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == current:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def shortest_cycle(graph: dict[str, dict[str, int]], start: str, group: set[str]) -> list[str]:
    """The shortest chain of imports from `start` back to itself, inside its group."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for target in sorted(graph[current]):
            if target not in group:
                continue
            if target == start:
                chain = [current]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return [start] + chain[::-1][1:] + [start] if len(chain) > 1 else [start, start]
            if target not in came_from:
                came_from[target] = current
                queue.append(target)
    return [start]


def readable(graph: dict[str, dict[str, int]], chain: list[str]) -> str:
    """a (a.py:12) -> b (b.py:40) -> a: each step with the line that imports the next module."""
    steps = [f"{name} (line {graph[name][after]})" for name, after in zip(chain, chain[1:])]
    return " -> ".join(steps + [chain[-1]])


def cycles_report(graph: dict[str, dict[str, int]]) -> list[str]:
    report = []
    for group in strongly_connected(graph):
        members = set(group)
        report.append(f"{len(group)} modules import each other: {', '.join(group)}")
        shown: set[tuple[str, str]] = set()
        for start in group:
            chain = shortest_cycle(graph, start, members)
            steps = set(zip(chain, chain[1:]))
            if steps <= shown:
                continue  # every import in it was already shown
            shown |= steps
            report.append("    " + readable(graph, chain))
    return report


def test_the_walk_sees_imports_at_every_level():
    """The walk finds the module-level, function-level and relative imports it is meant to count."""
    graph = import_graph()
    assert "register.extensions" in graph["register.models"]  # from .extensions import db
    assert "register.services" in graph["register.users"]  # from . import services: a module of the package
    assert "register.records.crud" in graph["register.users"]  # inside a view function
    # create_app imports the blueprints inside the function, a package and a module of a package.
    assert {"register.api", "register.records", "register.imports.views"} <= set(graph["register"])


def test_no_module_of_the_register_imports_itself_back():
    """No import circle: a module never imports (directly or through others) one that imports it."""
    report = cycles_report(import_graph())
    assert not report, "import circles in register/:\n" + "\n".join(report)


def test_a_cycle_is_reported_as_a_chain():
    """The report names each circle as the chain of imports, with the lines that make it."""
    graph = {"a": {"b": 3}, "b": {"c": 7}, "c": {"a": 9}, "d": {"a": 1}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert cycles_report(graph) == ["3 modules import each other: a, b, c", "    a (line 3) -> b (line 7) -> c (line 9) -> a"]


# The law's modules may read the country facts and the request clocks (pure, below it); nothing else.
BELOW_THE_LAW = frozenset({"register.countries", "register.deadlines"})


def test_the_law_imports_nothing_but_itself_and_the_country_facts():
    graph = import_graph()
    law = [name for name in graph if name == "register.rules" or name.startswith("register.rules.")]
    assert law
    reached = {(name, target) for name in law for target in graph[name]
               if not (target == "register.rules" or target.startswith("register.rules.")) and target not in BELOW_THE_LAW}
    assert not reached, f"the law imports other parts of the register: {sorted(reached)}"


# What the tables may stand on: the extensions (db), the settings, and each other.
BELOW_THE_TABLES = frozenset({"register.extensions", "register.config"})


def test_the_tables_import_no_service_or_page():
    graph = import_graph()
    tables = [name for name in graph if name == "register.models" or name.startswith("register.models.")]
    above = {(name, target) for name in tables for target in graph[name]
             if target not in BELOW_THE_TABLES and not target.startswith("register.models")}
    assert not above, f"the models import what stands on them: {sorted(above)}"
