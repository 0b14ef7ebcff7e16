"""Indexing ops: gather/scatter along a dimension, index_select/index_add, masked ops, nonzero.

Index tensors are not differentiable: they live on ctx as arrays. Each backward is written with
the transposed op (gather <-> scatter_add, index_select <-> index_add, masked_fill <-> itself), so
double backward works. Every check runs before anything is written, so a failed call leaves its
inputs unchanged.
"""
from __future__ import annotations

import warnings

from leafgrad._backend import is_array, xp
from leafgrad._dtype import is_bool
from leafgrad._tensor import Tensor, _normalize_dim, _wrap
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops.elementwise import _as_operand, _inplace, cast
from leafgrad.ops.shape import (
    GetItem,
    IndexAddIntoZeros,
    _dim_of_nonscalar,
    _not_linear,
    _overload,
    expand,
    reshape,
)

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "masked_fill",
           "masked_select", "take_along_dim", "nonzero", "argwhere"]


def _coordinates(index: xp.ndarray, dim: int) -> tuple:
    """Where each element of ``index`` points: its value along ``dim``, its own position along
    the other dimensions (a 0-dim index counts as 1-D, as torch)."""
    index = index.reshape(index.shape or (1,))
    ndim = index.ndim
    # xp.indices(index.shape, sparse=True), made like the index
    return tuple(index if d == dim else
                 xp.arange(size, like=index).reshape((1,) * d + (size,) + (1,) * (ndim - d - 1))
                 for d, size in enumerate(index.shape))


def _leading_block(array: xp.ndarray, shape: tuple) -> xp.ndarray:
    """The ``shape``-sized corner of ``array`` (a 0-dim array counts as 1-D)."""
    array = array.reshape(array.shape or (1,))
    return array[tuple(slice(0, n) for n in shape)]


def _zeros(shape: tuple, like: Tensor) -> Tensor:
    return _wrap(xp.zeros(shape, dtype=like._data.dtype, like=like._data), False)


class Gather(Op):
    """self: zeros_like(self).scatter_add(dim, index, grad)"""

    linear = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.input_shape, ctx.dim, ctx.index = a.shape, dim, index
        return xp.atleast_1d(a)[_coordinates(index, dim)].reshape(index.shape)

    @staticmethod
    def backward(ctx, grad):
        return ScatterAdd.apply(_zeros(ctx.input_shape, grad), grad, dim=ctx.dim,
                                index=ctx.index)


class ScatterAdd(Op):
    """self: grad;  src: grad.gather(dim, index), zero where src extends beyond index"""

    linear = True

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src.shape
        out = a.copy()
        xp.add.at(xp.atleast_1d(out), _coordinates(index, dim),
                  _leading_block(src, index.shape or (1,)))
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = _gather_into(grad, ctx.dim, ctx.index, ctx.src_shape)
        return grad, grad_src


class Scatter(Op):
    """self: grad.scatter(dim, index, 0);  src: grad.gather(dim, index), zero where src extends
    beyond index. With ``reduce`` there is no derivative, as in torch."""

    # linear in (self, src) jointly when src is a tensor and reduce is None or 'add':
    # ScatterValue (a fill number) and reduce='multiply' are not (see scatter())
    linear = True

    @staticmethod
    def forward(ctx, a, src, dim, index, reduce=None):
        ctx.dim, ctx.index, ctx.reduce = dim, index, reduce
        ctx.src_shape = src.shape if is_array(src) else None
        out = a.copy()
        target = xp.atleast_1d(out)
        coordinates = _coordinates(index, dim)
        values = _leading_block(src, index.shape or (1,)) if is_array(src) else \
            xp.asarray(src).astype(a.dtype)
        if reduce == "add":
            xp.add.at(target, coordinates, values)
        elif reduce == "multiply":
            xp.multiply.at(target, coordinates, values)
        else:
            target[coordinates] = values
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.reduce is not None:
            raise RuntimeError(f"derivative for scatter with reduce='{ctx.reduce}' is not "
                               f"implemented (as in torch): use scatter_add() for a "
                               f"differentiable sum")
        needs = ctx.needs_input_grad
        grad_self = ScatterValue.apply(grad, 0, dim=ctx.dim, index=ctx.index) if needs[0] else None
        grad_src = _gather_into(grad, ctx.dim, ctx.index, ctx.src_shape) if needs[1] else None
        return grad_self, grad_src


ScatterValue = _overload(Scatter, 1)  # torch numbers scatter(value=) ScatterBackward1
ScatterValue.linear = False  # a fill number makes it affine
# reduce='multiply' multiplies self by src: bilinear (the same node name, ScatterBackward0)
ScatterMultiply = _not_linear(Scatter, "ScatterMultiply")


def _gather_into(grad: Tensor, dim: int, index: xp.ndarray, shape: tuple) -> Tensor:
    """grad.gather(dim, index), placed in zeros of ``shape`` when ``shape`` is larger."""
    gathered = Gather.apply(grad, dim=dim, index=index)
    if gathered._data.shape == shape:
        return gathered
    block = tuple(slice(0, n) for n in index.shape)
    return IndexAddIntoZeros.apply(gathered, index=block, shape=shape)


class IndexSelect(Op):
    """self: zeros_like(self).index_add(dim, index, grad)"""

    linear = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.input_shape, ctx.dim, ctx.index = a.shape, dim, index
        if a.ndim == 0:
            return a.copy()
        return xp.take(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(_zeros(ctx.input_shape, grad), grad, dim=ctx.dim, index=ctx.index)


class IndexAdd(Op):
    """self: grad;  source: grad.index_select(dim, index) * alpha"""

    linear = True

    @staticmethod
    def forward(ctx, a, source, dim, index, alpha=1):
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        out = a.copy()
        if a.ndim == 0:
            out += source * alpha
        else:
            xp.add.at(out, (slice(None),) * dim + (index,), source * alpha if alpha != 1 else
                      source)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_source = None
        if ctx.needs_input_grad[1]:
            grad_source = IndexSelect.apply(grad, dim=ctx.dim, index=ctx.index)
            if ctx.alpha != 1:
                grad_source = grad_source * ctx.alpha
        return grad, grad_source


class MaskedFill(Op):
    """self: grad.masked_fill(mask, 0);  value: grad.masked_fill(~mask, 0).sum()"""

    @staticmethod
    def forward(ctx, a, value, mask):
        ctx.mask = mask
        return xp.where(mask, xp.asarray(value).astype(a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_self = MaskedFill.apply(grad, 0, mask=ctx.mask) if needs[0] else None
        grad_value = MaskedFill.apply(grad, 0, mask=~ctx.mask) if needs[1] else None
        return grad_self, grad_value  # the engine sums grad_value down to the 0-dim value


MaskedFillTensor = _overload(MaskedFill, 1)  # torch numbers a tensor value MaskedFillBackward1
# linear in (self, value) jointly; MaskedFill itself takes a fill number, which makes it affine
MaskedFillTensor.linear = True


class MaskedSelect(GetItem):
    """self: zeros_like(self) with grad scattered to where mask is true (masked_scatter)"""


# -- checks ----------------------------------------------------------------------------------
def _index_array(index, op: str, names: str = "int32/int64") -> xp.ndarray:
    """A private int64 copy of an index tensor's array (later in-place changes to the tensor
    must not alter what backward uses)."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype not in (xp.int64, xp.int32):
        raise RuntimeError(f"{op}(): Expected dtype {names} for index, got {index.dtype}; "
                           f"convert it with .long()")
    return index._data.astype(xp.int64)


def _check_in_range(index: xp.ndarray, size: int, dim: int, op: str) -> None:
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {dim} with size "
                           f"{size} (indices must lie in [0, {size}))")


def _dims(shape: tuple) -> int:
    return max(len(shape), 1)  # torch treats a 0-dim tensor as 1-D in gather/scatter


def _sizes(shape: tuple) -> tuple:
    return shape or (1,)


def _check_gather_shapes(op: str, input: Tensor, dim: int, index: xp.ndarray) -> None:
    shape = input._data.shape
    if _dims(index.shape) != _dims(shape):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor"
                           f" ({op} got index of shape {list(index.shape)} for input of shape "
                           f"{list(shape)})")
    if index.size == 0:
        return
    for d, (got, limit) in enumerate(zip(_sizes(index.shape), _sizes(shape))):
        if d != dim and got > limit:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self {list(shape)} "
                               f"apart from dimension {dim}")
    _check_in_range(index, _sizes(shape)[dim], dim, op)


def _check_scatter_shapes(op: str, input: Tensor, dim: int, index: xp.ndarray, src) -> None:
    shape = input._data.shape
    if _dims(index.shape) != _dims(shape):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as self tensor"
                           f" ({op} got index of shape {list(index.shape)} for self of shape "
                           f"{list(shape)})")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                               f"{input.dtype} and {src.dtype}); convert src with "
                               f".to(self.dtype)")
        if _dims(index.shape) != _dims(src._data.shape):
            raise RuntimeError(f"Index tensor must have the same number of dimensions as src "
                               f"tensor ({op} got index of shape {list(index.shape)} for src "
                               f"of shape {list(src.shape)})")
    if index.size == 0:
        return
    too_large = any(d != dim and got > limit
                    for d, (got, limit) in enumerate(zip(_sizes(index.shape), _sizes(shape))))
    if isinstance(src, Tensor):
        too_large = too_large or any(got > limit for got, limit in
                                     zip(_sizes(index.shape), _sizes(src._data.shape)))
        if too_large:
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(shape)} apart from dimension {dim} and to be no larger "
                               f"size than src {list(src.shape)}")
    elif too_large:
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                           f"{list(shape)} apart from dimension {dim}")
    _check_in_range(index, _sizes(shape)[dim], dim, op)


def _bool_mask(mask, op: str, message: str) -> xp.ndarray:
    """A private copy of a bool mask's array (as for index tensors)."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if not is_bool(mask._data.dtype):
        raise RuntimeError(message.format(dtype=mask.dtype))
    return mask._data.copy()


def _broadcast_shape(a: tuple, b: tuple, op: str) -> tuple:
    try:
        return xp.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(f"{op}: the shape of the mask {list(b)} does not broadcast with the "
                           f"input's shape {list(a)}") from None


# -- public functions ------------------------------------------------------------------------
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for ``dim == 0`` (and likewise for other dims).
    ``sparse_grad`` is accepted for torch's signature; gradients are always dense.

    Example::

        gather(tensor([[1., 2.], [3., 4.]]), 1, tensor([[0, 0], [1, 0]]))  # [[1, 1], [4, 3]]
    """
    expect_tensor(input, "gather", "input")
    dim = _normalize_dim(dim, input._data.ndim)
    index = _index_array(index, "gather")
    _check_gather_shapes("gather", input, dim, index)
    return Gather.apply(input, dim=dim, index=index)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` (``dim == 0``); ``src`` may
    be a tensor or a number (``value``). Where index repeats a position, which write wins is
    unspecified, as in torch. ``reduce='add'``/``'multiply'`` combine instead of overwriting.
    """
    if src is None and value is None:
        raise TypeError("scatter() missing the 'src' or 'value' argument")
    src = value if src is None else src
    if not isinstance(src, Tensor):
        src = _as_operand(src)
    dim = _normalize_dim(dim, input._data.ndim)
    index = _index_array(index, "scatter")
    _check_scatter_shapes("scatter", input, dim, index, src)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply. (got "
                               f"{reduce!r})")
        if isinstance(src, Tensor):
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated "
                          "and will be removed in a future PyTorch release. Use scatter_add() "
                          "for reduce='add'.", UserWarning, stacklevel=2)
    if not isinstance(src, Tensor):
        op_class = ScatterValue
    else:
        op_class = ScatterMultiply if reduce == "multiply" else Scatter
    return op_class.apply(input, src, dim=dim, index=index, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] += src[i][j]`` (``dim == 0``); repeated
    positions accumulate."""
    expect_tensor(input, "scatter_add", "input")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' (position 4) must be Tensor, not "
                        f"{type(src).__name__}")
    dim = _normalize_dim(dim, input._data.ndim)
    index = _index_array(index, "scatter_add")
    _check_scatter_shapes("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, src, dim=dim, index=index)


def _vector_index(index, op: str, names: str) -> xp.ndarray:
    array = _index_array(index, op, names)
    if array.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector (got shape "
                         f"{list(array.shape)}); flatten it first")
    return array.reshape(-1)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at positions ``index`` (a vector) along ``dim``."""
    expect_tensor(input, "index_select", "input")
    dim = _normalize_dim(dim, input._data.ndim)
    index = _vector_index(index, "index_select", "int32 or int64")
    if input._data.ndim == 0 and index.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{index.size} value(s)")
    _check_in_range(index, _sizes(input._data.shape)[dim], dim, "index_select")
    return IndexSelect.apply(input, dim=dim, index=index)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at positions ``index`` along ``dim``;
    repeated positions accumulate."""
    expect_tensor(input, "index_add", "input")
    ndim = input._data.ndim
    dim = _normalize_dim(dim, ndim)
    index = _vector_index(index, "index_add_", "int32/int64")
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    shape, source_shape = input._data.shape, source._data.shape
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype}) and source ({source.dtype}) must "
                           f"have the same scalar type; convert source with .to(self.dtype)")
    if source_shape and dim >= len(source_shape):
        raise RuntimeError(f"index_add_(): Indexing dim {dim} is out of bounds of the source "
                           f"tensor with dim {len(source_shape)}")
    if index.size != _sizes(source_shape)[dim]:
        raise RuntimeError(f"index_add_(): Number of indices ({index.size}) should be equal to "
                           f"source.size(dim): ({_sizes(source_shape)[dim]}), for dim: {dim}")
    if len(shape) != len(source_shape) or any(
            s != t for d, (s, t) in enumerate(zip(shape, source_shape)) if d != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(shape)} source.shape = "
                           f"{list(source_shape)}")
    _check_in_range(index, _sizes(shape)[dim], dim, "index_add_")
    return IndexAdd.apply(input, source, dim=dim, index=index, alpha=alpha)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (both broadcast). ``value`` is a
    number or a 0-dim tensor, which gets the sum of the gradient at the masked positions."""
    mask_array = _bool_mask(mask, "masked_fill", "masked_fill_ only supports boolean masks, but "
                                                 "got mask with dtype {dtype}; compare it "
                                                 "(mask != 0) or call .bool()")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        if value._data.dtype != input._data.dtype:
            value = cast(value, input.dtype)
    else:
        value = _as_operand(value)
    _broadcast_shape(input._data.shape, mask_array.shape, "masked_fill")
    op_class = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    return op_class.apply(input, value, mask=mask_array)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` (broadcast with ``input``) is true, as a 1-D tensor."""
    mask_array = _bool_mask(mask, "masked_select", "masked_select: expected BoolTensor for "
                                                   "mask, got {dtype}; call .bool() on it")
    shape = _broadcast_shape(input._data.shape, mask_array.shape, "masked_select")
    source = input if input._data.shape == shape else expand(input, shape)
    return MaskedSelect.apply(source, index=(xp.broadcast_to(mask_array, shape),))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` in all dimensions but ``dim``;
    ``dim=None`` indexes the flattened input. Negative indices count from the end."""
    if not isinstance(indices, Tensor) or indices._data.dtype != xp.int64:
        got = indices.dtype if isinstance(indices, Tensor) else type(indices).__name__
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{got}")
    if dim is None:
        return take_along_dim(reshape(input, -1), reshape(indices, -1), 0)
    ndim = input._data.ndim
    if indices._data.ndim != ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {ndim} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    dim = _dim_of_nonscalar(dim, ndim)
    size = input._data.shape[dim]
    index = indices._data
    if index.size and (index.min() < -size or index.max() >= size):
        bad = index.min() if index.min() < -size else index.max()
        raise RuntimeError(f"take_along_dim(): index {bad} is out of bounds for dimension {dim} "
                           f"with size {size}")
    index = xp.where(index < 0, index + size, index)
    input_shape = list(input._data.shape)
    input_shape[dim] = index.shape[dim]
    try:
        shape = xp.broadcast_shapes(tuple(input_shape), index.shape)
    except ValueError:
        raise RuntimeError(f"take_along_dim(): the shapes of input {list(input.shape)} and "
                           f"indices {list(indices.shape)} do not broadcast apart from "
                           f"dimension {dim}") from None
    target = shape[:dim] + (input._data.shape[dim],) + shape[dim + 1:]
    return Gather.apply(expand(input, target), dim=dim, index=xp.broadcast_to(index, shape))


class Nonzero(Op):
    """not differentiable: the (n, ndim) int64 indices of the non-zero elements"""

    differentiable = False

    @staticmethod
    def forward(ctx, a):
        if a.ndim == 0:
            return xp.zeros((int(bool(a)), 0), dtype=xp.int64, like=a)
        return xp.stack(xp.nonzero(a), axis=1).astype(xp.int64)


class NonzeroNumpy(Op):
    """not differentiable: the int64 indices of the non-zero elements, one vector per dim (a
    0-dim input counts as 1-D, as torch); torch's nonzero_numpy, behind nonzero(as_tuple=True)"""

    differentiable = False

    @staticmethod
    def forward(ctx, a):
        return tuple(i.astype(xp.int64) for i in xp.nonzero(xp.atleast_1d(a)))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one tensor per dim (a
    0-dim input counts as 1-D there, as torch)."""
    expect_tensor(input, "nonzero", "input")
    return NonzeroNumpy.apply(input) if as_tuple else Nonzero.apply(input)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an (n, ndim) tensor of the non-zero positions."""
    expect_tensor(input, "argwhere", "input")
    return nonzero(input)


TENSOR_METHODS = {
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "index_select": index_select, "index_add": index_add, "masked_fill": masked_fill,
    "masked_select": masked_select, "take_along_dim": take_along_dim, "nonzero": nonzero,
    "argwhere": argwhere,
}
for _name in ("scatter", "scatter_add", "index_add", "masked_fill"):
    TENSOR_METHODS[_name + "_"] = _inplace(TENSOR_METHODS[_name], _name + "_")
