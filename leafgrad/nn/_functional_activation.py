"""The activations of ``nn.functional`` with torch's ``inplace`` argument, and the in-place
forms torch also exports there (``relu_``, ``leaky_relu_``, ``elu_``, ``selu_``, ``hardtanh_``).

``inplace=True`` writes the result into ``input`` and returns it (its version counter moves, as
torch's): the out-of-place op from ``leafgrad.ops.elementwise`` runs on the old value, and
``Tensor._apply_inplace`` records it in the graph in place of the input's history.
"""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.ops import elementwise as _ops
from leafgrad.ops._checks import expect_tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "selu_", "silu", "mish", "hardtanh", "hardtanh_"]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; ``inplace=True`` overwrites ``input`` (as :func:`relu_`).

    Example::

        >>> leafgrad.nn.functional.relu(leafgrad.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return relu_(input) if inplace else _ops.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`: ``input`` becomes ``max(input, 0)`` and is returned."""
    expect_tensor(input, "relu_", "input")
    return input._apply_inplace(_ops.relu, "relu_")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``clamp(input, min_val, max_val)``; ``inplace=True`` overwrites ``input``."""
    if inplace:
        return hardtanh_(input, min_val, max_val)
    return _ops.hardtanh(input, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    expect_tensor(input, "hardtanh_", "input")
    return input._apply_inplace(lambda x: _ops.hardtanh(x, min_val, max_val), "hardtanh_")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)`` (torch records it as hardtanh)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``negative_slope * input`` elsewhere."""
    if inplace:
        return leaky_relu_(input, negative_slope)
    return _ops.leaky_relu(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    expect_tensor(input, "leaky_relu_", "input")
    return input._apply_inplace(lambda x: _ops.leaky_relu(x, negative_slope), "leaky_relu_")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere."""
    return elu_(input, alpha) if inplace else _ops.elu(input, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    expect_tensor(input, "elu_", "input")
    return input._apply_inplace(lambda x: _ops.elu(x, alpha), "elu_")


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(input, alpha)`` with the self-normalising constants."""
    return selu_(input) if inplace else _ops.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    expect_tensor(input, "selu_", "input")
    return input._apply_inplace(_ops.selu, "selu_")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * sigmoid(input)``; ``inplace=True`` overwrites ``input``."""
    return input._apply_inplace(_ops.silu, "silu_") if inplace else _ops.silu(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * tanh(softplus(input))``; ``inplace=True`` overwrites ``input``."""
    return input._apply_inplace(_ops.mish, "mish_") if inplace else _ops.mish(input)
