"""Backward nodes and the ``Function`` protocol.

A call of a differentiable function creates one *node* (``grad_fn``): an instance of a class named
``<Name>Backward`` (custom functions) or ``<Name>Backward0`` (built-in ops), which is also the
``ctx`` that ``forward`` and ``backward`` receive, as in torch. The node holds the edges to the
nodes of its inputs and what backward needs; the engine (``engine.py``) walks these nodes.

Built-in ops (:class:`Op`) compute ``forward`` on raw arrays and ``backward`` with Tensor ops,
so every derivative is itself differentiable (``create_graph=True``). They declare what they keep:
``saved_inputs`` (indices) and ``saves_output``. Custom functions (:class:`Function`) receive and
return Tensors and call ``ctx.save_for_backward``.
"""
from __future__ import annotations

import dis
import functools
from typing import Callable

import numpy as np

from leafgrad._grad_state import ANOMALY_USE
from leafgrad._tensor import Tensor, _refresh_view, _wrap
from leafgrad.autograd.grad_mode import STATE
from leafgrad.utils.hooks import RemovableHandle

__all__ = ["Node", "Function", "Op", "AccumulateGrad", "once_differentiable", "FunctionCtx"]


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed): the saved tensors of {node} were freed by an earlier "
    "backward() or autograd.grad(). Specify retain_graph=True in the first backward call if you "
    "need to backward through the graph a second time. If this happens in a loop that carries "
    "a tensor from one iteration to the next, call .detach() on the carried tensor."
)


class _NeedsInputGrad:
    """``ctx.needs_input_grad``, computed from the edges when backward asks for it (a custom
    Function sets it as an instance attribute before its forward, which takes precedence)."""

    def __get__(self, node, owner=None):
        if node is None:
            return self
        return _needs_input_grad(node._edges)


def _needs_input_grad(edges: tuple) -> tuple:
    if len(edges) == 2:  # the commonest case, spelled out: it runs in most backward calls
        return (edges[0] is not None, edges[1] is not None)
    return tuple([edge is not None for edge in edges])


class Node:
    """A node of the backward graph (``tensor.grad_fn``)."""

    needs_input_grad = _NeedsInputGrad()

    # Engine-facing attributes, set by apply(): _edges: per forward argument, None or
    # (next_node, output_nr, shape, numpy dtype) of the input; _freed: saved state released.
    _edges: tuple = ()
    _freed = False
    _saved = None
    _hooks = None
    _pre_hooks = None
    _tensor_pre_hooks = None  # {output_nr: [hook]} from Tensor.register_hook on non-leaves
    _retained = None  # {output_nr: weakref to a tensor that called retain_grad()}
    _output_meta = None  # ((shape, dtype), ...) for nodes with several outputs
    _materialize_grads = True
    _anomaly_trace = None
    # True for a built-in op's node with one output and no hooks or retained grads, which the
    # engine runs on its inlined path; anything that adds such extras sets it False.
    _plain = False
    # True for a built-in op whose backward formula reads the same on raw arrays: without
    # create_graph the engine runs it on arrays (grads, and saved values through ArrayContext),
    # skipping Tensor ops.
    array_backward = False
    _stashed = True  # whether forward may keep values on ctx (set per class from its code)

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        """((node, output_nr), ...) for each Tensor input, ``(None, 0)`` where no grad flows."""
        tensor_args = self._tensor_args or (True,) * len(self._edges)
        return tuple((e[0], e[1]) if e is not None else (None, 0)
                     for e, is_tensor in zip(self._edges, tensor_args) if is_tensor)

    _tensor_args = None  # custom functions: which forward arguments were Tensors

    @property
    def metadata(self) -> dict:
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self._metadata = {}
        return meta

    def register_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(grad_inputs, grad_outputs)`` runs after this node and may return new
        grad_inputs."""
        self._plain = False
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook)

    def register_prehook(self, hook: Callable) -> RemovableHandle:
        """``hook(grad_outputs)`` runs before this node; it may return new grad_outputs."""
        self._plain = False
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return RemovableHandle(self._pre_hooks, hook)

    def _register_tensor_hook(self, output_nr: int, hook: Callable) -> RemovableHandle:
        self._plain = False
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        return RemovableHandle(self._tensor_pre_hooks.setdefault(output_nr, {}), hook)

    # -- saved state ------------------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """The tensors kept for backward, each checked against in-place modification."""
        return self._saved_values(False)

    def _saved_values(self, arrays: bool) -> tuple:
        """The saved tensors, or (``arrays``) their arrays, checked against in-place changes."""
        if self._freed:
            raise RuntimeError(FREED_MESSAGE.format(node=self.name()))
        saved = self._saved
        if not saved:
            return ()
        values = []
        for entry in saved:  # the common cases inlined; unpack checks and reports the rest
            if entry is None:
                values.append(None)
                continue
            kind = entry[0]
            if kind == INPUT and entry[1]._version_counter[0] == entry[2]:
                values.append(entry[1]._data if arrays else entry[1])
            elif kind == CONSTANT:
                values.append(entry[1])
            elif arrays and kind == OUTPUT and entry[2][0] == entry[3]:
                values.append(entry[1])
            else:
                value = unpack(self, entry)
                values.append(value._data if arrays else value)
        return tuple(values)

    def _release(self) -> None:
        """Drop what backward kept (saved tensors and arrays stashed on ctx), keep the edges."""
        if self._saved:
            self._saved = None
            self._freed = True
        if self._stashed:
            stash = self.__dict__
            arrays = [key for key, value in stash.items() if type(value) in _ARRAY_TYPES]
            for key in arrays:
                del stash[key]
            if arrays:
                self._freed = True
        if self._freed:
            self._plain = False  # the engine's general path reports a freed node


_ARRAY_TYPES = {Tensor, np.ndarray}  # what a ctx may stash besides plain values


class ArrayContext:
    """The ctx an ``array_backward`` formula gets in array mode: its node, with the saved
    tensors as arrays (``saved_tensors``, unpacked and checked by the engine). One per call, so
    that threads sharing a graph never see each other's mode; other attributes
    (``needs_input_grad``, values stashed by forward) are the node's."""

    __slots__ = ("node", "saved_tensors")

    @property
    def needs_input_grad(self) -> tuple:
        return _needs_input_grad(self.node._edges)

    def __getattr__(self, name: str):
        return getattr(self.node, name)


# Saved-tensor entries: (INPUT, tensor, version), (CONSTANT, value) for a Python number given in
# place of a tensor, or (OUTPUT, array, version_counter, version, output_nr). An output is kept
# as its array, not as the Tensor, so that the node and its output do not reference each
# other; unpacking gives a new Tensor whose grad_fn is the node (as torch).
INPUT, OUTPUT, CONSTANT = 0, 1, 2


def unpack(node: Node, entry) -> Tensor | None:
    if entry is None:
        return None
    if entry[0] == CONSTANT:
        return entry[1]
    if entry[0] == INPUT:
        _, tensor, version = entry
        if tensor._version_counter[0] != version:
            _raise_modified(node, tensor._data, tensor._output_nr if tensor._grad_fn else 0,
                            tensor._grad_fn, tensor._version_counter[0], version)
        return tensor
    _, array, counter, version, output_nr = entry
    if counter[0] != version:
        _raise_modified(node, array, output_nr, node, counter[0], version)
    tensor = _wrap(array, True)
    tensor._grad_fn = node
    tensor._output_nr = output_nr
    tensor._version_counter = counter
    return tensor


def _raise_modified(node, array, output_nr, producer, found, expected):
    origin = (f"which is output {output_nr} of {producer.name()}" if producer is not None
              else "which is a leaf tensor")
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{array.dtype} tensor of shape {list(array.shape)}], {origin}, is at version "
        f"{found}; expected version {expected} instead (it was saved for backward by "
        f"{node.name()}). Fix: use an out-of-place op or .clone() the tensor before modifying "
        f"it; enable anomaly detection with leafgrad.autograd.set_detect_anomaly(True) to find "
        f"the operation that failed to compute its gradient."
    )


class AccumulateGrad(Node):
    """The node of a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self._edges = ()

    def _release(self) -> None:
        pass


class _FunctionMeta(type):
    """Gives each Function/Op subclass its node class, named as torch names grad_fn types."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        if namespace.get("_is_node_class"):
            return
        node_name = namespace.get("node_name") or name + cls._node_suffix
        cls._node_class = type(node_name, (cls,), {"_is_node_class": True, "__qualname__":
                                                   node_name, "__module__": cls.__module__})
        # read once here rather than on every call: whether outputs need more than wrapping
        cls._special_outputs = bool(getattr(cls, "is_view", False) or
                                    getattr(cls, "saves_output", False))
        # a forward that never names its ctx keeps nothing there for _release to look for
        # (looking would cost every node a dict)
        cls._stashed = _uses_first_argument(cls.forward)


def _uses_first_argument(function) -> bool:
    """Whether ``function``'s code reads its first argument (directly or from a closure)."""
    code = getattr(function, "__code__", None)
    if code is None or not code.co_argcount:
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


class Op(Node, metaclass=_FunctionMeta):
    """A built-in differentiable op: ``forward`` on arrays, ``backward`` with Tensor ops.

    Positional arguments of ``apply`` are the op's inputs (Tensors, or Python numbers taken as
    constants); keyword arguments are non-differentiable parameters passed to ``forward``.
    ``backward(ctx, *grad_outputs)`` returns one gradient per positional input (None where
    ``ctx.needs_input_grad[i]`` is False); the engine sums broadcast gradients back to each
    input's shape, so rules never do.
    """

    _node_suffix = "Backward0"  # the grad_fn class is <Name>Backward0 unless node_name is set
    _plain = True
    saved_inputs: tuple = ()
    # {saved input: the inputs whose gradients use it}: it is saved only when one of them needs
    # a gradient (None: always saved)
    saved_for: dict | None = None
    saves_output = False
    is_view = False  # the output aliases the (single) input's storage
    # False for ops whose outputs never carry gradients (comparisons, argmax, nonzero ...):
    # they go through dispatch like every op, but record no node and need no backward
    differentiable = True
    # linear in its floating inputs jointly (add, sum, reshape, cat ...): its forward
    # derivative is the op itself applied to the tangents
    linear = False
    # Optional forward-mode rule, ``jvp(ctx, inputs, output, *tangents)``: the tangent of the
    # output (a tuple for several outputs) from one tangent per input (None where an input has
    # none), written with Tensor ops; ``ctx`` is the forward's ctx, ``inputs`` the positional
    # arguments, ``output`` the result. None: use ``linear``, else forward mode refuses the op.
    jvp = None
    # Optional batching rule for vmap, ``batch_rule(inputs, batch_dims, **kwargs)`` ->
    # ``(output, output_batch_dim)``: ``inputs`` are the positional arguments (Tensors holding
    # their batch dimension at ``batch_dims[i]``, None for an unbatched one); "elementwise"
    # names the shared rule of broadcasting elementwise ops.
    batch_rule = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        # Every op's hot path: unpack_arguments is inlined, building the graph edges in the
        # same pass over the arguments.
        if not STATE.enabled or not cls.differentiable:
            return _apply_untracked(cls, args, kwargs)
        arrays = []
        edges = []
        requires = False
        why = None
        for arg in args:
            if isinstance(arg, Tensor):
                if arg._base is not None:
                    _refresh_view(arg)
                arrays.append(arg._data)
                if arg._requires_grad:
                    requires = True
                    edges.append(_edge_of(arg))
                else:
                    edges.append(None)
                reason = arg._why_no_grad
                if reason is not None and why != "volatile":
                    why = reason
            else:
                arrays.append(arg)
                edges.append(None)
        ctx = _new(cls._node_class)
        out = cls.forward(ctx, *arrays, **kwargs)
        if not requires or why == "volatile":
            return _wrap_untracked(cls, out, why, args, kwargs)
        ctx._edges = tuple(edges)
        if cls.saved_inputs:
            ctx._saved = _saved_entries(cls, args, edges)
        if type(out) is tuple or cls._special_outputs or ANOMALY_USE.ever and STATE.anomaly:
            return _wrap_recorded_outputs(cls, ctx, args, out, kwargs)
        return _recorded_result(out, ctx)

    @classmethod
    def binary_fast_path(cls) -> Callable:
        """A function computing ``cls.apply(a, b)`` when ``a`` is a Tensor and ``b`` a Python
        number or (``b_is_tensor``) a Tensor of ``a``'s dtype, and one of them requires grad:
        the arithmetic operators' fast path, with the class's parts looked up once and no
        general loop over arguments. Views, reasons for not recording and anomaly mode take
        ``apply``."""
        apply, node_class, forward = cls.apply, cls._node_class, cls.forward
        saves = bool(cls.saved_inputs)
        if cls._special_outputs:
            return lambda a, b, b_is_tensor: apply(a, b)

        def apply_binary(a: Tensor, b, b_is_tensor: bool):
            if a._base is not None or a._why_no_grad is not None or not STATE.enabled or \
                    ANOMALY_USE.ever and STATE.anomaly or \
                    b_is_tensor and (b._base is not None or b._why_no_grad is not None):
                return apply(a, b)
            ctx = _new(node_class)
            out = forward(ctx, a._data, b._data if b_is_tensor else b)
            ctx._edges = edges = (_edge_of(a) if a._requires_grad else None,
                                  _edge_of(b) if b_is_tensor and b._requires_grad else None)
            if saves:
                ctx._saved = _saved_entries(cls, (a, b), edges)
            return _recorded_result(out, ctx)
        return apply_binary


def _edge_of(tensor: Tensor) -> tuple:
    """The edge into the graph for a tensor that requires grad (a view's node refreshed
    already: unpack_arguments and Op.apply do it)."""
    fn = tensor._grad_fn
    data = tensor._data
    return (tensor._grad_accumulator() if fn is None else fn, tensor._output_nr, data.shape,
            data.dtype)


def _saved_entries(cls, args: tuple, edges) -> list:
    """The saved-tensor entries of a recorded op: for each of ``cls.saved_inputs``, the
    argument, or None where ``cls.saved_for`` says that only the gradients of inputs that need
    none use it (as torch, which then lets it be modified in place)."""
    saved = []
    saved_for = cls.saved_for
    for i in cls.saved_inputs:
        arg = args[i]
        if not isinstance(arg, Tensor):
            saved.append((CONSTANT, arg))
            continue
        if saved_for is not None:
            for j in saved_for[i]:
                if edges[j] is not None:
                    break
            else:  # no input whose gradient uses it needs one
                saved.append(None)
                continue
        saved.append((INPUT, arg, arg._version_counter[0]))
    return saved


def _recorded_result(out, ctx) -> Tensor:
    """The Tensor of a recorded op's single output (differentiable if floating). Written out
    rather than ``_wrap`` and then two more stores: it runs for every recorded op, and the
    call and stores cost about 4% of a small op's forward (valgrind instruction counts)."""
    if type(out) is not _ndarray:
        out = _asarray(out)  # NumPy gives 0-d results as scalars
    result = _new(Tensor)
    result._data = out
    result._output_nr = 0
    result._version_counter = [0]
    result._why_no_grad = None
    result._grad = None
    if out.dtype.kind == "f":  # only floating outputs are differentiable
        result._requires_grad = True
        result._grad_fn = ctx
    else:
        result._requires_grad = False
        result._grad_fn = None
    return result


def _apply_untracked(cls, args: tuple, kwargs: dict):
    """``Op.apply`` when grad mode is off (``no_grad``, backward formulas without
    ``create_graph``): arrays in, an untracked result out."""
    arrays, requires, why = unpack_arguments(args)  # (no view is refreshed: grad mode is off)
    out = cls.forward(_new(cls._node_class), *arrays, **kwargs)
    if not cls.differentiable:  # a result that is never differentiable: volatile or nothing
        why = "volatile" if why == "volatile" else None
    elif requires and why != "volatile":
        why = "no_grad"
    return _wrap_untracked(cls, out, why, args, kwargs)


def _wrap_untracked(cls, out, why: str | None, args: tuple, kwargs: dict):
    """Wrap the results of an op that is not recorded; ``why`` says why (for error messages)."""
    if type(out) is tuple:
        result = tuple(_wrap(o, False) for o in out)
        for tensor in result:
            tensor._why_no_grad = why
    else:
        result = _wrap(out, False)
        result._why_no_grad = why
    if cls.is_view:
        _mark_views(result, args[0], cls, kwargs)
    return result


_ndarray = np.ndarray
_asarray = np.asarray
_new = object.__new__


def unpack_arguments(args: tuple) -> tuple:
    """(arrays, requires, why) for an op's arguments: their arrays (other arguments as given),
    whether a Tensor argument requires grad, and why the result will not.

    The reason ('no_grad', 'detach', 'volatile', or 'frozen' for a Parameter) is passed on to
    results that do not require grad, for error messages; 'volatile' takes precedence over the
    others whatever the argument order, since a volatile argument stops recording. A view whose
    base was modified in place gets its current history first (only when recording: torch reads
    it only then). One loop for Op.apply's hot path; Function.apply uses the same rules.
    """
    arrays = []
    requires = False
    why = None
    for arg in args:
        if isinstance(arg, Tensor):
            if arg._base is not None and STATE.enabled:
                _refresh_view(arg)
            arrays.append(arg._data)
            if arg._requires_grad:
                requires = True
            reason = arg._why_no_grad
            if reason is not None and why != "volatile":
                why = reason
        else:
            arrays.append(arg)
    return arrays, requires, why


def replay_view(base: Tensor, chain: tuple) -> Tensor:
    """Apply the recorded view ops of ``chain`` (a view's ``_view_chain``) to ``base``,
    differentiably."""
    for op_class, kwargs, output_index in chain:
        base = op_class.apply(base, **kwargs)
        if output_index is not None:
            base = base[output_index]
    return base


def _wrap_recorded_outputs(cls, ctx, args, out, kwargs):
    """Wrap the outputs of a recorded op with several outputs, a view or a saved output."""
    if STATE.anomaly:
        from leafgrad.autograd.anomaly_mode import record_forward_trace
        record_forward_trace(ctx)
    if type(out) is tuple:
        ctx._output_meta = tuple((o.shape, o.dtype) for o in out)
        ctx._plain = False
        result = tuple(_wrap_output(o, ctx, i) for i, o in enumerate(out))
    else:
        result = _wrap_output(out, ctx, 0)
    if cls.is_view:
        _mark_views(result, args[0], cls, kwargs)
    return result


def _wrap_output(array, ctx, output_nr) -> Tensor:
    tensor = _wrap(array, False)
    if tensor._data.dtype.kind == "f":  # only floating outputs are differentiable
        tensor._requires_grad = True
        tensor._grad_fn = ctx
        tensor._output_nr = output_nr
        if ctx.saves_output and output_nr == 0:
            saved = ctx._saved if ctx._saved is not None else []
            saved.append((OUTPUT, tensor._data, tensor._version_counter, 0, 0))
            ctx._saved = saved
    return tensor


def _mark_views(result, source: Tensor, cls, kwargs) -> None:
    """A view shares its source's storage and version counter and remembers how it was made
    from its base, so that an in-place op on it can be replayed there (``Tensor._apply_inplace``).
    """
    base = source._base if source._base is not None else source
    counter = source._version_counter
    for index, view in enumerate(result) if type(result) is tuple else ((None, result),):
        if not _shares_memory(view._data, source._data):
            continue
        view._version_counter = counter
        view._view_version = counter[0]
        view._base = base
        view._view_chain = source._view_chain + ((cls, kwargs, index),)
        # torch forbids in-place changes of views made under no_grad or by multi-output ops
        # once they matter to autograd; a view of such a view inherits the mark
        creation = "no_grad" if not STATE.enabled else \
            "multi_output" if index is not None else None
        creation = creation or source._view_creation
        if creation is not None:
            view._view_creation = creation


def _shares_memory(a, b) -> bool:
    root_a, root_b = a, b
    while getattr(root_a, "base", None) is not None:
        root_a = root_a.base
    while getattr(root_b, "base", None) is not None:
        root_b = root_b.base
    return root_a is root_b


class FunctionCtx:
    """Mixin with the ctx API of custom functions (``save_for_backward`` and friends)."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got "
                                f"{type(t).__name__}")
        self._to_save = tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = bool(value)


class Function(FunctionCtx, Node, metaclass=_FunctionMeta):
    """Base class for custom differentiable functions, as ``torch.autograd.Function``.

    Example::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                result = x.exp()
                ctx.save_for_backward(result)
                return result

            @staticmethod
            def backward(ctx, grad_output):
                (result,) = ctx.saved_tensors
                return grad_output * result

        y = Exp.apply(x)
    """

    _node_suffix = "Backward"

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        _, requires, why = unpack_arguments(args)
        ctx = cls._node_class()
        record = requires and why != "volatile" and STATE.enabled
        # torch sets needs_input_grad before forward, so forward can skip work too
        ctx.needs_input_grad = tuple(record and isinstance(a, Tensor) and a._requires_grad
                                     for a in args)
        prev = STATE.enabled
        STATE.enabled = False  # forward of a custom function is not recorded (as torch)
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        for t in ctx.__dict__.get("_dirty", ()):
            t._version_counter[0] += 1  # torch counts mark_dirty as one more modification
        is_tuple = isinstance(out, tuple)
        outputs = out if is_tuple else (out,)
        if not record:
            if requires and why is None:
                why = "no_grad"
            for o in outputs:
                if isinstance(o, Tensor) and not o._requires_grad and why is not None:
                    o._why_no_grad = why
            ctx.__dict__.pop("_to_save", None)
            return out
        ctx._edges = tuple(_edge_of(a) if isinstance(a, Tensor) and a._requires_grad else None
                           for a in args)
        ctx._tensor_args = tuple(isinstance(a, Tensor) for a in args)
        if STATE.anomaly:
            from leafgrad.autograd.anomaly_mode import record_forward_trace
            record_forward_trace(ctx)
        dirty = {id(t) for t in ctx.__dict__.get("_dirty", ())}
        non_diff = {id(t) for t in ctx.__dict__.get("_non_differentiable", ())}
        input_ids = {id(a) for a in args if isinstance(a, Tensor)}
        wrapped = []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            is_non_differentiable = id(o) in non_diff
            if id(o) in input_ids and id(o) not in dirty:
                prev, STATE.enabled = STATE.enabled, False
                try:  # an input returned unchanged comes back as a new alias
                    o = o.view_as(o)
                finally:
                    STATE.enabled = prev
            elif id(o) in dirty:
                if o._grad_fn is None and o._requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation (marked dirty in a custom Function).")
                if o._base is not None and not is_non_differentiable and \
                        o._data.dtype.kind == "f":
                    _record_dirty_view(o, ctx, i)
                    wrapped.append(o)
                    continue
            if is_non_differentiable or not o._data.dtype.kind == "f":
                o._requires_grad = False
            else:
                o._grad_fn = ctx
                o._output_nr = i
                o._requires_grad = True
            if o._base is not None:  # a view: its node is ctx as of now
                o._view_version = o._version_counter[0]
                if id(o) not in dirty:  # (as torch: in-place on it would bypass ctx)
                    o._view_creation = "custom_function"
            wrapped.append(o)
        ctx._output_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None
                                 for o in wrapped)
        to_save = ctx.__dict__.pop("_to_save", None)
        if to_save:
            output_ids = {id(o): i for i, o in enumerate(wrapped) if isinstance(o, Tensor)}
            saved = []
            for t in to_save:
                if t is None:
                    saved.append(None)
                elif id(t) in output_ids and t._grad_fn is ctx:
                    saved.append((OUTPUT, t._data, t._version_counter, t._version_counter[0],
                                  output_ids[id(t)]))
                else:
                    saved.append((INPUT, t, t._version_counter[0]))
            ctx._saved = saved
        return tuple(wrapped) if is_tuple else wrapped[0]


def _record_dirty_view(view: Tensor, ctx, output_nr: int) -> None:
    """A view that a custom Function modified in place (``mark_dirty``): as torch, the change is
    recorded on the base (CopySlices of ctx's output), and the view's history then starts from
    the base, so the base and its other views see it too."""
    base = view._base
    if base._requires_grad and base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad has been used in an "
                           "in-place operation (marked dirty in a custom Function).")
    from leafgrad.ops.shape import write_view_into_base  # the view machinery, with the view ops
    result = _wrap(view._data, True)
    result._grad_fn, result._output_nr = ctx, output_nr
    write_view_into_base(view, result, bump_version=False)  # mark_dirty counted the change


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a custom ``backward`` that is not itself differentiable: it runs without
    recording, and differentiating its result again raises a clear error."""

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        prev = STATE.enabled
        STATE.enabled = False
        try:
            grads = backward(ctx, *grad_outputs)
        finally:
            STATE.enabled = prev
        if not prev:
            return grads
        if not any(isinstance(g, Tensor) and g._requires_grad for g in grad_outputs):
            return grads
        is_tuple = isinstance(grads, tuple)
        marked = tuple(_OnceDifferentiableError.apply(g, *grad_outputs, name=ctx.name())
                       if isinstance(g, Tensor) else g for g in (grads if is_tuple else (grads,)))
        return marked if is_tuple else marked[0]

    return wrapper


class _OnceDifferentiableError(Op):
    """Passes a gradient through; differentiating it raises (see ``once_differentiable``)."""

    @staticmethod
    def forward(ctx, grad, *grad_outputs, name: str):
        ctx.function_name = name
        return grad

    @staticmethod
    def backward(ctx, grad_output):
        raise RuntimeError(f"trying to differentiate twice a function that was marked with "
                           f"@once_differentiable ({ctx.function_name})")


def run_backward_of(node: Node, grad_outputs: tuple) -> tuple:
    """Call the node's backward with its incoming gradients; returns one entry per input."""
    if node._freed:
        raise RuntimeError(FREED_MESSAGE.format(node=node.name()))
    result = node.backward(node, *grad_outputs)
    if type(result) is not tuple:
        result = (result,)
    if not isinstance(node, Op):
        expected = len(node._edges)
        if len(result) > expected and all(r is None for r in result[expected:]):
            result = result[:expected]
        if len(result) != expected:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                               f"(expected {expected}, got {len(result)})")
    return result


def materialize(node: Node, grad_outputs: list) -> tuple:
    """Zeros for tensor outputs that received no gradient (unless the function asked not to);
    a non-tensor output of a custom function (meta None) always gets None, as in torch."""
    if not node._materialize_grads:
        return tuple(grad_outputs)
    from leafgrad._tensor import zeros_like_array
    return tuple(g if g is not None or meta is None else zeros_like_array(*meta)
                 for g, meta in zip(grad_outputs, node._output_meta))

