"""The backward graph's parts, as ``torch.autograd.graph``: nodes, edges and saved tensors.

A node (``tensor.grad_fn``) holds one :class:`Edge` per forward argument (None where no gradient
flows) and the :class:`SavedInput`/:class:`SavedOutput`/:class:`SavedConstant` entries its
backward reads. Code outside the engine reads them through the named fields, never by index.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from leafgrad._backend import ndarray
from leafgrad._grad_state import STATE
from leafgrad._tensor import LAYERS, Tensor, _wrap
from leafgrad.utils.hooks import RemovableHandle

__all__ = ["Node", "Edge", "AccumulateGrad", "SavedInput", "SavedOutput", "SavedConstant"]


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed): the saved tensors of {node} were freed by an earlier "
    "backward() or autograd.grad(). Specify retain_graph=True in the first backward call if you "
    "need to backward through the graph a second time. If this happens in a loop that carries "
    "a tensor from one iteration to the next, call .detach() on the carried tensor."
)


class Edge(NamedTuple):
    """Where an input's gradient goes: output ``output_nr`` of ``node``, with the input's
    ``shape`` and array ``dtype`` (the engine reduces and casts the gradient to them)."""

    node: Any
    output_nr: int
    shape: tuple
    dtype: Any


class SavedInput(NamedTuple):
    """An input kept for backward, with the version it had (checked when unpacked)."""

    tensor: Tensor
    version: int


class SavedOutput(NamedTuple):
    """An output kept for backward. Kept as its array, not as the Tensor, so that the node and
    its output do not reference each other; unpacking gives a new Tensor whose grad_fn is the
    node (as torch)."""

    array: Any
    version_counter: list
    version: int
    output_nr: int


class SavedConstant(NamedTuple):
    """A Python number given in place of a tensor."""

    value: Any


def needs_grad(edges: tuple) -> tuple:
    """Per input edge, whether its input needs a gradient (``ctx.needs_input_grad``)."""
    if len(edges) == 2:  # the commonest case, spelled out: it runs in most backward calls
        return (edges[0] is not None, edges[1] is not None)
    return tuple([edge is not None for edge in edges])


class _NeedsInputGrad:
    """``ctx.needs_input_grad``, computed from the edges when backward asks for it (a custom
    Function sets it as an instance attribute before its forward, which takes precedence)."""

    def __get__(self, node, owner=None):
        if node is None:
            return self
        return needs_grad(node._edges)


class Node:
    """A node of the backward graph (``tensor.grad_fn``)."""

    needs_input_grad = _NeedsInputGrad()

    # Set when the node is recorded: _edges, one Edge (or None) per forward argument;
    # _saved, the Saved* entries (or None); _freed once an earlier backward released them.
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
    _tensor_args = None  # custom functions: which forward arguments were Tensors
    # True for a built-in op's node with one output and no hooks or retained grads: the fast
    # engine path may run it (see _fast.py); anything that adds such extras sets it False.
    _plain = False
    # True for a built-in op whose backward formula reads the same on raw arrays (the fast
    # engine path then runs it on arrays, see _fast.py)
    array_backward = False
    _stashed = True  # whether forward may keep values on ctx (see _fast.forward_stashes)

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        """((node, output_nr), ...) for each Tensor input, ``(None, 0)`` where no grad flows."""
        tensor_args = self._tensor_args or (True,) * len(self._edges)
        return tuple((e.node, e.output_nr) if e is not None else (None, 0)
                     for e, is_tensor in zip(self._edges, tensor_args) if is_tensor)

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
        if self._freed:
            raise RuntimeError(FREED_MESSAGE.format(node=self.name()))
        return tuple(unpack(self, entry) for entry in self._saved or ())

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


_ARRAY_TYPES = {Tensor, ndarray}  # what a ctx may stash besides plain values


def unpack(node: Node, entry) -> Tensor | Any | None:
    """The value of a saved entry, checked against in-place changes since it was saved."""
    if entry is None:
        return None
    kind = type(entry)
    if kind is SavedConstant:
        return entry.value
    if kind is SavedInput:
        tensor = entry.tensor
        if tensor._version_counter[0] != entry.version:
            raise_modified(node, tensor._data, tensor._output_nr if tensor._grad_fn else 0,
                           tensor._grad_fn, tensor._version_counter[0], entry.version)
        return tensor
    if entry.version_counter[0] != entry.version:
        raise_modified(node, entry.array, entry.output_nr, node, entry.version_counter[0],
                       entry.version)
    tensor = _wrap(entry.array, True)
    tensor._grad_fn = node
    tensor._output_nr = entry.output_nr
    tensor._version_counter = entry.version_counter
    return tensor


def raise_modified(node, array, output_nr, producer, found, expected):
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


# -- running hooks (the engine calls these) ----------------------------------------------------
def _hook_name(hook) -> str:
    return getattr(hook, "__name__", "<unknown>")


def checked_hook_result(hook, original: Tensor | None, value):
    """A hook's replacement for ``original`` (None keeps it), checked as torch checks it: a hook
    may change a gradient's values, not its type or size."""
    if value is None:
        return original
    if original is None:
        raise RuntimeError("can't replace a None gradient with a non-None value")
    if not isinstance(value, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(value).__name__}'")
    if value._data.dtype != original._data.dtype:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the type of value (was "
                           f"{original.type()} got {value.type()})")
    if value._data.shape != original._data.shape:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")
    return value


def checked_hook_results(hook, originals: tuple, values, node) -> tuple:
    """A node hook's replacement for all of ``originals`` (None keeps them)."""
    if values is None:
        return tuple(originals)
    if len(values) != len(originals):
        raise RuntimeError(
            f"hook '{_hook_name(hook)}' registered on {node.name()} has returned an incorrect "
            f"number of values (got {len(values)}, but expected {len(originals)}): return one "
            f"gradient (or None) per input")
    return tuple(checked_hook_result(hook, original, value)
                 for original, value in zip(originals, values))


def run_tensor_hooks(node, grads: list) -> None:
    hooks = node._tensor_pre_hooks
    if hooks:
        for output_nr, slot_hooks in hooks.items():
            for hook in list(slot_hooks.values()):
                if grads[output_nr] is None:
                    break
                grads[output_nr] = checked_hook_result(hook, grads[output_nr],
                                                       hook(grads[output_nr]))
    retained = node._retained
    if retained:
        for output_nr, ref in retained.items():
            tensor = ref()
            gradient = grads[output_nr]
            if tensor is None or gradient is None:
                continue
            if tensor._grad is None:
                # a copy, as torch: the gradient may be the caller's own tensor (a root's)
                tensor._grad = gradient.clone() if STATE.enabled else \
                    _wrap(gradient._data.copy(), False)
            else:
                tensor._grad = tensor._grad + gradient


LAYERS.AccumulateGrad = AccumulateGrad  # Tensor._grad_accumulator makes leaves' nodes
