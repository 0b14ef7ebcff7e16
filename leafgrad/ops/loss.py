"""Loss functions with torch's reductions ('none', 'mean', 'sum'): cross_entropy, nll_loss,
mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy,
binary_cross_entropy_with_logits and kl_div.

cross_entropy is log_softmax followed by nll_loss, as torch computes it: the log-probabilities
never pass through exp and log, so large logits stay finite. nll_loss and binary_cross_entropy
are fused ops (their rules are torch's, including the weighted-mean denominator and the
-100 clamp of the logarithm); the other losses are compositions of differentiable ops.
"""
from __future__ import annotations

import warnings

from leafgrad._backend import xp
from leafgrad._dtype import is_floating_point
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import broadcast_shape, depends_on, scalar_type
from leafgrad.ops.elementwise import result_type, where
from leafgrad.ops.reduction import log_softmax

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

_REDUCTIONS = ("none", "mean", "sum")


# -- reductions ------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction: str, extra: tuple = ()) -> str:
    """The reduction, from the deprecated ``size_average``/``reduce`` flags when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_not_differentiable(function: str, name: str, tensor: Tensor | None) -> None:
    """torch refuses a gradient it does not define (class weights of nll_loss, ...)."""
    if tensor is not None and tensor.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{name}'. This input cannot have requires_grad True.")


def _warn_broadcast(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape!r}) that is different to the input "
                      f"size ({input.shape!r}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)


def _check_floating(name: str, *tensors: Tensor) -> None:
    for tensor in tensors:
        if not is_floating_point(tensor._data.dtype):
            raise NotImplementedError(f'"{name}" not implemented for \'{scalar_type(tensor)}\': '
                                      f'convert the tensors with .float()')


# -- nll_loss --------------------------------------------------------------------------------
class NllLoss(Op):
    """self: -grad * weight[target] / denominator placed at each target class (0 for ignored
    targets; the denominator is the summed weight of the kept targets for 'mean', else 1)"""

    saved_inputs = (0,)
    linear = True  # the weights and the denominator are constants

    @staticmethod
    def forward(ctx, x, classes, coefficients, kept, reduction):
        ctx.classes, ctx.coefficients, ctx.reduction = classes, coefficients, reduction
        ctx.kept = kept
        ctx.input_shape = x.shape
        picked = xp.take_along_axis(x, xp.expand_dims(classes, 1), axis=1).squeeze(1)
        losses = -(picked * coefficients)
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "mean":
            with xp.errstate(invalid="ignore", divide="ignore"):  # nothing kept: 0/0 = nan
                total = total / coefficients.sum()
        return xp.asarray(total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        coefficients = ctx.coefficients
        if ctx.reduction == "mean":
            total = coefficients.sum()
            with xp.errstate(invalid="ignore", divide="ignore"):
                # as torch: ignored targets get 0, kept ones -w / total (nan when total is 0)
                coefficients = xp.where(ctx.kept, coefficients / total, 0)
        scaled = -grad * _wrap(coefficients.astype(grad._data.dtype, copy=False), False)
        (x,) = ctx.saved_tensors  # read by torch's nll_loss_backward, hence depends_on
        return depends_on(PutAtClass.apply(scaled, classes=ctx.classes,
                                           input_shape=ctx.input_shape), x)


class PutAtClass(Op):
    """grad: grad taken at each target class"""

    linear = True

    @staticmethod
    def forward(ctx, values, classes, input_shape):
        ctx.classes, ctx.input_shape = classes, input_shape
        out = xp.zeros(input_shape, dtype=values.dtype, like=values)
        xp.put_along_axis(out, xp.expand_dims(classes, 1), xp.expand_dims(values, 1), axis=1)
        return out

    @staticmethod
    def backward(ctx, grad):
        return TakeAtClass.apply(grad, classes=ctx.classes, input_shape=ctx.input_shape)


class TakeAtClass(Op):
    """self: grad placed at each target class"""

    linear = True

    @staticmethod
    def forward(ctx, x, classes, input_shape):
        ctx.classes, ctx.input_shape = classes, input_shape
        return xp.take_along_axis(x, xp.expand_dims(classes, 1), axis=1).squeeze(1)

    @staticmethod
    def backward(ctx, grad):
        return PutAtClass.apply(grad, classes=ctx.classes, input_shape=ctx.input_shape)


def _class_targets(input: Tensor, target: Tensor, weight: Tensor | None,
                   ignore_index: int) -> tuple:
    """Check class-index targets as torch does; return the input with a batch dim, the safe
    class of each target (0 where ignored), its weight (0 where ignored) and the kept mask."""
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if target._data.dtype not in (xp.int64, xp.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{scalar_type(target)}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        input, target = input.unsqueeze(0), target.reshape(1)
    elif input.ndim == 2 and target.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.shape[0] != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    classes = input.shape[1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != classes):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type(input)} but found "
                           f"{scalar_type(weight)} (the class weights must have the input's "
                           f"dtype)")
    labels = target._data.astype(xp.int64, copy=False)
    kept = labels != ignore_index
    bad = kept & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise IndexError(f"Target {int(labels[bad].flat[0])} is out of bounds.")
    safe = xp.where(kept, labels, 0)
    dtype = input._data.dtype
    weights = kept.astype(dtype) if weight is None else \
        xp.where(kept, weight._data.astype(dtype, copy=False)[safe], 0).astype(dtype)
    return input, safe, weights, kept


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``
    ((C,), (N, C) or (N, C, d1, ...)): ``-weight[t] * input[n, t]``, skipping ``ignore_index``;
    'mean' divides by the summed weight of the kept targets (nan when none is kept).

    Example::

        nll_loss(tensor([[-0.1, -2.3]]), tensor([0]))  # tensor(0.1000)
    """
    expect_tensor(input, "nll_loss")
    expect_tensor(target, "nll_loss", "target", 2)
    expect_tensor(weight, "nll_loss", "weight", 3, optional=True)
    reduction = _reduction(size_average, reduce, reduction)
    _check_not_differentiable("nll_loss_forward", "weight", weight)
    unbatched = input.ndim == 1
    input, classes, weights, kept = _class_targets(input, target, weight, ignore_index)
    loss = NllLoss.apply(input, classes=classes, coefficients=weights, kept=kept,
                         reduction=reduction)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


# -- cross_entropy ---------------------------------------------------------------------------
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` ((C,), (N, C) or (N, C, d1, ...)) and ``target``:
    class indices (int64, ``ignore_index`` skipped, 'mean' divides by the summed class weight
    of the kept targets) or class probabilities of the input's shape (float; 'mean' divides
    by the number of samples). ``label_smoothing`` mixes the target with the uniform
    distribution, as torch.

    Example::

        cross_entropy(tensor([[2., 0.], [0., 2.]]), tensor([0, 1]))  # tensor(0.1269)
    """
    expect_tensor(input, "cross_entropy")
    expect_tensor(target, "cross_entropy", "target", 2)
    expect_tensor(weight, "cross_entropy", "weight", 3, optional=True)
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    log_probs = log_softmax(input, class_dim)
    if tuple(target.shape) == tuple(input.shape):
        if not is_floating_point(target._data.dtype):
            raise RuntimeError(f"Expected floating point type for target with class "
                               f"probabilities, got {scalar_type(target)}")
        if weight is not None and (weight.ndim != 1 or weight.shape[0] != classes):
            raise RuntimeError(f"weight tensor should be defined either for all {classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        return _probability_cross_entropy(log_probs, target, weight, reduction,
                                          label_smoothing, class_dim)
    loss = nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    # torch: (1 - s) * nll + s / C * (-sum_c weight_c * log p_c), over the kept targets
    unbatched = input.ndim == 1
    _, _, kept_weights, kept = _class_targets(input, target, weight, ignore_index)
    weight_shape = (1, classes) + (1,) * (input.ndim - 2)
    batched = log_probs.unsqueeze(0) if unbatched else log_probs
    weighted = batched if weight is None else batched * weight.reshape(weight_shape)
    smooth = where(_wrap(kept, False), -weighted.sum(dim=1), 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / _wrap(xp.asarray(kept_weights.sum()), False)
    elif reduction == "sum":
        smooth = smooth.sum()
    elif unbatched:
        smooth = smooth.squeeze(0)
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)


def _probability_cross_entropy(log_probs: Tensor, target: Tensor, weight: Tensor | None,
                               reduction: str, label_smoothing: float, class_dim: int) -> Tensor:
    classes = log_probs.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * weight.reshape((classes,) + (1,) * (log_probs.ndim - class_dim - 1))
    if reduction == "none":
        return -terms.sum(dim=class_dim)
    total = -terms.sum()
    if reduction == "sum":
        return total
    return total / (log_probs.numel() // classes) if log_probs.numel() else total * xp.nan


# -- the fused pointwise losses --------------------------------------------------------------
# mse_loss, smooth_l1_loss, huber_loss and the two binary cross entropies are one node each
# (MseLossBackward0 ...), the reduction included, as torch records them.
def _broadcast(input: Tensor, target: Tensor) -> tuple:
    """``input`` and ``target`` expanded to their common shape, as torch's broadcast_tensors
    (a tensor that has that shape already is left alone)."""
    shape = broadcast_shape(tuple(input.shape), tuple(target.shape))
    return (input if tuple(input.shape) == shape else input.expand(shape),
            target if tuple(target.shape) == shape else target.expand(shape))


def _promoted_dtype(kernel: str, input: Tensor, target: Tensor):
    """The dtype torch computes a regression loss in: the operands' promoted one, which must be
    floating (an integer or bool target is promoted to the input's float dtype)."""
    dtype = result_type(input, target)
    if not is_floating_point(dtype):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{scalar_type(dtype)}\': '
                                  f"convert the tensors with .float()")
    return dtype


def _reduce_array(loss: xp.ndarray, reduction: str) -> xp.ndarray:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        with xp.errstate(invalid="ignore", divide="ignore"):  # an empty mean is nan, as torch
            total = total / loss.size
    return xp.asarray(total, dtype=loss.dtype)


def _per_element(grad: Tensor, reduction: str, count: int) -> Tensor:
    """The gradient that reaches each element's loss: ``grad`` itself for 'none' and 'sum'
    (broadcast), ``grad / numel`` for 'mean'."""
    return grad / count if reduction == "mean" else grad


def _difference(input: Tensor, target: Tensor) -> Tensor:
    """``input - target`` with an integer or bool operand (never differentiable) taken in the
    other's float dtype."""
    if not target.is_floating_point():
        target = target.to(input.dtype)
    elif not input.is_floating_point():
        input = input.to(target.dtype)
    return input - target


class MseLoss(Op):
    """self: 2 * (self - target) * grad (/ numel for 'mean');  target: the negative"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, target, reduction, dtype):
        ctx.reduction = reduction
        difference = xp.subtract(x, target, dtype=dtype)
        return _reduce_array(xp.square(difference), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_input = _difference(x, target) * (_per_element(grad, ctx.reduction, x.numel()) * 2)
        return grad_input if needs[0] else None, -grad_input if needs[1] else None


class SmoothL1Loss(Op):
    """self: clamp(self - target, -beta, beta) / beta * grad (/ numel for 'mean');
    target: the negative"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, target, reduction, beta, dtype):
        ctx.reduction, ctx.beta = reduction, beta
        difference = xp.subtract(x, target, dtype=dtype)
        distance = xp.abs(difference)
        loss = xp.where(distance < beta, difference * difference * (0.5 / beta),
                        distance - 0.5 * beta)
        return _reduce_array(loss.astype(dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        needs = ctx.needs_input_grad
        beta = ctx.beta
        scale = _per_element(grad, ctx.reduction, x.numel()) / beta
        grad_input = _difference(x, target).clamp(-beta, beta) * scale
        return grad_input if needs[0] else None, -grad_input if needs[1] else None


class HuberLoss(Op):
    """self: clamp(self - target, -delta, delta) * grad (/ numel for 'mean');
    target: the negative"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, target, reduction, delta, dtype):
        ctx.reduction, ctx.delta = reduction, delta
        difference = xp.subtract(x, target, dtype=dtype)
        distance = xp.abs(difference)
        loss = xp.where(distance < delta, difference * difference * 0.5,
                        (distance - 0.5 * delta) * delta)
        return _reduce_array(loss.astype(x.dtype, copy=False), reduction)  # input's dtype

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        needs = ctx.needs_input_grad
        delta = ctx.delta
        scale = _per_element(grad, ctx.reduction, x.numel())
        grad_input = _difference(x, target).clamp(-delta, delta) * scale
        return grad_input if needs[0] else None, -grad_input if needs[1] else None


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target)^2``, reduced; both inputs get gradients, and an integer
    target is promoted to the input's dtype.

    Example::

        mse_loss(tensor([1., 2.]), tensor([1., 4.]))  # tensor(2.)
    """
    expect_tensor(input, "mse_loss")
    expect_tensor(target, "mse_loss", "target", 2)
    reduction = _reduction(size_average, reduce, reduction)
    _warn_broadcast(input, target)
    input, target = _broadcast(input, target)
    dtype = _promoted_dtype("mse_cpu", input, target)
    return MseLoss.apply(input, target, reduction=reduction, dtype=dtype)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced (subgradient 0 where they are equal);
    composed of sub, abs and the reduction, as torch records it.

    Example::

        l1_loss(tensor([1., 2.]), tensor([1., 4.]), reduction='sum')  # tensor(2.)
    """
    expect_tensor(input, "l1_loss")
    expect_tensor(target, "l1_loss", "target", 2)
    reduction = _reduction(size_average, reduce, reduction)
    _warn_broadcast(input, target)
    input, target = _broadcast(input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (l1 when beta is
    0), with ``d = input - target``.

    Example::

        smooth_l1_loss(tensor([0.5, 3.]), zeros(2), reduction='none')  # [0.1250, 2.5000]
    """
    expect_tensor(input, "smooth_l1_loss")
    expect_tensor(target, "smooth_l1_loss", "target", 2)
    reduction = _reduction(size_average, reduce, reduction)
    _warn_broadcast(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    input, target = _broadcast(input, target)
    dtype = _promoted_dtype("smooth_l1_cpu", input, target)
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=beta, dtype=dtype)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """``0.5 * d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``; the loss has
    the input's dtype, as torch's.

    Example::

        huber_loss(tensor([0.5, 3.]), zeros(2), reduction='none', delta=2.)  # [0.1250, 4.]
    """
    expect_tensor(input, "huber_loss")
    expect_tensor(target, "huber_loss", "target", 2)
    reduction = _reduction(None, None, reduction)
    _warn_broadcast(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _broadcast(input, target)
    dtype = _promoted_dtype("huber_cpu", input, target)
    if not is_floating_point(input._data.dtype):
        raise RuntimeError(f"result type {scalar_type(dtype)} can't be cast to the desired "
                           f"output type {scalar_type(input)}")
    return HuberLoss.apply(input, target, reduction=reduction, delta=delta, dtype=dtype)


# -- binary cross entropy --------------------------------------------------------------------
_LOG_FLOOR = -100.0  # torch clamps log(p) and log(1 - p) here, so that p = 0 or 1 stays finite
_EPSILON = float(xp.float32(1e-12))  # torch floors p * (1 - p) at 1e-12 as a float32 constant


def _constant(array: xp.ndarray | None) -> Tensor | None:
    return None if array is None else _wrap(array, False)


class BinaryCrossEntropy(Op):
    """self: grad * weight * (self - target) / max(self * (1 - self), 1e-12);
    target: -grad * weight * logit(self)  (/ numel for 'mean'; ±inf at self = 0 or 1, as torch)
    """

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, target, weight, reduction):
        ctx.weight, ctx.reduction = weight, reduction
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(x), _LOG_FLOOR)
            log_q = xp.maximum(xp.log1p(-x), _LOG_FLOOR)
        loss = -(target * log_p + (1 - target) * log_q)
        return _reduce_array(loss if weight is None else loss * weight, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        needs = ctx.needs_input_grad
        scale = _per_element(grad, ctx.reduction, x.numel())
        if ctx.weight is not None:
            scale = scale * _constant(ctx.weight)
        grad_input = grad_target = None
        if needs[0]:
            grad_input = scale * (x - target) / (x * (1 - x)).clamp(min=_EPSILON)
        if needs[1]:
            grad_target = -scale * x.logit()
        return grad_input, grad_target


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``-weight * (t * log(p) + (1 - t) * log(1 - p))`` for probabilities ``input``, each log
    clamped at -100 as torch (so p = 0 or 1 gives a finite loss).

    Example::

        binary_cross_entropy(tensor([0.5]), tensor([1.]))  # tensor(0.6931)
    """
    expect_tensor(input, "binary_cross_entropy")
    expect_tensor(target, "binary_cross_entropy", "target", 2)
    expect_tensor(weight, "binary_cross_entropy", "weight", 3, optional=True)
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape!r}) that is different to the "
                         f"input size ({input.shape!r}) is deprecated. Please ensure they have "
                         f"the same size.")
    _check_floating("binary_cross_entropy", input, target)
    _check_not_differentiable("binary_cross_entropy", "weight", weight)
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {scalar_type(target)} but expected "
                           f"{scalar_type(input)} (binary_cross_entropy needs the target in the "
                           f"input's dtype)")
    data = input._data
    if data.size and ((data < 0) | (data > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if weight is not None:  # computed in the input's dtype, as torch
        weight = xp.broadcast_to(weight._data.astype(data.dtype, copy=False), data.shape)
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)


class _LogSigmoid(Op):
    """self: grad * sigmoid(-self)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, x):
        # min(x, 0) - log(1 + exp(-|x|)): no overflow for either sign
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()


class BinaryCrossEntropyWithLogits(Op):
    """self: (sigmoid(self) * (1 + (pos_weight - 1) * target) - pos_weight * target) * weight
    * grad;  target: ((1 - pos_weight) * log_sigmoid(self) - self) * weight * grad
    (/ numel for 'mean'; pos_weight = 1 when not given)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, reduction):
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        # -log(sigmoid(x)) = max(-x, 0) + log(1 + exp(-|x|)): no overflow for either sign
        softplus_of_negative = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is not None:
            softplus_of_negative *= (pos_weight - 1) * target + 1
        loss = (1 - target) * x + softplus_of_negative
        if weight is not None:
            loss *= weight
        # torch writes the loss into a tensor of the target's dtype
        return _reduce_array(loss.astype(target.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        needs = ctx.needs_input_grad
        scale = _per_element(grad, ctx.reduction, x.numel())
        if ctx.weight is not None:
            scale = scale * _constant(ctx.weight)
        pos_weight = _constant(ctx.pos_weight)
        grad_input = grad_target = None
        if needs[0]:
            if pos_weight is None:
                grad_input = (x.sigmoid() - target) * scale
            else:
                grad_input = (x.sigmoid() * ((pos_weight - 1) * target + 1)
                              - pos_weight * target) * scale
        if needs[1]:
            if pos_weight is None:
                grad_target = -x * scale
            else:
                grad_target = ((1 - pos_weight) * _LogSigmoid.apply(x) - x) * scale
        return grad_input, grad_target


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy on logits, computed stably as torch:
    ``(1 - t) * x + (1 + (pos_weight - 1) * t) * log(1 + exp(-x))``, times ``weight``; the loss
    has the target's dtype, as torch's.

    Example::

        binary_cross_entropy_with_logits(tensor([0.]), tensor([1.]))  # tensor(0.6931)
    """
    expect_tensor(input, "binary_cross_entropy_with_logits")
    expect_tensor(target, "binary_cross_entropy_with_logits", "target", 2)
    expect_tensor(weight, "binary_cross_entropy_with_logits", "weight", 3, optional=True)
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape!r}) must be the same as input size "
                         f"({input.shape!r})")
    _check_floating("log_sigmoid_cpu", input)
    if not target.is_floating_point():
        raise RuntimeError(f"result type {scalar_type(input)} can't be cast to the desired "
                           f"output type {scalar_type(target)}")
    _check_not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _check_not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    dtype, shape = target._data.dtype, target._data.shape
    for name, factor in (("weight", weight), ("pos_weight", pos_weight)):
        if factor is not None:
            broadcast = broadcast_shape(shape, tuple(factor.shape))
            if broadcast != shape:
                raise RuntimeError(f"output with shape {list(shape)} doesn't match the "
                                   f"broadcast shape {list(broadcast)} (of the {name})")
    return BinaryCrossEntropyWithLogits.apply(
        input, target, reduction=reduction,
        weight=None if weight is None else weight._data.astype(dtype, copy=False),
        pos_weight=None if pos_weight is None else pos_weight._data.astype(dtype, copy=False))


# -- kl_div ----------------------------------------------------------------------------------
class Xlogy(Op):
    """self: grad * xlogy(self != 0, other);  other: grad * self / other  (kl_div's
    ``xlogy(target, target)``: its target gradient is nan where the target is 0, as torch's)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, x, y):
        with xp.errstate(divide="ignore", invalid="ignore"):
            product = x * xp.log(y)
        # 0 where x is 0, unless y is nan (torch's xlogy)
        return xp.where((x == 0) & ~xp.isnan(y), 0, product).astype(product.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad * Xlogy.apply((x != 0).to(x.dtype), y) if needs[0] else None
        grad_y = grad * x / y if needs[1] else None
        return grad_x, grad_y


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``xlogy(target, target) - target * input`` for log-probabilities
    ``input`` (0 where target is 0); with ``log_target`` the target is given as logs too.
    ``'batchmean'`` divides the sum by the batch size (the KL divergence per sample).

    Example::

        kl_div(tensor([[0.5, 0.5]]).log(), tensor([[0.5, 0.5]]), reduction='batchmean')  # 0.
    """
    reduction = _reduction(size_average, reduce, reduction, extra=("batchmean",))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = Xlogy.apply(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)
