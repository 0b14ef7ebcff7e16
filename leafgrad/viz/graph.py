"""Walk the backward graph behind tensors and describe it: as a graphviz picture or as text.

Both walks are iterative, so graphs far deeper than Python's recursion limit work; both stop
drawing after ``max_nodes`` nodes and say how many they left out.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leafgrad._dtype import from_numpy_dtype
from leafgrad._tensor import Tensor
from leafgrad.autograd.graph import AccumulateGrad, Node, SavedConstant, SavedInput

__all__ = ["draw_graph", "explain"]

INSTALL_HINT = ('pip install "leafgrad[viz]" (and, to render files, Graphviz\'s dot program: '
                'the system package graphviz, e.g. apt-get install graphviz)')

# fill colours, as torchviz: outputs green, leaves blue, inner nodes grey
_OUTPUT_COLOR, _LEAF_COLOR, _NODE_COLOR, _NO_GRAD_COLOR = (
    "darkolivegreen1", "lightblue", "lightgrey", "white")


class _Names:
    """User names of tensors: leaves by identity, inner tensors by (grad_fn, output_nr), as a
    non-leaf tensor object may be gone while its node lives on in the graph."""

    def __init__(self, params, names, roots: list[Tensor]) -> None:
        pairs: list[tuple[str, Any]] = []
        for source, what in ((params, "params"), (names, "names")):
            if source is None:
                continue
            items = source.items() if isinstance(source, Mapping) else source
            for item in items:
                if not (isinstance(item, tuple) and len(item) == 2):
                    raise TypeError(f"{what} must be a dict or an iterable of (name, tensor) "
                                    f"pairs, got an item of type {type(item).__name__}")
                pairs.append(item)
        self.leaves: dict[int, str] = {}
        self.outputs: dict[tuple[int, int], str] = {}
        self._keep = []  # the named tensors, so that their ids stay theirs while we draw
        for name, tensor in pairs:
            if not isinstance(tensor, Tensor):
                raise TypeError(f"the tensor named {name!r} is a {type(tensor).__name__}, not a "
                                f"Tensor")
            self._keep.append(tensor)
            if tensor.grad_fn is None:
                self.leaves[id(tensor)] = str(name)
            else:
                self.outputs[(id(tensor.grad_fn), tensor.output_nr)] = str(name)
        # an output's name is shown on its own box or root line, not again on its grad_fn
        self.roots = [self.of(root) for root in roots]
        for root in roots:
            if root.grad_fn is not None:
                self.outputs.pop((id(root.grad_fn), root.output_nr), None)

    def of(self, tensor: Tensor) -> str | None:
        if tensor.grad_fn is None:
            return self.leaves.get(id(tensor))
        return self.outputs.get((id(tensor.grad_fn), tensor.output_nr))


def _as_tensors(outputs) -> list[Tensor]:
    tensors = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    for tensor in tensors:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"expected a Tensor or an iterable of Tensors, got "
                            f"{type(tensor).__name__}")
    if not tensors:
        raise ValueError("expected at least one tensor to draw the graph of")
    return tensors


def _meta(shape, np_dtype) -> str:
    """A tensor's shape and dtype, e.g. ``(2, 3) float32``."""
    return f"{tuple(shape)} {str(from_numpy_dtype(np_dtype)).removeprefix('torch.')}"


def _tensor_meta(tensor: Tensor) -> str:
    return _meta(tensor.shape, tensor._data.dtype)


def _children(node: Node) -> list[Node]:
    """The nodes this node sends gradients to, in argument order (inputs without grad skipped)."""
    return [edge.node for edge in node._edges if edge is not None]


def _hook_marks(node: Node) -> list[str]:
    """Hooks on a node: tensor hooks (``register_hook`` on its outputs, or on a leaf), node
    hooks and node pre-hooks."""
    marks = []
    if isinstance(node, AccumulateGrad):
        hooks = node.variable._hooks
        tensor_hooks = len(hooks["grad"]) + len(hooks["post"]) if hooks else 0
    else:
        pre = node._tensor_pre_hooks
        tensor_hooks = sum(len(hooks) for hooks in pre.values()) if pre else 0
    for count, what in ((tensor_hooks, "tensor hook"), (len(node._hooks or ()), "node hook"),
                        (len(node._pre_hooks or ()), "node pre-hook")):
        if count:
            marks.append(f"{count} {what}{'s' if count > 1 else ''}")
    return marks


def _marks(node: Node) -> list[str]:
    """What is special about a node: retained gradients, hooks, freed saved tensors."""
    marks = []
    retained = node._retained
    if retained:
        outputs = [nr for nr, ref in sorted(retained.items()) if ref() is not None]
        if outputs:
            several = node._output_meta is not None and len(node._output_meta) > 1
            marks.append("retains grad" + (f" (output {', '.join(map(str, outputs))})"
                                           if several else ""))
    marks += _hook_marks(node)
    if node._freed:
        marks.append("saved tensors freed")
    return marks


def _saved(node: Node, names: _Names) -> list[str]:
    """One line per saved tensor (read from the entries, without unpacking: unpacking checks
    versions and may raise, and a picture should show a graph whatever its state)."""
    lines = []
    for index, entry in enumerate(node._saved or ()):
        if entry is None:
            text = "None"
        elif type(entry) is SavedConstant:
            text = f"constant {entry.value!r}"
        elif type(entry) is SavedInput:
            tensor = entry.tensor
            name = names.of(tensor)
            text = f"{name or 'tensor'} {_tensor_meta(tensor)}"
            if not tensor._requires_grad:
                text += " (no grad)"
        else:  # SavedOutput
            array, output_nr = entry.array, entry.output_nr
            name = names.outputs.get((id(node), output_nr))
            text = (name or f"output {output_nr}") + " " + _meta(array.shape, array.dtype)
        lines.append(f"saved[{index}]: {text}")
    return lines


def _leaf_label(node: AccumulateGrad, names: _Names) -> str:
    variable = node.variable
    name = names.leaves.get(id(variable))
    return name if name is not None else f"leaf {_tensor_meta(variable)}"


def _node_title(node: Node, names: _Names) -> str:
    """The op name, with the user's names of its outputs."""
    named = [name for (node_id, _), name in names.outputs.items() if node_id == id(node)]
    return node.name() + (f" ({', '.join(named)})" if named else "")


def _root_title(tensor: Tensor, name: str | None) -> str:
    title = name if name is not None else f"tensor {_tensor_meta(tensor)}"
    if tensor.grad_fn is None:
        title += " (leaf, requires grad)" if tensor.requires_grad else \
            " (requires_grad=False: no graph)"
    return title


def _walk(starts: list[Node]) -> tuple[list[Node], dict[int, int]]:
    """Every node reachable from ``starts``, breadth first, and how many references (edges, or
    being a start) reach each."""
    order, parents = [], {}
    for node in starts:
        if id(node) not in parents:
            parents[id(node)] = 0
            order.append(node)
        parents[id(node)] += 1
    position = 0
    while position < len(order):
        for child in _children(order[position]):
            if id(child) not in parents:
                parents[id(child)] = 0
                order.append(child)
            parents[id(child)] += 1
        position += 1
    return order, parents


def explain(tensor_or_tensors, params=None, names=None, max_nodes: int = 2000) -> str:
    """The backward graph behind one or more tensors as an indented text tree.

    Each line ``<- X`` is a node that the line above sends gradients to: an op (its grad_fn
    name) or a leaf (named from ``params``, e.g. ``module.named_parameters()``, or ``names``,
    a dict of names to tensors). Marks in brackets say when a node retains grad, has hooks, or
    had its saved tensors freed by backward. A node reached twice is shown once, tagged ``#k``,
    and referenced afterwards.

    Example::

        >>> y2 = x2 ** w1
        >>> z2 = w2 * y2 + 1
        >>> print(explain(z2, names={"x2": x2, "w1": w1, "w2": w2, "z2": z2}))
        z2
            <- AddBackward0
                <- MulBackward0
                    <- w2
                    <- PowBackward1
                        <- x2
                        <- w1
    """
    roots = _as_tensors(tensor_or_tensors)
    labels = _Names(params, names, roots)
    order, parents = _walk([root.grad_fn for root in roots if root.grad_fn is not None])
    tags: dict[int, str] = {}
    shown: set[int] = set()
    lines: list[str] = []
    drawn = 0
    for root, root_name in zip(roots, labels.roots):
        title = _root_title(root, root_name)
        if root.grad_fn is not None and root.retains_grad:
            title += " [retains grad]"
        lines.append(title)
        stack = [(root.grad_fn, 1)] if root.grad_fn is not None else []
        while stack and drawn < max_nodes:
            node, depth = stack.pop()
            indent = "    " * depth + "<- "
            if isinstance(node, AccumulateGrad):  # leaves repeat: their name is the reference
                text = _leaf_label(node, labels)
                marks = _hook_marks(node)
            elif id(node) in shown:
                lines.append(f"{indent}{node.name()}{tags[id(node)]} (see above)")
                continue
            else:
                shown.add(id(node))
                if parents[id(node)] > 1:
                    tags[id(node)] = f" #{len(tags) + 1}"
                text = _node_title(node, labels) + tags.get(id(node), "")
                marks = _marks(node)
                stack.extend((child, depth + 1) for child in reversed(_children(node)))
            lines.append(indent + text + (f" [{', '.join(marks)}]" if marks else ""))
            drawn += 1
    if drawn >= max_nodes and drawn < len(order):
        lines.append(f"... the graph has {len(order)} nodes; stopped after {max_nodes} lines "
                     f"(max_nodes={max_nodes})")
    return "\n".join(lines)


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"draw_graph needs the graphviz package: {INSTALL_HINT}") from None
    return graphviz


def draw_graph(outputs, params=None, show_saved: bool = True, names=None,
               max_nodes: int = 2000):
    """The backward graph behind one or more tensors as a ``graphviz.Digraph``.

    Boxes: green, the given outputs; blue, leaves that require grad (named from ``params``,
    e.g. ``module.named_parameters()``, or ``names``, a dict of names to tensors); grey, ops
    with their grad_fn names, the tensors they saved for backward (shape and dtype, when
    ``show_saved``), and whether they retain grad or have hooks. After a backward without
    ``retain_graph=True``, ops whose saved tensors were freed are dashed and say so. Arrows
    follow the forward computation, from inputs to outputs. At most ``max_nodes`` nodes are
    drawn; a note says how many were left out.

    Needs ``pip install "leafgrad[viz]"``; ``.render("graph", format="png")`` (or ``"svg"``)
    also needs Graphviz's ``dot``.

    Example::

        >>> loss = criterion(net(inputs), labels)
        >>> draw_graph(loss, params=net.named_parameters()).render("graph", format="svg")
    """
    graphviz = _graphviz()
    roots = _as_tensors(outputs)
    labels = _Names(params, names, roots)
    order, _ = _walk([root.grad_fn for root in roots if root.grad_fn is not None])
    drawn = {id(node): f"node{index}" for index, node in enumerate(order[:max_nodes])}
    dot = graphviz.Digraph(
        "leafgrad", graph_attr={"rankdir": "TB"},
        node_attr={"shape": "box", "style": "filled", "fontsize": "10", "fontname": "monospace",
                   "fillcolor": _NODE_COLOR})
    for index, (root, root_name) in enumerate(zip(roots, labels.roots)):
        lines = [_root_title(root, root_name)]
        if root_name is not None:
            lines.append(_tensor_meta(root))
        if root.grad_fn is not None and root.retains_grad:
            lines.append("retains grad")
        color = _OUTPUT_COLOR if root.requires_grad else _NO_GRAD_COLOR
        dot.node(f"output{index}", "\n".join(lines), fillcolor=color)
        if root.grad_fn is not None:
            dot.edge(drawn[id(root.grad_fn)], f"output{index}")
    left_out = 0
    for node in order[:max_nodes]:
        if isinstance(node, AccumulateGrad):
            variable = node.variable
            lines = [_leaf_label(node, labels)]
            if labels.leaves.get(id(variable)) is not None:
                lines.append(_tensor_meta(variable))
            lines += ["requires grad"] + _hook_marks(node)
            dot.node(drawn[id(node)], "\n".join(lines), fillcolor=_LEAF_COLOR)
            continue
        lines = [_node_title(node, labels)]
        if show_saved:
            lines += _saved(node, labels)
        lines += _marks(node)
        style = {"style": "filled,dashed"} if node._freed else {}
        dot.node(drawn[id(node)], "\n".join(lines), **style)
        for child in _children(node):
            if id(child) in drawn:
                dot.edge(drawn[id(child)], drawn[id(node)])
            else:
                left_out += 1
                dot.edge("truncated", drawn[id(node)], style="dotted")
    if left_out:
        dot.node("truncated", f"... {len(order) - max_nodes} more nodes not drawn "
                              f"(max_nodes={max_nodes})", shape="note", fillcolor="white")
    return dot
