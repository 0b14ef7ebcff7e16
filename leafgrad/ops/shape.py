"""Shape ops. Views (reshape, expand, permute, diagonal, indexing with slices...) share storage
with their input, as in torch; the engine sums broadcast gradients, so ``expand`` passes its
gradient on. Copying ops (cat, stack, repeat, flip, roll, pad) route each gradient element back
to the input element it came from."""
from __future__ import annotations

import numbers
import operator
import warnings

from leafgrad import _dtype
from leafgrad._backend import is_array, is_scalar, xp
from leafgrad._grad_state import STATE
from leafgrad._tensor import Tensor, _normalize_dim, _wrap
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops.elementwise import Clone, _as_operand, cast, promote

__all__ = ["reshape", "view", "expand", "expand_as", "permute", "transpose", "t", "squeeze",
           "unsqueeze", "flatten", "unflatten", "movedim", "narrow", "unbind", "split", "chunk",
           "index_put", "swapaxes", "swapdims", "moveaxis", "view_as", "reshape_as",
           "broadcast_to", "cat", "concatenate", "concat", "stack", "hstack",
           "vstack", "tile", "flip", "fliplr", "flipud", "roll", "diagonal", "diag"]


def _shape_arg(shape, op: str, argument: str = "shape") -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``. Each size must be an int (a NumPy
    integer or a one-element integer tensor too): as torch, ``reshape(2.0, 3)`` raises."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    sizes = []
    for position, size in enumerate(shape):
        if isinstance(size, (bool, xp.bool_)) or not hasattr(size, "__index__"):
            raise TypeError(f"{op}(): argument '{argument}' must be tuple of ints, but found "
                            f"element of type {type(size).__name__} at pos {position}")
        sizes.append(operator.index(size))
    return tuple(sizes)


def _resolve_shape(shape: tuple, numel: int, source_shape: tuple, op: str) -> tuple:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (got shape {list(shape)})")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension in {list(shape)}")
    known = int(xp.prod([s for s in shape if s != -1], dtype=xp.int64))
    if unknown:
        if known == 0 and numel == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} "
                               f"because the unspecified dimension size -1 can be any value and "
                               f"is ambiguous")
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                               f"(input shape {list(source_shape)})")
        shape = shape[:unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(source_shape)})")
    return shape


def normalize_dims(dims, ndim: int) -> tuple:
    """``dims`` (an int or a sequence) as distinct non-negative axes, in the order given (the one
    helper for dim arguments: reductions sort them, see ``reduction.reduction_axes``)."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    normalized = tuple(_normalize_dim(d, ndim) for d in dims)
    for d in normalized:
        if normalized.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return normalized


def _dim_of_nonscalar(dim: int, ndim: int) -> int:
    """``dim`` for ops that need an actual dimension (a 0-dim tensor has none)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _normalize_dim(dim, ndim)


# -- views ---------------------------------------------------------------------------------
# Several classes share one implementation so that nodes get torch's names (SqueezeBackward0,
# SelectBackward0 ...); ``_overload`` adds torch's overload numbers (squeeze(dim) is
# SqueezeBackward1).
def _overload(op_class: type, number: int) -> type:
    """``op_class`` whose nodes are named ``<Name>Backward<number>``."""
    return type(op_class.__name__, (op_class,), {"_node_suffix": f"Backward{number}",
                                                 "__module__": op_class.__module__,
                                                 "__doc__": op_class.__doc__})


def _not_linear(op_class: type, name: str) -> type:
    """``op_class`` named ``name`` (in the registry) with ``linear`` False but the same grad_fn
    name, for the calls that make a linear op affine (a non-zero fill value) or a product
    (scatter with reduce='multiply')."""
    return type(name, (op_class,), {"linear": False,
                                    "node_name": op_class._node_class.__name__,
                                    "__module__": op_class.__module__,
                                    "__doc__": op_class.__doc__})


def _viewed(array: xp.ndarray, shape: tuple) -> xp.ndarray | None:
    """``array`` with a new shape without copying, or None where the strides do not allow it."""
    out = array.view()
    try:
        out.shape = shape
    except AttributeError:
        return None
    return out


class View(Op):
    """self: grad.reshape(self.shape)"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        out = _viewed(a, shape)
        if out is None:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (input shape "
                f"{list(a.shape)}, requested {list(shape)}): at least one dimension spans "
                f"across two contiguous subspaces. Use .reshape(...) instead.")
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class UnsafeView(View):
    """self: grad.reshape(self.shape)  (reshape's copying path: applied to a fresh clone, so the
    result is no view of the caller's tensor)"""

    is_view = False


class Squeeze(View):
    """self: grad.reshape(self.shape)  (the dropped size-1 dims come back)"""


class Unsqueeze(View):
    """self: grad.squeeze(dim)"""


class Alias(View):
    """self: grad  (``x[...]``: a new view of the same shape)"""


SqueezeDim, SqueezeDims = _overload(Squeeze, 1), _overload(Squeeze, 2)


class Expand(Op):
    """self: grad (the engine sums it over the expanded dimensions)"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, shape):
        return xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Permute(Op):
    """self: grad.permute(inverse permutation)"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return Permute.apply(grad, dims=tuple(int(d) for d in xp.argsort(ctx.dims)))


class Transpose(Permute):
    """self: grad.transpose(dim0, dim1)"""


class T(Permute):
    """self: grad.t()  (torch names the node of ``t()`` TBackward0)"""


def _diagonal_view(array: xp.ndarray, offset: int, dim1: int, dim2: int) -> xp.ndarray:
    """A writable view of a diagonal, as the last dimension (NumPy's own is read-only, and a view
    must be writable for in-place ops on it to reach its base)."""
    corner = [slice(None)] * array.ndim
    corner[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    start = array[tuple(corner)]
    kept = [d for d in range(array.ndim) if d not in (dim1, dim2)]
    shape = tuple(start.shape[d] for d in kept) + (min(start.shape[dim1], start.shape[dim2]),)
    strides = tuple(start.strides[d] for d in kept) + (start.strides[dim1] + start.strides[dim2],)
    return xp.lib.stride_tricks.as_strided(start, shape, strides,
                                           writeable=array.flags.writeable)


class Diagonal(Op):
    """self: diag_embed(grad, offset, dim1, dim2) into zeros of self's shape"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.input_shape = a.shape
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        return _diagonal_view(a, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagEmbed.apply(grad, shape=ctx.input_shape, offset=ctx.offset, dim1=ctx.dim1,
                               dim2=ctx.dim2)


class DiagEmbed(Op):
    """self: grad.diagonal(offset, dim1, dim2)  (self is written on that diagonal of zeros)"""

    linear = True

    @staticmethod
    def forward(ctx, a, shape, offset, dim1, dim2):
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        out = xp.zeros(shape, dtype=a.dtype, like=a)
        _diagonal_view(out, offset, dim1, dim2)[...] = a
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, offset=ctx.offset, dim1=ctx.dim1, dim2=ctx.dim2)


class GetItem(Op):
    """self: zeros_like(self) with grad added at index (repeated indices accumulate)"""

    is_view = True  # basic indexing gives a view; advanced indexing a copy (checked per call)
    linear = True

    @staticmethod
    def forward(ctx, a, index):
        ctx.input_shape = a.shape
        ctx.index = index
        if _is_basic(index) and not any(item is Ellipsis for item in index):
            return a[index + (Ellipsis,)]  # a 0-d view where a[index] gives a NumPy scalar
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAddIntoZeros.apply(grad, index=ctx.index, shape=ctx.input_shape)


class IndexAddIntoZeros(Op):
    """grad: grad[index]  (the transpose of GetItem)"""

    linear = True

    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.index = index
        out = xp.zeros(shape, dtype=grad.dtype, like=grad)
        if _is_basic(index):
            out[index] = grad
        else:
            xp.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, index=ctx.index)


class Select(GetItem):
    """self: zeros_like(self) with grad at the selected position (select_backward)"""


class Slice(GetItem):
    """self: zeros_like(self) with grad in the slice (slice_backward)"""


class Index(GetItem):
    """self: zeros_like(self) with grad added at the indices (repeats accumulate)"""


class Unbind(Op):
    """self: stack(grads, dim)  (outputs that got no gradient contribute zeros)"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        return tuple(a[lead + (i, Ellipsis)] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return Stack.apply(*grads, dim=ctx.dim)


class Split(Op):
    """self: cat(grads, dim)  (outputs that got no gradient contribute zeros)"""

    is_view = True
    linear = True

    @staticmethod
    def forward(ctx, a, sizes, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        starts = xp.cumsum((0,) + sizes[:-1])
        return tuple(a[lead + (slice(start, start + size),)] for start, size in zip(starts, sizes))

    @staticmethod
    def backward(ctx, *grads):
        return Cat.apply(*grads, dim=ctx.dim)


class SplitWithSizes(Split):
    """self: cat(grads, dim)  (split into given sizes)"""


class IndexPut(Op):
    """self: grad with zeros at index;  values: grad[index]"""

    # linear in (self, values) jointly; a non-zero number for values makes it affine
    # (IndexPutConstant)
    linear = True

    @staticmethod
    def forward(ctx, a, values, index, accumulate=False):
        ctx.index = index
        out = a.copy()
        if accumulate:
            xp.add.at(out, index, values)
        else:
            out[index] = values
        ctx.accumulate = accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_self = None
        if needs[0]:
            # torch: grad.index_put(indices, 0): zeros written where values went
            grad_self = grad if ctx.accumulate else IndexPut.apply(grad, 0.0, index=ctx.index)
        grad_values = GetItem.apply(grad, index=ctx.index) if needs[1] else None
        return grad_self, grad_values


IndexPutConstant = _not_linear(IndexPut, "IndexPutConstant")


# -- copying ops ---------------------------------------------------------------------------
def _skipped_by_cat(shape: tuple) -> bool:
    """torch's legacy rule: 1-D empty tensors are left out of cat whatever the other shapes."""
    return shape == (0,)


class Cat(Op):
    """tensors[i]: grad.narrow(dim, offset_i, tensors[i].size(dim))"""

    linear = True

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        ctx.spans = []  # per input: (start, stop) along dim, None for a skipped empty tensor
        kept, start = [], 0
        for array in arrays:
            if _skipped_by_cat(array.shape):
                ctx.spans.append(None)
                continue
            kept.append(array)
            ctx.spans.append((start, start + array.shape[dim]))
            start += array.shape[dim]
        if not kept:
            return xp.zeros(0, dtype=arrays[0].dtype, like=arrays[0])
        return xp.concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        grads = []
        for needed, span in zip(ctx.needs_input_grad, ctx.spans):
            if not needed:
                grads.append(None)
            elif span is None:
                grads.append(_wrap(xp.zeros(0, dtype=grad._data.dtype, like=grad._data), False))
            else:
                grads.append(Slice.apply(grad, index=lead + (slice(*span),)))
        return tuple(grads)


class Stack(Op):
    """tensors[i]: grad.select(dim, i)"""

    linear = True

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        return xp.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        return tuple(Select.apply(grad, index=lead + (i,)) if needed else None
                     for i, needed in enumerate(ctx.needs_input_grad))


class Repeat(Op):
    """self: grad.reshape(r0, s0, r1, s1, ...).sum over the r dims (one term per copy)"""

    linear = True

    @staticmethod
    def forward(ctx, a, repeats):
        padded = (1,) * (len(repeats) - a.ndim) + a.shape
        ctx.input_shape = a.shape
        ctx.interleaved = tuple(n for pair in zip(repeats, padded) for n in pair)
        return xp.tile(a.reshape(padded), repeats)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.interleaved:
            return grad
        copies = tuple(range(0, len(ctx.interleaved), 2))
        return grad.reshape(ctx.interleaved).sum(dim=copies).reshape(ctx.input_shape)


class Flip(Op):
    """self: grad.flip(dims)"""

    linear = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return xp.flip(a, axis=dims).copy()  # torch's flip copies

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.dims)


class Roll(Op):
    """self: grad.roll(-shifts, dims)"""

    linear = True

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return xp.roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        negated = -ctx.shifts if ctx.dims is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(grad, shifts=negated, dims=ctx.dims)


class ConstantPadNd(Op):
    """self: constant_pad_nd(grad, -widths)  (crops what was padded, zero-pads what was cropped)"""

    linear = True  # padding with 0; another value makes it affine (ConstantPadNdValue)

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.widths = widths  # (before, after) for every dimension; negative values crop
        out = xp.full(tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths)), value,
                      dtype=a.dtype, like=a)
        source = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(a.shape, widths))
        kept = a[source]
        target = tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(kept.shape, widths))
        out[target] = kept
        return out

    @staticmethod
    def backward(ctx, grad):
        return ConstantPadNd.apply(grad, widths=tuple((-lo, -hi) for lo, hi in ctx.widths),
                                   value=0)


ConstantPadNdValue = _not_linear(ConstantPadNd, "ConstantPadNdValue")


class _CopyingPad(GetItem):
    """self: the pad's backward op of (grad, self): grad summed into the input element each
    output element copies (reflect and replicate padding: indexing with the source of each
    output element)"""

    abstract = True  # applied as the per-mode classes of _copying_pad_ops (ReflectionPad2D...)
    saved_inputs = (0,)
    backward_op: type  # the matching _CopyingPadBackward class

    @staticmethod
    def backward(ctx, grad):
        (source,) = ctx.saved_tensors
        return ctx.backward_op.apply(grad, source, index=ctx.index)


class _CopyingPadBackward(Op):
    """grad_output: the pad of grad;  self: 0

    torch's reflection_pad/replication_pad backward, recorded with ``self`` as an input whose
    derivative is zero: with create_graph the gradient requires grad, and differentiating it
    again gives zeros (as torch) instead of an error.
    """

    abstract = True  # applied as the per-mode classes of _copying_pad_ops
    saved_inputs = (1,)
    forward_op: type  # the matching _CopyingPad class
    linear = True  # in grad; self only gives the shape

    @staticmethod
    def forward(ctx, grad, source, index):
        ctx.index = index
        out = xp.zeros(source.shape, dtype=grad.dtype, like=grad)
        xp.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        (source,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (ctx.forward_op.apply(grad, index=ctx.index) if needs[0] else None,
                _wrap(xp.zeros_like(source._data), False) if needs[1] else None)


def _copying_pad_ops(name: str) -> type:
    """The pad op named as torch's node (ReflectionPad2DBackward0) and its backward op
    (ReflectionPad2DBackwardBackward0)."""
    forward_op = type(name, (_CopyingPad,), {"__module__": __name__,
                                             "__doc__": _CopyingPad.__doc__})
    backward_op = type(name + "Backward", (_CopyingPadBackward,), {
        "__module__": __name__, "__doc__": _CopyingPadBackward.__doc__})
    forward_op.backward_op, backward_op.forward_op = backward_op, forward_op
    return forward_op


_PAD_OPS = {(mode, n): _copying_pad_ops(f"{name}Pad{n}D")
            for mode, name in (("reflect", "Reflection"), ("replicate", "Replication"))
            for n in (1, 2, 3)}


# -- index normalisation -------------------------------------------------------------------
def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, slice))
               for item in items)


_INDEX_DTYPES = (xp.int64, xp.int32, xp.uint8, xp.bool_)  # torch: long, int, byte or bool


def _convert_index(index, indexed: xp.ndarray):
    """Turn a torch-style index into a NumPy one, checking bounds and dtypes against the
    ``indexed`` array."""
    items = index if isinstance(index, tuple) else (index,)
    converted = []
    for item in items:
        if isinstance(item, Tensor):
            item = item._data.copy()  # backward must not see later in-place changes to it
        elif isinstance(item, slice):
            if item.step is not None and item.step <= 0:  # torch has no negative steps
                raise ValueError("slice step cannot be zero" if item.step == 0 else
                                 "step must be greater than zero (leafgrad, as torch, has no "
                                 "negative strides: use flip() to reverse)")
        elif isinstance(item, (list,)):
            # an empty list selects nothing (NumPy would make it a float array)
            item = xp.asarray(item, like=indexed) if item else \
                xp.zeros(0, dtype=xp.int64, like=indexed)
            if _dtype.is_floating_point(item.dtype):
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
        elif is_scalar(item) and _dtype.is_integral(item.dtype):
            item = int(item)
        if is_array(item):
            if item.dtype not in _INDEX_DTYPES:
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors, got {item.dtype}")
            if item.dtype == xp.uint8:
                item = item.astype(bool)
            if item.ndim == 0 and _dtype.is_integral(item.dtype):
                item = int(item)
        elif not (item is None or item is Ellipsis or isinstance(item, (int, slice, bool))):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(item).__name__})")
        converted.append(item)
    _check_index_bounds(converted, indexed.shape)
    return tuple(converted)


def _check_index_bounds(items: list, shape: tuple) -> None:
    dim = 0
    consumed = sum(_dims_consumed(item) for item in items)
    if consumed > len(shape):
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    for item in items:
        if item is Ellipsis:
            dim += len(shape) - consumed
            continue
        if item is None or isinstance(item, bool):
            continue
        if is_array(item) and _dtype.is_bool(item.dtype):
            if item.shape != tuple(shape[dim:dim + item.ndim]):
                raise IndexError(f"The shape of the mask {list(item.shape)} at index {dim} "
                                 f"does not match the shape of the indexed tensor "
                                 f"{list(shape)} at index {dim}")
            dim += item.ndim
            continue
        size = shape[dim]
        if isinstance(item, int):
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        elif is_array(item) and item.size:
            if item.max() >= size or item.min() < -size:
                bad = item.max() if item.max() >= size else item.min()
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        dim += 1


# -- public functions ----------------------------------------------------------------------
def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape: a view when the strides allow it, else a copy (as torch,
    a clone then an unsafe view)."""
    expect_tensor(input, "reshape")
    shape = _resolve_shape(_shape_arg(shape, "reshape"), input._data.size, input._data.shape,
                           "reshape")
    if _viewed(input._data, shape) is not None:
        return View.apply(input, shape=shape)
    return UnsafeView.apply(contiguous(input), shape=shape)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` itself when its memory is in C order, else a copy in C order (recorded as
    torch's CloneBackward0).

    Example::

        >>> x = leafgrad.ones(2, 3).t()
        >>> x.is_contiguous(), x.contiguous().is_contiguous()
        (False, True)
    """
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input, order="C")


def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape; raises where reshape would have to copy.

    ``view(dtype)`` reinterprets the bytes as another dtype (not differentiable, as torch).
    """
    expect_tensor(input, "view")
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        return _view_as_dtype(input, shape[0])
    shape = _resolve_shape(_shape_arg(shape, "view", "size"), input._data.size,
                           input._data.shape, "view")
    return View.apply(input, shape=shape)


def _view_as_dtype(input: Tensor, dtype: _dtype.dtype) -> Tensor:
    try:
        array = input._data.view(dtype.np_dtype)
    except ValueError as error:
        raise RuntimeError(f"view(): cannot view a {input.dtype} tensor of shape "
                           f"{list(input.shape)} as {dtype}: {error} View it as a dtype of the "
                           f"same element size, or .clone() it first.") from None
    out = _wrap(array, False)
    out._version_counter = input._version_counter
    return out


def view_as(input: Tensor, other: Tensor) -> Tensor:
    expect_tensor(input, "view_as")
    expect_tensor(other, "view_as", "other", 2)
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    expect_tensor(input, "reshape_as")
    expect_tensor(other, "reshape_as", "other", 2)
    return reshape(input, other._data.shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view; ``-1`` keeps a dimension. Gradients are summed back by the engine."""
    expect_tensor(input, "expand")
    sizes = _shape_arg(sizes, "expand", "size")
    ndim = input._data.ndim
    if len(sizes) < ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor ({ndim})")
    lead = len(sizes) - ndim
    target = []
    for i, size in enumerate(sizes):
        if size == -1:
            if i < lead:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            size = input._data.shape[i - lead]
        elif i >= lead and input._data.shape[i - lead] not in (1, size):
            raise RuntimeError(
                f"The expanded size of the tensor ({size}) must match the existing size "
                f"({input._data.shape[i - lead]}) at non-singleton dimension {i}. Target "
                f"sizes: {list(sizes)}. Tensor sizes: {list(input._data.shape)}")
        target.append(size)
    return Expand.apply(input, shape=tuple(target))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    expect_tensor(input, "expand_as")
    expect_tensor(other, "expand_as", "other", 2)
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions (a view)."""
    expect_tensor(input, "permute")
    dims = _shape_arg(dims, "permute", "dims")
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
    expect_tensor(input, "transpose", "input")
    ndim = input._data.ndim
    if ndim == 0:
        _normalize_dim(dim0, 0), _normalize_dim(dim1, 0)
        return Transpose.apply(input, dims=())
    dims = list(range(ndim))
    d0, d1 = _normalize_dim(dim0, ndim), _normalize_dim(dim1, ndim)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    expect_tensor(input, "t")
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return T.apply(input, dims=tuple(reversed(range(input._data.ndim))))


def movedim(input: Tensor, source, destination) -> Tensor:
    expect_tensor(input, "movedim", "input")
    ndim = input._data.ndim
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)}"
                           f" dims) should contain the same number of dims as destination "
                           f"({list(destination)} dims)")
    normalized_source = [_normalize_dim(d, ndim) for d in source]
    normalized_destination = [_normalize_dim(d, ndim) for d in destination]
    for name, given, dims in (("source", source, normalized_source),
                              ("destination", destination, normalized_destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    if ndim == 0:
        return Permute.apply(input, dims=())
    order = [d for d in range(ndim) if d not in normalized_source]
    for dst, src in sorted(zip(normalized_destination, normalized_source)):
        order.insert(dst, src)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop dimensions of size 1 (all, or those of the given ones that have size 1)."""
    expect_tensor(input, "squeeze")
    shape = input._data.shape
    if dim is None:
        op_class, dims = Squeeze, {i for i, s in enumerate(shape) if s == 1}
    else:
        op_class = SqueezeDim if isinstance(dim, numbers.Integral) else SqueezeDims
        dims = {d for d in normalize_dims(dim, len(shape)) if d < len(shape) and shape[d] == 1}
    return op_class.apply(input, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    expect_tensor(input, "unsqueeze", "input")
    return _unsqueezed(input, _normalize_dim(dim, input._data.ndim + 1))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one; with nothing to merge, ``input`` itself (as
    torch)."""
    expect_tensor(input, "flatten")
    shape = input._data.shape
    if not shape:
        return View.apply(input, shape=(1,))
    start, end = _normalize_dim(start_dim, len(shape)), _normalize_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = int(xp.prod(shape[start:end + 1], dtype=xp.int64))
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    expect_tensor(input, "unflatten", "input")
    shape = input._data.shape
    d = _normalize_dim(dim, len(shape))
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = _resolve_shape(sizes, shape[d], (shape[d],), "unflatten")
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({shape[d]}) in the input tensor of shape "
                           f"{list(shape)}") from None
    return View.apply(input, shape=shape[:d] + sizes + shape[d + 1:])


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view ``input[..., start:start + length]`` along ``dim``."""
    expect_tensor(input, "narrow", "input")
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _normalize_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    start, length = int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative (got {length}).")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Slice.apply(input, index=(slice(None),) * d + (slice(start, start + length),))


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each a view without that dimension."""
    expect_tensor(input, "unbind")
    return Unbind.apply(input, dim=_dim_of_nonscalar(dim, input._data.ndim))


def split(input: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of given sizes."""
    expect_tensor(input, "split", "input")
    d = _dim_of_nonscalar(dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sizes = [min(step, size - start) for start in range(0, size, step)] if size else [0]
        op_class = Split
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
        op_class = SplitWithSizes
    return op_class.apply(input, sizes=tuple(int(s) for s in sizes), dim=d)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size along ``dim`` (the last may be smaller)."""
    expect_tensor(input, "chunk", "input")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _dim_of_nonscalar(dim, input._data.ndim)
    size = input._data.shape[d]
    if size == 0:
        return split(input, [0] * chunks, d)  # torch gives `chunks` empty pieces
    return split(input, -(-size // chunks), d)


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]``: ints, slices, None, Ellipsis, integer and bool tensors.

    As torch, each int, slice and None is one view op (select, slice, unsqueeze) applied in
    turn, then all tensor indices make one ``index`` op; so where an int and a tensor index are
    separated by a slice, the result's dims follow torch, not NumPy.
    """
    items = _convert_index(index, input._data)
    if isinstance(index, slice):  # torch: a lone slice gives a new view even when it is ':'
        return Slice.apply(input, index=items)
    result, dim = input, 0
    tensor_indices = {}  # dim of the intermediate result -> integer or bool array
    specified = sum(_dims_consumed(item) for item in items)
    for item in items:
        if item is Ellipsis:
            dim += input._data.ndim - specified
        elif isinstance(item, int) and not isinstance(item, bool):
            result = Select.apply(result, index=(slice(None),) * dim + (item,))
        elif isinstance(item, slice):
            if item.indices(result._data.shape[dim]) != (0, result._data.shape[dim], 1):
                result = Slice.apply(result, index=(slice(None),) * dim + (item,))
            dim += 1
        elif item is None:
            result = _unsqueezed(result, dim)
            dim += 1
        elif isinstance(item, bool) or item.ndim == 0:  # a bool scalar: a new dim, kept or not
            result = _unsqueezed(result, dim)
            tensor_indices[dim] = xp.array([bool(item)])
            dim += 1
        else:
            tensor_indices[dim] = item
            dim += item.ndim if _dtype.is_bool(item.dtype) else 1
    if tensor_indices:
        full, d = [], 0
        while d <= max(tensor_indices):
            item = tensor_indices.get(d, slice(None))
            full.append(item)
            d += item.ndim if is_array(item) and _dtype.is_bool(item.dtype) else 1
        return Index.apply(result, index=tuple(full))
    if result is input:
        return Alias.apply(input, shape=input._data.shape)
    return result


def _dims_consumed(item) -> int:
    """How many dims of the indexed tensor an index item addresses."""
    if item is None or item is Ellipsis or isinstance(item, bool):
        return 0
    if is_array(item) and _dtype.is_bool(item.dtype):
        return item.ndim
    return 1


def _unsqueezed(tensor: Tensor, dim: int) -> Tensor:
    shape = tensor._data.shape
    return Unsqueeze.apply(tensor, shape=shape[:dim] + (1,) + shape[dim:])


def _check_put_shape(indexed: xp.ndarray, index: tuple, values) -> None:
    if not isinstance(values, Tensor):
        return
    target = xp.empty(indexed.shape, dtype=bool, like=indexed)[index].shape
    try:
        xp.broadcast_to(values._data, target)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot "
                           f"be broadcast to indexing result of shape {list(target)}") from None


def index_put(input: Tensor, index, values, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[index] = values`` (or ``+=`` with ``accumulate``)."""
    expect_tensor(input, "index_put", "input")
    index = _convert_index(index, input._data)
    values = _as_operand(values)
    _check_put_shape(input._data, index, values)
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        values = cast(values, input.dtype)
    op_class = IndexPut if isinstance(values, Tensor) or values == 0 else IndexPutConstant
    return op_class.apply(input, values, index=index, accumulate=accumulate)


def _setitem(self: Tensor, index, value) -> None:
    """``tensor[index] = value``: in place, differentiable for non-leaf tensors.

    As torch: with ints, slices and None only, a copy into the view ``tensor[index]`` (recorded
    as CopySlices); with tensor indices, ``index_put_``.
    """
    converted = _convert_index(index, self._data)
    value = _as_operand(value)
    if isinstance(value, Tensor):  # torch drops the value's leading size-1 dims first
        shape = value._data.shape
        lead = next((i for i, size in enumerate(shape) if size != 1), len(shape))
        if lead:
            value = View.apply(value, shape=shape[lead:])
    _check_put_shape(self._data, converted, value)
    value_requires_grad = isinstance(value, Tensor) and value.requires_grad
    base = self._base
    if not (STATE.enabled and (self.requires_grad or value_requires_grad or (
            base is not None and base._requires_grad))):  # nothing to record: write directly
        self._data[converted] = value._data if isinstance(value, Tensor) else value
        self._version_counter[0] += 1
        return
    if _is_basic(converted) and not any(isinstance(item, bool) for item in converted):
        getitem(self, index).copy_(value)  # a bool scalar index makes getitem copy
        return

    def write(array):
        array[converted] = value._data if isinstance(value, Tensor) else value

    self._apply_inplace(lambda v: index_put(v, index, value), "__setitem__", (value,),
                        direct=write)


def _index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    return self._apply_inplace(lambda v: index_put(v, tuple(indices), values, accumulate),
                               "index_put_", (values,))


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"Tensor; pass a list or tuple of tensors")
    tensors = list(tensors)
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{op}(): expected a sequence of Tensors, but element {position} is "
                            f"{type(tensor).__name__}")
    return tensors


def _promoted(tensors: list) -> list:
    if all(t._data.dtype == tensors[0]._data.dtype for t in tensors):
        return tensors
    return promote(*tensors)[0]


def cat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Concatenate along an existing dimension, promoting dtypes as torch.

    As torch, 1-D empty tensors are skipped whatever their partners' shapes. Derivative: each
    input gets its slice of the gradient.

    Example::

        cat([ones(2, 3), zeros(2, 1)], dim=1).shape  # Size([2, 4])
    """
    if axis is not None:
        dim = axis
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for position, tensor in enumerate(tensors):
        if tensor._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be "
                               f"concatenated; unsqueeze it to 1-D first, or use stack()")
    kept = [(i, x._data.shape) for i, x in enumerate(tensors) if not _skipped_by_cat(x.shape)]
    d = 0
    if kept:
        reference = kept[0][1]
        d = _normalize_dim(dim, len(reference))
        for position, shape in kept[1:]:
            if len(shape) != len(reference):
                raise RuntimeError(f"Tensors must have same number of dimensions: got "
                                   f"{len(reference)} and {len(shape)} (shapes "
                                   f"{list(reference)} and {list(shape)} at positions "
                                   f"{kept[0][0]} and {position})")
            for axis_index, (expected, got) in enumerate(zip(reference, shape)):
                if axis_index != d and expected != got:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {d}. Expected size "
                        f"{expected} but got size {got} for tensor number {position} in the "
                        f"list (shapes {list(reference)} and {list(shape)}).")
    return Cat.apply(*_promoted(tensors), dim=d)


concatenate = concat = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``.

    Derivative: tensors[i] gets ``grad.select(dim, i)``.
    """
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for position, tensor in enumerate(tensors):
        if tensor._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(tensor.shape)} at entry "
                               f"{position}")
    d = _normalize_dim(dim, len(shape) + 1)
    return Stack.apply(*_promoted(tensors), dim=d)


def _at_least(tensor: Tensor, ndim: int) -> Tensor:
    """torch's atleast_1d / atleast_2d: a 0-d tensor becomes (1,), a 1-D one (1, n) for 2."""
    shape = tensor._data.shape
    if len(shape) >= ndim:
        return tensor
    return View.apply(tensor, shape=(1,) * (ndim - len(shape)) + shape)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-D inputs, else along dim 1."""
    tensors = [_at_least(t, 1) for t in _tensor_list(tensors, "hstack")]
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise (1-D inputs become rows)."""
    tensors = [_at_least(t, 2) for t in _tensor_list(tensors, "vstack")]
    if not tensors:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat(tensors, 0)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dimension (leading sizes add dimensions).

    Unlike ``numpy.repeat`` this copies the whole tensor, as ``numpy.tile``.
    """
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    repeats = _shape_arg(sizes, "repeat", "repeats")
    shape = input._data.shape
    if len(repeats) < len(shape):
        raise RuntimeError(f"Number of dimensions of repeat dims can not be smaller than number "
                           f"of dimensions of tensor (got {len(repeats)} repeats for shape "
                           f"{list(shape)}): give one count per dimension, or use tile(), which "
                           f"pads the counts with 1s")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    target = [r * s for r, s in zip(repeats, padded)]
    negative = [r for r in repeats if r < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(n for n in target if n < 0)}: {target} (repeat counts must be "
                           f"non-negative, got {list(repeats)})")
    return Repeat.apply(input, repeats=repeats)


def tile(input: Tensor, *dims) -> Tensor:
    """``repeat`` with the counts padded on the left with 1s up to the tensor's dimensions."""
    expect_tensor(input, "tile")
    dims = _shape_arg(dims, "tile", "dims")
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


def flip(input: Tensor, *dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as torch)."""
    expect_tensor(input, "flip")
    dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    ndim = input._data.ndim
    dims = normalize_dims(dims, ndim)
    return Flip.apply(input, dims=dims if ndim else ())


def fliplr(input: Tensor) -> Tensor:
    """Flip left/right: along dim 1."""
    expect_tensor(input, "fliplr")
    if input._data.ndim < 2:
        raise RuntimeError(f"Input must be >= 2-d (fliplr got shape {list(input.shape)}).")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Flip up/down: along dim 0."""
    expect_tensor(input, "flipud")
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d (flipud got a 0-d tensor).")
    return flip(input, (0,))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements circularly along ``dims``; with ``dims=None`` along the flattened tensor.

    Example::

        roll(arange(4), 1)  # tensor([3, 0, 1, 2])
    """
    expect_tensor(input, "roll", "input")
    shifts = (int(shifts),) if isinstance(shifts, numbers.Integral) else tuple(shifts)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:0 (give one dim per shift, or one shift to roll the "
                               f"flattened tensor)")
        return Roll.apply(input, shifts=shifts[0], dims=None)
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    dims = tuple(_dim_of_nonscalar(d, input._data.ndim) for d in dims)
    return Roll.apply(input, shifts=shifts, dims=dims)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes as a view, moved to the last dimension;
    ``offset > 0`` is above the main diagonal."""
    expect_tensor(input, "diagonal")
    ndim = input._data.ndim
    d1, d2 = _normalize_dim(dim1, ndim), _normalize_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the ``diagonal``-th diagonal of a square matrix, or a copy of a matrix's
    ``diagonal``-th diagonal."""
    expect_tensor(input, "diag")
    ndim = input._data.ndim
    if ndim == 1:
        size = input._data.shape[0] + abs(diagonal)
        return DiagEmbed.apply(input, shape=(size, size), offset=diagonal, dim1=0, dim2=1)
    if ndim == 2:
        return Diagonal.apply(input, offset=diagonal, dim1=0, dim2=1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the last ``len(pad) // 2`` dimensions.

    ``pad`` lists (before, after) widths starting from the last dimension, as torch:
    ``(left, right, top, bottom)`` pads a 2-D image. Modes: ``'constant'`` (fill with
    ``value``), ``'reflect'`` (mirror without repeating the edge), ``'replicate'`` (repeat the
    edge) and ``'circular'`` (wrap around). Derivative: each output element's gradient goes to
    the input element it copies (summed where several copy one).

    Example::

        pad(ones(2, 3), (1, 1))  # shape (2, 5), zeros on the left and right
    """
    pad = tuple(pad)
    for position, width in enumerate(pad):
        if not isinstance(width, numbers.Integral) or isinstance(width, bool):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but "
                            f"found element of type {type(width).__name__} at pos {position}")
    shape = input._data.shape
    ndim = len(shape)
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2 (got {len(pad)}: {list(pad)})")
    if len(pad) > 2 * ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{ndim}")
    padded_count = len(pad) // 2
    first = ndim - padded_count
    widths = ((0, 0),) * first + tuple((int(pad[2 * i]), int(pad[2 * i + 1]))
                                       for i in reversed(range(padded_count)))
    if mode == "constant":
        for d, (size, (lo, hi)) in enumerate(zip(shape, widths)):
            if size + min(lo, 0) + min(hi, 0) < 0:
                raise RuntimeError(f"pad(): negative padding ({lo}, {hi}) crops more than the "
                                   f"size {size} of dimension {d} of the input of shape "
                                   f"{list(shape)}")
        value = 0 if value is None else value
        op_class = ConstantPadNd if value == 0 else ConstantPadNdValue
        return op_class.apply(input, widths=widths, value=value)
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode} (expected one of "
                                  f"{', '.join(_PAD_MODES)})")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if padded_count not in (1, 2, 3) or ndim - padded_count not in (1, 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {ndim}D input "
                                  f"tensor. Mode '{mode}' pads the last 1, 2 or 3 dimensions of "
                                  f"an input with 1 or 2 more (channel and batch) dimensions.")
    batch_dims = ndim - padded_count - 1  # 1 when a batch dimension leads, which may be empty
    if mode != "circular" and 0 in shape[batch_dims:]:
        raise RuntimeError(f"Expected {padded_count + 1}D or {padded_count + 2}D (batch mode) "
                           f"tensor with possibly 0 batch size and other non-zero dimensions "
                           f"for input, but got: {list(shape)} ({mode} padding copies from "
                           f"input elements, and an empty dimension has none)")
    sources = [_pad_sources(mode, size, lo, hi, d, input._data)
               for d, (size, (lo, hi)) in enumerate(zip(shape, widths)) if d >= first]
    op_class = _PAD_OPS.get((mode, padded_count), Index)  # torch's circular pad is composite
    return op_class.apply(input, index=(slice(None),) * first + xp.ix_(*sources))


def _pad_sources(mode: str, size: int, lo: int, hi: int, dim: int,
                 padded: xp.ndarray) -> xp.ndarray:
    """For each output position along ``dim`` of the ``padded`` array, the input position it
    copies."""
    shape = padded.shape
    out_size = size + lo + hi
    if mode in ("reflect", "replicate"):
        if mode == "reflect" and not (lo < size and hi < size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {dim} of input {list(shape)}")
        if out_size < 1:
            raise RuntimeError(f"input (size {size} at dimension {dim}) is too small for "
                               f"{mode} padding ({lo}, {hi}). Calculated output size: "
                               f"{out_size}")
        position = xp.arange(out_size, like=padded) - lo
        if mode == "replicate":
            return xp.clip(position, 0, size - 1)
        position = xp.abs(position)
        return xp.where(position >= size, 2 * (size - 1) - position, position)
    # circular: torch wraps within what remains after any negative (cropping) widths
    cropped_lo, cropped_hi = max(-lo, 0), max(-hi, 0)
    core = size - cropped_lo - cropped_hi
    if out_size < 0:
        raise RuntimeError(f"Negative padding value is resulting in an empty dimension "
                           f"(padding ({lo}, {hi}) of dimension {dim} with size {size}).")
    if max(lo, 0) > core or max(hi, 0) > core:
        raise RuntimeError(f"Padding value causes wrapping around more than once (circular "
                           f"padding ({lo}, {hi}) of dimension {dim} with size {size}).")
    if out_size == 0:
        return xp.zeros(0, dtype=xp.int64, like=padded)
    return cropped_lo + (xp.arange(out_size, like=padded) - max(lo, 0)) % core


def _size_dims(self: Tensor) -> tuple:
    return tuple(range(self._data.ndim))


def _reversed_dims(self: Tensor) -> Tensor:
    """``tensor.T``: all dimensions reversed (torch deprecates it beyond 2-D)."""
    if self._data.ndim not in (0, 2):
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                      "shape is deprecated and it will throw an error in a future release. "
                      "Consider `x.mT` to transpose batches of matrices or `x.permute(*torch."
                      "arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
                      UserWarning, stacklevel=2)
    return permute(self, tuple(reversed(_size_dims(self))))


def _matrix_transpose(self: Tensor) -> Tensor:
    """``tensor.mT``: transpose the last two dimensions."""
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "contiguous": contiguous,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "permute": permute,
    "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "t": t,
    "movedim": movedim, "moveaxis": movedim, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "flatten": flatten, "unflatten": unflatten, "narrow": narrow, "unbind": unbind,
    "split": split, "chunk": chunk, "index_put": index_put, "index_put_": _index_put_,
    "repeat": repeat, "tile": tile, "flip": flip, "fliplr": fliplr, "flipud": flipud,
    "roll": roll, "diagonal": diagonal, "diag": diag,
    "__getitem__": getitem, "__setitem__": _setitem,
    "T": property(_reversed_dims), "mT": property(_matrix_transpose),
}
