"""Pooling and resampling: max_pool1d/2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d
and interpolate (nearest, linear, bilinear).

Windows are strided views of the (padded) input, or a plain reshape where they tile it. Each op
comes with its adjoint, and the two are each other's backward, so derivatives of any order work:
max pooling gathers at the argmax and scatters back there (the first maximum of a window on
ties, the last NaN over everything, as torch); average pooling sums windows and spreads back
over them; resampling applies one matrix per spatial dim and its transpose.
"""
from __future__ import annotations

import functools
import itertools
import math
import numbers

from leafgrad._backend import xp
from leafgrad._dtype import is_floating_point
from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import depends_on, int_tuple
from leafgrad.ops.conv import pad_spatial, scatter_windows, window_view
from leafgrad.ops.elementwise import _zero_where

__all__ = ["max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "interpolate"]


# -- arguments -------------------------------------------------------------------------------
def _pool_param(value, n: int, name: str, op: str) -> tuple:
    items = int_tuple(value, n)
    if items is None:
        kind = "a single int, or a tuple of two ints" if n == 2 else "a single int"
        raise RuntimeError(f"{op}: {name} must either be {kind} (got {value!r})")
    return items


def _pooled_input(op: str, input: Tensor, spatial: int) -> tuple:
    """The input with a batch dim (added for an unbatched input), and whether one was added."""
    expect_tensor(input, op)
    if input.ndim not in (spatial + 1, spatial + 2) or any(
            s == 0 for s in input.shape[-spatial - 1:]):
        raise RuntimeError(f"{op}: non-empty {spatial + 1}D or {spatial + 2}D (batch mode) "
                           f"tensor expected for input, but got input of size "
                           f"{list(input.shape)}")
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    return input, False


def _pool_geometry(op: str, input: Tensor, kernel, stride, padding, dilation,
                   ceil_mode: bool) -> tuple:
    """(kernel, stride, padding, dilation, output size) for the batched ``input``, checked as
    torch checks them."""
    size = tuple(input.shape[2:])
    n = len(size)
    kernel = _pool_param(kernel, n, "kernel_size", op)
    stride = kernel if stride is None or (not isinstance(stride, int) and not stride) else \
        _pool_param(stride, n, "stride", op)
    padding = _pool_param(padding, n, "padding", op)
    dilation = _pool_param(dilation, n, "dilation", op)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride should not be zero (got {list(stride)})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got {list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
        if p > k // 2:  # torch bounds the padding by half the kernel size, dilated or not
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size "
                               f"(torch's bound, whatever the dilation), but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    output = []
    for i, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = i + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= i + p:  # the last window must start inside the input
            o -= 1
        output.append(o)
    if any(o <= 0 for o in output):
        channels = input.shape[1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (channels,) + size))}). "
                           f"Calculated output size: "
                           f"({'x'.join(map(str, (channels,) + tuple(output)))}). Output size "
                           f"is too small")
    return kernel, stride, padding, dilation, tuple(output)


def _padding_to_cover(size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                      dilation: tuple, output: tuple) -> tuple:
    """``(lo, hi)`` per dim: ``padding`` on both sides, more on the high side where a ceil_mode
    window reaches past it."""
    return tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - i - p))
                 for i, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, output))


# -- max pooling -----------------------------------------------------------------------------
def _flat_index(coords: list, size: tuple) -> xp.ndarray:
    """Row-major flat indices into ``size`` from one coordinate array per dim."""
    index = coords[0]
    for c, s in zip(coords[1:], size[1:]):
        index = index * s + c
    return index


def _scan_maximum(candidates, may_hold_nan: bool) -> tuple:
    """(values, indices) of the maximum over ``(values, index, inside)`` candidates (the
    windows' elements at one kernel position each, as strided views: no copy), scanned in
    order as torch scans a window: ``val > max || isnan(val)``, so the first maximum wins ties
    and the last NaN wins over everything. ``inside`` (None: everywhere) marks the windows
    where the element is part of the input rather than padding: an input element then
    replaces a padding one even when equal (an input of -inf), so that every index points
    into the input, as torch's (which never visits the padding)."""
    candidates = iter(candidates)
    first, index, inside = next(candidates)
    values = first.copy()
    indices = xp.array(xp.broadcast_to(index, values.shape), dtype=xp.int64)
    real = None if inside is None else xp.array(xp.broadcast_to(inside, values.shape))
    for candidate, index, inside in candidates:
        wins = candidate > values
        if may_hold_nan:
            wins |= xp.isnan(candidate)
        if real is not None:
            wins |= inside & ~real
            real |= wins
        xp.copyto(values, candidate, where=wins)
        xp.copyto(indices, index, where=wins)
    return values, indices


def _may_hold_nan(x: xp.ndarray) -> bool:
    """False when ``x`` surely holds no NaN: its sum is a NaN otherwise (a reduction without a
    temporary, cheaper than the NaN tests it saves; inf - inf only takes the careful path)."""
    return is_floating_point(x.dtype) and bool(xp.isnan(x.sum()))


class MaxPoolWithIndices(Op):
    """self: grad put at the argmax of each window (summed where windows share one)"""

    abstract = True  # applied as MaxPool1D/2DWithIndices, AdaptiveMaxPool2D(Tiled)
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, output_size, return_indices=True):
        ctx.input_shape = x.shape
        size = x.shape[2:]
        if kernel == stride and not any(padding) and all(d == 1 for d in dilation) and all(
                o * k <= i for o, k, i in zip(output_size, kernel, size)):
            values, positions = _tiled_maximum(x, kernel, output_size, _may_hold_nan(x))
            # backward needs only each maximum's place in its window: a small integer, not
            # torch's int64 flat index (made only when asked for)
            ctx.kernel, ctx.positions = kernel, positions
            if not return_indices:
                return values
            return values, _flat_index(_window_coordinates(positions, kernel), size)
        fill = -xp.inf if is_floating_point(x.dtype) else xp.iinfo(x.dtype).min
        pads = _padding_to_cover(size, kernel, stride, padding, dilation, output_size)
        windows = window_view(pad_spatial(x, pads, fill), kernel, stride, dilation, output_size)
        spatial = len(kernel)
        # flat input index of each window's first element, and of each kernel position in it
        starts = [(xp.arange(o, like=x) * s - p).reshape((o,) + (1,) * (spatial - 1 - axis))
                  for axis, (o, s, p) in enumerate(zip(output_size, stride, padding))]
        first = _flat_index(starts, size)
        # the padding matters only where the input holds the fill value itself
        padded = any(padding) and x.size and x.min() == fill

        def inside(position):
            if not padded:
                return None
            masks = [(start + i * d >= 0) & (start + i * d < extent) for start, i, d, extent
                     in zip(starts, position, dilation, size)]
            return functools.reduce(xp.logical_and, masks)

        head = (slice(None), slice(None))
        candidates = ((windows[head + position],
                       _flat_index([i * d for i, d in zip(position, dilation)], size),
                       inside(position))
                      for position in itertools.product(*(range(k) for k in kernel)))
        values, offsets = _scan_maximum(candidates, _may_hold_nan(x))
        indices = first + offsets
        overlapping = any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
        _remember_indices(ctx, indices, overlapping)
        return (values, indices) if return_indices else values

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        (x,) = ctx.saved_tensors  # read by torch's max_pool2d_with_indices_backward
        if ctx.positions is not None:
            grad_input = ScatterToWindows.apply(grad, input_shape=ctx.input_shape,
                                                kernel=ctx.kernel, positions=ctx.positions)
        else:
            grad_input = ScatterToIndices.apply(grad, input_shape=ctx.input_shape,
                                                indices=ctx.indices, overlapping=ctx.overlapping)
        return depends_on(grad_input, x)


def _remember_indices(ctx, indices: xp.ndarray, overlapping: bool) -> None:
    ctx.positions, ctx.indices, ctx.overlapping = None, indices, overlapping


# -- windows that tile the input (stride = kernel, no padding or dilation) -------------------
def _split_dim(array: xp.ndarray, dim: int, count: int, size: int) -> xp.ndarray:
    """A view of ``array`` with dim ``dim`` split into (count, size), dropping any rest."""
    step = array.strides[dim]
    return xp.lib.stride_tricks.as_strided(
        array, array.shape[:dim] + (count, size) + array.shape[dim + 1:],
        array.strides[:dim] + (step * size, step) + array.strides[dim + 1:], writeable=False)


def _scan_candidates(candidates: list, may_hold_nan: bool, dtype) -> tuple:
    """(values, positions) of the maximum over ``candidates``, scanned in order as torch scans
    a window (``val > max || isnan(val)``: the first maximum wins ties, the last NaN wins
    over everything); NaN propagates through ``maximum`` to the values."""
    values = positions = None
    for number, candidate in enumerate(candidates[1:], 1):
        current = candidates[0] if values is None else values
        wins = candidate > current
        if may_hold_nan:
            wins |= xp.isnan(candidate)
        if positions is None:
            positions = wins.astype(dtype)
            values = xp.maximum(current, candidate)
        else:
            xp.copyto(positions, number, where=wins)
            xp.maximum(values, candidate, out=values)
    if values is None:  # a window of one element
        return xp.array(candidates[0]), xp.zeros(candidates[0].shape, dtype, like=candidates[0])
    return values, positions


def _tiled_maximum(x: xp.ndarray, kernel: tuple, output_size: tuple,
                   may_hold_nan: bool) -> tuple:
    """(values, positions) of max pooling over windows that tile ``x`` from its start, with
    each maximum's row-major position in its window, in the smallest unsigned dtype.

    The maximum is taken over the window's last dim first, then over the dims before it, so
    that each pass runs over whole rows (strided views, no copies) instead of element by
    element; this picks torch's winner: within a row the first maximum or the last NaN, and a
    later row replaces an earlier one only with a greater value or a NaN."""
    dtype = xp.min_scalar_type(math.prod(kernel) - 1)
    values, positions, inner = x, None, 1
    for axis in reversed(range(len(kernel))):
        dim, count, size = 2 + axis, output_size[axis], kernel[axis]
        rows = _split_dim(values, dim, count, size)
        head = (slice(None),) * (dim + 1)
        values, won = _scan_candidates([rows[head + (i,)] for i in range(size)],
                                       may_hold_nan, dtype)
        if positions is not None:  # the winning row's positions, then this dim's share
            earlier = _split_dim(positions, dim, count, size)
            first = earlier[head + (0,)]
            chosen = first.copy()
            for i in range(1, size):  # selected by arithmetic, much faster than copyto(where=)
                step = earlier[head + (i,)] - first  # (modulo 2**bits: the sum ends in range)
                step *= won == i
                chosen += step
            won = chosen + won * dtype.type(inner)
        positions = won
        inner *= size
    # (the passes keep the input's memory order: a permuted input would give a permuted output,
    # where torch's is contiguous)
    return xp.ascontiguousarray(values), positions


def _window_coordinates(positions: xp.ndarray, kernel: tuple) -> list:
    """The input coordinates (one int64 array per spatial dim) of row-major window
    ``positions`` in windows that tile the input."""
    coordinates, inner = [], math.prod(kernel)
    spatial = len(kernel)
    for axis, k in enumerate(kernel):
        inner //= k
        within = positions // inner % k if inner > 1 else positions % k
        start = (xp.arange(positions.shape[2 + axis], like=positions) * k).reshape(
            (-1,) + (1,) * (spatial - 1 - axis))
        coordinates.append(start + within.astype(xp.int64))
    return coordinates


def _tile_view(array: xp.ndarray, kernel: tuple, output_size: tuple,
               writeable: bool = False) -> xp.ndarray:
    """A (N, C, o1, k1, o2, k2, ...) view of the windows that tile ``array`` (N, C, ...)."""
    shape, strides = array.shape[:2], array.strides[:2]
    for o, k, step in zip(output_size, kernel, array.strides[2:]):
        shape += (o, k)
        strides += (step * k, step)
    return xp.lib.stride_tricks.as_strided(array, shape, strides, writeable=writeable)


def _kernel_positions(kernel: tuple):
    """(row-major number, index into ``_tile_view``) of each position in a window."""
    for number, position in enumerate(itertools.product(*(range(k) for k in kernel))):
        yield number, (slice(None),) * 2 + tuple(
            item for p in position for item in (slice(None), p))


class ScatterToWindows(Op):
    """grad: grad gathered at the window positions"""

    linear = True

    @staticmethod
    def forward(ctx, grad, input_shape, kernel, positions):
        ctx.input_shape, ctx.kernel, ctx.positions = input_shape, kernel, positions
        # (rows past the last window get 0)
        out = xp.zeros(input_shape, dtype=grad.dtype, like=grad)
        tiles = _tile_view(out, kernel, positions.shape[2:], writeable=True)
        # a bitwise select: exact for inf and nan, +0.0 elsewhere (as torch), and fast
        for number, index in _kernel_positions(kernel):
            xp.copyto(tiles[index], _zero_where(positions != number, grad))
        return out

    @staticmethod
    def backward(ctx, grad):
        return GatherFromWindows.apply(grad, kernel=ctx.kernel, positions=ctx.positions)


class GatherFromWindows(Op):
    """self: grad put at the window positions"""

    linear = True

    @staticmethod
    def forward(ctx, x, kernel, positions):
        ctx.input_shape, ctx.kernel, ctx.positions = x.shape, kernel, positions
        tiles = _tile_view(x, kernel, positions.shape[2:])
        out = xp.empty(positions.shape, dtype=x.dtype, like=x)
        for number, index in _kernel_positions(kernel):
            xp.copyto(out, tiles[index], where=positions == number)
        return out

    @staticmethod
    def backward(ctx, grad):
        return ScatterToWindows.apply(grad, input_shape=ctx.input_shape, kernel=ctx.kernel,
                                      positions=ctx.positions)


class MaxPool1DWithIndices(MaxPoolWithIndices):
    """self: grad put at the argmax of each window (summed where windows share one)"""


class MaxPool2DWithIndices(MaxPoolWithIndices):
    """self: grad put at the argmax of each window (summed where windows share one)"""


class AdaptiveMaxPool2D(MaxPoolWithIndices):
    """self: grad put at the argmax of each window (summed where windows share one)"""

    @staticmethod
    def forward(ctx, x, output_size, return_indices=True):
        size = x.shape[2:]
        # windows [floor(o * i / out), ceil((o + 1) * i / out)); shorter ones repeat their last
        # element, which changes neither the maximum nor its index
        rows = []
        for i, o in zip(size, output_size):
            starts = (xp.arange(o, like=x) * i) // o
            ends = -((-(xp.arange(o, like=x) + 1) * i) // o)
            span = int((ends - starts).max())
            rows.append(xp.minimum(starts[:, None] + xp.arange(span, like=x), ends[:, None] - 1))
        height, width = rows
        windows = x[:, :, height[:, None, :, None], width[None, :, None, :]]  # N C oh ow kh kw
        candidates = ((windows[..., i, j], height[:, i, None] * size[1] + width[None, :, j],
                       None) for i in range(height.shape[1]) for j in range(width.shape[1]))
        values, indices = _scan_maximum(candidates, _may_hold_nan(x))
        ctx.input_shape = x.shape
        _remember_indices(ctx, indices, True)
        return (values, indices) if return_indices else values


class ScatterToIndices(Op):
    """grad: grad gathered at the indices"""

    linear = True

    @staticmethod
    def forward(ctx, grad, input_shape, indices, overlapping):
        ctx.input_shape, ctx.indices, ctx.overlapping = input_shape, indices, overlapping
        rows, positions = math.prod(input_shape[:2]), math.prod(indices.shape[2:])
        out = xp.zeros((rows, math.prod(input_shape[2:])), dtype=grad.dtype, like=grad)
        where = (xp.arange(rows, like=grad)[:, None], indices.reshape(rows, positions))
        if overlapping:  # windows may share a maximum: accumulate
            xp.add.at(out, where, grad.reshape(rows, positions))
        else:
            out[where] = grad.reshape(rows, positions)
        return out.reshape(input_shape)

    @staticmethod
    def backward(ctx, grad):
        return GatherAtIndices.apply(grad, input_shape=ctx.input_shape, indices=ctx.indices,
                                     overlapping=ctx.overlapping)


class GatherAtIndices(Op):
    """self: grad scattered (summed) to the indices"""

    linear = True

    @staticmethod
    def forward(ctx, x, input_shape, indices, overlapping):
        ctx.input_shape, ctx.indices, ctx.overlapping = input_shape, indices, overlapping
        rows = math.prod(input_shape[:2])
        gathered = xp.take_along_axis(x.reshape(rows, math.prod(input_shape[2:])),
                                      indices.reshape(rows, math.prod(indices.shape[2:])),
                                      axis=1)
        return gathered.reshape(indices.shape)

    @staticmethod
    def backward(ctx, grad):
        return ScatterToIndices.apply(grad, input_shape=ctx.input_shape, indices=ctx.indices,
                                      overlapping=ctx.overlapping)


def _max_pool(op: str, op_class: type, spatial: int, input: Tensor, kernel_size, stride,
              padding, dilation, ceil_mode: bool, return_indices: bool):
    input, unbatched = _pooled_input(op, input, spatial)
    kernel, stride, padding, dilation, output = _pool_geometry(
        op, input, kernel_size, stride, padding, dilation, ceil_mode)
    out = op_class.apply(input, kernel=kernel, stride=stride, padding=padding,
                         dilation=dilation, output_size=output, return_indices=return_indices)
    if unbatched:
        out = tuple(o.squeeze(0) for o in out) if return_indices else out.squeeze(0)
    return out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling of ``input`` (N, C, L) or (C, L); ``stride`` defaults to
    ``kernel_size``, padding counts as -inf. With ``return_indices`` also the (int64) position
    of each maximum along L. The gradient goes to the first maximum of each window.

    Example::

        max_pool1d(tensor([[[1., 3., 2., 0.]]]), 2)  # [[[3., 2.]]]
    """
    return _max_pool("max_pool1d", MaxPool1DWithIndices, 1, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling of ``input`` (N, C, H, W) or (C, H, W), as torch: ``stride`` defaults
    to ``kernel_size``, padding counts as -inf, ``ceil_mode`` keeps partial windows at the end.
    With ``return_indices`` also the flat position ``h * W + w`` of each maximum (int64). The
    gradient goes to the first maximum of each window (a NaN counts as the maximum).

    Example::

        max_pool2d(arange(16.).reshape(1, 1, 4, 4), 2)  # [[[[5., 7.], [13., 15.]]]]
    """
    return _max_pool("max_pool2d", MaxPool2DWithIndices, 2, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


# -- average pooling -------------------------------------------------------------------------
def _tiles(size: tuple, kernel: tuple, stride: tuple, pads: tuple) -> bool:
    """Whether the windows tile the input exactly, so that a reshape gives them."""
    return kernel == stride and not any(lo or hi for lo, hi in pads) and all(
        i % k == 0 for i, k in zip(size, kernel))


def _tiled_shape(shape: tuple, kernel: tuple) -> tuple:
    """(N, C, o1, k1, o2, k2, ...) for a tiled input of ``shape``."""
    return shape[:2] + tuple(d for i, k in zip(shape[2:], kernel) for d in (i // k, k))


class AvgPool(Op):
    """self: avg_pool_backward(grad): each window's grad / divisor spread back over it"""

    linear = True  # zero padding, and the divisors are constants

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, output_size, scale):
        ctx.kernel, ctx.stride, ctx.pads, ctx.scale = kernel, stride, pads, scale
        ctx.output_size, ctx.input_size = output_size, x.shape[2:]
        spatial = len(kernel)
        if _tiles(x.shape[2:], kernel, stride, pads):
            sums = x.reshape(_tiled_shape(x.shape, kernel)).sum(
                axis=tuple(range(3, 3 + 2 * spatial, 2)))
        else:
            sums = window_view(pad_spatial(x, pads), kernel, stride, (1,) * spatial,
                               output_size).sum(axis=tuple(range(2, 2 + spatial)))
        return (sums * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        grad_input = AvgPoolBackward.apply(grad, kernel=ctx.kernel, stride=ctx.stride,
                                           pads=ctx.pads, input_size=ctx.input_size,
                                           scale=ctx.scale)
        return depends_on(grad_input, *ctx.saved_tensors)


class AvgPoolBackward(Op):
    """grad_output: avg_pool(grad)"""

    linear = True

    @staticmethod
    def forward(ctx, grad, kernel, stride, pads, input_size, scale):
        ctx.kernel, ctx.stride, ctx.pads, ctx.scale = kernel, stride, pads, scale
        ctx.output_size, ctx.input_size = grad.shape[2:], input_size
        share = (grad * scale).astype(grad.dtype, copy=False)
        spatial = len(kernel)
        n, c = grad.shape[:2]
        if _tiles(input_size, kernel, stride, pads):
            spread = xp.expand_dims(share, tuple(range(3, 3 + 2 * spatial, 2)))
            shape = _tiled_shape((n, c) + tuple(input_size), kernel)
            return xp.broadcast_to(spread, shape).reshape((n, c) + tuple(input_size))
        cols = xp.broadcast_to(xp.expand_dims(share, tuple(range(2, 2 + spatial))),
                               (n, c) + tuple(kernel) + share.shape[2:])
        return scatter_windows(cols, tuple(input_size), kernel, stride, (1,) * spatial, pads,
                               share.shape[2:])

    @staticmethod
    def backward(ctx, grad):
        return AvgPool.apply(grad, kernel=ctx.kernel, stride=ctx.stride, pads=ctx.pads,
                             output_size=ctx.output_size, scale=ctx.scale)


# The public functions' nodes keep the input: torch's backward reads it (see depends_on).
class AvgPool2D(AvgPool):
    """self: avg_pool_backward(grad): each window's grad / divisor spread back over it"""

    saved_inputs = (0,)


class AdaptiveAvgPool2D(AvgPool):
    """self: each window's grad / its size spread back over it"""

    saved_inputs = (0,)


def _window_counts(size: int, kernel: int, stride: int, pad: int, output: int,
                   count_include_pad: bool, like: xp.ndarray) -> xp.ndarray:
    """How many elements torch divides each window's sum by, along one dim (an array made
    ``like`` the input)."""
    start = xp.arange(output, like=like) * stride - pad
    end = xp.minimum(start + kernel, size + pad)  # padding counts, the ceil_mode overhang not
    if not count_include_pad:
        start, end = xp.maximum(start, 0), xp.minimum(end, size)
    return end - start


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling of ``input`` (N, C, H, W) or (C, H, W), as torch: zero padding,
    counted in the divisor unless ``count_include_pad=False``; ``divisor_override`` replaces
    the divisor.

    Example::

        avg_pool2d(ones(1, 1, 4, 4), 2)  # all ones, shape (1, 1, 2, 2)
    """
    op = "avg_pool2d"
    input, unbatched = _pooled_input(op, input, 2)
    size = tuple(input.shape[2:])
    kernel, stride, padding, _, output = _pool_geometry(op, input, kernel_size, stride,
                                                        padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if not is_floating_point(input._data.dtype):
        raise NotImplementedError(f'"avg_pool2d" not implemented for {input.dtype}: convert '
                                  f'the input with .float()')
    if divisor_override is not None:
        scale = xp.asarray(1.0 / divisor_override, like=input._data)
    else:
        counts = [_window_counts(i, k, s, p, o, count_include_pad, input._data)
                  for i, k, s, p, o in zip(size, kernel, stride, padding, output)]
        scale = 1.0 / xp.multiply.outer(*counts)
    pads = _padding_to_cover(size, kernel, stride, padding, (1, 1), output)
    out = AvgPool2D.apply(input, kernel=kernel, stride=stride, pads=pads, output_size=output,
                          scale=scale.astype(input._data.dtype))
    return out.squeeze(0) if unbatched else out


# -- adaptive pooling ------------------------------------------------------------------------
def _adaptive_input(op: str, input: Tensor, output_size) -> tuple:
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError(f"{op}(): Expected 3D or 4D tensor with non-zero sizes in the last "
                           f"two dims, but got {list(input.shape)}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    items = (output_size, output_size) if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(items) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair (got {output_size!r})")
    size = tuple(input.shape[2:])
    output = tuple(i if o is None else int(o) for i, o in zip(size, items))
    if any(o < 0 for o in output):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(output)}")
    return input, unbatched, size, output


def _averaging_matrix(size: int, output: int, like: xp.ndarray) -> xp.ndarray:
    """(output, size) in the dtype of ``like``: row o averages the window
    [floor(o*size/output), ceil((o+1)*size/output))."""
    starts = (xp.arange(output, like=like) * size) // output
    ends = -((-(xp.arange(output, like=like) + 1) * size) // output)
    positions = xp.arange(size, like=like)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(like.dtype)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed ``output_size`` (an int, a pair; None keeps that dim): output
    cell ``o`` averages input rows ``[floor(o * H / out), ceil((o + 1) * H / out))``.

    Example::

        adaptive_avg_pool2d(randn(2, 16, 7, 7), 1).shape  # (2, 16, 1, 1)
    """
    expect_tensor(input, "adaptive_avg_pool2d", "input")
    op = "adaptive_avg_pool2d"
    input, unbatched, size, output = _adaptive_input(op, input, output_size)
    if not is_floating_point(input._data.dtype):
        raise NotImplementedError(f'"adaptive_avg_pool2d" not implemented for {input.dtype}')
    if output == (1, 1):  # a mean over the spatial dims, as torch computes it
        out = input.mean(dim=(-2, -1), keepdim=True)
    elif all(o and i % o == 0 for i, o in zip(size, output)):  # the windows tile the input
        kernel = tuple(i // o for i, o in zip(size, output))
        out = AdaptiveAvgPool2D.apply(input, kernel=kernel, stride=kernel, pads=((0, 0),) * 2,
                                      output_size=output,
                                      scale=xp.asarray(1.0 / math.prod(kernel),
                                                       dtype=input._data.dtype,
                                                       like=input._data))
    else:
        matrices = tuple(_averaging_matrix(i, o, input._data) for i, o in zip(size, output))
        out = AdaptiveAvgPool2DResample.apply(input, matrices=matrices)
    return out.squeeze(0) if unbatched else out


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed ``output_size`` (windows as in ``adaptive_avg_pool2d``); with
    ``return_indices`` also the flat position ``h * W + w`` of each maximum.

    Example::

        adaptive_max_pool2d(randn(1, 3, 7, 5), (2, 2)).shape  # (1, 3, 2, 2)
    """
    expect_tensor(input, "adaptive_max_pool2d", "input")
    op = "adaptive_max_pool2d"
    input, unbatched, size, output = _adaptive_input(op, input, output_size)
    if 0 in output:
        raise RuntimeError(f"{op}(): output_size must be positive, but got {list(output)}")
    if all(i % o == 0 for i, o in zip(size, output)):  # the windows tile the input
        kernel = tuple(i // o for i, o in zip(size, output))
        out = AdaptiveMaxPool2DTiled.apply(input, kernel=kernel, stride=kernel, padding=(0, 0),
                                           dilation=(1, 1), output_size=output,
                                           return_indices=return_indices)
    else:
        out = AdaptiveMaxPool2D.apply(input, output_size=output, return_indices=return_indices)
    if unbatched:
        out = tuple(o.squeeze(0) for o in out) if return_indices else out.squeeze(0)
    return out


class AdaptiveMaxPool2DTiled(MaxPoolWithIndices):
    """self: grad put at the argmax of each window"""

    node_name = "AdaptiveMaxPool2DBackward0"


# -- resampling ------------------------------------------------------------------------------
class Resample(Op):
    """self: resample(grad) with each matrix transposed (the map is linear in self)"""

    linear = True

    @staticmethod
    def forward(ctx, x, matrices):
        ctx.matrices = matrices
        out = x
        for axis, matrix in enumerate(matrices, start=2):
            moved = xp.moveaxis(out, axis, -1)
            mapped = moved.reshape(-1, moved.shape[-1]) @ matrix.T
            out = xp.moveaxis(mapped.reshape(moved.shape[:-1] + (matrix.shape[0],)), -1, axis)
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        grad_input = Resample.apply(grad, matrices=tuple(m.T for m in ctx.matrices))
        return depends_on(grad_input, *ctx.saved_tensors)


class AdaptiveAvgPool2DResample(Resample):
    """self: each window's grad / its size spread back over it"""

    node_name = "AdaptiveAvgPool2DBackward0"
    saved_inputs = (0,)  # read by torch's backward (see depends_on); upsampling's is not


# interpolate's modes and the spatial dims each takes: 'linear' is 3-D input only, 'bilinear' 4-D
_RESAMPLE_NODES = {(mode, n): type(f"Upsample{name}{n}D", (Resample,), {
    "__doc__": "self: the transposed interpolation of grad", "__module__": __name__})
    for mode, name, spatial in (("nearest", "Nearest", (1, 2)), ("linear", "Linear", (1,)),
                                ("bilinear", "Bilinear", (2,)))
    for n in spatial}

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _nearest_matrix(size: int, output: int, scale: float, like: xp.ndarray) -> xp.ndarray:
    """(output, size) in the dtype of ``like``: a 1 at the source of each output position."""
    # torch computes the source index in float32: min(floor(dst * scale), size - 1)
    source = xp.floor(xp.arange(output, dtype=xp.float32, like=like)
                      * xp.float32(scale)).astype(xp.int64)
    matrix = xp.zeros((output, size), dtype=like.dtype, like=like)
    matrix[xp.arange(output, like=like), xp.minimum(source, size - 1)] = 1
    return matrix


def _linear_matrix(size: int, output: int, scale: float | None, align_corners: bool,
                   like: xp.ndarray) -> xp.ndarray:
    """(output, size) in the dtype of ``like``: torch's linear interpolation weights along one
    dim."""
    dtype = like.dtype
    dst = xp.arange(output, dtype=dtype, like=like)
    if align_corners:
        source = dst * ((size - 1) / (output - 1) if output > 1 else 0.0)
    else:
        source = xp.maximum((dst + 0.5) * dtype.type(scale) - 0.5, 0)
    low = source.astype(xp.int64)
    high = xp.minimum(low + 1, size - 1)
    weight_high = (source - low).astype(dtype)
    matrix = xp.zeros((output, size), dtype=dtype, like=like)
    rows = xp.arange(output, like=like)
    matrix[rows, low] += 1 - weight_high
    matrix[rows, high] += weight_high
    return matrix


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by
    ``scale_factor``, as torch: ``'nearest'`` copies ``floor(dst * in / out)``, ``'linear'``
    (3-D input) and ``'bilinear'`` (4-D) interpolate, at pixel centres unless
    ``align_corners=True``. A given ``scale_factor`` sets the source positions unless
    ``recompute_scale_factor=True``.

    Example::

        interpolate(ones(1, 1, 2, 2), scale_factor=2, mode='bilinear').shape  # (1, 1, 4, 4)
    """
    expect_tensor(input, "interpolate")
    if mode not in _MODES or input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    if mode in ("bicubic", "trilinear", "area", "nearest-exact") or input.ndim == 5 or antialias:
        raise NotImplementedError(f"interpolate: mode '{mode}' on a {input.ndim}D input"
                                  f"{' with antialias' if antialias else ''} is not supported "
                                  f"by leafgrad yet: use 'nearest', 'linear' (3D) or "
                                  f"'bilinear' (4D)")
    spatial = input.ndim - 2
    wanted = {"linear": 3, "bilinear": 4}.get(mode)
    if wanted is not None and input.ndim != wanted:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wanted}D "
                                  f"input")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    align_corners = bool(align_corners)
    in_size = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined" if size is None else
                         "only one of size or scale_factor should be defined")
    scales = None
    if size is not None:
        sizes = (size,) * spatial if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and output size of {size}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, "
                             f"o2, ...,oK) format.")
        out_size = tuple(int(s) for s in sizes)
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, numbers.Real) else \
            tuple(scale_factor)
        if len(factors) != spatial:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and scale_factor of shape {scale_factor}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             f"scale_factor in (s1, s2, ...,sK) format.")
        out_size = tuple(int(math.floor(i * float(f))) for i, f in zip(in_size, factors))
        if not recompute_scale_factor:
            scales = tuple(float(f) for f in factors)
    if any(o <= 0 for o in out_size):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"{tuple(in_size)} output {tuple(out_size)}")
    if not is_floating_point(input._data.dtype):
        raise NotImplementedError(f'"interpolate" is not implemented for {input.dtype} '
                                  f'tensors: convert the input with .float()')
    matrices = []
    for axis, (i, o) in enumerate(zip(in_size, out_size)):
        scale = 1.0 / scales[axis] if scales is not None else i / o
        if mode == "nearest":
            matrices.append(_nearest_matrix(i, o, scale, input._data))
        else:
            matrices.append(_linear_matrix(i, o, scale, align_corners, input._data))
    return _RESAMPLE_NODES[(mode, spatial)].apply(input, matrices=tuple(matrices))
