"""Views and in-place writes: which tensors share storage, how a view's history follows
in-place changes of its base, and how an in-place op is recorded (torch's CopySlices).

A view remembers its base and the chain of view ops that made it from the base
(``_view_chain``); base and views share one version counter. An in-place op on a tensor records
the out-of-place result's node in the tensor's place; on a view, the write is recorded on the
base (:class:`CopySlices`) and the view's history is replayed from the base. Other views of the
base notice the version change and replay their chain when next used (:func:`refresh_view`).
"""
from __future__ import annotations

from typing import Callable

from leafgrad import _dtype
from leafgrad._backend import xp
from leafgrad._grad_state import STATE
from leafgrad._tensor import LAYERS, Tensor, _wrap
from leafgrad.autograd import _fast
from leafgrad.autograd.function import Op
from leafgrad.autograd.graph import SavedOutput

__all__ = ["apply_inplace", "refresh_view", "replay_view", "mark_views", "write_view_into_base",
           "CopySlices", "view_rebase_error"]


def apply_inplace(self: Tensor, compute: Callable[[Tensor], Tensor], op_name: str,
                  others: tuple = (), direct: Callable | None = None) -> Tensor:
    """Run ``compute`` (an out-of-place op) and write its result into this tensor's storage.

    Outside autograd this is a plain write. When the graph must be recorded, the result's
    grad_fn takes the place of this tensor's; for a view, the write is recorded on the
    base so that both the base and the view backpropagate through it (and the base's other
    views get a new grad_fn when next used). A volatile operand makes the target volatile.
    """
    base = self._base
    enabled = STATE.enabled
    if enabled and base is not None:
        refresh_view(self)  # the history this op extends must be current
    volatile = self._why_no_grad == "volatile" or any(
        isinstance(o, Tensor) and o._why_no_grad == "volatile" for o in others)
    recording = enabled and not volatile and (
        self._requires_grad or (base is not None and base._requires_grad)
        or any(isinstance(o, Tensor) and o._requires_grad for o in others))
    if enabled:
        if self._requires_grad and self._grad_fn is None:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation "
                f"({op_name} on a leaf of shape {list(self.shape)}). Wrap the update in "
                f"`with leafgrad.no_grad():` (as optimizers do), or use the out-of-place op "
                f"to build a new tensor.")
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError(
                f"a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({op_name}). Modify it under `with leafgrad.no_grad():` or clone "
                f"the leaf first.")
    if not recording:
        if direct is not None:
            direct(self._data)
        else:
            STATE.enabled = False
            try:
                result = compute(self)
            finally:
                STATE.enabled = enabled
            _check_inplace_dtype(result, self, op_name)
            xp.copyto(self._data, result._data, casting="unsafe")
        self._version_counter[0] += 1
        if volatile and (enabled or not self._requires_grad):
            _make_volatile(self)  # (a leaf updated under no_grad keeps requires_grad)
        return self
    result = _compute_from_old_value(self, compute)
    _check_inplace_dtype(result, self, op_name)
    if result._data.dtype != self._data.dtype:
        result = result.to(self.dtype)
    if base is not None:
        write_view_into_base(self, result)
        _keep_output_in_place(result, self)
        return self
    xp.copyto(self._data, result._data)
    self._version_counter[0] += 1
    old_fn, old_output_nr = self._grad_fn, self._output_nr
    self._grad_fn, self._output_nr = result._grad_fn, result._output_nr
    self._requires_grad, self._why_no_grad = result._requires_grad, result._why_no_grad
    move_retained(self, old_fn, old_output_nr)
    _keep_output_in_place(result, self)
    return self




def _compute_from_old_value(target: Tensor, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """``compute`` applied to a tensor standing for ``target``'s value before the in-place op:
    a copy of it, since the recorded graph may keep it (saved for backward) while the op
    overwrites the storage. (The fast path copies only when the graph does keep it.)"""
    result = _fast.compute_from_old_value(target, compute)
    if result is not None:
        return result
    old_value = _wrap(target._data.copy(), target._requires_grad)
    old_value._grad_fn, old_value._output_nr = target._grad_fn, target._output_nr
    return compute(old_value)


def _make_volatile(tensor: Tensor) -> None:
    """An in-place op with a volatile operand: the target (and the base of a view) no longer
    follows from its history, so it becomes volatile, as its out-of-place result would be."""
    base = tensor._base
    for target in (tensor,) if base is None else (tensor, base):
        old_fn, old_output_nr = target._grad_fn, target._output_nr
        target._grad_fn, target._output_nr = None, 0
        target._requires_grad = False
        target._why_no_grad = "volatile"
        move_retained(target, old_fn, old_output_nr)
    if base is not None:
        tensor._view_version = tensor._version_counter[0]


def move_retained(tensor: Tensor, old_fn, old_output_nr: int) -> None:
    """After ``tensor`` got a new grad_fn (an in-place op, a refreshed view), its
    ``retain_grad()`` follows it to the new node, as torch moves the retains_grad hook."""
    retained = old_fn._retained if old_fn is not None else None
    if not retained:
        return
    ref = retained.get(old_output_nr)
    if ref is None or ref() is not tensor:
        return
    del retained[old_output_nr]
    new_fn = tensor._grad_fn
    if new_fn is not None:
        if new_fn._retained is None:
            new_fn._retained = {}
            new_fn._plain = False
        new_fn._retained[tensor._output_nr] = ref


def refresh_view(view: Tensor) -> None:
    """Bring a view's grad_fn up to date after its base (or another view of the base) was
    modified in place since the view's grad_fn was recorded: replay the view ops on the base,
    whose history now includes the modification. torch regenerates views lazily the same way
    (it shares one version counter between a base and its views)."""
    version = view._version_counter[0]
    if version == view._view_version:
        return
    base = view._base
    if view._grad_fn is None and not base._requires_grad:
        view._view_version = version  # no history on either side: nothing to replay
        return
    if view._view_creation is not None:
        raise RuntimeError(view_rebase_error(view, indirect=True))
    prev = STATE.enabled
    STATE.enabled = True  # as torch, also when grad_fn is read under no_grad
    try:
        regenerated = replay_view(base, view._view_chain)
    finally:
        STATE.enabled = prev
    old_fn, old_output_nr = view._grad_fn, view._output_nr
    view._grad_fn, view._output_nr = regenerated._grad_fn, regenerated._output_nr
    view._requires_grad = regenerated._requires_grad
    view._why_no_grad = regenerated._why_no_grad
    view._view_version = version
    move_retained(view, old_fn, old_output_nr)


def view_rebase_error(view: Tensor, indirect: bool) -> str:
    """torch's message for an in-place change that a view's history cannot follow: views made
    under no_grad, by ops with several outputs (unbind, split ...) or inside a custom Function."""
    modified = "its base or another view of its base has been" if indirect else "is being"
    fn, creation = view._grad_fn, view._view_creation
    if creation == "no_grad" or fn is None:
        prefix = ("A view was created in" if fn is None else
                  f"Output {view._output_nr} of {fn.name()} is a view of a view which was "
                  f"created in")
        message = f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        message = f"Output {view._output_nr} of {fn.name()} is a view and {modified} modified " \
                  f"inplace."
    if creation == "multi_output":
        message += (" This view is the output of a function that returns multiple views. Such "
                    "functions do not allow the output views to be modified inplace. You should "
                    "replace the inplace operation by an out-of-place one.")
    elif creation == "custom_function":
        message += (" This view was created inside a custom Function (or because an input was "
                    "returned as-is) and the autograd logic to handle view+inplace would "
                    "override the custom backward associated with the custom Function, leading "
                    "to incorrect gradients. This behavior is forbidden. You can fix this by "
                    "cloning the output of the custom Function.")
    else:
        message += (" Given that this use case is ambiguous and error-prone, it is forbidden. "
                    "You can clarify your code by moving both the view and the inplace either "
                    "both inside the no_grad block (if you don't want the inplace to be "
                    "tracked) or both outside (if you want the inplace to be tracked).")
    return message


def _keep_output_in_place(result: Tensor, target: Tensor) -> None:
    """An in-place op that saved its output (relu_, exp_, sigmoid_ ...) keeps ``target``, the
    modified tensor, as torch does: a later in-place change of ``target`` then fails at backward
    instead of silently using the stale copy."""
    saved = result._grad_fn._saved if result._grad_fn is not None else None
    if not saved:
        return
    for index, entry in enumerate(saved):
        if type(entry) is SavedOutput and entry.array is result._data:
            saved[index] = SavedOutput(target._data, target._version_counter,
                                       target._version_counter[0], entry.output_nr)



def _check_inplace_dtype(result: Tensor, target: Tensor, op_name: str) -> None:
    if _dtype._category(result._data.dtype) > _dtype._category(target._data.dtype):
        raise RuntimeError(f"result type {_dtype.from_numpy_dtype(result._data.dtype)} of "
                           f"{op_name} can't be cast to the desired output type "
                           f"{target.dtype}: use the out-of-place op, or convert the tensor "
                           f"first")
    if result._data.shape != target._data.shape:
        raise RuntimeError(f"output with shape {list(target._data.shape)} doesn't match the "
                           f"broadcast shape {list(result._data.shape)} of {op_name}")



def replay_view(base: Tensor, chain: tuple) -> Tensor:
    """Apply the recorded view ops of ``chain`` (a view's ``_view_chain``) to ``base``,
    differentiably."""
    for op_class, kwargs, output_index in chain:
        base = op_class.apply(base, **kwargs)
        if output_index is not None:
            base = base[output_index]
    return base



def mark_views(result, source: Tensor, cls, kwargs) -> None:
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



def record_dirty_view(view: Tensor, ctx, output_nr: int) -> None:
    """A view that a custom Function modified in place (``mark_dirty``): as torch, the change is
    recorded on the base (CopySlices of ctx's output), and the view's history then starts from
    the base, so the base and its other views see it too."""
    base = view._base
    if base._requires_grad and base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad has been used in an "
                           "in-place operation (marked dirty in a custom Function).")
    result = _wrap(view._data, True)
    result._grad_fn, result._output_nr = ctx, output_nr
    write_view_into_base(view, result, bump_version=False)  # mark_dirty counted the change



class CopySlices(Op):
    """An in-place write into a view, recorded on the view's base (named as torch's node).

    base: grad with zeros in the viewed region;  result: the view of grad

    Only ``write_view_into_base`` applies it, and its forward writes into the base's array
    itself: the node saves nothing, so the base's old value needs no copy.
    """

    _node_suffix = ""

    @staticmethod
    def forward(ctx, base, result, chain):
        ctx.chain = chain
        _replay_on_array(base, chain)[...] = result
        return base

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_base = grad_result = None
        if needs[0]:
            mask = xp.ones(grad.shape, dtype=grad._data.dtype, like=grad._data)
            _replay_on_array(mask, ctx.chain)[...] = 0
            grad_base = grad * _wrap(mask, False)
        if needs[1]:
            grad_result = replay_view(grad, ctx.chain)
        return grad_base, grad_result


def _replay_on_array(array, chain: tuple):
    for op_class, kwargs, output_index in chain:
        array = op_class.forward(_Scratch(), array, **kwargs)
        if output_index is not None:
            array = array[output_index]
    return array


class _Scratch:
    """A throwaway ctx for replaying a view's forward on raw arrays."""


def write_view_into_base(view: Tensor, result: Tensor, bump_version: bool = True) -> None:
    """Record an in-place op on ``view`` whose new value is ``result`` on the view's base, and
    make the view's history start from the updated base (torch's CopySlices). The base's other
    views pick up the new history when next used (``Tensor.grad_fn``)."""
    if view._view_creation is not None:
        raise RuntimeError(view_rebase_error(view, indirect=False))
    base = view._base
    new_base = CopySlices.apply(base, result, chain=view._view_chain)  # writes into base
    if bump_version:
        base._version_counter[0] += 1
    old_fn, old_output_nr = base._grad_fn, base._output_nr
    base._grad_fn, base._output_nr = new_base._grad_fn, new_base._output_nr
    base._requires_grad, base._why_no_grad = new_base._requires_grad, new_base._why_no_grad
    move_retained(base, old_fn, old_output_nr)
    view._view_version = -1  # stale whatever the counter says: replay from the new base now
    refresh_view(view)




# The Tensor's methods reach this module through LAYERS (the Tensor module imports no layer above
# it); the recording code in function.py does too.
LAYERS.refresh_view = refresh_view
LAYERS.apply_inplace = apply_inplace
LAYERS.mark_views = mark_views
LAYERS.record_dirty_view = record_dirty_view
