"""Helpers shared by the layer functions (conv, pooling, normalization, loss)."""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled

_SCALAR_TYPES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                 "bool": "Bool"}


def scalar_type(tensor: Tensor) -> str:
    """torch's C++ name of a tensor's dtype (``Float``, ``Long`` ...), as its messages say."""
    return _SCALAR_TYPES.get(tensor.dtype.name, tensor.dtype.name)


class DependsOn(Op):
    """value: grad;  the other inputs: no gradient"""

    @staticmethod
    def forward(ctx, value, *others):
        return value

    @staticmethod
    def backward(ctx, grad):
        return (grad,) + (None,) * (len(ctx._edges) - 1)


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
