"""Per-sample normalisation layers: LayerNorm and GroupNorm (the same in training and
evaluation: they keep no running statistics)."""
from __future__ import annotations

import numbers

from leafgrad._factories import empty
from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn import init
from leafgrad.nn.module import Module
from leafgrad.nn.parameter import Parameter

__all__ = ["LayerNorm", "GroupNorm"]


def _register_affine(module: Module, affine: bool, shape, bias: bool, device, dtype) -> None:
    """Give ``module`` an uninitialised ``weight`` and ``bias`` (unless ``bias`` is false) of
    ``shape`` when ``affine``; the names are registered as None parameters otherwise."""
    if affine:
        module.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(empty(shape, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    """``weight`` to ones and ``bias`` (when it has one) to zeros."""
    init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims of each sample (biased variance),
    then scale by ``weight`` (ones) and shift by ``bias`` (zeros), both of ``normalized_shape``,
    when ``elementwise_affine``.

    Example::

        >>> leafgrad.nn.LayerNorm(4)(leafgrad.randn(2, 3, 4)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, elementwise_affine, self.normalized_shape, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.elementwise_affine:
            _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the ``num_channels`` channels of (N, C, *) inputs into ``num_groups`` groups and
    normalise each group of each sample; then the per-channel ``weight`` (ones) and ``bias``
    (zeros) when ``affine``.

    Example::

        >>> leafgrad.nn.GroupNorm(2, 6)(leafgrad.randn(4, 6, 5, 5)).shape
        torch.Size([4, 6, 5, 5])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, affine, num_channels, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.affine:
            _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
