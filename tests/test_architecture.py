"""The package's large-scale shape: no import circles (module-level or deferred), small modules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nst_tf"
MAX_LINES, MAX_COMMAND_LINES = 300, 120


def _modules() -> dict:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _import_graph() -> dict:
    modules = _modules()

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name

    graph = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):  # deferred imports inside functions count too
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nst_tf"):
                targets = [resolve(f"{node.module}.{alias.name}") for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names if alias.name.startswith("nst_tf")]
            else:
                continue
            graph[module] |= {t for t in targets if t and t != module}
    return graph


def _cycles(graph: dict) -> list:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    graph = _import_graph()
    assert "nst_tf.feedforward.workdir" in graph["nst_tf.beam.handler"]  # the graph sees deferred imports
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]  # and the check finds one


def test_training_does_not_reach_up_to_applying():
    graph = _import_graph()
    below = {
        "nst_tf.feedforward.train",
        "nst_tf.feedforward.anystyle_train",
        "nst_tf.feedforward.johnson",
        "nst_tf.feedforward.distill",
    }
    above = {"nst_tf.feedforward.apply", "nst_tf.feedforward.stylizers", "nst_tf.feedforward.registry"}
    assert not {(m, t) for m in below for t in graph[m] if t in above}


def test_modules_stay_small():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        limit = MAX_COMMAND_LINES if rel.startswith("cli/") and rel not in ("cli/common.py",) else MAX_LINES
        if len(path.read_text().splitlines()) > limit:
            too_long.append(rel)
    assert too_long == []


def test_commands_are_the_top_layer():
    """Nothing in the library imports a command, the web app or the Beam pipeline (they sit on top)."""

    def top(module: str) -> str:
        return ".".join(module.split(".")[:2])  # nst_tf.web.jobs -> nst_tf.web

    graph = _import_graph()
    tops = {"nst_tf.cli", "nst_tf.web", "nst_tf.beam"}
    wrong = {(m, t) for m, targets in graph.items() for t in targets
             if top(t) in tops and top(m) not in (top(t), "nst_tf.cli")}  # fmt: skip
    assert wrong == set()
