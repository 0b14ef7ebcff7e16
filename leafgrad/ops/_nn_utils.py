"""Helpers shared by the layer functions (conv, pooling, normalization, loss)."""
from __future__ import annotations

import numbers

from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled

_SCALAR_TYPES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                 "bool": "Bool"}


def scalar_type(tensor_or_dtype) -> str:
    """torch's C++ name of a tensor's dtype, or of a NumPy dtype (``Float``, ``Long`` ...), as
    its messages say."""
    name = tensor_or_dtype.dtype.name if isinstance(tensor_or_dtype, Tensor) else \
        xp.dtype(tensor_or_dtype).name
    return _SCALAR_TYPES.get(name, name)


def int_tuple(value, n: int) -> tuple | None:
    """An int, or a sequence of ``n`` ints (or of one, repeated), as a tuple of ``n`` ints: the
    size arguments of convolution and pooling; None for anything else (each op raises its own
    message, as torch's differ)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    items = tuple(value)
    if len(items) == 1:
        items = items * n
    if len(items) != n or not all(isinstance(v, numbers.Integral) for v in items):
        return None
    return tuple(int(v) for v in items)


def broadcast_shape(shape_a: tuple, shape_b: tuple) -> tuple:
    """The shape two shapes broadcast to, or torch's error naming the first dimension (counted
    in the result) where they do not."""
    ndim = max(len(shape_a), len(shape_b))
    for dim in range(1, min(len(shape_a), len(shape_b)) + 1):
        a, b = shape_a[-dim], shape_b[-dim]
        if a != b and 1 not in (a, b):
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {ndim - dim}")
    return tuple(xp.broadcast_shapes(shape_a, shape_b))


class DependsOn(Op):
    """value: grad;  the other inputs: zeros_like(input) (as torch's backward formulas give
    for the inputs a gradient is recorded as reading without depending on them)"""

    linear = True  # the identity in value, zero in the others

    @staticmethod
    def forward(ctx, value, *others):
        ctx.other_shapes = tuple((other.shape, other.dtype) for other in others)
        return value

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        zeros = tuple(_wrap(xp.zeros(shape, dtype=dtype, like=grad._data), False) if need
                      else None for need, (shape, dtype) in zip(needs[1:], ctx.other_shapes))
        return (grad,) + zeros


def depends_on(result: Tensor, *inputs: Tensor | None) -> Tensor:
    """``result``, recorded (under create_graph) as also reading ``inputs`` with a zero
    derivative. torch computes some gradients in a backward node that takes the op's inputs
    (convolution_backward, max_pool2d_with_indices_backward, nll_loss_backward ...), so such a
    gradient requires grad whenever those inputs do, even where it does not depend on them:
    this gives leafgrad's gradients the same flags."""
    if not is_grad_enabled() or result is None:
        return result
    anchors = [t for t in inputs if t is not None and t.requires_grad]
    if not anchors:
        return result
    return DependsOn.apply(result, *anchors)
