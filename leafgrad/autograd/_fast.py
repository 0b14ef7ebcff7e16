"""Measured speed-ups of the recording and the engine, in one place, with a switch.

Everything here computes exactly what the reference code computes (``dispatch.record_op``, the
engine's Tensor loop, ``views``); it only does it with fewer Python operations or less memory.
Each trick's gain is the step time with it on / off, from ``python
benchmarks/compare_revisions.py . --other-env LEAFGRAD_FAST_PATHS_OFF=<trick>`` (each side in
fresh processes, alternating, on a quiet moment of the 2-core machine; the MLP, two-net and
LSTM steps vary by about 10% from round to round, so only larger gains show there):

1. ``record``: a built-in op recorded in one pass over its arguments (MLP and two-net steps
   0.95).
2. ``operators``: ``+ - * /`` with a Python number or a same-dtype tensor, the op's parts looked
   up once and the result built inline (tiny chain 0.85).
3. ``array_mode``: without ``create_graph`` gradients travel as raw arrays, formulas marked
   ``array_backward`` run on them, and the common node runs inline in a copy of the engine's
   loop (tiny chain 0.61, MLP and two-net 0.97).
4. ``take_gradient``: a leaf's first ``.grad`` takes the incoming array when nothing else holds
   it, as torch does, instead of copying: kept for memory (one gradient-sized copy fewer per
   leaf); its time gain (0.99) is within noise.
5. ``stashes``: a node whose forward never names its ctx skips the search for stashed arrays
   when released (tiny chain 0.88).
6. ``inplace_copy``: an in-place op copies the old value only when the graph keeps it; no
   workload records in-place ops, so its gain is memory: one copy of the tensor fewer (a
   recorded ``relu_``-like op on a 2 MB tensor peaks at 2 MB instead of 4 MB,
   ``tests/autograd/test_inplace.py``).
All six together: tiny chain 0.48, two-net 0.88; MLP, conv net and LSTM within noise (1.03,
1.01, 1.05).

``LEAFGRAD_REFERENCE_PATH=1`` in the environment, or :func:`set_enabled(False) <set_enabled>`,
forces the reference path everywhere (the op and semantics tests run both ways). The fast
paths also step aside whenever a dispatch mode (anomaly detection ...) is active.
"""
from __future__ import annotations

import dis
import os
import sys

from leafgrad._backend import ndarray, xp
from leafgrad._dtype import is_differentiable
from leafgrad._grad_state import STATE
from leafgrad._tensor import LAYERS, Tensor, _wrap
from leafgrad.autograd.dispatch import (
    MODES_USED,
    edge_of,
    record_untracked,
    saved_entries,
    wrap_recorded_outputs,
    wrap_untracked,
)
from leafgrad.autograd.graph import Edge, SavedConstant, SavedInput, SavedOutput, needs_grad, unpack

__all__ = ["enabled", "set_enabled"]


TRICKS = ("record", "operators", "array_mode", "take_gradient", "stashes", "inplace_copy")


class _Switch:
    """One flag per trick (numbered as above). ``LEAFGRAD_REFERENCE_PATH=1`` turns them all off;
    ``LEAFGRAD_FAST_PATHS_OFF=name,...`` turns off some, to measure what each one gains.
    ``stashes`` is read when each op class is defined, the others on every call."""

    def __init__(self) -> None:
        reference = os.environ.get("LEAFGRAD_REFERENCE_PATH", "") in ("1", "true", "yes")
        off = set(os.environ.get("LEAFGRAD_FAST_PATHS_OFF", "").replace(" ", "").split(","))
        for trick in TRICKS:
            setattr(self, trick, not reference and trick not in off)

    @property
    def on(self) -> bool:
        return all(getattr(self, trick) for trick in TRICKS)


SWITCH = _Switch()


def enabled() -> bool:
    """Whether the fast paths may run (they still step aside while a mode is active)."""
    return SWITCH.on


def set_enabled(flag: bool) -> None:
    """Turn the fast paths on or off for the whole process (``stashes`` applies to op classes
    defined afterwards)."""
    for trick in TRICKS:
        setattr(SWITCH, trick, bool(flag))


_new = object.__new__
_new_tuple = tuple.__new__


# -- 1. recording ------------------------------------------------------------------------------
def record_op(op, args: tuple, kwargs: dict):
    """``dispatch.record_op`` in one pass over the arguments (it is every op's hot path)."""
    if not STATE.enabled or not op.differentiable:
        return record_untracked(op, args, kwargs)
    if not SWITCH.record:
        return op._record_reference(args, kwargs)
    arrays = []
    edges = []
    requires = False
    why = None
    for arg in args:
        if isinstance(arg, Tensor):
            if arg._base is not None:
                LAYERS.refresh_view(arg)  # its history must be current
            arrays.append(arg._data)
            if arg._requires_grad:
                requires = True
                edges.append(edge_of(arg))
            else:
                edges.append(None)
            reason = arg._why_no_grad
            if reason is not None and why != "volatile":
                why = reason
        else:
            arrays.append(arg)
            edges.append(None)
    ctx = _new(op._node_class)
    out = op.forward(ctx, *arrays, **kwargs)
    if not requires or why == "volatile":
        return wrap_untracked(op, out, why, args, kwargs)
    ctx._edges = tuple(edges)
    if op.saved_inputs:
        ctx._saved = saved_entries(op, args, ctx._edges)
    if type(out) is tuple or op._special_outputs:
        return wrap_recorded_outputs(op, ctx, args, out, kwargs)
    return recorded_result(out, ctx)


def recorded_result(out, ctx, differentiable: bool | None = None) -> Tensor:
    """The Tensor of a recorded op's single output, built in place rather than by ``_wrap``
    and two more stores (the call and stores cost about 4% of a small op's forward);
    ``differentiable`` when the caller knows (else: whether its dtype is)."""
    if type(out) is not ndarray:
        out = xp.asarray(out)  # NumPy gives 0-d results as scalars
    result = _new(Tensor)
    result._data = out
    result._output_nr = 0
    result._version_counter = [0]
    result._why_no_grad = None
    result._grad = None
    if differentiable or differentiable is None and is_differentiable(out.dtype):
        result._requires_grad = True
        result._grad_fn = ctx
    else:
        result._requires_grad = False
        result._grad_fn = None
    return result


# -- 2. the arithmetic operators ---------------------------------------------------------------
def binary_operator(op):
    """A function computing ``op.apply(a, b)`` when ``a`` is a Tensor and ``b`` a Python number
    or (``b_is_tensor``) a Tensor of ``a``'s dtype: the operators' fast path, with the op's
    parts looked up once. Anything unusual (a view, a reason for not recording, a mode, the
    switch off) takes ``op.apply``."""
    apply, node_class, forward = op.apply, op._node_class, op.forward
    saves = bool(op.saved_inputs)
    if op._special_outputs:
        return lambda a, b, b_is_tensor: apply(a, b)

    def apply_binary(a: Tensor, b, b_is_tensor: bool):
        if not SWITCH.operators or MODES_USED.ever and (STATE.modes or STATE.mode_depth) or \
                a._base is not None or \
                a._why_no_grad is not None or not STATE.enabled or \
                b_is_tensor and (b._base is not None or b._why_no_grad is not None):
            return apply(a, b)
        ctx = _new(node_class)
        out = forward(ctx, a._data, b._data if b_is_tensor else b)
        if a._requires_grad:  # edge_of(a), inline
            fn = a._grad_fn
            data = a._data
            edge = _new_tuple(Edge, (a._grad_accumulator() if fn is None else fn, a._output_nr,
                                     data.shape, data.dtype))
        else:
            edge = None
        ctx._edges = edges = (edge, edge_of(b) if b_is_tensor and b._requires_grad else None)
        if saves:
            ctx._saved = saved_entries(op, (a, b), edges)
        # a floating tensor with a number or a tensor of its dtype: a floating result
        return recorded_result(out, ctx, True)
    return apply_binary


# -- 3. array mode -----------------------------------------------------------------------------
class ArrayContext:
    """The ctx an ``array_backward`` formula gets in array mode: its node, with the saved
    tensors as arrays. One per call, so that threads sharing a graph never see each other's
    mode; other attributes (``needs_input_grad``, values stashed by forward) are the node's."""

    __slots__ = ("node", "saved_tensors")

    @property
    def needs_input_grad(self) -> tuple:
        return needs_grad(self.node._edges)

    def __getattr__(self, name: str):
        return getattr(self.node, name)


def saved_arrays(node) -> tuple:
    """The node's saved values as arrays (the common entries unpacked inline), checked."""
    values = []
    for entry in node._saved:
        kind = type(entry)
        if kind is SavedInput and entry.tensor._version_counter[0] == entry.version:
            values.append(entry.tensor._data)
        elif kind is SavedConstant:
            values.append(entry.value)
        elif kind is SavedOutput and entry.version_counter[0] == entry.version:
            values.append(entry.array)
        else:
            value = unpack(node, entry)
            values.append(value._data if isinstance(value, Tensor) else value)
    return tuple(values)


def use_array_mode(create_graph: bool) -> bool:
    """Whether a backward pass may move its gradients as arrays (see array_step)."""
    return SWITCH.array_mode and not create_graph and not (MODES_USED.ever and STATE.modes)


def run_array_pass(ready: list, dependencies: dict, buffers: dict, engine, plain: bool,
                   retain_graph: bool) -> None:
    """The engine's loop (``engine.execute``, step 2) for a backward pass without
    ``create_graph``, with the gradients as raw arrays and the common node inlined: a built-in
    op with one output and no hooks runs its formula on the arrays when it is
    ``array_backward`` (saved tensors unpacked to arrays through an ArrayContext), else on
    wrapped Tensors; its results are checked against their edges in the delivery loop. Every
    other node (hooks, several outputs, custom Functions, leaves, and all of them when ``plain``
    is False: autograd.grad's pruning) takes the engine's Tensor-path step, with the arrays
    wrapped around it. ``engine`` gives the engine's own helpers: ``step``, ``conform``,
    ``one_per_edge`` and ``with_gradient``."""
    reference, conform = engine.step, engine.conform
    one_per_edge, with_gradient = engine.one_per_edge, engine.with_gradient
    while ready:
        node, grads = ready.pop()
        edges = node._edges
        if grads is None:
            input_grads = (None,) * len(edges)
        elif not (plain and node._plain):
            input_grads = _wrapped(reference, node, grads, len(edges))
        else:
            if not node.array_backward:
                input_grads = _arrays_of(node.backward(node, _wrap_gradient(grads)))
            elif node._saved:
                context = _new(ArrayContext)
                context.node = node
                context.saved_tensors = saved_arrays(node)
                input_grads = node.backward(context, grads)
            else:
                input_grads = node.backward(node, grads)
            if not retain_graph:
                if node._saved:
                    node._saved = None
                    node._freed = True
                    node._plain = False
                if node._stashed:
                    node._release()
            if type(input_grads) is not tuple or len(input_grads) != len(edges):
                input_grads = one_per_edge(input_grads, len(edges))
        for gradient, edge in zip(input_grads, edges):
            if edge is None:
                continue
            # (NumPy's dtypes are singletons: `is not` rules out the rare cast cheaply)
            if gradient is not None and (type(gradient) is not ndarray or
                                         gradient.shape != edge[2] or
                                         gradient.dtype is not edge[3]):
                gradient = conform(_wrap(xp.asarray(gradient), False), edge, node,
                                   _index_of(edge, edges))._data
            child = edge[0]
            remaining = dependencies[child] - 1
            if remaining:
                dependencies[child] = remaining
                if gradient is not None:
                    buffers[child] = with_gradient(buffers.get(child), child, edge[1], gradient)
                continue
            pending = buffers.pop(child, None)
            if gradient is not None:
                pending = with_gradient(pending, child, edge[1], gradient)
            ready.append((child, pending))
        # drop this node's references before the next runs (take_gradient counts them)
        grads = input_grads = gradient = pending = None


def _wrapped(reference, node, grads, count: int) -> tuple:
    grads = _wrap_gradient(grads) if node._output_meta is None else \
        [_wrap_gradient(g) if g is not None else None for g in grads]
    input_grads = reference(node, grads)
    if input_grads is None:
        return (None,) * count
    return _arrays_of(input_grads)


def _index_of(edge, edges: tuple) -> int:
    """Which input ``edge`` is (for error messages)."""
    return next(index for index, candidate in enumerate(edges) if candidate is edge)


def _wrap_gradient(array) -> Tensor:
    tensor = _wrap(array, False)
    tensor._why_no_grad = "no_grad"  # as computed by a formula under no_grad
    return tensor


def _arrays_of(grads) -> tuple:
    """Tensor gradients as arrays; anything else is left for the check of the engine's
    conform (which names the node)."""
    if type(grads) is not tuple:
        grads = (grads,)
    return tuple(g._data if isinstance(g, Tensor) else g for g in grads)


# -- 4. taking a leaf's first gradient ----------------------------------------------------------
# References to an unshared gradient when take_gradient looks (array mode). Its wrapper:
# _wrapped's `grads`, `gradient` in _accumulate and here, getrefcount's argument; its array:
# the wrapper's, run_array_pass's `grads`, `array` in _accumulate and here, getrefcount's
# argument; the array a view was made from: the view's, `base`, the argument.
# (tests/autograd/test_engine.py checks both ways: taken when unshared, and never when
# anything else holds it, which a count one too high would allow.)
_UNSHARED_TENSOR_REFERENCES = 4
_UNSHARED_ARRAY_REFERENCES = 5
_UNSHARED_BASE_REFERENCES = 3


def take_gradient(gradient: Tensor, array) -> bool:
    """Whether a leaf's first ``.grad`` may be ``array`` itself: nothing but the engine refers
    to ``gradient`` and its memory (``array`` owns it, or views an array nothing else holds)."""
    if not SWITCH.take_gradient or not array.flags.writeable or \
            sys.getrefcount(gradient) > _UNSHARED_TENSOR_REFERENCES or \
            sys.getrefcount(array) > _UNSHARED_ARRAY_REFERENCES:
        return False
    base = array.base
    return base is None or (type(base) is ndarray and base.base is None and
                            sys.getrefcount(base) <= _UNSHARED_BASE_REFERENCES)


# -- 5. what a released node must drop ---------------------------------------------------------
def forward_stashes(forward) -> bool:
    """Whether ``forward``'s code reads its first argument (the ctx), directly or from a
    closure: if not, it stashed nothing there for ``Node._release`` to look for."""
    code = getattr(forward, "__code__", None)
    if not SWITCH.stashes or code is None or not code.co_argcount:
        return True
    name = code.co_varnames[0]
    if name in code.co_cellvars:
        return True
    for instruction in dis.get_instructions(code):
        # LOAD_FAST and kin; from Python 3.13 some name two variables at once (a tuple)
        if "FAST" in instruction.opname or "CLOSURE" in instruction.opname or \
                "DEREF" in instruction.opname:
            value = instruction.argval
            if value == name or (type(value) is tuple and name in value):
                return True
    return False


# -- 6. in-place ops ---------------------------------------------------------------------------
def compute_from_old_value(target: Tensor, compute):
    """``compute`` applied to a tensor standing for ``target``'s value before an in-place op,
    copying the old value only when the recorded graph keeps it. Reference counts taken around
    ``compute`` tell: a saved input holds the stand-in tensor (then it gets its own copy of the
    data); a view or detached alias holds its version counter, and a stashed raw array holds
    the array itself (then ``compute`` runs again on a copy, since those aliases cannot be
    redirected). None when the switch is off (the caller then copies first)."""
    if not SWITCH.inplace_copy:
        return None
    array = target._data
    old_value = _wrap(array, target._requires_grad)
    old_value._grad_fn, old_value._output_nr = target._grad_fn, target._output_nr
    counter = old_value._version_counter
    before = (sys.getrefcount(old_value), sys.getrefcount(array), sys.getrefcount(counter))
    result = compute(old_value)
    after = (sys.getrefcount(old_value), sys.getrefcount(array), sys.getrefcount(counter))
    if after == before:
        return result
    if after[1:] == before[1:]:
        old_value._data = array.copy()
        return result
    return None
