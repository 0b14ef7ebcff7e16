"""The import graph of the package's core: the autograd package imports nothing from the ops,
nn or optim, and the core (the Tensor, factories, dtypes, backend, autograd, ops) has no import
cycle, counting imports inside functions too."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "leafgrad"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(module: str, path: Path, known: dict) -> set:
    """The leafgrad modules ``module`` imports anywhere in its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # a submodule named in `from package import module` is the edge, not the package
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def import_graph() -> dict:
    known = _modules()
    return {module: _imports(module, path, known) for module, path in known.items()}


def _is_core(module: str) -> bool:
    return module in {"leafgrad._tensor", "leafgrad._factories", "leafgrad._dtype",
                      "leafgrad._backend", "leafgrad._grad_state"} or \
        module.startswith(("leafgrad.autograd", "leafgrad.ops"))


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(sorted(component))
    return found


def test_autograd_imports_no_layer_above_it():
    graph = import_graph()
    upward = sorted(f"{module} imports {target}" for module, targets in graph.items()
                    if module.startswith("leafgrad.autograd") for target in targets
                    if target.startswith(("leafgrad.ops", "leafgrad.nn", "leafgrad.optim")))
    assert not upward, "autograd/ must not depend on ops/, nn/ or optim/: " + "; ".join(upward)


def test_the_core_has_no_import_cycle():
    graph = import_graph()
    core = {module: {t for t in targets if _is_core(t)} for module, targets in graph.items()
            if _is_core(module)}
    assert len(core) > 20  # the scan found the package
    found = cycles(core)
    assert not found, "import cycles in the core: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_scan_sees_function_level_imports_and_cycles():
    """The checks above can fail: a function-local import is an edge, a cycle is found."""
    assert "leafgrad.autograd.dispatch" in import_graph()["leafgrad.autograd.engine"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
