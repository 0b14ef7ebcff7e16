"""AdamW: Adam with decoupled weight decay."""
from __future__ import annotations

from collections.abc import Iterable

from leafgrad.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly (``p *= 1 - lr * weight_decay``)
    instead of entering the moment estimates (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization"). The default ``weight_decay`` is 1e-2, as in torch.

    Example::

        >>> opt = leafgrad.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _fill_group_defaults(self) -> None:
        super()._fill_group_defaults()
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
