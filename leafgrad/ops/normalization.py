"""Normalisation layers' functions: batch_norm, layer_norm, group_norm.

One fused op serves all three: ``x_hat = (x - mean) * invstd`` over a set of axes (the batch
and spatial dims, the trailing normalized dims, or each group), then a per-channel or
per-element affine map. Its backward is the closed form (fused for speed: one node instead of
about ten) written with Tensor ops; with ``create_graph`` it recomputes the statistics from the
input with Tensor ops, so derivatives of any order are exact.
"""
from __future__ import annotations

import math
import numbers

from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import depends_on

__all__ = ["batch_norm", "layer_norm", "group_norm"]


class _Normalization(Op):
    """input: invstd * (g - mean(g) - x_hat * mean(g * x_hat)) with g = grad * weight, means
    over the normalized axes (with batch statistics; grad * weight * invstd with fixed ones);
    weight: sum(grad * x_hat);  bias: sum(grad), over the axes the parameters broadcast along"""

    abstract = True  # applied as NativeBatchNorm, NativeLayerNorm or NativeGroupNorm
    saved_inputs = (0, 1)
    anchored = True

    @staticmethod
    def forward(ctx, x, weight, bias, stats_shape, axes, param_shape, mean, invstd,
                batch_stats, eps, centered=None):
        ctx.stats_shape, ctx.axes, ctx.param_shape = stats_shape, axes, param_shape
        ctx.mean, ctx.invstd, ctx.batch_stats, ctx.eps = mean, invstd, batch_stats, eps
        ctx.bias_shape = None if bias is None else bias.shape
        # x_hat is kept for backward (one array, in place from the centred input when given)
        x_hat = centered if centered is not None else x.reshape(stats_shape) - mean
        x_hat *= invstd
        ctx.x_hat = x_hat = x_hat.reshape(x.shape)
        out = x_hat * weight.reshape(param_shape) if weight is not None else x_hat.copy()
        if bias is not None:
            out += bias.reshape(param_shape)
        if out.dtype != x.dtype:  # float32 parameters on a float16 input: torch keeps float16
            out = out.astype(x.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        x, weight = saved[:2]
        param_axes = tuple(i for i, s in enumerate(ctx.param_shape) if s == 1) or None
        if not is_grad_enabled():
            return _normalization_backward(ctx, grad._data, weight, param_axes)
        stats_shape, axes = ctx.stats_shape, ctx.axes
        grouped = x.reshape(stats_shape)
        if ctx.batch_stats:  # the statistics as functions of x, so that their derivatives count
            centered = grouped - grouped.mean(dim=axes, keepdim=True)
            invstd = (centered.square().mean(dim=axes, keepdim=True) + ctx.eps).rsqrt()
        else:
            centered = grouped - _wrap(ctx.mean, False)
            invstd = _wrap(ctx.invstd, False)
        x_hat = centered * invstd
        needs = ctx.needs_input_grad
        grad_input = grad_weight = grad_bias = None
        if needs[0]:
            scaled = grad if weight is None else grad * weight.reshape(ctx.param_shape)
            scaled = scaled.reshape(stats_shape)
            if ctx.batch_stats:
                grad_input = invstd * (scaled - scaled.mean(dim=axes, keepdim=True) - x_hat * (
                    scaled * x_hat).mean(dim=axes, keepdim=True))
            else:
                grad_input = scaled * invstd
            grad_input = grad_input.reshape(x.shape)
        if needs[1]:
            grad_weight = _sum_to(grad * x_hat.reshape(x.shape), param_axes, weight.shape)
        if needs[2]:
            grad_bias = _sum_to(grad, param_axes, ctx.bias_shape)
        if not ctx.anchored:
            return grad_input, grad_weight, grad_bias
        # torch's native_{batch,layer}_norm_backward reads the input and the parameters for
        # every gradient
        return tuple(depends_on(g, *saved) for g in (grad_input, grad_weight, grad_bias))


def _sum_to(tensor: Tensor, axes: tuple | None, shape: tuple) -> Tensor:
    return (tensor if axes is None else tensor.sum(dim=axes)).reshape(shape)


def _normalization_backward(ctx, grad: xp.ndarray, weight: Tensor | None,
                            param_axes: tuple | None) -> tuple:
    """The same gradients on arrays, for a backward pass that records nothing (fused for
    speed: the saved x_hat and in-place updates keep the temporaries to two)."""
    needs = ctx.needs_input_grad
    stats_shape, axes = ctx.stats_shape, ctx.axes
    x_hat = ctx.x_hat
    scale = None if weight is None else weight._data.reshape(ctx.param_shape)
    if ctx.batch_stats and param_axes == axes and stats_shape == grad.shape:
        return _per_channel_backward(ctx, grad, scale, weight)
    grad_input = grad_weight = grad_bias = None
    product = grad * x_hat if needs[1] or (needs[0] and ctx.batch_stats) else None
    if needs[1]:
        grad_weight = _wrap(_sum_array(product, param_axes, weight.shape), False)
    if needs[2]:
        grad_bias = _wrap(_sum_array(grad, param_axes, ctx.bias_shape), False)
    if needs[0]:
        scaled = (grad * scale if scale is not None else grad.copy()).reshape(stats_shape)
        if ctx.batch_stats:
            if scale is not None:
                product *= scale  # now scaled * x_hat
            product = product.reshape(stats_shape)
            projection = product.mean(axis=axes, keepdims=True)
            scaled -= scaled.mean(axis=axes, keepdims=True)
            scaled -= xp.multiply(x_hat.reshape(stats_shape), projection, out=product)
        scaled *= ctx.invstd
        grad_input = _wrap(scaled.reshape(grad.shape), False)
    return grad_input, grad_weight, grad_bias


def _per_channel_backward(ctx, grad: xp.ndarray, scale: xp.ndarray | None,
                          weight: Tensor | None) -> tuple:
    """The same gradients where the statistics and the parameters share the channel axis
    (batch_norm training): ``grad_input = a * grad - b * x_hat - c`` with per-channel
    ``a = invstd * weight``, ``b = a * mean(grad * x_hat)``, ``c = a * mean(grad)``, which
    reads the data four times instead of about ten (the per-channel sums of products are dot
    products per sample and channel, without a temporary)."""
    needs = ctx.needs_input_grad
    x_hat, axes = ctx.x_hat, ctx.axes
    flat = grad.shape[:2] + (-1,)
    accumulate = xp.float64 if grad.dtype.itemsize < 8 else None
    products = xp.einsum("ncl,ncl->nc", grad.reshape(flat), x_hat.reshape(flat))
    products = products.sum(axis=0, dtype=accumulate).reshape(ctx.param_shape)
    sums = _sum_over(grad, axes, accumulate)
    grad_input = grad_weight = grad_bias = None
    if needs[1]:
        grad_weight = _wrap(products.astype(grad.dtype).reshape(weight.shape), False)
    if needs[2]:
        grad_bias = _wrap(sums.astype(grad.dtype).reshape(ctx.bias_shape), False)
    if needs[0]:
        count = grad.size // grad.shape[1]
        coefficient = ctx.invstd if scale is None else ctx.invstd * scale
        out = grad * coefficient
        out -= x_hat * (coefficient * products / count).astype(grad.dtype)
        out -= (coefficient * sums / count).astype(grad.dtype)
        grad_input = _wrap(out, False)
    return grad_input, grad_weight, grad_bias


def _sum_array(array: xp.ndarray, axes: tuple | None, shape: tuple) -> xp.ndarray:
    return (array.copy() if axes is None else array.sum(axis=axes)).reshape(shape)


class NativeBatchNorm(_Normalization):
    """input, weight, bias: see _Normalization (batch statistics when training)"""


class NativeLayerNorm(_Normalization):
    """input, weight, bias: see _Normalization (statistics over the normalized shape)"""

    saved_inputs = (0, 1, 2)  # torch's backward reads the bias too (see depends_on)


class NativeGroupNorm(_Normalization):
    """input, weight, bias: see _Normalization (statistics over each group)"""

    anchored = False  # under create_graph torch differentiates a composite formula instead


def _sum_over(array: xp.ndarray, axes: tuple, accumulate=None) -> xp.ndarray:
    """``array`` summed over ``axes``, kept as size-1 dims. NumPy sums a trailing run of axes
    pairwise (accurate and fast) but adds one term at a time along the others, so those run
    in ``accumulate`` (a dtype) when given; the trailing run does too below float32, which
    could overflow."""
    trailing = []
    for axis in range(array.ndim - 1, -1, -1):
        if axis not in axes:
            break
        trailing.append(axis)
    leading = tuple(axis for axis in axes if axis not in trailing)
    partial = array
    if trailing:
        dtype = accumulate if array.dtype.itemsize < 4 else None
        partial = array.sum(axis=tuple(trailing), dtype=dtype, keepdims=True)
    if leading:
        partial = partial.sum(axis=leading, dtype=accumulate, keepdims=True)
    return partial


def _statistics(grouped: xp.ndarray, axes: tuple, eps: float, accumulate=None) -> tuple:
    """(mean, biased variance, 1 / sqrt(variance + eps), x - mean) over ``axes``, the
    statistics kept as size-1 dims (two passes: as stable as torch's; sums as ``_sum_over``)."""
    count = math.prod(grouped.shape[axis] for axis in axes)
    mean = (_sum_over(grouped, axes, accumulate) / count).astype(grouped.dtype, copy=False)
    centered = grouped - mean
    variance = _sum_over(xp.square(centered), axes, accumulate) / count
    invstd = (1.0 / xp.sqrt(variance + eps)).astype(grouped.dtype, copy=False)
    return mean, variance, invstd, centered


def _check_vector(name: str, tensor: Tensor | None, channels: int) -> None:
    if tensor is not None and tensor.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input`` over the batch and spatial dims.

    Training: batch statistics (biased variance), and the running statistics, when given,
    are updated in place: ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased variance for ``running_var``. Evaluation: the running statistics are used.

    Example::

        mean, var = zeros(3), ones(3)
        y = batch_norm(randn(8, 3), mean, var, training=True)  # mean and var move
    """
    expect_tensor(input, "batch_norm")
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of shape (N, C, ...) with at least "
                           f"2 dims, but got input of size {list(input.shape)}")
    if not isinstance(momentum, numbers.Real):
        raise TypeError(f"batch_norm(): argument 'momentum' must be float, not "
                        f"{type(momentum).__name__}")
    channels = input.shape[1]
    _check_vector("running_mean", running_mean, channels)
    _check_vector("running_var", running_var, channels)
    _check_vector("weight", weight, channels)
    _check_vector("bias", bias, channels)
    data = input._data
    axes = (0,) + tuple(range(2, data.ndim))
    param_shape = (1, channels) + (1,) * (data.ndim - 2)
    if training:
        count = data.size // channels if channels else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape!r}")
        accumulate = xp.float64 if data.dtype.itemsize < 8 else None
        mean, variance, invstd, centered = _statistics(data, axes, eps, accumulate)
        if running_mean is not None:
            running_mean._data[...] = ((1 - momentum) * running_mean._data
                                       + momentum * mean.reshape(-1))
        if running_var is not None:
            unbiased = variance.reshape(-1) * (count / (count - 1))
            running_var._data[...] = (1 - momentum) * running_var._data + momentum * unbiased
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be "
                               f"defined in evaluation mode")
        mean = running_mean._data.astype(data.dtype).reshape(param_shape)
        invstd = (1.0 / xp.sqrt(running_var._data.astype(data.dtype) + eps)).reshape(
            param_shape)
        centered = None
    return NativeBatchNorm.apply(input, weight, bias, stats_shape=data.shape, axes=axes,
                                 param_shape=param_shape, mean=mean, invstd=invstd,
                                 batch_stats=bool(training), eps=eps, centered=centered)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale by
    ``weight`` and shift by ``bias`` (both of ``normalized_shape``).

    Example::

        layer_norm(tensor([[1., 3.]]), (2,))  # [[-1., 1.]] (up to eps)
    """
    expect_tensor(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple "
                        "of ints, not int")
    normalized = tuple(int(s) for s in normalized_shape)
    count = len(normalized)
    shape = tuple(input.shape)
    if count == 0 or shape[len(shape) - count:] != normalized or len(shape) < count:
        raise RuntimeError(f"Given normalized_shape={list(normalized)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized))}], but got input of "
                           f"size{list(shape)}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != normalized:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(param.shape)} and normalized_shape "
                               f"= {list(normalized)}")
    data = input._data
    axes = tuple(range(data.ndim - count, data.ndim))
    mean, _, invstd, centered = _statistics(data, axes, eps)
    param_shape = (1,) * (data.ndim - count) + normalized
    return NativeLayerNorm.apply(input, weight, bias, stats_shape=data.shape, axes=axes,
                                 param_shape=param_shape, mean=mean, invstd=invstd,
                                 batch_stats=True, eps=eps, centered=centered)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels of every sample (over those
    channels and the spatial dims), then apply the per-channel ``weight`` and ``bias``.

    Example::

        group_norm(randn(2, 6, 4, 4), 3).shape  # (2, 6, 4, 4)
    """
    expect_tensor(input, "group_norm", "input")
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    shape = tuple(input.shape)
    channels = shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(shape)} and "
                           f"num_groups={num_groups}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and (param.ndim != 1 or param.shape[0] != channels):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{list(param.shape)} and input of shape {list(shape)}")
    data = input._data
    stats_shape = (shape[0], num_groups, math.prod(shape[1:]) // num_groups)
    mean, _, invstd, centered = _statistics(data.reshape(stats_shape), (2,), eps)
    param_shape = (1, channels) + (1,) * (data.ndim - 2)
    return NativeGroupNorm.apply(input, weight, bias, stats_shape=stats_shape, axes=(2,),
                                 param_shape=param_shape, mean=mean, invstd=invstd,
                                 batch_stats=True, eps=eps, centered=centered)
