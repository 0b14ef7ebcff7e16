"""Loss modules: each calls its ``nn.functional`` loss with the settings it was built with.

They hold no parameters (seed claim C12): a loss's output requires grad only when its input
does. Class weights (``weight``) and BCEWithLogitsLoss's ``pos_weight`` are buffers, as in
torch: saved in ``state_dict`` and converted by ``to()``, never trained. ``reduction`` is
'mean' (default), 'sum' or 'none'; the deprecated ``size_average``/``reduce`` flags still map
to it, with a warning.
"""
from __future__ import annotations

import warnings

from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn.module import Module

__all__ = ["L1Loss", "NLLLoss", "KLDivLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss",
           "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss"]


def _legacy_get_string(size_average: bool | None, reduce: bool | None) -> str:
    """The reduction the deprecated flags ask for (torch's ``_Reduction.legacy_get_string``):
    ``reduce=False`` gives 'none', else ``size_average=False`` gives 'sum', else 'mean'."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", stacklevel=2)
    return reduction


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _legacy_get_string(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean (or sum, or none) of ``|input - target|``.

    Example::

        >>> leafgrad.nn.L1Loss()(leafgrad.tensor([1.0, 3.0]), leafgrad.tensor([0.0, 0.0]))
        tensor(2.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean (or sum, or none) of ``(input - target)^2``.

    Example::

        >>> leafgrad.nn.MSELoss()(leafgrad.tensor([1.0, 3.0]), leafgrad.tensor([0.0, 0.0]))
        tensor(5.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``
    ((C,), (N, C) or (N, C, d1, ...)), weighted by ``weight[class]``; ``ignore_index`` targets
    are skipped, and 'mean' divides by the summed weight of the kept targets."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy between logits ``input`` and class indices or class probabilities
    ``target`` (``F.cross_entropy``): class ``weight``, ``ignore_index`` and
    ``label_smoothing`` as torch.

    Example::

        >>> loss = leafgrad.nn.CrossEntropyLoss()
        >>> loss(leafgrad.tensor([[2.0, 0.0], [0.0, 2.0]]), leafgrad.tensor([0, 1]))
        tensor(0.1269)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class KLDivLoss(_Loss):
    """Pointwise KL divergence ``target * (log(target) - input)`` for log-probabilities
    ``input`` (``log_target``: the target is given as logs too); 'batchmean' divides the sum
    by the batch size, which is the mathematical KL divergence per sample."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    """Binary cross entropy ``-weight * (t * log(p) + (1 - t) * log(1 - p))`` between
    probabilities ``input`` and ``target`` (each log clamped at -100, as torch)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy in one numerically stable step; ``pos_weight`` (a
    buffer, broadcast over the last dim) weighs the positive targets.

    Example::

        >>> loss = leafgrad.nn.BCEWithLogitsLoss(pos_weight=leafgrad.tensor([2.0]))
        >>> loss(leafgrad.tensor([0.0]), leafgrad.tensor([1.0]))
        tensor(1.3863)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 * d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``, with
    ``d = input - target`` (the L1 loss when beta is 0)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 * d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, with
    ``d = input - target``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)):
            raise TypeError(f"delta must be a float or int, got: {type(delta)}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)
