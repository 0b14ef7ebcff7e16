"""Reductions over all elements or over ``dim`` (an int or a tuple), with ``keepdim``."""
from __future__ import annotations

import numpy as np

from leafgrad._tensor import Tensor, _normalize_dim
from leafgrad.autograd.function import Op

__all__ = ["sum", "mean"]


def normalize_dims(dim, ndim: int) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes, or None for all of them."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None  # torch: an empty dim list reduces over everything
    normalized = tuple(sorted(_normalize_dim(d, ndim) for d in dims))
    if len(set(normalized)) != len(normalized):
        raise RuntimeError(f"dim {list(dims)} appears multiple times in the list of dims")
    return normalized


def kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    """The shape of a reduction's result with ``keepdim=True``."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Op):
    """self: grad expanded back to self's shape"""

    @staticmethod
    def forward(ctx, a, axes, keepdim, np_dtype):
        ctx.input_shape = a.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        if a.dtype == np.float16:  # accumulate half precision in float32, as torch
            return np.sum(a, axis=axes, keepdims=keepdim, dtype=np.float32).astype(np.float16)
        return np.asarray(np.sum(a, axis=axes, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = grad.reshape(kept_shape(ctx.input_shape, ctx.axes))
        return grad.expand(ctx.input_shape)


class Mean(Op):
    """self: grad / n expanded back to self's shape"""

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.input_shape = a.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.count = int(np.prod([a.shape[i] for i in axes])) if axes is not None else a.size
        with np.errstate(invalid="ignore", divide="ignore"):
            if a.dtype == np.float16:
                return np.mean(a, axis=axes, keepdims=keepdim, dtype=np.float32).astype(a.dtype)
            return np.asarray(np.mean(a, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = grad.reshape(kept_shape(ctx.input_shape, ctx.axes))
        return (grad / ctx.count).expand(ctx.input_shape)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over all elements or over ``dim``; integer and bool tensors sum to int64."""
    axes = normalize_dims(dim, input._data.ndim)
    if dtype is not None:
        input = input.to(dtype)
    np_dtype = np.int64 if input._data.dtype.kind in "biu" else None
    return Sum.apply(input, axes=axes, keepdim=keepdim, np_dtype=np_dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over all elements or over ``dim`` (floating tensors only)."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype}. Convert it "
                           f"with .float() or pass dtype=")
    axes = normalize_dims(dim, input._data.ndim)
    return Mean.apply(input, axes=axes, keepdim=keepdim)


TENSOR_METHODS = {"sum": sum, "mean": mean}
