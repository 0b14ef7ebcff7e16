"""Numerical checks of analytical gradients: ``gradcheck`` and ``gradgradcheck``.

Central differences in float64, compared with the Jacobian the engine computes, output by output
and input by input, with torch's defaults: eps=1e-6, atol=1e-5, rtol=1e-3. As torch's (slow
mode) check, it also runs backward twice to check that it is reentrant (``nondet_tol``) and
checks that backward accepts undefined output gradients (``check_undefined_grad``).
"""
from __future__ import annotations

import warnings
from typing import Callable

from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.api import grad
from leafgrad.autograd.function import Op

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical gradient differs from the numerical one."""


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (tuple(x) if isinstance(x, list) else (x,))


def _differentiable_outputs(outputs) -> list:
    return [o for o in _as_tuple(outputs) if isinstance(o, Tensor) and o.requires_grad]


def _float_outputs(outputs) -> list:
    return [o for o in _as_tuple(outputs) if isinstance(o, Tensor) and o.is_floating_point()]


def _numerical_jacobians(func: Callable, inputs: tuple, diff_inputs: list, eps: float) -> list:
    """``jacobians[i][j]``: d(floating output i)/d(input j) by central differences, both
    flattened in C order, for each input requiring grad. Each element is perturbed where it
    lies in memory, so non-contiguous inputs work too."""
    def evaluate() -> list:  # copies: an output may be a view of the perturbed input
        return [xp.array(o._data, dtype=xp.float64).ravel()
                for o in _float_outputs(func(*inputs))]

    sizes = [values.size for values in evaluate()]
    jacobians = [[xp.zeros((size, x._data.size), like=x._data) for x in diff_inputs]
                 for size in sizes]
    for j, x in enumerate(diff_inputs):
        array = x._data
        for column, index in enumerate(xp.ndindex(array.shape)):
            original = array[index].copy()
            array[index] = original + eps
            plus = evaluate()
            array[index] = original - eps
            minus = evaluate()
            array[index] = original
            for i, (p, m) in enumerate(zip(plus, minus)):
                jacobians[i][j][:, column] = (p - m) / (2 * eps)
    return jacobians


def _analytical_jacobians(outputs: list, inputs: list) -> list:
    """``jacobians[i][j]``: d(output i)/d(input j), one backward per output element."""
    jacobians = [[xp.zeros((o._data.size, x._data.size), like=x._data) for x in inputs]
                 for o in outputs]
    for o, rows in zip(outputs, jacobians):
        for k in range(o._data.size):
            seed = xp.zeros(o._data.size, dtype=o._data.dtype, like=o._data)
            seed[k] = 1
            grads = grad([o], inputs, [_wrap(seed.reshape(o._data.shape), False)],
                         retain_graph=True, allow_unused=True)
            for jac, g in zip(rows, grads):
                if g is not None:
                    jac[k, :] = xp.asarray(g._data, dtype=xp.float64).ravel()
    return jacobians


class _UndefinedGrad(Op):
    """The identity, whose backward gives no gradient at all (torch's UndefinedGrad): what a
    function's backward receives for an output nobody differentiated."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return None


def _check_undefined_grad(func: Callable, inputs: tuple, diff_inputs: list) -> str | None:
    """torch's check that backward copes with undefined output gradients: all of them at once,
    then one at a time; the input gradients must then be undefined or zero."""
    count = len(_differentiable_outputs(func(*inputs)))
    undefined_sets = [set(range(count))] + ([{i} for i in range(count)] if count > 1 else [])
    for undefined in undefined_sets:
        outputs = [_UndefinedGrad.apply(o) if i in undefined else o
                   for i, o in enumerate(_differentiable_outputs(func(*inputs)))]
        zeros = [_wrap(xp.zeros_like(o._data), False) for o in outputs]
        try:
            grads = grad(outputs, diff_inputs, zeros, allow_unused=True)
        except RuntimeError as error:
            return (f"Expected backward function to handle undefined output grads. Please look "
                    f"at \"Notes about undefined output gradients\" in "
                    f"\"tools/autograd/derivatives.yaml\" ({error})")
        if any(g is not None and xp.any(g._data != 0) for g in grads):
            return ("Expected all input grads to be undefined or zero when all output grads "
                    "are undefined or zero. Please look at \"Notes about undefined output "
                    "gradients\" in \"tools/autograd/derivatives.yaml\"")
    return None


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True,
              nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              fast_mode: bool = False) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Inputs that require grad should be float64 (a warning-free float32 check is too coarse).
    Only outputs that require grad are checked; the others may come in any position.
    ``nondet_tol`` bounds how much two backward passes may differ (0: identical).
    ``check_undefined_grad`` also checks that backward accepts undefined output gradients.
    ``fast_mode`` is accepted for torch compatibility: leafgrad always compares the full
    Jacobians (torch's slow mode), which checks strictly more than the fast projection.

    Example::

        x = leafgrad.randn(3, dtype=leafgrad.float64, requires_grad=True)
        assert leafgrad.autograd.gradcheck(leafgrad.tanh, (x,))
    """
    inputs = _as_tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for x in diff_inputs:
        if x._data.dtype != xp.float64:
            warnings.warn(f"Input #{inputs.index(x)} requires gradient and is not a double "
                          f"precision floating point: gradcheck is likely to fail",
                          UserWarning, stacklevel=2)
        if not x._data.flags.writeable or x._data.size > 1 and any(
                stride == 0 and size > 1 for stride, size in zip(x._data.strides, x._data.shape)):
            raise ValueError(f"The {inputs.index(x)}th input has a dimension with stride 0 (or "
                             f"is read-only): gradcheck only supports inputs that are "
                             f"non-overlapping to be able to compute the numerical gradients "
                             f"correctly. Call .contiguous() on the input first.")
    float_outputs = _float_outputs(func(*inputs))
    numerical = _numerical_jacobians(func, inputs, diff_inputs, eps)
    # as torch: numerical Jacobians of outputs that do not require grad are left out (they
    # only matter when no output requires grad: then all of them must be zero)
    kept = [i for i, o in enumerate(float_outputs) if o.requires_grad]
    if not kept:
        if any(xp.any(jac != 0) for rows in numerical for jac in rows):
            return _fail(raise_exception, "Numerical gradient for function expected to be zero")
        return True
    outputs = [float_outputs[i] for i in kept]
    numerical = [numerical[i] for i in kept]
    analytical = _analytical_jacobians(outputs, diff_inputs)
    for i, (a_rows, n_rows) in enumerate(zip(analytical, numerical)):
        for j, (a, n) in enumerate(zip(a_rows, n_rows)):
            if not xp.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                return _fail(raise_exception,
                             f"Jacobian mismatch for output {i} with respect to input {j},\n"
                             f"numerical:{n}\nanalytical:{a}\n")
    again = _analytical_jacobians(outputs, diff_inputs)
    for a_rows, b_rows in zip(analytical, again):
        for a, b in zip(a_rows, b_rows):
            if not xp.allclose(a, b, rtol=0, atol=nondet_tol, equal_nan=True):
                return _fail(raise_exception,
                             f"Backward is not reentrant, i.e., running backward with same "
                             f"input and grad_output multiple times gives different values, "
                             f"although analytical gradient matches numerical gradient. The "
                             f"tolerance for nondeterminism was {nondet_tol}.")
    if check_undefined_grad:
        message = _check_undefined_grad(func, inputs, diff_inputs)
        if message is not None:
            return _fail(raise_exception, message)
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, fast_mode: bool = False) -> bool:
    """Check second derivatives: gradcheck of the function that maps (inputs, grad_outputs) to
    the vector-Jacobian product computed with ``create_graph=True``. Random ``grad_outputs``
    are made non-contiguous with ``gen_non_contig_grad_outputs``."""
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func(*inputs))
    if grad_outputs is None:
        rng = xp.random.default_rng(0)
        grad_outputs = tuple(_random_grad_output(rng, o, gen_non_contig_grad_outputs)
                             for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    count = len(inputs)

    def first_derivative(*args):
        xs, gos = args[:count], args[count:]
        outs = _differentiable_outputs(func(*xs))
        diff_xs = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = grad(outs, diff_xs, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, fast_mode=fast_mode)


def _random_grad_output(rng, output: Tensor, non_contiguous: bool) -> Tensor:
    shape, dtype = output._data.shape, output._data.dtype
    if not non_contiguous or output._data.ndim == 0:
        return _wrap(rng.standard_normal(shape).astype(dtype), True)
    # every other element of a twice-as-wide array: the same values, strided
    wide = xp.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype, like=output._data)
    strided = wide[..., ::2]
    strided[...] = rng.standard_normal(shape)
    return _wrap(strided, True)


def _fail(raise_exception: bool, message: str) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False
