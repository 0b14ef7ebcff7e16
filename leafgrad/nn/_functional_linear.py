"""``linear``, ``bilinear`` and ``prelu``: the stateless functions of Linear, Bilinear and PReLU
(exported by ``leafgrad.nn.functional``)."""
from __future__ import annotations

import math

from leafgrad._tensor import Tensor
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import broadcast_shape
from leafgrad.ops.elementwise import where
from leafgrad.ops.linalg import addmm, einsum, matmul, mm
from leafgrad.ops.shape import UnsafeView

__all__ = ["linear", "bilinear", "prelu"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, over the last dim of ``input`` (any leading dims).

    Example::

        >>> x, w = leafgrad.ones(4, 3), leafgrad.ones(2, 3)
        >>> leafgrad.nn.functional.linear(x, w).shape
        torch.Size([4, 2])
    """
    expect_tensor(input, "linear")
    expect_tensor(weight, "linear", "weight", 2)
    expect_tensor(bias, "linear", "bias", 3, optional=True)
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
    # torch's graph, node for node: addmm with the transposed weight for a matrix input, and
    # for other ranks too when the bias is a row and the input contiguous (flattened to a
    # matrix and viewed back); otherwise matmul's nodes, then the bias added
    weight_t = weight.t()
    if bias is not None:
        if input.dim() == 2:
            return addmm(bias, input, weight_t)
        if (bias.dim() == 1 or sum(size != 1 for size in bias.shape) == 1) \
                and input._data.flags.c_contiguous and bias._data.flags.c_contiguous:
            rows = math.prod(input.shape[:-1])
            out = addmm(bias, input.reshape(rows, in_features), weight_t)
            return out.view(tuple(input.shape[:-1]) + (out_features,))
        _check_bias_adds_in_place(bias, tuple(input.shape[:-1]) + (out_features,))
    if input.dim() == 1:
        out = mm(input.unsqueeze(0), weight_t).squeeze(0)
    elif input.dim() == 2:
        out = mm(input, weight_t)
    else:
        rows = math.prod(input.shape[:-1])  # explicit: -1 is ambiguous for empty inputs
        out = UnsafeView.apply(mm(input.reshape(rows, in_features), weight_t),
                               shape=tuple(input.shape[:-1]) + (out_features,))
    return out if bias is None else out + bias


def _check_bias_adds_in_place(bias: Tensor, out_shape: tuple) -> None:
    """torch adds such a bias in place (``output.add_(bias)``): it must broadcast to the
    output's shape without growing it."""
    broadcast = broadcast_shape(out_shape, tuple(bias.shape))
    if broadcast != out_shape:
        raise RuntimeError(f"output with shape {list(out_shape)} doesn't match the broadcast "
                           f"shape {list(broadcast)}")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """``y[..., k] = input1[..., i] weight[k, i, j] input2[..., j] + bias[k]``.

    Example::

        >>> x1, x2, w = leafgrad.ones(4, 2), leafgrad.ones(4, 3), leafgrad.ones(5, 2, 3)
        >>> leafgrad.nn.functional.bilinear(x1, x2, w).shape
        torch.Size([4, 5])
    """
    expect_tensor(input1, "bilinear", "input1")
    expect_tensor(input2, "bilinear", "input2", 2)
    expect_tensor(weight, "bilinear", "weight", 3)
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
    expect_tensor(input, "prelu")
    expect_tensor(weight, "prelu", "weight", 2)
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
