"""Pooling layers: MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d. They
hold no parameters; each stores its settings as given (an int or a tuple) and calls the
matching function of ``nn.functional``."""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window along L of (N, C, L) or (C, L) inputs; ``stride`` defaults
    to ``kernel_size``. With ``return_indices`` the module returns ``(values, indices)``."""

    def forward(self, input: Tensor):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each window of (N, C, H, W) or (C, H, W) inputs; ``stride`` defaults to
    ``kernel_size``, padding counts as -inf, ``ceil_mode`` keeps partial windows at the end.
    With ``return_indices`` the module returns ``(values, indices)``.

    Example::

        >>> leafgrad.nn.MaxPool2d(2)(leafgrad.zeros(8, 6, 28, 28)).shape
        torch.Size([8, 6, 14, 14])
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    """The mean of each window of (N, C, H, W) or (C, H, W) inputs; zero padding counts in the
    divisor unless ``count_include_pad=False``; ``divisor_override`` replaces the divisor.

    Example::

        >>> leafgrad.nn.AvgPool2d(2)(leafgrad.ones(1, 1, 4, 4)).shape
        torch.Size([1, 1, 2, 2])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int or a pair; None keeps that dim).

    Example::

        >>> leafgrad.nn.AdaptiveAvgPool2d(1)(leafgrad.zeros(2, 16, 7, 7)).shape
        torch.Size([2, 16, 1, 1])
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` (an int or a pair; None keeps that dim); with
    ``return_indices`` the module returns ``(values, indices)``."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
