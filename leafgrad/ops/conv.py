"""Convolutions: conv1d, conv2d and conv_transpose2d, each one matrix product over an im2col view.

Three bilinear ops carry every derivative, each the adjoint of the others in one argument:

- ``Convolution(x, w)``: ``y[n, o, p] = sum_{c, k} w[o, c, k] * x_pad[n, c, p*stride + k*dilation]``
- ``ConvolutionTranspose(y, w)``: the same sum scattered back to ``x``'s shape (the input gradient)
- ``ConvolutionWeight(x, y)``: the same sum collected per ``w`` element (the weight gradient)

so the backward of each is written with the other two and derivatives of any order come free.
The windows are ``as_strided`` views (no Python loop over output positions); scattering back
(col2im) is one strided add per kernel position.
"""
from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

from leafgrad._backend import xp
from leafgrad._grad_state import STATE
from leafgrad._parallel import parallel_copyto, parallel_for
from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import depends_on, int_tuple, scalar_type

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]


# -- sliding windows (shared with pooling) ---------------------------------------------------
def pad_spatial(x: xp.ndarray, padding: tuple, value=0) -> xp.ndarray:
    """``x`` with its spatial dims (after N and C) padded by ``(lo, hi)`` each."""
    if not any(lo or hi for lo, hi in padding):
        return x
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding))
    out = xp.full(shape, value, dtype=x.dtype, like=x)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                           zip(x.shape[2:], padding))] = x
    return out


def window_view(x: xp.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                output_size: tuple, lead: int = 2) -> xp.ndarray:
    """A read-only view of ``x`` (``lead`` leading dims, the spatial dims, then any others)
    with kernel and output dims in place of the spatial ones:
    ``view[..., k, p, ...] = x[..., p * stride + k * dilation, ...]``."""
    end = lead + len(kernel)
    spatial = x.strides[lead:end]
    strides = (x.strides[:lead] + tuple(s * d for s, d in zip(spatial, dilation))
               + tuple(s * st for s, st in zip(spatial, stride)) + x.strides[end:])
    shape = x.shape[:lead] + tuple(kernel) + tuple(output_size) + x.shape[end:]
    return xp.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def scatter_windows(cols: xp.ndarray, size: tuple, kernel: tuple, stride: tuple,
                    dilation: tuple, padding: tuple, output_size: tuple,
                    lead: int = 2) -> xp.ndarray:
    """The adjoint of ``window_view`` over a padded input (col2im), straight into the unpadded
    one: ``out[..., p*stride + k*dilation - lo, ...] += cols[..., k, p, ...]`` for every kernel
    position ``k`` (one strided add each), dropping what falls on the padding. The spatial dims
    follow ``lead`` leading dims; any dims after them are carried along. A kernel position
    whose windows cover the whole input is copied in first instead of added to zeros."""
    head = (slice(None),) * lead
    places, full = [], None
    for k in itertools.product(*(range(n) for n in kernel)):
        source, target = [], []
        for i, s, d, (lo, _), o, extent in zip(k, stride, dilation, padding, output_size, size):
            first = max(0, -((i * d - lo) // s))  # the first window inside the input here
            last = min(o - 1, (extent - 1 + lo - i * d) // s)
            start = first * s + i * d - lo
            source.append(slice(first, last + 1))
            target.append(slice(start, start + (last - first) * s + 1, s))
        if any(sl.stop <= sl.start for sl in source):
            continue
        place = (head + k + tuple(source), head + tuple(target))
        if full is None and all(s == 1 and t.start == 0 and t.stop == extent
                                for s, t, extent in zip(stride, target, size)):
            full = place
        else:
            places.append(place)
    shape = cols.shape[:lead] + tuple(size) + cols.shape[lead + 2 * len(kernel):]
    out = (xp.zeros if full is None else xp.empty)(shape, dtype=cols.dtype, like=cols)

    def scatter(start: int, stop: int) -> None:  # rows of the first dim: the same sums
        part, part_cols = out[start:stop], cols[start:stop]
        if full is not None:
            part[...] = part_cols[full[0]]
        for source, target in places:
            part[target] += part_cols[source]

    # one add per kernel position in each chunk: on threads only where each add is large
    # (measured: 3x3 kernels over 9-18 MiB of columns gain, 5x5 over 4 MiB lose)
    parallel_for(shape[0], scatter, cols.nbytes,
                 min_bytes=_PARALLEL_BYTES_PER_ADD * (len(places) + 1))
    return out


_PARALLEL_BYTES_PER_ADD = 1 << 20


def expand_param(value, n: int, name: str, op: str) -> tuple:
    """A convolution's int or sequence of ``n`` ints (or of one) as a tuple of ``n`` ints."""
    items = int_tuple(value, n)
    if items is None:
        raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(value)}")
    return items


# -- the three ops -------------------------------------------------------------------------
class ConvGeometry(NamedTuple):
    """How a convolution's input (``input_size``) and output (``output_size``) spatial
    positions meet the kernel; ``padding`` holds ``(lo, hi)`` per spatial dim."""

    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int
    kernel: tuple
    input_size: tuple
    output_size: tuple


def _im2col(x: xp.ndarray, geometry: ConvGeometry) -> xp.ndarray:
    """The strided windows of padded ``x`` as ``(N, C, *kernel, *output_size)``."""
    return window_view(pad_spatial(x, geometry.padding), geometry.kernel, geometry.stride,
                       geometry.dilation, geometry.output_size)


def _contiguous(windows: xp.ndarray) -> xp.ndarray:
    """A C-contiguous copy of a window view, made on the intra-op threads (what ``reshape``
    would copy, one block of the first dim per chunk)."""
    if windows.flags.c_contiguous:
        return windows
    out = xp.empty(windows.shape, dtype=windows.dtype, like=windows)
    parallel_copyto(out, windows)
    return out


# The matrix products use one of two layouts. Batch first (the tensors' own): the products run
# per sample and need no transposes. Batch last, (C, *spatial, N): one product covers the
# batch, and every im2col copy and col2im add runs over rows of (output width * N) elements
# instead of (output width): faster where the images are small, though the input and output
# must be transposed (measured on the benchmark convnets: batch last wins up to 16x16 outputs,
# per sample from 28x28). The weight gradient sums per-sample products only when they are small.
_BATCH_LAST_BELOW = 512  # output positions per image


def _batch_last(geometry: ConvGeometry) -> bool:
    return math.prod(geometry.output_size) < _BATCH_LAST_BELOW


def _padded_batch_last(x: xp.ndarray, padding: tuple) -> xp.ndarray:
    """``x`` (N, C, *spatial) as (C, *padded spatial, N), zero padded: one transposing copy."""
    moved = x.transpose(tuple(range(1, x.ndim)) + (0,))  # (np.moveaxis, without its checks)
    if not any(lo or hi for lo, hi in padding):
        return _contiguous(moved)
    size = x.shape[2:]
    out = xp.zeros(moved.shape[:1] + tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
                   + moved.shape[-1:], dtype=x.dtype, like=x)
    parallel_copyto(out[(slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                               zip(size, padding))], moved)
    return out


def _batch_first(array: xp.ndarray, bias=None) -> xp.ndarray:
    """A new (N, C, *spatial) array from a batch-last one (C, *spatial, N), plus ``bias`` (per
    channel) when given. Copied a few channels at a time: a plain transposing copy uses one
    element of each cache line it reads and has lost the line before it comes back for the
    next, while a block's lines stay in cache (3-4x faster, measured)."""
    moved = array.transpose((array.ndim - 1,) + tuple(range(array.ndim - 1)))
    out = xp.empty(moved.shape, dtype=array.dtype, like=array)
    trailing = (1,) * (moved.ndim - 2)

    def copy(first: int, last: int) -> None:  # channels first to last, 4 at a time
        for start in range(first, last, 4):
            block = (slice(None), slice(start, min(start + 4, last)))
            if bias is None:
                out[block] = moved[block]
            else:
                xp.add(moved[block], bias[block[1]].reshape((-1,) + trailing), out=out[block])

    # many small copies per chunk, each handing the GIL over: on threads only from 4 MiB
    # (measured on the benchmark convnet: 4 MiB gains a third, 2 MiB loses)
    parallel_for(moved.shape[1], copy, out.nbytes, min_chunk=4, min_bytes=4 << 20)
    return out


def _columns(x: xp.ndarray, geometry: ConvGeometry) -> xp.ndarray:
    """The batch-last im2col matrix of ``x``: (groups, C / groups * K, positions * N), one
    copy from a strided view."""
    channels = x.shape[1]
    windows = window_view(_padded_batch_last(x, geometry.padding), geometry.kernel,
                          geometry.stride, geometry.dilation, geometry.output_size, lead=1)
    groups = geometry.groups
    return _contiguous(windows).reshape(groups, channels // groups * math.prod(geometry.kernel),
                           math.prod(geometry.output_size) * x.shape[0])


def _grad_rows(grad: xp.ndarray, groups: int) -> xp.ndarray:
    """A convolution-output-shaped ``grad`` (N, O, *spatial) batch last: (groups, O / groups,
    positions * N), its columns ordered as ``_columns`` orders them."""
    n, channels = grad.shape[:2]
    positions = math.prod(grad.shape[2:])  # (explicit sizes: -1 fails on an empty batch)
    rows = _contiguous(grad.reshape(n, channels, positions).transpose(1, 2, 0))
    return rows.reshape(groups, channels // groups, positions * n)


def _channel_sum(grad: Tensor) -> Tensor:
    """A bias gradient: ``grad`` summed over the batch and spatial dims."""
    return grad.sum(dim=(0,) + tuple(range(2, grad.ndim)))


def _add_bias(out: xp.ndarray, bias) -> xp.ndarray:
    if bias is not None:
        bias = bias.reshape((1, -1) + (1,) * (out.ndim - 2))

        def add(start: int, stop: int) -> None:
            out[start:stop] += bias

        parallel_for(out.shape[0], add, out.nbytes)
    return out


class Convolution(Op):
    """input: conv_transpose(grad, weight);  weight: conv_weight(input, grad);
    bias: grad summed over the batch and spatial dims"""

    # only the input and the weight, as torch: the weight gradient builds the columns again
    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, w, bias, geometry: ConvGeometry, keep_columns: bool = False):
        # keep_columns: the input needs no gradient (a first layer), so the columns serve only
        # the weight gradient: kept, they spare it a rebuild (input-sized layers keep only x)
        ctx.geometry = geometry
        n = x.shape[0]
        groups, out_channels = geometry.groups, w.shape[0]
        weights = w.reshape(groups, out_channels // groups, math.prod(w.shape[1:]))
        if _batch_last(geometry):
            cols = _columns(x, geometry)
            if keep_columns:
                ctx.columns = cols
            products = xp.matmul(weights, cols)
            return _batch_first(products.reshape((out_channels,) + geometry.output_size + (n,)),
                                bias)
        # (N, groups, C / groups * K, positions): one copy, then a product per sample
        cols = _contiguous(_im2col(x, geometry)).reshape(n, groups, weights.shape[2],
                                                         math.prod(geometry.output_size))
        if keep_columns:
            ctx.columns = cols
        out = xp.matmul(weights, cols)
        return _add_bias(out.reshape((n, out_channels) + geometry.output_size), bias)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geometry = ctx.geometry
        # torch's convolution_backward reads input and weight for all three gradients
        return (depends_on(ConvolutionTranspose.apply(grad, w, None, geometry=geometry), x)
                if needs[0] else None,
                depends_on(ConvolutionWeight.apply(x, grad, geometry=geometry,
                                                   columns=getattr(ctx, "columns", None)), w)
                if needs[1] else None,
                depends_on(_channel_sum(grad), x, w) if needs[2] else None)


class ConvolutionTranspose(Op):
    """grad_output: conv(grad, weight);  weight: conv_weight(grad, grad_output);
    bias: grad summed over the batch and spatial dims"""

    node_name = "ConvolutionBackward0"  # torch's node for conv_transpose2d too
    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, y, w, bias, geometry: ConvGeometry):
        ctx.geometry = geometry
        n, groups = y.shape[0], geometry.groups
        per_group = w.shape[0] // groups
        channels = w.shape[1] * groups
        kernel, output_size = geometry.kernel, geometry.output_size
        weights = w.reshape(groups, per_group, math.prod(w.shape[1:])).transpose(0, 2, 1)
        scatter = functools.partial(scatter_windows, size=geometry.input_size, kernel=kernel,
                                    stride=geometry.stride, dilation=geometry.dilation,
                                    padding=geometry.padding, output_size=output_size)
        if _batch_last(geometry):
            cols = xp.matmul(weights, _grad_rows(y, groups)).reshape(
                (channels,) + kernel + output_size + (n,))
            return _batch_first(scatter(cols, lead=1), bias)
        grads = y.reshape(n, groups, per_group, math.prod(output_size))
        cols = xp.matmul(weights, grads).reshape((n, channels) + kernel + output_size)
        return _add_bias(scatter(cols), bias)

    @staticmethod
    def backward(ctx, grad):
        y, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geometry = ctx.geometry
        return (depends_on(Convolution.apply(grad, w, None, geometry=geometry), y)
                if needs[0] else None,
                depends_on(ConvolutionWeight.apply(grad, y, geometry=geometry), w)
                if needs[1] else None,
                depends_on(_channel_sum(grad), y, w) if needs[2] else None)


class ConvolutionWeight(Op):
    """input: conv_transpose(grad_output, grad);  grad_output: conv(input, grad)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y, geometry: ConvGeometry, columns=None):
        # columns: x's, when the convolution's forward kept them in the layout used here
        # (batch first: 4 dims; batch last: 3)
        ctx.geometry = geometry
        n, channels = x.shape[:2]
        groups, out_channels = geometry.groups, y.shape[1]
        positions = math.prod(geometry.output_size)
        if not _batch_last(geometry) and out_channels * 4 <= positions:
            # few output channels: a product per sample, then the sum over the batch (the
            # per-sample results, O x C * K each, are at most a quarter of the columns)
            cols = columns if columns is not None and columns.ndim == 4 else \
                _contiguous(_im2col(x, geometry)).reshape(
                    n, groups, channels // groups * math.prod(geometry.kernel), positions)
            grads = y.reshape(n, groups, out_channels // groups, positions)
            out = xp.matmul(grads, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        else:  # one product over the whole batch, made in the weight's layout
            cols = columns if columns is not None and columns.ndim == 3 else \
                _columns(x, geometry)
            out = xp.matmul(_grad_rows(y, groups), cols.transpose(0, 2, 1))
        return out.reshape((y.shape[1], x.shape[1] // groups) + geometry.kernel)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        geometry = ctx.geometry
        return (ConvolutionTranspose.apply(y, grad, None, geometry=geometry) if needs[0] else None,
                Convolution.apply(x, grad, None, geometry=geometry) if needs[1] else None)


# -- public functions ------------------------------------------------------------------------
def _check_dtypes(op: str, input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type(input)} but found "
                           f"{scalar_type(weight)}: {op} input is {input.dtype} and weight is "
                           f"{weight.dtype}; convert one with .to(dtype)")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({scalar_type(input).lower()}) and bias type "
                           f"({scalar_type(bias).lower()}) should be the same")


def _batched(op: str, input: Tensor, weight: Tensor, spatial: int) -> tuple:
    """The input with a batch dim (added for an unbatched input), and whether one was added."""
    expect_tensor(input, op)
    expect_tensor(weight, op, "weight", 2)
    if weight.ndim != spatial + 2:
        raise RuntimeError(f"{op}: expected a {spatial + 2}-dimensional weight (out_channels, "
                           f"in_channels / groups, {spatial} kernel sizes), but got weight of "
                           f"size {list(weight.shape)}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                           f"input to {op}, but got input of size: {list(input.shape)}")
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    return input, False


def _check_bias(weight: Tensor, bias: Tensor | None, channels: int) -> None:
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {channels} elements, but got bias of size "
                           f"{list(bias.shape)} instead")


def _check_positive(stride: tuple, dilation: tuple, groups: int) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _padding_pairs(op: str, padding, spatial: int, stride: tuple, dilation: tuple,
                   kernel: tuple) -> tuple:
    """``(lo, hi)`` per spatial dim from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * spatial
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}' (expected 'same' or "
                               f"'valid', an int or a tuple of ints)")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        # as torch: half the total on each side, the odd element on the high side
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((total // 2, total - total // 2) for total in totals)
    pads = expand_param(padding, spatial, "padding", op)
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in pads)


def _convolution(op: str, spatial: int, input: Tensor, weight: Tensor, bias, stride, padding,
                 dilation, groups: int) -> Tensor:
    input, unbatched = _batched(op, input, weight, spatial)
    stride = expand_param(stride, spatial, "stride", op)
    dilation = expand_param(dilation, spatial, "dilation", op)
    _check_positive(stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    pads = _padding_pairs(op, padding, spatial, stride, dilation, kernel)
    out_channels, channels = weight.shape[0], input.shape[1]
    if out_channels < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if out_channels % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if channels != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(input.shape)} to have "
                           f"{weight.shape[1] * groups} channels, but got {channels} channels "
                           f"instead")
    _check_bias(weight, bias, out_channels)
    _check_dtypes(op, input, weight, bias)
    size = tuple(input.shape[2:])
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(size, pads))
    reach = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < r for p, r in zip(padded, reach)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, reach))}). Kernel size can't be greater than "
                           f"actual input size")
    output_size = tuple((p - r) // s + 1 for p, r, s in zip(padded, reach, stride))
    geometry = ConvGeometry(stride, pads, dilation, groups, kernel, size, output_size)
    out = Convolution.apply(input, weight, bias, geometry=geometry,
                            keep_columns=STATE.enabled and weight.requires_grad and
                            not input.requires_grad)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of ``input`` (N, C_in, L) or (C_in, L) with ``weight``
    (C_out, C_in / groups, K); ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'``.

    Example::

        conv1d(randn(2, 3, 10), randn(4, 3, 3), padding='same').shape  # (2, 4, 10)
    """
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C_in, H, W) or (C_in, H, W) with ``weight``
    (C_out, C_in / groups, kH, kW), as torch: zero padding (an int, a pair, ``'valid'`` or
    ``'same'``), stride, dilation and groups. One matrix product over an im2col view.

    Example::

        conv2d(randn(1, 3, 32, 32), randn(6, 3, 5, 5)).shape  # (1, 6, 28, 28)
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transposed 2-D convolution (the gradient of conv2d with respect to its input):
    ``input`` (N, C_in, H, W), ``weight`` (C_in, C_out / groups, kH, kW); the output has
    ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1`` rows.

    Example::

        conv_transpose2d(randn(1, 4, 5, 5), randn(4, 2, 3, 3), stride=2).shape  # (1, 2, 11, 11)
    """
    op, spatial = "conv_transpose2d", 2
    input, unbatched = _batched(op, input, weight, spatial)
    stride = expand_param(stride, spatial, "stride", op)
    dilation = expand_param(dilation, spatial, "dilation", op)
    _check_positive(stride, dilation, groups)
    pads = expand_param(padding, spatial, "padding", op)
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    output_padding = expand_param(output_padding, spatial, "output_padding", op)
    if any(o < 0 for o in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding_height: {output_padding[0]} output_padding_width: "
            f"{output_padding[1]} stride_height: {stride[0]} stride_width: {stride[1]} "
            f"dilation_height: {dilation[0]} dilation_width: {dilation[1]}")
    in_channels = weight.shape[0]
    if in_channels % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if input.shape[1] != in_channels:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {in_channels} channels, but got "
                           f"{input.shape[1]} channels instead")
    _check_bias(weight, bias, weight.shape[1] * groups)
    _check_dtypes(op, input, weight, bias)
    kernel = tuple(weight.shape[2:])
    size = tuple(input.shape[2:])
    output_size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
                        zip(size, stride, pads, dilation, kernel, output_padding))
    if any(o <= 0 for o in output_size):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, size))}). "
                           f"Calculated output size per channel: "
                           f"({' x '.join(map(str, output_size))}). Output size is too small")
    # the convolution this one transposes maps output_size back to the input's size
    geometry = ConvGeometry(stride, tuple((p, p) for p in pads), dilation, groups, kernel,
                            output_size, size)
    out = ConvolutionTranspose.apply(input, weight, bias, geometry=geometry)
    return out.squeeze(0) if unbatched else out
