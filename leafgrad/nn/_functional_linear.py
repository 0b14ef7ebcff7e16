"""``linear``, ``bilinear`` and ``prelu``: the stateless functions of Linear, Bilinear and PReLU
(exported by ``leafgrad.nn.functional``)."""
from __future__ import annotations

import math

import numpy as np

from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Op
from leafgrad.ops.elementwise import where
from leafgrad.ops.linalg import einsum, matmul

__all__ = ["linear", "bilinear", "prelu"]


class Linear(Op):
    """input: grad @ weight;  weight: grad^T @ input (batch dims flattened);  bias: grad (the
    engine sums it over the batch dims)

    Fused (one node instead of transpose, matmul and add): every Linear layer runs it.
    """

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, input, weight, bias):
        out = input @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad):
        input, weight = ctx.saved_tensors
        needs_input, needs_weight, needs_bias = ctx.needs_input_grad
        grad_input = grad.matmul(weight) if needs_input else None
        grad_weight = None
        if needs_weight:
            out_features, in_features = weight.shape
            rows = math.prod(input.shape[:-1])  # explicit: -1 is ambiguous for empty inputs
            grad_weight = grad.reshape(rows, out_features).t().mm(input.reshape(rows, in_features))
        return grad_input, grad_weight, grad if needs_bias else None


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, over the last dim of ``input`` (any leading dims).

    Example::

        >>> x, w = leafgrad.ones(4, 3), leafgrad.ones(2, 3)
        >>> leafgrad.nn.functional.linear(x, w).shape
        torch.Size([4, 2])
    """
    if input.dim() == 0 or weight.dim() == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.dim()}D and {weight.dim()}D")
    if weight.dim() == 1:  # a vector weight gives one output feature without its dim (as torch)
        out = matmul(input, weight)
        return out if bias is None else out + bias
    if weight.dim() != 2:
        raise RuntimeError(f"linear: weight must be 1-D or 2-D (out_features x in_features), "
                           f"but it is {weight.dim()}-D with shape {list(weight.shape)}")
    out_features, in_features = weight.shape
    if input.shape[-1] != in_features:
        rows = input.numel() // input.shape[-1] if input.shape[-1] else 0
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                           f"and {in_features}x{out_features})")
    for name, operand in (("weight", weight), ("bias", bias)):
        if operand is not None and operand.dtype != input.dtype:
            raise RuntimeError(f"linear: expected input and {name} to have the same dtype, but "
                               f"got {input.dtype} and {operand.dtype}; convert one with .to()")
    if bias is not None:
        out_shape = tuple(input.shape[:-1]) + (out_features,)
        try:
            fits = np.broadcast_shapes(out_shape, tuple(bias.shape)) == out_shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"linear: bias of shape {list(bias.shape)} does not broadcast to "
                               f"the output shape {list(out_shape)}")
    return Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """``y[..., k] = input1[..., i] weight[k, i, j] input2[..., j] + bias[k]``.

    Example::

        >>> x1, x2, w = leafgrad.ones(4, 2), leafgrad.ones(4, 3), leafgrad.ones(5, 2, 3)
        >>> leafgrad.nn.functional.bilinear(x1, x2, w).shape
        torch.Size([4, 5])
    """
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and "
                           f"{input2.dim()}")
    for dim in range(input1.dim() - 1):
        if input1.shape[dim] != input2.shape[dim]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: "
                               f"got {input1.shape[dim]} and {input2.shape[dim]}")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out x in1 x in2), got "
                           f"{weight.dim()}-D")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    if bias is not None and bias.shape[-1] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1]} but expected {weight.shape[0]}")
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, with one slope per channel (dim 1) or one for all.
    At 0 the gradient w.r.t. the input is ``weight`` (torch's choice).

    Example::

        >>> leafgrad.nn.functional.prelu(leafgrad.tensor([-2.0, 3.0]), leafgrad.tensor([0.25]))
        tensor([-0.5000,  3.0000])
    """
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype} and "
                           f"{weight.dtype}")
    channels = input.shape[1] if input.dim() > 1 else 1
    count = weight.numel()
    if count != 1 and count != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {count} and channel size = {channels}.")
    if count != 1:  # slopes along dim 1, broadcast over the dims after it
        weight = weight.reshape((count,) + (1,) * (input.dim() - 2))
    elif weight.dim() == 1 and input.dim() == 0:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)
