"""The shape of the code, read from its source: no import circle between chatshop's
modules (imports inside functions count: they only hide a circle), no module past 600
lines, and the few rules of direction the design guide draws (the core knows nothing of
the platforms).

The graph is read with ``ast``, never by importing: every ``import`` and ``from … import``
anywhere in a module (functions, ``if TYPE_CHECKING:`` blocks) is an edge to the module it
names; ``from package import name`` is an edge to ``package.name`` when that is a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chatshop"
MAX_LINES = 600

KNOWN_CIRCLES: frozenset[frozenset[str]] = frozenset()
"""Circles tolerated while someone takes them apart, each as the set of its modules, e.g.
``frozenset({"chatshop.conversation.customer", "chatshop.conversation.merchant"})`` (the
one issue #10 removed by giving the reservation notices a module of their own). A circle
listed here that is gone fails ``test_the_known_circles_are_still_there``: the list only
ever shrinks."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def sources() -> Mapping[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(module: str, tree: ast.AST, modules: Mapping[str, Path]) -> Iterator[str]:
    """The chatshop modules that ``module`` imports, wherever in it the import is."""
    package = module if sources()[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    yield f"{base}.{alias.name}"
                else:
                    yield from _known(base, modules)


def _known(name: str, modules: Mapping[str, Path]) -> Iterator[str]:
    # ``import chatshop.domain.models`` names the module itself; a name outside the package
    # (telegram, pydantic) is not an edge of this graph.
    while name and name not in modules:
        name = name.rpartition(".")[0]
    if name:
        yield name


@cache
def graph() -> Mapping[str, frozenset[str]]:
    """Each module of chatshop and the chatshop modules it imports."""
    modules = sources()
    edges: dict[str, frozenset[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges[module] = frozenset(imported(module, tree, modules)) - {module}
    return edges


def circles(edges: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """The import circles: each group of modules that all reach one another (Tarjan's
    strongly connected components), as one path round it, shortest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def visit(start: str) -> None:
        # Iterative, so that a long chain of imports cannot exhaust Python's stack.
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(frozenset(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted((_path_round(group, edges) for group in groups), key=len)


def _path_round(group: frozenset[str], edges: Mapping[str, frozenset[str]]) -> list[str]:
    """One circle through ``group``'s first module, by a shortest way back to it."""
    start = min(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & group):
                if child == start:
                    way = [node]
                    while way[-1] != start:
                        way.append(previous[way[-1]])
                    return [start, *reversed(way[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no way round {sorted(group)}")


def describe(circle: list[str]) -> str:
    return " → ".join(circle)


def test_the_graph_is_read_from_every_module() -> None:
    edges = graph()
    assert "chatshop.domain.models" in edges["chatshop.domain.parsing"]
    assert "chatshop.services.links" in edges["chatshop.cli"]
    # ``from chatshop.domain import terms`` names the module, not the package
    assert "chatshop.domain" not in edges["chatshop.storage.catalogue"]


def test_no_module_imports_itself_back_through_others() -> None:
    found = [circle for circle in circles(graph()) if frozenset(circle) not in KNOWN_CIRCLES]
    assert not found, "import circles:\n" + "\n".join(describe(c) for c in found)


def test_the_known_circles_are_still_there() -> None:
    found = {frozenset(circle) for circle in circles(graph())}
    gone = KNOWN_CIRCLES - found
    assert not gone, "gone, take them off KNOWN_CIRCLES: " + "; ".join(
        " ⇄ ".join(sorted(group)) for group in gone)


def test_a_circle_is_found_and_named_wherever_it_hides() -> None:
    edges = {
        "a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a", "d"}),
        "d": frozenset(), "e": frozenset({"f"}), "f": frozenset({"e"}),
    }
    assert circles(edges) == [["e", "f", "e"], ["a", "b", "c", "a"]]
    tree = ast.parse("def later():\n    from chatshop.domain import models\n")
    assert list(imported("chatshop.errors", tree, sources())) == ["chatshop.domain.models"]


def test_no_module_is_over_600_lines() -> None:
    long = {name: count for name, path in sources().items()
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split along the seams the file shows: {long}"


def reaches(start: str, edges: Mapping[str, frozenset[str]]) -> set[str]:
    """Every chatshop module that importing ``start`` imports, itself aside."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in edges[todo.pop()]:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen - {start}


def imports_of(module: str) -> set[str]:
    """The top-level names of everything ``module`` imports (``telegram``, ``chatshop``)."""
    tree = ast.parse(sources()[module].read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.partition(".")[0])
    return names


PLATFORMS = {"telegram", "pywa", "httpx", "starlette", "uvicorn", "aiosqlite", "sqlite3"}


def test_the_domain_knows_nothing_of_platforms_storage_or_the_layers_above() -> None:
    edges = graph()
    for module in (m for m in edges if m.startswith("chatshop.domain")):
        outside = {m for m in reaches(module, edges)
                   if not m.startswith("chatshop.domain")} - {"chatshop.errors",
                                                              "chatshop.i18n"}
        assert not outside, f"{module} imports {sorted(outside)}"
        assert not imports_of(module) & PLATFORMS, module


FILE_READING = {"open", "read_text", "read_bytes", "read_po", "iterdir", "glob", "rglob"}


def test_the_domain_and_what_it_imports_read_no_file() -> None:
    """The French catalogue is read by the loader the package installs
    (``chatshop.resources``), not by the domain nor by ``chatshop.i18n``."""
    edges = graph()
    domain = {m for m in edges if m.startswith("chatshop.domain")}
    for module in sorted(domain.union(*(reaches(m, edges) for m in domain))):
        tree = ast.parse(sources()[module].read_text(encoding="utf-8"))
        calls = {node.func.attr if isinstance(node.func, ast.Attribute) else
                 getattr(node.func, "id", "") for node in ast.walk(tree)
                 if isinstance(node, ast.Call)}
        assert not calls & FILE_READING, f"{module} reads files: {sorted(calls & FILE_READING)}"


def test_pacing_imports_no_platform() -> None:
    module = "chatshop.delivery.pace"
    for each in (module, *reaches(module, graph())):
        assert not imports_of(each) & PLATFORMS, each


# Who may import whom among the outer rooms (DESIGN §2): the conversation and the
# printed matter sit over the services, beside the web pages, never on them.
NOT_IMPORTED_BY = {
    "chatshop.conversation": ("chatshop.web", "chatshop.channels", "chatshop.delivery"),
    "chatshop.printing": ("chatshop.web", "chatshop.conversation", "chatshop.channels"),
    "chatshop.web": ("chatshop.conversation", "chatshop.channels", "chatshop.delivery"),
    "chatshop.services": ("chatshop.web", "chatshop.conversation", "chatshop.channels",
                          "chatshop.printing", "chatshop.delivery"),
}


@pytest.mark.parametrize("room", sorted(NOT_IMPORTED_BY))
def test_each_room_imports_only_the_rooms_below_it(room: str) -> None:
    edges = graph()
    for module in sorted(m for m in edges if m == room or m.startswith(room + ".")):
        wrong = sorted(m for m in edges[module]
                       if m.startswith(NOT_IMPORTED_BY[room]))
        assert not wrong, f"{module} imports {wrong}"
