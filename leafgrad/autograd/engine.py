"""The backward engine: walks the graph from the outputs, once per node, without recursion.

1. Discover the nodes reachable from the roots with an explicit stack and count, for each node,
   how many edges lead into it (its dependencies).
2. Run a node only when all its dependencies have delivered their gradient (summed per output).
   The node's backward gives one gradient per input; the engine reduces a broadcast gradient to
   the input's shape and casts it to the input's dtype, so derivative rules never do.
3. Leaves (``AccumulateGrad``) add into ``.grad``; ``autograd.grad`` captures instead.
4. Unless ``retain_graph``, each node drops its saved tensors right after it ran.
Backward formulas run under ``no_grad`` unless ``create_graph``, which records them. Each node's
formula runs through ``dispatch.run_backward``, where active modes see it. Without
``create_graph`` the fast path of ``_fast.py`` may move the gradients as raw arrays; this file
is the reference algorithm on Tensors.
"""
from __future__ import annotations

import threading

from leafgrad._backend import xp
from leafgrad._dtype import from_numpy_dtype
from leafgrad._grad_state import STATE
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd import _fast
from leafgrad.autograd.dispatch import run_backward
from leafgrad.autograd.function import materialize
from leafgrad.autograd.graph import (
    AccumulateGrad,
    checked_hook_result,
    checked_hook_results,
    run_tensor_hooks,
)

__all__ = ["execute"]


def _capture_key(t: Tensor):
    fn = t.grad_fn  # the property: a view modified through its base gets its current node
    return (t._grad_accumulator(), 0) if fn is None else (fn, t._output_nr)


class _Pass:
    """What one backward pass needs besides the graph: which gradients it captures for
    ``autograd.grad`` (``captures``: (node, output_nr) -> result indices), which nodes it may
    skip (``needed``, None: run all), and its flags."""

    def __init__(self, inputs, retain_graph: bool, create_graph: bool, accumulate: bool) -> None:
        self.captures: dict = {}
        self.results: list = [None] * len(inputs) if inputs is not None else []
        for index, t in enumerate(inputs or ()):
            self.captures.setdefault(_capture_key(t), []).append(index)
        self.targets = {key[0] for key in self.captures}
        self.needed = None
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.accumulate = accumulate

    def step(self, node, grads):
        """Run ``node`` on its pending gradients (one, or one slot per output); returns one
        gradient per input edge, reduced to the input's shape and dtype, or None."""
        if grads is None:  # every gradient into it was None
            return None
        if node._output_meta is None:
            grads = [grads]
        if self.needed is not None and node not in self.needed:
            if node in self.targets:  # autograd.grad only reads its gradient
                _capture_only(node, grads, self)
            return None
        input_grads = _run_node(node, grads, self)
        if input_grads is None:
            return None
        edges = node._edges
        if type(input_grads) is not tuple or len(input_grads) != len(edges):
            input_grads = _one_per_edge(input_grads, len(edges))
        return tuple(_conform(g, edge, node, index) if g is not None and edge is not None else g
                     for index, (g, edge) in enumerate(zip(input_grads, edges)))


def execute(roots: list, inputs: tuple | None, retain_graph: bool, create_graph: bool,
            accumulate: bool) -> list:
    """Backpropagate ``roots`` ((tensor, gradient) pairs); with ``inputs``, return their
    gradients (``accumulate``: also into ``.grad``, as ``backward(inputs=)``)."""
    run = _Pass(inputs, retain_graph, create_graph, accumulate)
    root_edges = [(_capture_key(t), g) for t, g in roots]
    # 1. the nodes reachable from the roots, and how many edges lead into each
    dependencies: dict = {}
    stack = []
    for (node, _), _ in root_edges:
        if node not in dependencies:
            dependencies[node] = 0
            stack.append(node)
    while stack:
        for edge in stack.pop()._edges:
            if edge is not None:
                child = edge.node
                if child in dependencies:
                    dependencies[child] += 1
                else:
                    dependencies[child] = 1
                    stack.append(child)
    if inputs is not None:
        run.needed = _needed_nodes(dependencies, run.targets, root_edges, accumulate)
    if _fast.use_array_mode(create_graph):
        root_edges = [(key, g._data) for key, g in root_edges]  # gradients as arrays

    # 2. run each node once all edges into it have delivered: pending gradients per node are
    # the gradient itself for a node with one output, else one slot per output
    buffers: dict = {}
    for (node, output_nr), gradient in root_edges:
        _add_to_buffer(buffers, node, output_nr, gradient)
    ready = [(node, buffers.pop(node)) for node in {key[0]: None for key, _ in root_edges}
             if dependencies.get(node, 0) == 0]
    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    # derivative formulas meet inf * 0 and 0 / 0 at kinks, where torch gives nan silently
    with xp.errstate(all="ignore"):
        try:
            if _fast.use_array_mode(create_graph):  # the same loop, specialized for arrays
                _fast.run_array_pass(ready, dependencies, buffers, _EngineParts(run),
                                     run.needed is None, retain_graph)
            while ready:
                node, grads = ready.pop()
                input_grads = run.step(node, grads)
                if input_grads is None:
                    input_grads = (None,) * len(node._edges)
                for edge, gradient in zip(node._edges, input_grads):
                    if edge is None:
                        continue
                    child = edge.node
                    remaining = dependencies[child] - 1
                    if remaining:
                        dependencies[child] = remaining
                        if gradient is not None:
                            _add_to_buffer(buffers, child, edge.output_nr, gradient)
                        continue
                    pending = buffers.pop(child, None)
                    if gradient is not None:
                        pending = _with_gradient(pending, child, edge.output_nr, gradient)
                    ready.append((child, pending))
                # drop this node's references before the next runs (a leaf's first .grad may
                # take an array nothing else holds: _fast.take_gradient counts references)
                grads = input_grads = gradient = pending = None
        finally:
            STATE.enabled = prev_mode
    return run.results


class _EngineParts:
    """The engine's helpers that the fast loop of ``_fast.run_array_pass`` uses."""

    def __init__(self, run: _Pass) -> None:
        self.step = run.step
        self.conform = _conform
        self.one_per_edge = _one_per_edge
        self.with_gradient = _with_gradient


def _needed_nodes(dependencies: dict, targets: set, root_edges: list, run_targets: bool) -> set:
    """The nodes to run when gradients are wanted for ``targets`` only: those with a target
    below them. A target's own node runs only if another target lies below it (autograd.grad
    reads its incoming gradient without running or freeing it), except for
    ``backward(inputs=)`` (``run_targets``), which runs the inputs' nodes, as torch does."""
    # Kahn order from the roots, then a reverse sweep marks ancestors of targets.
    remaining = dict(dependencies)
    order = []
    ready = [node for node in {key[0]: None for key, _ in root_edges}
             if remaining.get(node, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node._edges:
            if edge is None:
                continue
            child = edge[0]
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    needed = set()
    reaching = set()  # nodes from which a target can be reached, the targets included
    for node in reversed(order):
        if any(e is not None and e[0] in reaching for e in node._edges):
            needed.add(node)
            reaching.add(node)
        elif node in targets:
            reaching.add(node)
    if run_targets:
        needed |= targets
    return needed


def _one_per_edge(input_grads, count: int) -> tuple:
    """A backward's results as one entry per input edge: None for no result, a single result
    as a tuple, missing trailing entries as None (extra ones are ignored, as before)."""
    if input_grads is None:
        return (None,) * count
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    return input_grads[:count] + (None,) * (count - len(input_grads))


def _add_to_buffer(buffers: dict, node, output_nr: int, gradient: Tensor) -> None:
    buffers[node] = _with_gradient(buffers.get(node), node, output_nr, gradient)


def _with_gradient(pending, node, output_nr: int, gradient):
    """``pending`` (a one-output node's gradient, else one slot per output; None for nothing
    yet) with ``gradient`` added in."""
    if node._output_meta is None:
        return gradient if pending is None else pending + gradient
    if pending is None:
        pending = [None] * len(node._output_meta)
    existing = pending[output_nr]
    pending[output_nr] = gradient if existing is None else existing + gradient
    return pending


def _not_a_gradient(value, node, index: int) -> RuntimeError:
    return RuntimeError(f"expected Variable or None (got {type(value).__name__}): "
                        f"{node.name()} returned it as the gradient of input {index}")


def _conform(gradient, edge: tuple, node, index: int) -> Tensor:
    """Reduce a broadcast gradient to the input's shape and cast it to the input's dtype."""
    if not isinstance(gradient, Tensor):
        raise _not_a_gradient(gradient, node, index)
    shape, dtype = edge[2], edge[3]
    if gradient._data.shape != shape:
        gradient = _sum_to(gradient, shape, node, index)
    if gradient._data.dtype != dtype:
        gradient = gradient.to(from_numpy_dtype(dtype))
    return gradient


def _sum_to(gradient: Tensor, shape: tuple, node, index: int) -> Tensor:
    grad_shape = gradient._data.shape
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(s != 1 and s != g for s, g in zip(shape, grad_shape[lead:])):
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                           f"{index} - got {list(grad_shape)} but expected shape compatible "
                           f"with {list(shape)}")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and grad_shape[lead + i] != 1)
    if axes:
        gradient = gradient.sum(dim=axes, keepdim=True)
    if lead:
        gradient = gradient.reshape(shape)
    return gradient


def _capture(node, grads: list, run: _Pass) -> None:
    for output_nr, gradient in enumerate(grads):
        for index in run.captures.get((node, output_nr), ()):
            run.results[index] = gradient


def _capture_only(node, grads: list, run: _Pass) -> None:
    """autograd.grad's gradient for a target node that need not run: after its tensor hooks
    (a leaf's hooks included), as torch."""
    if type(node) is AccumulateGrad:
        _accumulate(node.variable, grads.pop(), run.captures.get((node, 0)), run, False)
        return
    if node._tensor_pre_hooks or node._retained:
        run_tensor_hooks(node, grads)
    _capture(node, grads, run)


def _run_node(node, grads: list, run: _Pass):
    if type(node) is AccumulateGrad:
        _accumulate(node.variable, grads.pop(), run.captures.get((node, 0)), run,
                    run.accumulate)
        return None
    if run.captures and not run.accumulate:
        # autograd.grad takes the gradient of a target that must also run (another target
        # lies below it) before the tensor's hooks, as torch does
        _capture(node, grads, run)
    if node._tensor_pre_hooks or node._retained:
        run_tensor_hooks(node, grads)
    if run.captures and run.accumulate:
        _capture(node, grads, run)  # backward(inputs=): as retain_grad sees it
    if node._pre_hooks:
        for hook in list(node._pre_hooks.values()):
            grads = list(checked_hook_results(hook, tuple(grads), hook(tuple(grads)), node))
    grad_outputs = grads if node._output_meta is None else materialize(node, grads)
    input_grads = run_backward(node, grad_outputs)
    if node._hooks:
        # as torch, hooks see gradients already reduced to each input's shape and dtype
        input_grads = tuple(
            _conform(g, edge, node, i) if g is not None and edge is not None else g
            for i, (g, edge) in enumerate(zip(input_grads, node._edges)))
        for hook in list(node._hooks.values()):
            input_grads = checked_hook_results(hook, input_grads,
                                               hook(input_grads, tuple(grad_outputs)), node)
    if not run.retain_graph:
        node._release()
    return input_grads


_GRAD_LOCK = threading.Lock()


def _accumulate(leaf: Tensor, gradient: Tensor, capture, run: _Pass, accumulate: bool) -> None:
    hooks = leaf._hooks
    if hooks and hooks["grad"]:
        for hook in list(hooks["grad"].values()):
            gradient = checked_hook_result(hook, gradient, hook(gradient))
    if capture:
        for index in capture:
            run.results[index] = gradient
    if not accumulate or (capture is None and run.results):
        return
    if not leaf._requires_grad:  # frozen after the graph was built
        return
    with _GRAD_LOCK:  # threads backpropagating into one leaf add up, as torch's lock does
        if leaf._grad is None:
            # A later backward adds into .grad in place, so .grad must not alias what anyone
            # else holds (a root's gradient, another leaf's): as torch, the incoming gradient
            # is copied into the leaf's memory layout (torch's gradient layout contract; with
            # create_graph, the copy is recorded). The fast path takes it without a copy when
            # nothing else refers to it and it has that layout.
            array = gradient._data
            if run.create_graph:
                leaf._grad = gradient.clone()
            elif array.strides == leaf._data.strides and not (hooks and hooks["grad"]) and \
                    _fast.take_gradient(gradient, array):
                leaf._grad = _wrap(array, False)
            else:
                copy = xp.empty_like(leaf._data)
                copy[...] = array
                leaf._grad = _wrap(copy, False)
        elif run.create_graph or leaf._grad._requires_grad:
            leaf._grad = leaf._grad + gradient
        else:
            xp.add(leaf._grad._data, gradient._data, out=leaf._grad._data, casting="unsafe")
    if hooks and hooks["post"]:
        for hook in list(hooks["post"].values()):
            hook(leaf)

