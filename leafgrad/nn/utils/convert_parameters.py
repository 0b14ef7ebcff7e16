"""Flatten parameters into one vector and back (for line searches and second-order methods)."""
from __future__ import annotations

from collections.abc import Iterable

from leafgrad._tensor import Tensor
from leafgrad.nn.module import _typename
from leafgrad.ops.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one vector (differentiable).

    Example::

        >>> vec = leafgrad.nn.utils.parameters_to_vector(leafgrad.nn.Linear(3, 2).parameters())
        >>> vec.shape
        torch.Size([8])
    """
    return cat([param.reshape(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of ``vec`` (a view of it, as torch): the
    inverse of :func:`parameters_to_vector`."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    pointer = 0
    for param in parameters:
        count = param.numel()
        param.data = vec[pointer:pointer + count].view_as(param).data
        pointer += count
