"""The one entry point of every op call, and the one place a node's backward is run.

Every op (a built-in :class:`~leafgrad.autograd.function.Op`, a custom
:class:`~leafgrad.autograd.function.Function`) is called as ``cls.apply(*args, **kwargs)``, which
is :func:`dispatch`. What happens there depends on the thread's stack of active **modes**, in
the spirit of PyTorch's dispatcher keys and JAX's interpreters:

- At the bottom is **grad recording**: the op runs its forward and, when grad mode is on
  (``no_grad`` turns it off) and an input requires grad, records a node (``op._record``).
- Above it, any number of :class:`Mode` objects (anomaly detection today; forward AD,
  batching for ``vmap``, the profiler and saved-tensor hooks are modes of the same kind). The
  top mode sees the call first (``Mode.apply``); it computes the result as it likes, calling
  ops itself: those calls dispatch with the modes *below* it only (its own level is lowered
  while its rule runs, as a JAX interpreter's is), so a rule never sees its own ops.
- Backward is symmetric: the engine runs each node through :func:`run_backward`, where the
  modes see it top-down (``Mode.backward``) before the node's formula runs.

When no mode is active on any thread, the fast paths of ``_fast.py`` may run instead of the
reference code (``op._record`` is then the fast recorder); as soon as a mode is active on this
thread, every call takes the general path. ``MODES_USED.ever`` spares the hot path the
thread-local read until some thread has pushed a mode.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from leafgrad._dtype import is_differentiable
from leafgrad._grad_state import STATE
from leafgrad._tensor import LAYERS, Tensor, _wrap
from leafgrad.autograd.graph import FREED_MESSAGE, Edge, SavedConstant, SavedInput, SavedOutput

__all__ = ["dispatch", "run_backward", "Mode", "push_mode", "pop_mode", "active_modes",
           "mode_active", "record_op"]


class _ModesUsed:
    """Whether any thread ever pushed a mode: until then dispatch need not read the per-thread
    stack (a thread-local read costs as much as a small op's bookkeeping)."""

    ever = False


MODES_USED = _ModesUsed()


class Mode:
    """A transform or observer interposed at the dispatch point. Override what you need.

    ``apply(op, args, kwargs)`` computes an op call's result, usually by calling
    ``op.apply(*args, **kwargs)`` (which reaches the modes below) and then looking at or
    changing what came back. ``backward(node, grad_outputs, proceed)`` runs a node's backward,
    usually as ``proceed(node, grad_outputs)``.
    """

    def apply(self, op, args: tuple, kwargs: dict):
        return op.apply(*args, **kwargs)

    def backward(self, node, grad_outputs: tuple, proceed):
        return proceed(node, grad_outputs)


def active_modes() -> tuple:
    """This thread's modes, bottom first."""
    return STATE.modes


def push_mode(mode: Mode) -> None:
    """Make ``mode`` the top of this thread's stack."""
    MODES_USED.ever = True
    STATE.modes = STATE.modes + (mode,)


def pop_mode(mode: Mode) -> None:
    """Remove ``mode`` (the top one, or wherever it is) from this thread's stack."""
    modes = STATE.modes
    if mode not in modes:
        raise RuntimeError(f"{type(mode).__name__} is not active on this thread")
    index = len(modes) - 1 - modes[::-1].index(mode)
    STATE.modes = modes[:index] + modes[index + 1:]


@contextlib.contextmanager
def mode_active(mode: Mode) -> Iterator[Mode]:
    """``with mode_active(mode):`` pushes ``mode`` for the block."""
    push_mode(mode)
    try:
        yield mode
    finally:
        pop_mode(mode)


@contextlib.contextmanager
def _lowered(modes: tuple) -> Iterator[None]:
    """Run a mode's rule with only the modes below it, and the general path forced."""
    saved, saved_depth = STATE.modes, STATE.mode_depth
    STATE.modes, STATE.mode_depth = modes, saved_depth + 1
    try:
        yield
    finally:
        STATE.modes, STATE.mode_depth = saved, saved_depth


def dispatch(op, *args, **kwargs):
    """Call ``op`` on ``args`` through the active modes (this is every op's ``apply``)."""
    if MODES_USED.ever and (STATE.modes or STATE.mode_depth):
        modes = STATE.modes
        if modes:
            with _lowered(modes[:-1]):
                return modes[-1].apply(op, args, kwargs)
        return op._record_reference(args, kwargs)
    return op._record(args, kwargs)


def run_backward(node, grad_outputs) -> tuple:
    """Run ``node``'s backward on its incoming gradients (one per output) through the active
    modes; returns one gradient per input. The formula itself runs with every mode active (its
    ops are seen by all of them, as any op call is); each mode's hook runs below its level."""
    if MODES_USED.ever and STATE.modes:
        modes = STATE.modes
        return _run_backward_through(modes, len(modes), node, tuple(grad_outputs))
    return _call_backward(node, grad_outputs)


def _run_backward_through(modes: tuple, level: int, node, grad_outputs: tuple):
    if level == 0:
        with _lowered(modes):
            STATE.mode_depth -= 1  # (the formula is no mode's rule)
            return _call_backward(node, grad_outputs)
    with _lowered(modes[:level - 1]):
        return modes[level - 1].backward(
            node, grad_outputs, lambda n, g: _run_backward_through(modes, level - 1, n, g))


def _call_backward(node, grad_outputs) -> tuple:
    """The node's formula, with its result checked: one entry per input."""
    if node._freed:
        raise RuntimeError(FREED_MESSAGE.format(node=node.name()))
    result = node.backward(node, *grad_outputs)
    if type(result) is not tuple:
        result = (result,)
    expected = len(node._edges)
    if len(result) != expected and node._tensor_args is not None:  # a custom Function
        if len(result) > expected and all(r is None for r in result[expected:]):
            return result[:expected]
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {expected}, got {len(result)})")
    return result


# -- grad recording: the bottom of the stack ----------------------------------------------------
def record_op(op, args: tuple, kwargs: dict):
    """Run a built-in op's forward on its arguments' arrays and, when grad mode is on and an
    input requires grad, record its node: one :class:`Edge` per argument, the saved entries
    the op declares, the outputs wrapped with the node as their ``grad_fn``."""
    if not STATE.enabled or not op.differentiable:
        return record_untracked(op, args, kwargs)
    arrays, requires, why = unpack_arguments(args)
    ctx = _new(op._node_class)
    out = op.forward(ctx, *arrays, **kwargs)
    if not requires or why == "volatile":
        return wrap_untracked(op, out, why, args, kwargs)
    edges = tuple(edge_of(arg) if isinstance(arg, Tensor) and arg._requires_grad else None
                  for arg in args)
    ctx._edges = edges
    if op.saved_inputs:
        ctx._saved = saved_entries(op, args, edges)
    return wrap_recorded_outputs(op, ctx, args, out, kwargs)


def record_untracked(op, args: tuple, kwargs: dict):
    """An op call that records nothing: grad mode is off (``no_grad``, backward formulas
    without ``create_graph``), or the op is never differentiable."""
    arrays, requires, why = unpack_arguments(args)  # (no view is refreshed: grad mode is off)
    out = op.forward(_new(op._node_class), *arrays, **kwargs)
    if not op.differentiable:  # a result that is never differentiable: volatile or nothing
        why = "volatile" if why == "volatile" else None
    elif requires and why != "volatile":
        why = "no_grad"
    return wrap_untracked(op, out, why, args, kwargs)


def unpack_arguments(args: tuple) -> tuple:
    """(arrays, requires, why) for an op's arguments: their arrays (other arguments as given),
    whether a Tensor argument requires grad, and why the result will not.

    The reason ('no_grad', 'detach', 'volatile', or 'frozen' for a Parameter) is passed on to
    results that do not require grad, for error messages; 'volatile' takes precedence over the
    others whatever the argument order, since a volatile argument stops recording. A view whose
    base was modified in place gets its current history first (only when recording: torch reads
    it only then).
    """
    arrays = []
    requires = False
    why = None
    for arg in args:
        if isinstance(arg, Tensor):
            if arg._base is not None and STATE.enabled:
                LAYERS.refresh_view(arg)
            arrays.append(arg._data)
            if arg._requires_grad:
                requires = True
            reason = arg._why_no_grad
            if reason is not None and why != "volatile":
                why = reason
        else:
            arrays.append(arg)
    return arrays, requires, why


def edge_of(tensor: Tensor) -> Edge:
    """The edge into the graph for a tensor that requires grad (a view's node refreshed
    already: unpack_arguments does it)."""
    fn = tensor._grad_fn
    data = tensor._data
    # (tuple.__new__ skips the named tuple's Python-level __new__: this runs for every input)
    return _new_tuple(Edge, (tensor._grad_accumulator() if fn is None else fn,
                             tensor._output_nr, data.shape, data.dtype))


def saved_entries(op, args: tuple, edges: tuple) -> list:
    """The saved-tensor entries of a recorded op: for each of ``op.saved_inputs``, the
    argument, or None where ``op.saved_for`` says that only the gradients of inputs that need
    none use it (as torch, which then lets it be modified in place)."""
    saved = []
    saved_for = op.saved_for
    for i in op.saved_inputs:
        arg = args[i]
        if not isinstance(arg, Tensor):
            saved.append(_new_tuple(SavedConstant, (arg,)))
            continue
        if saved_for is not None:
            for j in saved_for[i]:
                if edges[j] is not None:
                    break
            else:  # no input whose gradient uses it needs one
                saved.append(None)
                continue
        saved.append(_new_tuple(SavedInput, (arg, arg._version_counter[0])))
    return saved


def wrap_untracked(op, out, why: str | None, args: tuple, kwargs: dict):
    """Wrap the results of an op that is not recorded; ``why`` says why (for error messages)."""
    if type(out) is tuple:
        result = tuple(_wrap(o, False) for o in out)
        for tensor in result:
            tensor._why_no_grad = why
    else:
        result = _wrap(out, False)
        result._why_no_grad = why
    if op.is_view:
        LAYERS.mark_views(result, args[0], op, kwargs)
    return result


def wrap_recorded_outputs(op, ctx, args: tuple, out, kwargs: dict):
    """Wrap the outputs of a recorded op: its node becomes their grad_fn."""
    if type(out) is tuple:
        ctx._output_meta = tuple((o.shape, o.dtype) for o in out)
        ctx._plain = False  # (the fast engine path runs one-output nodes only)
        result = tuple(_wrap_output(o, ctx, i) for i, o in enumerate(out))
    else:
        result = _wrap_output(out, ctx, 0)
    if op.is_view:
        LAYERS.mark_views(result, args[0], op, kwargs)
    return result


def _wrap_output(array, ctx, output_nr: int) -> Tensor:
    tensor = _wrap(array, False)
    if is_differentiable(tensor._data.dtype):
        tensor._requires_grad = True
        tensor._grad_fn = ctx
        tensor._output_nr = output_nr
        if ctx.saves_output and output_nr == 0:
            saved = ctx._saved if ctx._saved is not None else []
            saved.append(SavedOutput(tensor._data, tensor._version_counter, 0, 0))
            ctx._saved = saved
    return tensor


_new = object.__new__
_new_tuple = tuple.__new__
