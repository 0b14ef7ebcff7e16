"""Ops, custom Functions and the op registry.

A call of a differentiable function creates one *node* (``grad_fn``): an instance of a class named
``<Name>Backward`` (custom functions) or ``<Name>Backward0`` (built-in ops), which is also the
``ctx`` that ``forward`` and ``backward`` receive, as in torch. The node holds the edges to the
nodes of its inputs and what backward needs (``graph.py``); the engine (``engine.py``) walks them.

Built-in ops (:class:`Op`) compute ``forward`` on raw arrays and ``backward`` with Tensor ops,
so every derivative is itself differentiable (``create_graph=True``). Every ``Op`` subclass
registers itself in :data:`REGISTRY` when it is defined. Custom functions (:class:`Function`)
receive and return Tensors and call ``ctx.save_for_backward``. Both are called through
``apply``, which is the one dispatch point (``dispatch.py``).
"""
from __future__ import annotations

import functools
import sys
from typing import Callable, NamedTuple

from leafgrad._dtype import is_differentiable
from leafgrad._grad_state import STATE
from leafgrad._tensor import LAYERS, Tensor, zeros_like_array
from leafgrad.autograd import _fast
from leafgrad.autograd.dispatch import dispatch, edge_of, record_op, unpack_arguments
from leafgrad.autograd.graph import Node, SavedInput, SavedOutput

__all__ = ["Node", "Function", "Op", "once_differentiable", "FunctionCtx", "REGISTRY",
           "OpEntry", "registered_ops"]


# -- the op registry ---------------------------------------------------------------------------
class OpEntry(NamedTuple):
    """A registered op: its class, its name, its family (the module of ops it belongs to:
    ``elementwise``, ``shape`` ..., ``autograd`` for the engine's own) and the name of its
    grad_fn class."""

    op: type
    name: str
    family: str
    node_name: str

    @property
    def entry_points(self) -> tuple:
        """The public functions of the op's family module that call it directly (empty for an
        internal op, reached only from other ops' formulas)."""
        return _entry_points(self)

    @property
    def abstract(self) -> bool:
        """A base class of other ops that is never applied itself: it has no forward, or says
        so with ``abstract = True`` in its own class body."""
        return self.op.__dict__.get("abstract", False) or "forward" not in _own_methods(self.op)


REGISTRY: dict = {}  # op class -> OpEntry, in definition order


def registered_ops() -> list:
    """Every registered op's entry, internal ones included."""
    return list(REGISTRY.values())


def _own_methods(op: type) -> set:
    names = set()
    for klass in op.__mro__:
        if klass is Op:
            break
        names.update(klass.__dict__)
    return names


def _entry_points(entry: OpEntry) -> tuple:
    module = sys.modules.get(entry.op.__module__)
    public = getattr(module, "__all__", ())
    found = []
    for name in public:
        function = getattr(module, name, None)
        code = getattr(function, "__code__", None)
        if code is not None and _refers_to(function, code, entry.op):
            found.append(name)
    return tuple(found)


def _refers_to(function, code, op: type) -> bool:
    """Whether ``function`` names ``op`` in its code, its closure or its nested code."""
    if op.__name__ in code.co_names:
        return True
    for cell in getattr(function, "__closure__", None) or ():
        try:
            if cell.cell_contents is op:
                return True
        except ValueError:  # an empty cell
            continue
    return any(hasattr(const, "co_names") and op.__name__ in const.co_names
               for const in code.co_consts)


class _FunctionMeta(type):
    """Gives each Function/Op subclass its node class, named as torch names grad_fn types, and
    registers each Op subclass."""

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
        cls._stashed = _fast.forward_stashes(cls.forward)
        if getattr(cls, "_registers", False) and "_registers" not in namespace:  # Op subclasses
            family = cls.__module__.rsplit(".", 1)[-1]
            family = "autograd" if cls.__module__.startswith("leafgrad.autograd") else family
            REGISTRY[cls] = OpEntry(cls, name, family, node_name)


class Op(Node, metaclass=_FunctionMeta):
    """A built-in op: ``forward`` on arrays, ``backward`` with Tensor ops, in one class.

    ``Op.apply(*args, **kwargs)`` is the dispatch point (``dispatch.py``). Positional arguments
    are the op's inputs (Tensors, or Python numbers taken as constants); keyword arguments are
    non-differentiable parameters passed to ``forward``. What an op may define:

    - ``forward(ctx, *arrays, **kwargs)``: the result (an array, or a tuple of arrays) from the
      inputs' arrays; values that backward needs besides saved tensors go on ``ctx``.
    - ``backward(ctx, *grad_outputs)``: one gradient per positional input (None where
      ``ctx.needs_input_grad[i]`` is False), with Tensor ops; the engine sums broadcast
      gradients back to each input's shape, so rules never do. The docstring states it as a
      formula, as a derivatives-table line does.
    - ``saved_inputs`` (indices of inputs backward reads, as ``ctx.saved_tensors``),
      ``saved_for`` ({saved input: the inputs whose gradients use it}: saved only when one of
      them needs a gradient), ``saves_output`` (the output is saved, after the inputs).
    - ``is_view``: the output aliases the first input's storage (view tracking follows it).
    - ``differentiable = False``: outputs never carry gradients (comparisons, argmax ...).
    - ``linear = True``: linear in its floating inputs jointly; its forward derivative is the
      op applied to the tangents.
    - ``jvp(ctx, inputs, output, *tangents)``: the forward derivative (see the attribute).
    - ``batch_rule(inputs, batch_dims, **kwargs)``: how it runs under vmap.
    - ``array_backward = True``: the backward formula reads the same on raw arrays (the fast
      engine path may run it on arrays; see ``_fast.py``).
    - ``node_name``: the grad_fn class name when not ``<ClassName>Backward0``.
    """

    _node_suffix = "Backward0"  # the grad_fn class is <Name>Backward0 unless node_name is set
    _registers = True  # every subclass enters REGISTRY
    _plain = True  # a fresh one-output node: the fast engine path may run it
    saved_inputs: tuple = ()
    saved_for: dict | None = None
    saves_output = False
    is_view = False
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

    apply = classmethod(dispatch)
    _record = classmethod(_fast.record_op)  # falls back to record_op when the switch is off
    _record_reference = classmethod(record_op)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def binary_fast_path(cls) -> Callable:
        """``cls.apply(a, b)`` for the arithmetic operators (see ``_fast.binary_operator``)."""
        return _fast.binary_operator(cls)


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

    apply = classmethod(dispatch)

    @classmethod
    def _record(cls, args: tuple, kwargs: dict):
        """Run the custom forward (not recorded, as torch) and record the node."""
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
        ctx._edges = tuple(edge_of(a) if isinstance(a, Tensor) and a._requires_grad else None
                           for a in args)
        ctx._tensor_args = tuple(isinstance(a, Tensor) for a in args)
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
                        is_differentiable(o._data.dtype):
                    LAYERS.record_dirty_view(o, ctx, i)
                    wrapped.append(o)
                    continue
            if is_non_differentiable or not is_differentiable(o._data.dtype):
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
                    saved.append(SavedOutput(t._data, t._version_counter, t._version_counter[0],
                                             output_ids[id(t)]))
                else:
                    saved.append(SavedInput(t, t._version_counter[0]))
            ctx._saved = saved
        return tuple(wrapped) if is_tuple else wrapped[0]


    _record_reference = _record


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


def materialize(node: Node, grad_outputs: list) -> tuple:
    """Zeros for tensor outputs that received no gradient (unless the function asked not to);
    a non-tensor output of a custom function (meta None) always gets None, as in torch."""
    if not node._materialize_grads:
        return tuple(grad_outputs)
    return tuple(g if g is not None or meta is None else zeros_like_array(*meta)
                 for g, meta in zip(grad_outputs, node._output_meta))

