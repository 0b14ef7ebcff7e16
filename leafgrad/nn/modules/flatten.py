"""Flatten and Unflatten: reshape a range of dims into one, and one dim into several."""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.nn.module import Module
from leafgrad.ops._checks import expect_tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dims ``start_dim`` to ``end_dim`` into one (the batch dim 0 is kept by default).

    Example::

        >>> leafgrad.nn.Flatten()(leafgrad.zeros(8, 16, 5, 5)).shape
        torch.Size([8, 400])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        expect_tensor(input, "Flatten")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into the shape ``unflattened_size`` (a tuple or list of ints).

    Example::

        >>> leafgrad.nn.Unflatten(1, (16, 5, 5))(leafgrad.zeros(8, 400)).shape
        torch.Size([8, 16, 5, 5])
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for position, element in enumerate(unflattened_size):
            if not isinstance(element, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of "
                                f"type {type(element).__name__} at pos {position}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        expect_tensor(input, "unflatten")
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
