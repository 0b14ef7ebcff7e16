"""Shape ops. Views (reshape, expand, permute, indexing with slices...) share storage with their
input, as in torch; the engine sums broadcast gradients, so ``expand`` passes its gradient on."""
from __future__ import annotations

import numpy as np

from leafgrad._tensor import Tensor, _normalize_dim
from leafgrad.autograd.function import Op

__all__ = ["reshape", "view", "expand", "expand_as", "permute", "transpose", "t", "squeeze",
           "unsqueeze", "flatten", "unflatten", "movedim", "narrow", "unbind", "split", "chunk",
           "getitem", "index_put", "swapaxes", "swapdims", "moveaxis", "view_as", "reshape_as",
           "broadcast_to", "squeeze_dims"]


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _resolve_shape(shape: tuple, numel: int, source_shape: tuple, op: str) -> tuple:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (got shape {list(shape)})")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension in {list(shape)}")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                               f"(input shape {list(source_shape)})")
        shape = shape[:unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(source_shape)})")
    return shape


class Reshape(Op):
    """self: grad.reshape(self.shape)"""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class View(Reshape):
    """self: grad.reshape(self.shape); refuses to copy, as torch's view"""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        out = a.view()
        try:
            out.shape = shape  # raises instead of copying when strides do not allow a view
        except AttributeError:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (input shape "
                f"{list(a.shape)}, requested {list(shape)}): at least one dimension spans "
                f"across two contiguous subspaces. Use .reshape(...) instead.") from None
        return out


class Expand(Op):
    """self: grad (the engine sums it over the expanded dimensions)"""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Permute(Op):
    """self: grad.permute(inverse permutation)"""

    is_view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(tuple(np.argsort(ctx.dims)))


class GetItem(Op):
    """self: zeros_like(self) with grad added at index (repeated indices accumulate)"""

    is_view = True  # basic indexing gives a view; advanced indexing a copy (checked per call)

    @staticmethod
    def forward(ctx, a, index):
        ctx.input_shape = a.shape
        ctx.index = index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAddIntoZeros.apply(grad, index=ctx.index, shape=ctx.input_shape)


class IndexAddIntoZeros(Op):
    """grad: grad[index]  (the transpose of GetItem)"""

    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=grad.dtype)
        if _is_basic(index):
            out[index] = grad
        else:
            np.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, index=ctx.index)


class IndexPut(Op):
    """self: grad with zeros at index;  values: grad[index]"""

    @staticmethod
    def forward(ctx, a, values, index, accumulate=False):
        ctx.index = index
        out = a.copy()
        if accumulate:
            np.add.at(out, index, values)
        else:
            out[index] = values
        ctx.accumulate = accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_self = None
        if needs[0]:
            if ctx.accumulate:
                grad_self = grad
            else:
                mask = np.ones(grad.shape, dtype=grad._data.dtype)
                mask[ctx.index] = 0
                grad_self = grad * mask
        grad_values = GetItem.apply(grad, index=ctx.index) if needs[1] else None
        return grad_self, grad_values


class ViewScatter(Op):
    """An in-place write into a view, recorded on the view's base.

    base: grad with zeros in the viewed region;  result: the view of grad
    """

    @staticmethod
    def forward(ctx, base, result, chain):
        ctx.chain = chain
        out = base.copy()
        _replay_on_array(out, chain)[...] = result
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_base = grad_result = None
        if needs[0]:
            mask = np.ones(grad.shape, dtype=grad._data.dtype)
            _replay_on_array(mask, ctx.chain)[...] = 0
            grad_base = grad * mask
        if needs[1]:
            grad_result = replay_view(grad, ctx.chain)
        return grad_base, grad_result


def _replay_on_array(array: np.ndarray, chain: tuple) -> np.ndarray:
    for op_class, kwargs, output_index in chain:
        array = op_class.forward(_Scratch(), array, **kwargs)
        if output_index is not None:
            array = array[output_index]
    return array


class _Scratch:
    """A throwaway ctx for replaying a view's forward on raw arrays."""


def replay_view(base: Tensor, chain: tuple) -> Tensor:
    """Apply the recorded view ops of ``chain`` to ``base`` (differentiably)."""
    for op_class, kwargs, output_index in chain:
        base = op_class.apply(base, **kwargs)
        if output_index is not None:
            base = base[output_index]
    return base


def write_view_into_base(view: Tensor, result: Tensor) -> None:
    """Record an in-place op on ``view`` whose new value is ``result`` on the view's base, and
    make the view's history start from the updated base (torch's CopySlices)."""
    base = view._base
    new_base = ViewScatter.apply(base, result, chain=view._view_chain)
    np.copyto(base._data, new_base._data)
    base._version_counter[0] += 1
    base.grad_fn, base._output_nr = new_base.grad_fn, new_base._output_nr
    base._requires_grad = new_base._requires_grad
    regenerated = replay_view(base, view._view_chain)
    view.grad_fn, view._output_nr = regenerated.grad_fn, regenerated._output_nr
    view._requires_grad = regenerated._requires_grad


# -- index normalisation -------------------------------------------------------------------
def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, slice))
               for item in items)


def _convert_index(index, shape: tuple):
    """Turn a torch-style index into a NumPy one, checking bounds and dtypes."""
    items = index if isinstance(index, tuple) else (index,)
    converted = []
    for item in items:
        if isinstance(item, Tensor):
            item = item._data
        elif isinstance(item, (list,)):
            item = np.asarray(item)
            if item.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
        elif isinstance(item, np.integer):
            item = int(item)
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "iub":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors, got {item.dtype}")
            if item.dtype == np.uint8:
                item = item.astype(bool)
            if item.ndim == 0 and item.dtype.kind in "iu":
                item = int(item)
        elif not (item is None or item is Ellipsis or isinstance(item, (int, slice, bool))):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(item).__name__})")
        converted.append(item)
    _check_index_bounds(converted, shape)
    return tuple(converted)


def _check_index_bounds(items: list, shape: tuple) -> None:
    dim = 0
    consumed = sum(1 if not (i is None or i is Ellipsis or isinstance(i, bool)) else 0
                   for i in items)
    consumed += sum(i.ndim - 1 for i in items if isinstance(i, np.ndarray) and i.dtype == bool)
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    for item in items:
        if item is Ellipsis:
            dim += len(shape) - consumed
            continue
        if item is None or isinstance(item, bool):
            continue
        size = shape[dim]
        if isinstance(item, int):
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        elif isinstance(item, np.ndarray) and item.dtype.kind in "iu" and item.size:
            if item.max() >= size or item.min() < -size:
                bad = item.max() if item.max() >= size else item.min()
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        elif isinstance(item, np.ndarray) and item.dtype == bool:
            if item.shape != tuple(shape[dim:dim + item.ndim]):
                raise IndexError(f"The shape of the mask {list(item.shape)} at index {dim} "
                                 f"does not match the shape of the indexed tensor "
                                 f"{list(shape[dim:dim + item.ndim])}")
            dim += item.ndim
            continue
        dim += 1


# -- public functions ----------------------------------------------------------------------
def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape (a view when the strides allow it, else a copy)."""
    shape = _resolve_shape(_shape_arg(shape), input._data.size, input._data.shape, "reshape")
    return Reshape.apply(input, shape=shape)


def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape; raises where reshape would have to copy."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        return input.to(shape[0])  # view(dtype) of torch, limited to same-size dtypes
    shape = _resolve_shape(_shape_arg(shape), input._data.size, input._data.shape, "view")
    return View.apply(input, shape=shape)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other._data.shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view; ``-1`` keeps a dimension. Gradients are summed back by the engine."""
    sizes = _shape_arg(sizes)
    ndim = input._data.ndim
    if len(sizes) < ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor ({ndim})")
    lead = len(sizes) - ndim
    target = []
    for i, size in enumerate(sizes):
        if size == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing "
                                   "dimension")
            size = input._data.shape[i - lead]
        elif i >= lead and input._data.shape[i - lead] not in (1, size):
            raise RuntimeError(
                f"The expanded size of the tensor ({size}) must match the existing size "
                f"({input._data.shape[i - lead]}) at non-singleton dimension {i}. Target "
                f"sizes: {list(sizes)}. Tensor sizes: {list(input._data.shape)}")
        target.append(size)
    return Expand.apply(input, shape=tuple(target))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions (a view)."""
    dims = _shape_arg(dims)
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(_normalize_dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError(f"permute(): duplicate dims are not allowed ({list(dims)})")
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    ndim = input._data.ndim
    if ndim == 0:
        _normalize_dim(dim0, 0), _normalize_dim(dim1, 0)
        return Permute.apply(input, dims=())
    dims = list(range(ndim))
    d0, d1 = _normalize_dim(dim0, ndim), _normalize_dim(dim1, ndim)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input.view_as(input)


def movedim(input: Tensor, source, destination) -> Tensor:
    ndim = input._data.ndim
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)}"
                           f" dims) should contain the same number of dims as destination "
                           f"({list(destination)} dims)")
    source = [_normalize_dim(d, ndim) for d in source]
    destination = [_normalize_dim(d, ndim) for d in destination]
    order = [d for d in range(ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop dimensions of size 1 (all, or the given ones that have size 1)."""
    shape = input._data.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = {_normalize_dim(d, len(shape)) for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {d for d in dims if d < len(shape) and shape[d] == 1}
    return Reshape.apply(input, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


squeeze_dims = squeeze


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    ndim = input._data.ndim
    d = _normalize_dim(dim, ndim + 1)
    shape = input._data.shape
    return Reshape.apply(input, shape=shape[:d] + (1,) + shape[d:])


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return Reshape.apply(input, shape=(1,))
    start, end = _normalize_dim(start_dim, len(shape)), _normalize_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return Reshape.apply(input, shape=shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    shape = input._data.shape
    d = _normalize_dim(dim, len(shape))
    sizes = _resolve_shape(tuple(sizes), shape[d], (shape[d],), "unflatten")
    return Reshape.apply(input, shape=shape[:d] + sizes + shape[d + 1:])


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _normalize_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if start < 0:
        start += size
    if not (0 <= start <= size and 0 <= length and start + length <= size):
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension "
                           f"size ({size}).")
    index = (slice(None),) * d + (slice(start, start + length),)
    return GetItem.apply(input, index=index)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each a view without that dimension."""
    d = _normalize_dim(dim, input._data.ndim)
    return tuple(GetItem.apply(input, index=(slice(None),) * d + (i,))
                 for i in range(input._data.shape[d]))


def split(input: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of given sizes."""
    d = _normalize_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        sizes = [min(step, size - start) for start in range(0, size, step)] if size else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
    pieces, start = [], 0
    for length in sizes:
        pieces.append(GetItem.apply(input, index=(slice(None),) * d +
                                    (slice(start, start + length),)))
        start += length
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input._data.shape[_normalize_dim(dim, input._data.ndim)]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim)


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]``: slices, ints, None, Ellipsis, integer and bool tensors."""
    return GetItem.apply(input, index=_convert_index(index, input._data.shape))


def index_put(input: Tensor, index, values, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[index] = values`` (or ``+=`` with ``accumulate``)."""
    from leafgrad.ops.elementwise import _as_operand, cast
    index = _convert_index(index, input._data.shape)
    values = _as_operand(values)
    if isinstance(values, Tensor):
        if values._data.dtype != input._data.dtype:
            values = cast(values, input.dtype)
        try:
            np.broadcast_to(values._data, np.empty(input._data.shape, dtype=bool)[index].shape)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{list(np.empty(input._data.shape, dtype=bool)[index].shape)}"
                               ) from None
    return IndexPut.apply(input, values, index=index, accumulate=accumulate)


def _setitem(self: Tensor, index, value) -> None:
    """``tensor[index] = value``: in place, differentiable for non-leaf tensors."""
    from leafgrad.ops.elementwise import _as_operand
    converted = _convert_index(index, self._data.shape)
    value = _as_operand(value)

    def write(array):
        array[converted] = value._data if isinstance(value, Tensor) else value

    self._apply_inplace(lambda v: index_put(v, index, value), "__setitem__", (value,),
                        direct=write)


def _index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    return self._apply_inplace(lambda v: index_put(v, tuple(indices), values, accumulate),
                               "index_put_", (values,))


def _size_dims(self: Tensor) -> tuple:
    return tuple(range(self._data.ndim))


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "permute": permute,
    "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "t": t,
    "movedim": movedim, "moveaxis": movedim, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "flatten": flatten, "unflatten": unflatten, "narrow": narrow, "unbind": unbind,
    "split": split, "chunk": chunk, "index_put": index_put, "index_put_": _index_put_,
    "__getitem__": getitem, "__setitem__": _setitem,
    "T": property(lambda self: permute(self, tuple(reversed(_size_dims(self))))),
    "mT": property(lambda self: transpose(self, -2, -1)),
}
