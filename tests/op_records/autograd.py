"""Records of the ops that the autograd package itself applies (see ``op_db``): the error node
of ``once_differentiable`` and gradcheck's undefined-gradient identity."""
from __future__ import annotations

import functools

from op_db import OpInfo, unary


@functools.cache
def _once_differentiable_square(module):
    """x**2 as a custom Function of ``module`` (leafgrad or torch) whose backward is marked
    ``once_differentiable``."""

    class Square(module.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @module.autograd.function.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    return Square


def _once_differentiable_op(m, x):
    # multiplied by x, so that the custom backward receives a gradient that requires grad
    # (with create_graph): only then does it wrap its result in the error node
    return _once_differentiable_square(m).apply(x) * x


def _undefined_grad(m, x):
    from leafgrad.autograd.gradcheck import _UndefinedGrad
    return _UndefinedGrad.apply(x)


RECORDS = [
    OpInfo("once_differentiable", op=_once_differentiable_op, ref=_once_differentiable_op,
           samples=unary(), gradgradcheck=False,
           notes="differentiating the backward again raises, as torch's once_differentiable"),
    OpInfo("gradcheck_undefined_grad", op=_undefined_grad, ref=None, samples=unary(),
           gradcheck=False,
           notes="gradcheck's identity whose backward gives no gradient (torch's UndefinedGrad, "
                 "not public); every gradcheck call applies it to check undefined gradients"),
]
