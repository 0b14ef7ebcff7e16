"""Reductions over all elements or over ``dim`` (an int or a tuple) with ``keepdim``, the scans
(cumsum, cumprod) and the normalisations along one dim (softmax, log_softmax, logsumexp).

Each op states its derivative in its docstring, derivatives.yaml style. Where torch picks one
gradient among several (ties of max and amax, the 2-norm and std at 0, prod and cumprod at
zeros), the rule says which and matches it.
"""
from __future__ import annotations

import builtins
import collections
import math
import numbers
import warnings

from leafgrad import _dtype
from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _normalize_dim, _wrap
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops.elementwise import (
    MulConstant,
    Where,
    cast,
    maximum,
    minimum,
    sign,
    where,
)
from leafgrad.ops.shape import GetItem, normalize_dims

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
           "norm", "logsumexp", "softmax", "log_softmax", "cumsum", "cumprod", "all", "any"]


# -- helpers ---------------------------------------------------------------------------------
def reduction_axes(dim, ndim: int) -> tuple | None:
    """The axes a reduction over ``dim`` combines, sorted, or None for all of them: no ``dim``,
    an empty one (torch then reduces everything) or a 0-dim tensor (whose valid dims 0 and -1
    leave nothing to reduce)."""
    if dim is None:
        return None
    axes = normalize_dims(dim, ndim)
    return tuple(sorted(axes)) if axes and ndim else None


def kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    """The shape of a reduction's result with ``keepdim=True``."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _reduced_count(shape: tuple, axes: tuple | None) -> int:
    """How many input elements each output element of a reduction over ``axes`` combines."""
    sizes = shape if axes is None else [shape[i] for i in axes]
    return int(xp.prod(sizes, dtype=xp.int64))


def _remember_reduction(ctx, a: xp.ndarray, axes: tuple | None, keepdim: bool) -> None:
    ctx.input_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim


def _unreduce(tensor: Tensor, ctx) -> Tensor:
    """A reduction's result (or its gradient) with the reduced dims back as size 1."""
    if ctx.keepdim:
        return tensor
    return tensor.reshape(kept_shape(ctx.input_shape, ctx.axes))


def _unreduce_array(array: xp.ndarray, ctx) -> xp.ndarray:
    return array if ctx.keepdim else array.reshape(kept_shape(ctx.input_shape, ctx.axes))


def _check_nonempty(name: str, input: Tensor, axes: tuple | None,
                    whole_error: type = RuntimeError) -> None:
    """Reductions without an identity (max, min, argmax...) refuse empty slices, as torch (which
    raises ``whole_error`` for an empty tensor reduced whole, IndexError for an empty dim)."""
    shape = input._data.shape
    if axes is None and input._data.size == 0:
        raise whole_error(f"{name}(): Expected reduction dim to be specified for input.numel() "
                          f"== 0. Specify the reduction dim with the 'dim' argument.")
    for axis in axes or ():
        if shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size "
                             f"(input shape {list(shape)}): an empty slice has no {name}; "
                             f"reduce over a non-empty dim")


def _accumulation_input(input: Tensor, dtype) -> Tensor:
    """``input`` cast to ``dtype``, else integer and bool tensors to int64 (torch's rule for
    prod, cumsum and cumprod)."""
    if dtype is not None:
        return cast(input, dtype)
    if _dtype.is_integral(input._data.dtype, include_bool=True):
        return cast(input, _dtype.int64)
    return input


def _flip(x: Tensor, dim: int) -> Tensor:
    """``x`` reversed along ``dim`` (differentiable)."""
    return GetItem.apply(x, index=(slice(None),) * dim + (slice(None, None, -1),))


def _reverse_cumsum(x: Tensor, dim: int) -> Tensor:
    """result_k = sum_{j >= k} x_j along ``dim``."""
    return _flip(cumsum(_flip(x, dim), dim), dim)


# -- sum, mean, prod -------------------------------------------------------------------------
class Sum(Op):
    """self: grad expanded back to self's shape"""

    linear = True

    @staticmethod
    def forward(ctx, a, axes, keepdim, np_dtype):
        _remember_reduction(ctx, a, axes, keepdim)
        if a.dtype == xp.float16:  # accumulate half precision in float32, as torch
            return xp.sum(a, axis=axes, keepdims=keepdim, dtype=xp.float32).astype(xp.float16)
        return xp.asarray(xp.sum(a, axis=axes, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        return _unreduce(grad, ctx).expand(ctx.input_shape)


class Mean(Op):
    """self: grad / n expanded back to self's shape"""

    linear = True

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.count = _reduced_count(a.shape, axes)
        accumulator = xp.float32 if a.dtype == xp.float16 else a.dtype
        with xp.errstate(invalid="ignore"):  # the mean of an empty slice is NaN, as torch
            total = xp.sum(a, axis=axes, keepdims=keepdim, dtype=accumulator)
            return xp.asarray(total / ctx.count).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # A count of 0 means an empty input, whose (empty) gradient needs no division.
        return (_unreduce(grad, ctx) / builtins.max(ctx.count, 1)).expand(ctx.input_shape)


class Prod(Op):
    """self: grad * result / self where self has no zeros, else grad * (the product of the
    other elements), from exclusive cumulative products: exact at zeros, and differentiable"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, axis, keepdim):
        _remember_reduction(ctx, a, None if axis is None else (axis,), keepdim)
        return xp.asarray(xp.prod(a, axis=axis, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        if a.ndim == 0:  # torch passes grad on as it is
            return grad
        grad = _unreduce(grad, ctx)
        if not xp.any(a._data == 0):
            return grad * (_unreduce(result, ctx) / a)
        if _reduced_count(ctx.input_shape, ctx.axes) == 1:  # torch: grad as it is, then too
            return grad
        if ctx.axes is None:
            return grad * _product_of_others(a.reshape(-1), 0).reshape(ctx.input_shape)
        return grad * _product_of_others(a, ctx.axes[0])


def _product_of_others(x: Tensor, dim: int) -> Tensor:
    """prod_{i != k} x_i along ``dim`` for every k: the products of the elements before k times
    those after k, without division (torch's prod_safe_zeros_backward)."""
    shift = {"dim": dim, "steps": 1, "fill": 1}
    before = cumprod(ShiftAlongDim.apply(x, **shift), dim)
    after = _flip(cumprod(ShiftAlongDim.apply(_flip(x, dim), **shift), dim), dim)
    return before * after


class ShiftAlongDim(Op):
    """self: grad shifted back by ``steps`` (the elements pushed out get no gradient)"""

    @staticmethod
    def forward(ctx, a, dim, steps, fill):
        ctx.dim, ctx.steps = dim, steps
        size = a.shape[dim]
        kept = builtins.max(size - abs(steps), 0)
        source = slice(0, kept) if steps > 0 else slice(size - kept, size)
        target = slice(size - kept, size) if steps > 0 else slice(0, kept)
        head = (slice(None),) * dim
        out = xp.full_like(a, fill)
        out[head + (target,)] = a[head + (source,)]
        return out

    @staticmethod
    def backward(ctx, grad):
        return ShiftAlongDim.apply(grad, dim=ctx.dim, steps=-ctx.steps, fill=0)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over all elements or over ``dim``; integer and bool tensors sum to int64."""
    expect_tensor(input, "sum")
    axes = reduction_axes(dim, input._data.ndim)
    if dtype is not None:
        input = input.to(dtype)
    np_dtype = xp.int64 if _dtype.is_integral(input._data.dtype, include_bool=True) else None
    return Sum.apply(input, axes=axes, keepdim=keepdim, np_dtype=np_dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over all elements or over ``dim`` (floating tensors only)."""
    expect_tensor(input, "mean")
    if dtype is not None:
        input = input.to(dtype)
    if not _dtype.is_floating_point(input._data.dtype):
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype}. Convert it "
                           f"with .float() or pass dtype=")
    axes = reduction_axes(dim, input._data.ndim)
    return Mean.apply(input, axes=axes, keepdim=keepdim)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along one ``dim``; integer and bool tensors give int64.

    Example::

        >>> leafgrad.tensor([[1., 2.], [3., 4.]]).prod(1)
        tensor([ 2., 12.])
    """
    expect_tensor(input, "prod")
    if dim is not None and not isinstance(dim, numbers.Integral):
        raise TypeError(f"prod(): dim must be a single int, got {type(dim).__name__}; reduce "
                        f"one dim at a time, or flatten the dims first")
    input = _accumulation_input(input, dtype)
    axes = reduction_axes(dim, input._data.ndim)
    return Prod.apply(input, axis=None if axes is None else axes[0], keepdim=keepdim)


# -- max, min, amax, amin, argmax, argmin ----------------------------------------------------
class Amax(Op):
    """self: grad split evenly among the elements equal to the result in each reduced slice"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim, nan_is_extremum=False):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.nan_is_extremum = nan_is_extremum
        return xp.asarray(xp.max(a, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        result = _unreduce_array(result._data, ctx)
        winners = a._data == result
        if ctx.nan_is_extremum:  # max()/min(): a NaN result is attained at the NaN inputs
            winners |= xp.isnan(a._data) & xp.isnan(result)
        with xp.errstate(invalid="ignore"):  # amax over a NaN slice: 0/0, NaN grads as torch
            share = winners / xp.sum(winners, axis=ctx.axes, keepdims=True)
        return MulConstant.apply(_unreduce(grad, ctx), factor=share.astype(grad._data.dtype))


class Amin(Amax):
    """self: grad split evenly among the elements equal to the result in each reduced slice"""

    @staticmethod
    def forward(ctx, a, axes, keepdim, nan_is_extremum=False):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.nan_is_extremum = nan_is_extremum
        return xp.asarray(xp.min(a, axis=axes, keepdims=keepdim))


class Max(Op):
    """self: grad put at the returned index of each slice (only there, unlike amax)"""

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        return _select_along(ctx, a, dim, keepdim, xp.argmax)

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        if ctx.indices is None:
            return grad_values
        if not ctx.keepdim:
            grad_values = grad_values.unsqueeze(ctx.dim)
        return PutAlongDim.apply(grad_values, indices=ctx.indices, dim=ctx.dim,
                                 shape=ctx.input_shape)


class Min(Max):
    """self: grad put at the returned index of each slice (only there, unlike amin)"""

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        return _select_along(ctx, a, dim, keepdim, xp.argmin)


def _select_along(ctx, a: xp.ndarray, dim: int, keepdim: bool, arg_reduce) -> tuple:
    """(values, int64 indices) of the first extremum of each slice along ``dim``."""
    ctx.input_shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
    if a.ndim == 0:
        ctx.indices = None
        return a.copy(), xp.zeros((), dtype=xp.int64, like=a)
    indices = xp.expand_dims(arg_reduce(a, axis=dim), dim).astype(xp.int64, copy=False)
    ctx.indices = indices
    values = xp.take_along_axis(a, indices, axis=dim)
    if keepdim:
        return values, indices
    return values.squeeze(dim), indices.squeeze(dim)


class TakeAlongDim(Op):
    """self: zeros with grad put back at the indices"""

    linear = True

    @staticmethod
    def forward(ctx, a, indices, dim):
        ctx.input_shape, ctx.indices, ctx.dim = a.shape, indices, dim
        return xp.take_along_axis(a, indices, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return PutAlongDim.apply(grad, indices=ctx.indices, dim=ctx.dim, shape=ctx.input_shape)


class PutAlongDim(Op):
    """values: grad taken at the indices (distinct along dim, as max and min give them)"""

    linear = True

    @staticmethod
    def forward(ctx, values, indices, dim, shape):
        ctx.indices, ctx.dim = indices, dim
        out = xp.zeros(shape, dtype=values.dtype, like=values)
        xp.put_along_axis(out, indices, values, axis=dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        return TakeAlongDim.apply(grad, indices=ctx.indices, dim=ctx.dim)


def _values_indices(name: str) -> type:
    """A named (values, indices) pair, as ``torch.return_types.<name>``."""
    def __repr__(self):
        return f"torch.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
    base = collections.namedtuple(name, ["values", "indices"])
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "leafgrad.return_types"})


_RETURN_TYPES = {name: _values_indices(name) for name in ("max", "min")}


def _extremum(name: str, input: Tensor, dim, keepdim: bool, other, reduce_all, select_along,
              elementwise):
    """The three forms torch overloads max and min with: whole, along one dim, elementwise."""
    if isinstance(dim, Tensor):
        dim, other = None, dim
    if other is not None:
        return elementwise(input, other)
    if dim is None:
        _check_nonempty(name, input, None)
        return reduce_all.apply(input, axes=None, keepdim=False, nan_is_extremum=True)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{name}(): dim must be an int or the other argument a Tensor, got "
                        f"{type(dim).__name__}; use a{name}() to reduce several dims")
    axis = _normalize_dim(dim, input._data.ndim)
    if input._data.ndim:
        _check_nonempty(name, input, (axis,))
    values, indices = select_along.apply(input, dim=axis, keepdim=keepdim)
    return _RETURN_TYPES[name](values, indices)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """The largest element; with ``dim``, the pair ``(values, indices)`` along it; with a tensor
    as second argument, the elementwise :func:`maximum`.

    ``max(x)`` splits the gradient evenly among tied maxima; ``max(x, dim)`` sends it only to
    the returned (first) index, as torch.

    Example::

        >>> values, indices = leafgrad.tensor([[1., 5.], [7., 2.]]).max(dim=1)
        >>> indices
        tensor([1, 0])
    """
    expect_tensor(input, "max")
    return _extremum("max", input, dim, keepdim, other, Amax, Max, maximum)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """The smallest element; with ``dim``, ``(values, indices)``; with a tensor, :func:`minimum`.
    Gradients as :func:`max`."""
    expect_tensor(input, "min")
    return _extremum("min", input, dim, keepdim, other, Amin, Min, minimum)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (an int or a tuple; all dims by default); tied maxima share the
    gradient evenly."""
    expect_tensor(input, "amax")
    axes = reduction_axes(dim, input._data.ndim)
    _check_nonempty("amax", input, axes)
    return Amax.apply(input, axes=axes, keepdim=keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (an int or a tuple; all dims by default); tied minima share the
    gradient evenly."""
    expect_tensor(input, "amin")
    axes = reduction_axes(dim, input._data.ndim)
    _check_nonempty("amin", input, axes)
    return Amin.apply(input, axes=axes, keepdim=keepdim)


class Argmax(Op):
    """not differentiable: the int64 index of the first maximum along ``axis`` (None: in the
    flattened array, shaped as the reduction's result)"""

    differentiable = False

    @staticmethod
    def forward(ctx, a, axis, keepdim):
        return _arg_reduce(xp.argmax, a, axis, keepdim)


class Argmin(Op):
    """not differentiable: the int64 index of the first minimum (as :class:`Argmax`)"""

    differentiable = False

    @staticmethod
    def forward(ctx, a, axis, keepdim):
        return _arg_reduce(xp.argmin, a, axis, keepdim)


def _arg_reduce(arg_reduce, a: xp.ndarray, axis: int | None, keepdim: bool) -> xp.ndarray:
    if axis is None:  # the index into the flattened array
        shape = (1,) * a.ndim if keepdim else ()
        return xp.full(shape, arg_reduce(a), dtype=xp.int64, like=a)
    if a.ndim == 0:
        return xp.zeros((), dtype=xp.int64, like=a)
    return arg_reduce(a, axis=axis, keepdims=keepdim).astype(xp.int64)


def _arg_extremum(name: str, op_class: type, input: Tensor, dim, keepdim: bool) -> Tensor:
    data = input._data
    if _dtype.is_bool(data.dtype):
        raise RuntimeError(f"{name}(): does not support bool input; convert it with .int() first")
    if dim is None:
        _check_nonempty(name, input, None, whole_error=IndexError)
        return op_class.apply(input, axis=None, keepdim=keepdim)
    axis = _normalize_dim(dim, data.ndim)
    if data.ndim:
        _check_nonempty(name, input, (axis,))
    return op_class.apply(input, axis=axis, keepdim=keepdim)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first maximum, in the flattened tensor when ``dim`` is None."""
    expect_tensor(input, "argmax")
    return _arg_extremum("argmax", Argmax, input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first minimum, in the flattened tensor when ``dim`` is None."""
    expect_tensor(input, "argmin")
    return _arg_extremum("argmin", Argmin, input, dim, keepdim)


# -- var, std, norm --------------------------------------------------------------------------
def _variance(a: xp.ndarray, axes: tuple | None, keepdim: bool, correction) -> xp.ndarray:
    """sum((a - mean)^2) / max(0, N - correction): two passes, as NumPy's var."""
    count = _reduced_count(a.shape, axes)
    with xp.errstate(divide="ignore", invalid="ignore"):  # no degrees of freedom: inf or NaN
        centered = a - xp.sum(a, axis=axes, keepdims=True) / count
        squares = xp.sum(centered * centered, axis=axes, keepdims=keepdim)
        return xp.asarray(squares / builtins.max(0, count - correction)).astype(a.dtype)


def _var_backward(grad: Tensor, a: Tensor, ctx) -> Tensor:
    """torch's var_backward (grad with kept dims): grad * 2 / (N - correction) * (self - mean).

    Without degrees of freedom torch has two rules, matched here. Over all elements (no dim,
    or a 0-dim input) with N - correction <= 0: grad * (NaN where self == mean, else +inf), a
    constant factor. Along dims, N - correction is used as it is: 2 / 0 = inf (so +-inf, or
    NaN where self == mean), and a negative count gives a finite factor of the other sign.
    """
    dof = _reduced_count(ctx.input_shape, ctx.axes) - ctx.correction
    if ctx.whole and dof <= 0:
        mean = xp.mean(a._data, axis=ctx.axes, keepdims=True)
        factor = xp.where(a._data == mean, xp.nan, xp.inf).astype(a._data.dtype)
        return MulConstant.apply(grad, factor=factor)
    with xp.errstate(invalid="ignore"):  # inf * 0 where self == mean: NaN, as torch
        return grad * (2.0 / dof if dof else math.inf) * (a - a.mean(dim=ctx.axes, keepdim=True))


class Var(Op):
    """self: grad * 2 * (self - mean(self)) / (N - correction)  (see _var_backward for no
    degrees of freedom)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, axes, keepdim, correction, whole):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.correction, ctx.whole = correction, whole
        return _variance(a, axes, keepdim, correction)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _var_backward(_unreduce(grad, ctx), a, ctx)


class Std(Op):
    """self: var_backward(grad / (2 * result)), with grad / (2 * result) taken as 0 where result
    is 0 (a constant slice: torch masks the 1 / result factor there)"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim, correction, whole):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.correction, ctx.whole = correction, whole
        return xp.sqrt(_variance(a, axes, keepdim, correction))

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        result = _unreduce(result, ctx)
        zero = result._data == 0
        grad_var = where(zero, 0.0, _unreduce(grad, ctx) / (2 * where(zero, 1.0, result)))
        return _var_backward(grad_var, a, ctx)


def _variance_args(name: str, input: Tensor, dim, unbiased, correction) -> tuple:
    """(axes, correction, whole) from torch's two signatures: ``correction=`` or the legacy
    ``unbiased`` flag (positional too: ``var(x, True)``, ``var(x, 1, True, True)``). ``whole``:
    no dim was given (or the input is 0-dim), which torch's backward treats apart."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{name}(): unbiased was given twice (the first positional bool is "
                            f"unbiased)")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): pass either correction or the legacy unbiased flag, not both")
    if not _dtype.is_floating_point(input._data.dtype):
        raise RuntimeError(f"std and var only support floating point and complex dtypes: "
                           f"{name}() got a {input.dtype} tensor; convert it with .float()")
    if unbiased is not None:
        correction = 1 if unbiased else 0
    elif correction is None:
        correction = 1
    axes = reduction_axes(dim, input._data.ndim)
    if _reduced_count(input._data.shape, axes) - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      f"less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return axes, correction, dim is None or input._data.ndim == 0


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over all elements or ``dim``: sum((x - mean)^2) / max(0, N - correction).

    ``correction`` defaults to 1 (Bessel's correction); ``unbiased=False`` means correction 0.

    Example::

        >>> leafgrad.tensor([1., 2., 3., 4.]).var(correction=0)
        tensor(1.2500)
    """
    expect_tensor(input, "var")
    axes, correction, whole = _variance_args("var", input, dim, unbiased, correction)
    return Var.apply(input, axes=axes, keepdim=keepdim, correction=correction, whole=whole)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation: the square root of :func:`var` (same arguments)."""
    expect_tensor(input, "std")
    axes, correction, whole = _variance_args("std", input, dim, unbiased, correction)
    return Std.apply(input, axes=axes, keepdim=keepdim, correction=correction, whole=whole)


class LinalgVectorNorm(Op):
    """p = 2: grad * self / result (0 where result is 0);  p = 1: grad * sign(self);
    p = +-inf: grad * sign(self) split evenly among the |self| equal to result;
    p = 0: no gradient (None, as torch);
    other p: grad * sign(self) * |self|^(p-1) / result^(p-1) (0 where result is 0)"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, p, axes, keepdim):
        _remember_reduction(ctx, a, axes, keepdim)
        ctx.p = p
        reduce = {"axis": axes, "keepdims": keepdim}
        if p == 2:
            return xp.asarray(xp.sqrt(xp.sum(a * a, **reduce)))
        magnitude = xp.abs(a)
        if p == 1:
            return xp.asarray(xp.sum(magnitude, **reduce))
        if p == math.inf:
            return xp.asarray(xp.max(magnitude, **reduce))
        if p == -math.inf:
            return xp.asarray(xp.min(magnitude, **reduce))
        if p == 0:
            return xp.asarray(xp.sum(a != 0, **reduce)).astype(a.dtype)
        return xp.asarray(xp.sum(magnitude ** p, **reduce) ** (1 / p))

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        p = ctx.p
        grad, result = _unreduce(grad, ctx), _unreduce(result, ctx)
        if p == 0:  # a count: torch gives no gradient at all (None), not zeros
            return None
        if p == 1:
            return grad * sign(a)
        if math.isinf(p):
            magnitude = xp.abs(a._data)
            winners = (magnitude == result._data) | xp.isnan(magnitude)
            share = winners / xp.sum(winners, axis=ctx.axes, keepdims=True)
            return MulConstant.apply(grad * sign(a), factor=share.astype(a._data.dtype))
        # torch masks the infinite or 0/0 factors at zeros with masked_fill, so the first
        # derivative there is 0; the masked factors are still in the graph, so the second
        # derivative there is NaN, as torch's.
        if p < 1:  # |self|^(p-1) is infinite where self is 0
            scaled = sign(a) * Where.apply(0.0, a.abs() ** (p - 1), condition=a._data == 0)
            return scaled * grad * result ** (1 - p)
        zero = result._data == 0  # the subgradient at a zero norm is 0
        if p == 2:
            return grad * Where.apply(0.0, a / result, condition=zero)
        scale = Where.apply(0.0, grad / result ** (p - 1), condition=zero)
        scaled = sign(a) * a.abs() ** (p - 1) if p < 2 else a * a.abs() ** (p - 2)
        return scaled * scale


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm over all elements or ``dim``: (sum |x|^p)^(1/p), with p a number,
    ``'fro'`` (2, also the default), ``inf`` (max |x|), ``-inf`` (min |x|) or 0 (the count of
    non-zeros). The gradient of the 2-norm at a zero vector is 0, as torch.

    Example::

        >>> leafgrad.tensor([3., 4.]).norm()
        tensor(5.)
    """
    expect_tensor(input, "norm")
    if dtype is not None:
        input = cast(input, dtype)
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm(p='nuc'): the nuclear norm needs singular values, "
                                      "which leafgrad does not compute; use p='fro' or a number")
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported: use 'fro', a "
                               f"number, inf or -inf")
        if dim is not None and not isinstance(dim, numbers.Integral) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {list(dim)}: "
                               f"'fro' takes at most two dims; use p=2 for more")
        p = 2.0
    elif p is None:
        p = 2.0
    if not _dtype.is_floating_point(input._data.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {input.dtype}; convert it with .float() or pass dtype=")
    axes = reduction_axes(dim, input._data.ndim)
    if math.isinf(p) and _reduced_count(input._data.shape, axes) == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty tensor "
                           f"because the operation does not have an identity (input shape "
                           f"{list(input.shape)}, dim {dim}); reduce over non-empty dims")
    return LinalgVectorNorm.apply(input, p=float(p), axes=axes, keepdim=keepdim)


# -- logsumexp, softmax, log_softmax ---------------------------------------------------------
def _stable_shift(a: xp.ndarray, axis) -> xp.ndarray:
    """The max along ``axis`` (kept dims), to subtract before exp; -inf for empty slices."""
    return xp.max(a, axis=axis, keepdims=True, initial=-xp.inf)


class Logsumexp(Op):
    """self: grad * exp(self - result)"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        _remember_reduction(ctx, a, axes, keepdim)
        peak = _stable_shift(a, axes)
        peak = xp.where(xp.isfinite(peak), peak, 0)  # an infinite max is not subtracted (torch)
        with xp.errstate(divide="ignore"):
            out = xp.log(xp.sum(xp.exp(a - peak), axis=axes, keepdims=True)) + peak
        return out if keepdim else xp.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        return _unreduce(grad, ctx) * (a - _unreduce(result, ctx)).exp()


class Softmax(Op):
    """self: result * (grad - sum(grad * result, dim))  (fused, from the saved output)"""

    saves_output = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        with xp.errstate(invalid="ignore"):  # a row of -inf gives nan, silently as torch
            exps = xp.exp(a - _stable_shift(a, axis))
            return exps / xp.sum(exps, axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return result * (grad - (grad * result).sum(dim=ctx.axis, keepdim=True))


class LogSoftmax(Op):
    """self: grad - exp(result) * sum(grad, dim)  (fused, from the saved output)"""

    saves_output = True

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        # log(0) for empty slices; a row of -inf gives nan, silently as torch
        with xp.errstate(divide="ignore", invalid="ignore"):
            shifted = a - _stable_shift(a, axis)
            return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad - result.exp() * grad.sum(dim=ctx.axis, keepdim=True)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed stably (the max is subtracted first); integer
    tensors give the default float dtype."""
    expect_tensor(input, "logsumexp", "input")
    if not _dtype.is_floating_point(input._data.dtype):
        input = cast(input, _dtype.get_default_dtype())
    return Logsumexp.apply(input, axes=reduction_axes(dim, input._data.ndim), keepdim=keepdim)


def _softmax_args(name: str, input: Tensor, dim, dtype) -> tuple:
    if dtype is not None:
        input = cast(input, dtype)
    if not _dtype.is_floating_point(input._data.dtype):
        raise NotImplementedError(f"{name}() is not implemented for {input.dtype} tensors: pass "
                                  f"dtype=leafgrad.float32 or convert the input with .float()")
    axis = _normalize_dim(dim, input._data.ndim)
    return input, (axis if input._data.ndim else None)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (the max is subtracted first, for stability);
    ``dtype`` casts the input before the computation.

    Example::

        >>> leafgrad.tensor([0., 0.]).softmax(0)
        tensor([0.5000, 0.5000])
    """
    expect_tensor(input, "softmax", "input")
    input, axis = _softmax_args("softmax", input, dim, dtype)
    return Softmax.apply(input, axis=axis)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``, computed stably; ``dtype`` casts the input first."""
    expect_tensor(input, "log_softmax", "input")
    input, axis = _softmax_args("log_softmax", input, dim, dtype)
    return LogSoftmax.apply(input, axis=axis)


# -- cumsum, cumprod -------------------------------------------------------------------------
class Cumsum(Op):
    """self: the reversed cumulative sum of grad along dim"""

    linear = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return a.copy() if a.ndim == 0 else xp.cumsum(a, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return grad if grad.ndim == 0 else _reverse_cumsum(grad, ctx.dim)


class Cumprod(Op):
    """self: reverse_cumsum(grad * result) / self where self has no zeros; with zeros the exact
    sum_{j >= k} grad_j * prod_{i <= j, i != k} self_i (torch's cumprod_backward)"""

    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return a.copy() if a.ndim == 0 else xp.cumprod(a, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        if a._data.size <= 1 or a._data.shape[ctx.dim] == 1:  # torch passes grad on as it is
            return grad
        if not xp.any(a._data == 0):
            return _reverse_cumsum(grad * result, ctx.dim) / a
        if is_grad_enabled():  # create_graph: a formula whose own derivative is exact
            return _cumprod_grad_differentiable(grad, a, ctx.dim)
        return _wrap(_cumprod_grad_at_zeros(grad._data, a._data, result._data, ctx.dim), False)


def _cumprod_grad_at_zeros(grad: xp.ndarray, a: xp.ndarray, result: xp.ndarray,
                           dim: int) -> xp.ndarray:
    """The cumprod gradient in O(n) where slices hold zeros. With z the first zero of a slice:
    k < z: sum_{j >= k} grad_j * result_j / a_k;  k = z: result_{z-1} * sum_{j >= z} grad_j *
    prod_{z < i <= j} a_i;  k > z: 0 (every product through a_k also holds a_z)."""
    zeros_so_far = xp.cumsum(a == 0, axis=dim)
    before_zero = zeros_so_far == 0
    first_zero = (a == 0) & (zeros_so_far == 1)
    weighted = xp.flip(xp.cumsum(xp.flip(grad * result, dim), axis=dim), dim)
    out = xp.where(before_zero, weighted / xp.where(before_zero, a, 1), 0)
    after_first_zero = (zeros_so_far >= 1) & ~first_zero
    partial = xp.cumprod(xp.where(after_first_zero, a, 1), axis=dim)
    tail = xp.sum(xp.where(zeros_so_far >= 1, grad * partial, 0), axis=dim, keepdims=True)
    head = xp.prod(xp.where(before_zero, a, 1), axis=dim, keepdims=True)
    return xp.where(first_zero, head * tail, out).astype(a.dtype, copy=False)


def _cumprod_grad_differentiable(grad: Tensor, a: Tensor, dim: int) -> Tensor:
    """sum_{j >= k} grad_j * prod_{i <= j, i != k} a_i with differentiable ops: row k of an
    (n, n) matrix is the slice with a_k replaced by 1, so its cumprod holds every partial
    product that omits a_k. O(n^2) per slice: only used to build a graph, as torch does."""
    moved = a.movedim(dim, -1)
    size = moved.shape[-1]
    omitted = cumprod(where(xp.eye(size, dtype=bool, like=a._data), 1.0, moved.unsqueeze(-2)), -1)
    from_k_on = xp.triu(xp.ones((size, size), dtype=bool, like=a._data))  # [k, j]: j >= k
    terms = where(from_k_on, omitted, 0.0) * grad.movedim(dim, -1).unsqueeze(-2)
    return terms.sum(-1).movedim(-1, dim)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``; integer and bool tensors accumulate in int64."""
    expect_tensor(input, "cumsum", "input")
    input = _accumulation_input(input, dtype)
    return Cumsum.apply(input, dim=_normalize_dim(dim, input._data.ndim))


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim``; integer and bool tensors accumulate in int64. The
    gradient is exact where the input holds zeros."""
    expect_tensor(input, "cumprod", "input")
    input = _accumulation_input(input, dtype)
    return Cumprod.apply(input, dim=_normalize_dim(dim, input._data.ndim))


# -- all, any --------------------------------------------------------------------------------
class All(Op):
    """not differentiable: whether every element (over ``axes``) is non-zero; bool, or uint8 for
    a uint8 input (as torch)"""

    differentiable = False

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        return _logical_reduce(xp.all, a, axes, keepdim)


class Any(Op):
    """not differentiable: whether some element (over ``axes``) is non-zero (as :class:`All`)"""

    differentiable = False

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        return _logical_reduce(xp.any, a, axes, keepdim)


def _logical_reduce(reduce, a: xp.ndarray, axes: tuple | None, keepdim: bool) -> xp.ndarray:
    result = xp.asarray(reduce(a, axis=axes, keepdims=keepdim))
    return result.astype(xp.uint8) if a.dtype == xp.uint8 else result


def _logical_axes(input: Tensor, dim) -> tuple | None:
    # torch: an empty dim tuple tests each element on its own here (unlike sum or amax)
    if isinstance(dim, (tuple, list)) and not dim:
        return ()
    return reduction_axes(dim, input._data.ndim)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (of all, or along ``dim``) is non-zero; uint8 in, uint8 out."""
    expect_tensor(input, "all")
    return All.apply(input, axes=_logical_axes(input, dim), keepdim=keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element (of all, or along ``dim``) is non-zero; uint8 in, uint8 out."""
    expect_tensor(input, "any")
    return Any.apply(input, axes=_logical_axes(input, dim), keepdim=keepdim)


TENSOR_METHODS = {
    "sum": sum, "mean": mean, "prod": prod, "max": max, "min": min, "amax": amax, "amin": amin,
    "argmax": argmax, "argmin": argmin, "var": var, "std": std, "norm": norm,
    "logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax, "cumsum": cumsum,
    "cumprod": cumprod, "all": all, "any": any,
}
