"""Forward derivatives (jvp) of ops: the tangent of an op's output from its inputs' tangents.

An op gives its forward derivative in one of two ways (see ``Op`` in
``leafgrad.autograd.function``): ``linear = True`` (linear in its floating inputs jointly: the
derivative is the op itself, applied to the tangents), or a ``jvp(ctx, inputs, output,
*tangents)`` rule written with Tensor ops. :func:`forward_derivative` is the one place that
resolves the two.
"""
from __future__ import annotations

from leafgrad._backend import xp
from leafgrad._dtype import is_differentiable, is_floating_point
from leafgrad._tensor import Tensor, _wrap

__all__ = ["forward_derivative"]


def forward_derivative(op_class, ctx, inputs, output, tangents, **kwargs):
    """The tangent of ``output = op_class.apply(*inputs, **kwargs)``.

    ``ctx`` is the ctx the op's forward ran with (its node), ``tangents`` one entry per
    positional input: a Tensor of the input's shape, or None where the input has no tangent.
    Returns a Tensor (a tuple for several outputs), or None when no input has a tangent or the
    output cannot carry one (an integer or bool result).

    A linear op is applied to the tangents: each floating Tensor input is replaced by its
    tangent (zeros where it has none, so that the result keeps the output's broadcast shape),
    a Python number by zero (a constant: ``x + 3``'s tangent is ``dx``, not ``dx + 3``), and
    non-floating Tensors (indices, masks) are kept. Other ops call their ``jvp``.
    Raises NotImplementedError naming the op when it has neither.
    """
    if all(tangent is None for tangent in tangents):
        return None
    if type(output) is not tuple and not is_differentiable(output._data.dtype):
        return None
    if op_class.linear:
        arguments = [_tangent_or_constant(x, tangent) for x, tangent in zip(inputs, tangents)]
        return op_class.apply(*arguments, **kwargs)
    if op_class.jvp is None:
        raise NotImplementedError(
            f"forward-mode AD: the op {op_class.__name__} has no forward derivative (no jvp "
            f"rule and not linear): compute this derivative with reverse mode (backward, "
            f"autograd.grad, func.vjp) instead")
    result = op_class.jvp(ctx, tuple(inputs), output, *tangents)
    if isinstance(result, Tensor) and isinstance(output, Tensor) and \
            result.shape != output.shape:
        # an elementwise rule gives the tangent in the broadcast shape of the inputs it read
        result = result.expand(output.shape)
    return result


def _tangent_or_constant(x, tangent):
    """What a linear op's input becomes when the op is applied to tangents."""
    if not isinstance(x, Tensor):
        return type(x)(0)  # a number: a constant, whose tangent is zero
    if not is_floating_point(x._data.dtype):
        return x  # an index or a mask: not differentiated, kept as it is
    if tangent is None:
        return _wrap(xp.zeros_like(x._data), False)
    return tangent
