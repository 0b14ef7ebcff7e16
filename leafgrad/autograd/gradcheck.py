"""Numerical checks of analytical gradients: ``gradcheck`` and ``gradgradcheck``.

Central differences in float64, compared with the Jacobian the engine computes, column by
column, with torch's defaults: eps=1e-6, atol=1e-5, rtol=1e-3.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from leafgrad._tensor import Tensor, _wrap

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical gradient differs from the numerical one."""


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (tuple(x) if isinstance(x, list) else (x,))


def _differentiable_outputs(outputs) -> list:
    return [o for o in _as_tuple(outputs) if isinstance(o, Tensor) and o._requires_grad]


def _numerical_jacobians(func: Callable, inputs: tuple, eps: float) -> list:
    """For each input requiring grad, d(flattened outputs)/d(input) by central differences."""
    def evaluate():
        outs = _as_tuple(func(*inputs))
        return np.concatenate([np.asarray(o._data, dtype=np.float64).ravel()
                               for o in outs if isinstance(o, Tensor) and o.is_floating_point()]
                              or [np.zeros(0)])

    jacobians = []
    for x in inputs:
        if not (isinstance(x, Tensor) and x._requires_grad):
            continue
        flat = x._data.reshape(-1)  # a view: perturbations show in x (x must be contiguous)
        columns = []
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = evaluate()
            flat[j] = original - eps
            minus = evaluate()
            flat[j] = original
            columns.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else
                         np.zeros((evaluate().size, 0)))
    return jacobians


def _analytical_jacobians(outputs: list, inputs: list, create_graph: bool = False) -> list:
    from leafgrad.autograd.engine import grad
    sizes = [o._data.size for o in outputs]
    total = sum(sizes)
    jacobians = [np.zeros((total, x._data.size)) for x in inputs]
    row = 0
    for o, size in zip(outputs, sizes):
        for k in range(size):
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[k] = 1
            grads = grad([o], inputs, [_wrap(seed.reshape(o._data.shape), False)],
                         retain_graph=True, allow_unused=True)
            for jac, g in zip(jacobians, grads):
                if g is not None:
                    jac[row, :] = np.asarray(g._data, dtype=np.float64).ravel()
            row += 1
    return jacobians


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True,
              nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              fast_mode: bool = False) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Inputs that require grad should be float64 (a warning-free float32 check is too coarse).

    Example::

        x = leafgrad.randn(3, dtype=leafgrad.float64, requires_grad=True)
        assert leafgrad.autograd.gradcheck(leafgrad.tanh, (x,))
    """
    inputs = _as_tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x._requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for x in diff_inputs:
        if x._data.dtype != np.float64:
            import warnings
            warnings.warn(f"Input #{inputs.index(x)} requires gradient and is not a double "
                          f"precision floating point: gradcheck is likely to fail",
                          UserWarning, stacklevel=2)
        if not x._data.flags.c_contiguous or not x._data.flags.writeable:
            raise ValueError("gradcheck needs contiguous, writable inputs: pass .clone()d "
                             "tensors")
    outputs = _differentiable_outputs(func(*inputs))
    numerical = _numerical_jacobians(func, inputs, eps)
    if not outputs:
        for jac in numerical:
            if np.any(jac != 0):
                return _fail(raise_exception, "Numerical gradient for function expected to be "
                                              "zero (no output requires grad)")
        return True
    analytical = _analytical_jacobians(outputs, diff_inputs)
    for index, (a, n) in enumerate(zip(analytical, numerical)):
        n = n[:a.shape[0]]
        if a.shape != n.shape or not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
            return _fail(raise_exception,
                         f"Jacobian mismatch for output 0 with respect to input {index},\n"
                         f"numerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, fast_mode: bool = False) -> bool:
    """Check second derivatives: gradcheck of the function that maps (inputs, grad_outputs) to
    the vector-Jacobian product computed with ``create_graph=True``."""
    from leafgrad.autograd.engine import grad
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype),
                                   True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    count = len(inputs)

    def first_derivative(*args):
        xs, gos = args[:count], args[count:]
        outs = _differentiable_outputs(func(*xs))
        diff_xs = [x for x in xs if isinstance(x, Tensor) and x._requires_grad]
        grads = grad(outs, diff_xs, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)


def _fail(raise_exception: bool, message: str) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False

