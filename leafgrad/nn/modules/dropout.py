"""Dropout layers: active in training mode only (``module.eval()`` makes them the identity).
Their masks come from leafgrad's default generator (``leafgrad.manual_seed``)."""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn.module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the others by
    ``1 / (1 - p)``, so the expected output is the input; ``inplace`` overwrites the input.

    Example::

        >>> drop = leafgrad.nn.Dropout(0.5)
        >>> drop.eval()(leafgrad.ones(3))
        tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels of (N, C, H, W) or (C, H, W) inputs: each plane is
    dropped with probability ``p``, the others scaled by ``1 / (1 - p)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)
