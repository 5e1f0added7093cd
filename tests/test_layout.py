"""The package's architecture, checked from the code's own imports (grimp reads every import
statement, those inside functions included)."""

from __future__ import annotations

import importlib

import grimp
import pytest

PACKAGE = "udata_ogp"

# Top to bottom: a module may import from its own layer's package and from the layers below,
# never from above. Modules of one entry are independent of each other when the entry is a set.
LAYERS = [
    "commands",
    {"demo", "signals", "migrations"},
    "tasks",
    {"web", "api", "guard"},
    # Plan documents carry everything a plan declares, its deliverables included.
    "plans",
    # Verified delivery: evaluated after the link sweep, with its raw writes.
    "delivery",
    "health",
    ("actions", "claims", "factories"),
    # What a reader sees (pages, API, feed, exports, badge all ask it); reads links' targets.
    "visibility",
    "loading",
    {"permissions", "targets"},
    "models",
    {"constants", "errors", "embedded", "textrules"},
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE)


def _layer(entry) -> grimp.Layer:
    names = [entry] if isinstance(entry, str) else sorted(entry)
    return grimp.Layer(*(f"{PACKAGE}.{name}" for name in names), independent=isinstance(entry, set))


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle(graph):
    # The package's own __init__ imports every route module inside `load_routes()` / `init_app`
    # (wiring); nothing in the package imports it back, so it closes no cycle either.
    assert len(graph.modules) > 40
    assert _cycles(graph) == []


def test_cycle_detection_finds_a_cycle():
    probe = grimp.ImportGraph()
    for module in ("a", "b", "c", "d"):
        probe.add_module(module)
    probe.add_import(importer="a", imported="b")
    probe.add_import(importer="b", imported="c")
    probe.add_import(importer="c", imported="a")
    probe.add_import(importer="c", imported="d")
    assert _cycles(probe) == [["a", "b", "c"]]


def test_layers(graph):
    illegal = graph.find_illegal_dependencies_for_layers(layers=[_layer(e) for e in LAYERS])
    assert {(d.importer, d.imported) for d in illegal} == set()


@pytest.mark.parametrize(
    "low, below_it",
    [("web.blueprint", set()), ("api.base", {"api.parsers"}), ("health.storage", set())],
)
def test_shared_modules_are_below_their_siblings(graph, low, below_it):
    """The blueprint, the API's namespace and the raw writes: what siblings share, below them."""
    package = low.split(".")[0]
    siblings = graph.find_children(f"{PACKAGE}.{package}") - {f"{PACKAGE}.{low}"}
    imported = graph.find_upstream_modules(f"{PACKAGE}.{low}") & siblings
    assert imported == {f"{PACKAGE}.{name}" for name in below_it}


def test_models_import_nothing_of_the_plugin_but_constants_and_text_rules(graph):
    imported = graph.find_modules_directly_imported_by(f"{PACKAGE}.models")
    assert imported == {f"{PACKAGE}.constants", f"{PACKAGE}.textrules"}


@pytest.mark.parametrize("module", sorted(grimp.build_graph(PACKAGE).modules))
def test_every_module_imports(module):
    assert importlib.import_module(module).__name__ == module
