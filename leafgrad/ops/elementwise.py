"""Elementwise ops: arithmetic, math functions, activations, comparisons, casts.

Each op states its derivative in its docstring, derivatives.yaml style (``self: grad * ...``).
Binary ops accept a Tensor or a Python number on either side; operands are first promoted
with torch's rules (:func:`promote`), so NumPy then computes in the right dtype.
"""
from __future__ import annotations

import math

from leafgrad import _dtype
from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor

__all__ = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow", "neg",
    "abs", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "square",
    "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "sigmoid", "logit", "erf", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu",
    "softplus", "mish", "hardtanh", "clamp", "clip", "minimum", "maximum", "where", "lerp",
    "sign", "floor", "ceil", "round", "trunc", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite",
    "clone", "arcsin", "arccos", "arctan", "negative", "multiply", "subtract", "divide",
    "absolute", "fmod", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
]


def _quiet(ufunc, *arrays):
    """Apply ``ufunc`` without NumPy's floating-point warnings: like torch, leafgrad returns
    inf/nan for log(0), 0/0, sqrt(-1) ... silently."""
    with xp.errstate(all="ignore"):
        return ufunc(*arrays)


# -- promotion -----------------------------------------------------------------------------
_OPERAND_TYPES = (Tensor, bool, int, float, xp.generic, xp.ndarray)  # what _as_operand takes


def _as_operand(value):
    """Tensors pass through; NumPy scalars become Python numbers and NumPy arrays tensors.
    Anything else (lists included, as torch) raises TypeError."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, xp.generic):
        return value.item()
    if isinstance(value, xp.ndarray):
        from leafgrad._factories import tensor
        return tensor(value)
    raise TypeError(f"unsupported operand type {type(value).__name__}: expected a Tensor or a "
                    f"number (make a tensor of a list with leafgrad.tensor(...) first)")


def result_type(*operands) -> xp.dtype:
    """torch's result dtype for operands (Tensors or Python numbers)."""
    dims, zero_dims, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zero_dims).append(x._data.dtype)
        else:
            scalars.append(_dtype.scalar_kind(x))
    return _dtype.promote_arrays(tuple(dims), tuple(zero_dims), tuple(scalars))


def promote(*operands, floating: bool = False, op_name: str | None = None):
    """Cast tensor operands to their torch result dtype (to the default float when
    ``floating`` and the result would be integral). Returns the operands and that dtype.
    With ``op_name`` (elementwise ops), first check that the tensors broadcast together."""
    operands = tuple(_as_operand(x) for x in operands)
    if op_name is not None:
        _check_shapes(op_name, *operands)
    target = result_type(*operands)
    if floating and target.kind != "f":
        target = _dtype.get_default_dtype().np_dtype
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            if x._data.dtype != target:
                x = cast(x, _dtype.from_numpy_dtype(target))
        elif target.kind == "f":
            x = float(x)
        elif target.kind != "b":
            # torch casts the scalar to the result dtype, wrapping around (uint8 + -3 adds 253);
            # NumPy 2 would raise OverflowError on a Python int out of the dtype's range.
            x = xp.int64(x).astype(target)
        out.append(x)
    return out, target


def _binary(op_class, op_name: str, a, b):
    # Fast paths: a floating tensor with a Python float/int, or two tensors of one dtype.
    if type(b) is float or type(b) is int:
        if isinstance(a, Tensor) and a._data.dtype.kind == "f":
            return op_class.apply(a, b)
    elif isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.dtype == b._data.dtype:
        if a._data.shape != b._data.shape:
            _check_shapes(op_name, a, b)
        return op_class.apply(a, b)
    (a, b), _ = promote(a, b, op_name=op_name)
    return op_class.apply(a, b)


def _floating_unary(op_class, x: Tensor, **kwargs):
    """Ops whose result is floating: integer inputs are computed in the default float dtype."""
    if not isinstance(x, Tensor):
        expect_tensor(x, op_class.__name__.lower())
    if x._data.dtype.kind != "f":
        x = cast(x, _dtype.get_default_dtype())
    return op_class.apply(x, **kwargs)


def _check_shapes(op_name: str, *operands) -> None:
    """Name the op and the shapes when its tensor (or array) operands do not broadcast."""
    shapes = [x._data.shape if isinstance(x, Tensor) else x.shape for x in operands
              if isinstance(x, (Tensor, xp.ndarray))]
    if len(shapes) < 2 or all(shape == shapes[0] for shape in shapes):
        return
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        if len(shapes) == 2:
            raise RuntimeError(
                f"{op_name}: the size of tensor a ({list(shapes[0])}) must match the size of "
                f"tensor b ({list(shapes[1])}) or be broadcastable to it") from None
        listed = ", ".join(str(list(shape)) for shape in shapes)
        raise RuntimeError(f"{op_name}: the shapes of its tensors ({listed}) do not broadcast "
                           f"together: each dimension must be equal or 1") from None


# -- arithmetic ----------------------------------------------------------------------------
class Add(Op):
    """self: grad;  other: grad"""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class AddScaled(Op):
    """``add(..., alpha=...)``: self: grad;  other: grad * alpha"""

    node_name = "AddBackward0"
    array_backward = True

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a + b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * ctx.alpha


class Sub(Op):
    """self: grad;  other: -grad"""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class SubScaled(Op):
    """``sub(..., alpha=...)``: self: grad;  other: -grad * alpha"""

    node_name = "SubBackward0"
    array_backward = True

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a - b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * -ctx.alpha


class Mul(Op):
    """self: grad * other;  other: grad * self"""

    array_backward = True
    saved_inputs = (0, 1)
    saved_for = {0: (1,), 1: (0,)}  # as torch: x * w keeps x only if w needs a gradient

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * b if needs[0] else None), (grad * a if needs[1] else None)


class Div(Op):
    """self: grad / other;  other: -grad * self / other**2"""

    array_backward = True
    saved_inputs = (0, 1)
    saved_for = {0: (1,), 1: (0, 1)}

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.divide, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_a = grad / b if needs[0] else None
        grad_b = -grad * a / (b * b) if needs[1] else None
        return grad_a, grad_b


class FloorDivide(Op):
    """No derivative: backward raises, as torch's floor_divide (and ``//``), whose grad_fn is
    named NotImplemented. ``div(rounding_mode='floor')`` is :class:`DivRounding` instead, whose
    gradient is zero."""

    node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.floor_divide, a, b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for floor_divide is not implemented: detach() its "
                           "inputs, or use div() for a differentiable quotient")


class DivRounding(Op):
    """self: 0;  other: 0  (div with rounding_mode 'floor' or 'trunc' is piecewise constant:
    torch's DivBackward2 gives zero gradients)"""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b, rounding_mode):
        quotient = _quiet(xp.floor_divide, a, b)
        if rounding_mode == "floor":
            return quotient
        if quotient.dtype.kind == "f":
            return _quiet(xp.trunc, _quiet(xp.divide, a, b)).astype(quotient.dtype, copy=False)
        # integer division rounded towards zero: the floor, plus one where it rounded down
        rounded_down = (_quiet(xp.remainder, a, b) != 0) & ((xp.asarray(a) < 0) != (b < 0))
        return (quotient + rounded_down).astype(quotient.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        zeros = _wrap(xp.zeros_like(grad._data), False)
        needs = ctx.needs_input_grad
        return (zeros if needs[0] else None), (zeros if needs[1] else None)


class Remainder(Op):
    """self: grad;  other: -grad * floor(self / other)  (Python's sign convention)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.remainder, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = -grad * floor(a / b) if ctx.needs_input_grad[1] else None
        return grad, grad_b


class Fmod(Op):
    """self: grad;  other: -grad * trunc(self / other)  (C's sign convention)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.fmod, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = -grad * trunc(a / b) if ctx.needs_input_grad[1] else None
        return grad, grad_b


def _power(a, b):
    if xp.result_type(a, b).kind in "iu" and xp.any(xp.asarray(b) < 0):
        # torch's integer pow for tensor exponents: 1 / a**|b| truncated, so 0 unless
        # |a| == 1 (NumPy refuses). A negative Python int exponent is refused in pow().
        b = xp.asarray(b)
        result = xp.power(a, xp.where(b < 0, 0, b))
        reciprocal = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
        return xp.where(b < 0, reciprocal, result).astype(result.dtype)
    return _quiet(xp.power, a, b)


class Pow(Op):
    """self: grad * exponent * self**(exponent - 1)   (a number exponent; 0 where it is 0)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.exponent = exponent
        return _power(a, exponent)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        exponent = ctx.exponent
        if exponent == 0:  # torch: zeros_like(self)
            return _wrap(xp.zeros_like(a._data), False)
        return grad * (a ** (exponent - 1) * exponent)  # torch's order of the products


class PowTensor(Op):
    """self: grad * exponent * self**(exponent - 1);  exponent: grad * result * log(self)"""

    node_name = "PowBackward1"  # torch's name for pow(Tensor, Tensor)
    saved_inputs = (0, 1)
    saves_output = True

    @staticmethod
    def forward(ctx, a, b):
        return _power(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b, result = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_a = grad_b = None
        # torch's formulas, so that NaN and inf propagate the same way in double backward; the
        # branches masked out may hold 0 * inf (at self == 0), which NumPy would warn about
        with xp.errstate(invalid="ignore"):
            if needs[0]:
                # where exponent == 0 the gradient is 0, even at self == 0
                grad_a = Where.apply(0.0, grad * (b * a ** (b - 1)), condition=b._data == 0)
            if needs[1]:
                # the exponent's gradient is 0 where self == 0 and exponent >= 0
                masked = (a._data == 0) & (b._data >= 0)
                grad_b = grad * Where.apply(0.0, result * log(a), condition=masked)
        return grad_a, grad_b


class PowScalarBase(Op):
    """exponent: grad * result * log(base)   (a number raised to a tensor; for base 0, torch
    takes 0 where exponent >= 0, and result * log(0) = -inf where exponent < 0)"""

    node_name = "PowBackward2"  # torch's name for pow(Scalar, Tensor)
    saved_inputs = (0,)
    saves_output = True

    @staticmethod
    def forward(ctx, exponent, base):
        ctx.base = base
        return _power(base, exponent)

    @staticmethod
    def backward(ctx, grad):
        exponent, result = ctx.saved_tensors
        base = ctx.base
        if base == 0:
            with xp.errstate(invalid="ignore"):  # 0 * -inf where exponent >= 0, masked out
                return grad * Where.apply(0.0, result * -math.inf, condition=exponent._data >= 0)
        return grad * result * (math.log(base) if base > 0 else math.nan)  # log(base < 0): NaN


class Neg(Op):
    """self: -grad"""

    array_backward = True
    @staticmethod
    def forward(ctx, a):
        return xp.negative(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad


# -- unary math ----------------------------------------------------------------------------
class Abs(Op):
    """self: grad * sign(self)   (0 at 0)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sign(a)


class Exp(Op):
    """self: grad * result   (the output is saved: it is the derivative)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.exp(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result


class Exp2(Op):
    """self: grad * result * ln 2"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.exp2(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result * math.log(2.0)


class Expm1(Op):
    """self: grad * (result + 1)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.expm1(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * (result + 1)


class Log(Op):
    """self: grad / self"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.log, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Log2(Op):
    """self: grad / (self * ln 2)"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.log2, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * math.log(2.0))


class Log10(Op):
    """self: grad / (self * ln 10)"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.log10, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * math.log(10.0))


class Log1p(Op):
    """self: grad / (self + 1)"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.log1p, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)


class Sqrt(Op):
    """self: grad / (2 * result)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.sqrt, a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad / (2 * result)


class Rsqrt(Op):
    """self: -grad * result**3 / 2"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        with xp.errstate(divide="ignore"):
            return 1 / xp.sqrt(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result ** 3 * -0.5


class Square(Op):
    """self: 2 * grad * self"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.square(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a * 2


class Reciprocal(Op):
    """self: -grad * result**2"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        with xp.errstate(divide="ignore"):
            return xp.reciprocal(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return -grad * result * result


class Sin(Op):
    """self: grad * cos(self)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cos(a)


class Cos(Op):
    """self: -grad * sin(self)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * sin(a)


class Tan(Op):
    """self: grad * (1 + result**2)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.tan(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * (result * result + 1)


class Asin(Op):
    """self: grad / sqrt(1 - self**2)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.arcsin, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * rsqrt(1 - a * a)


class Acos(Op):
    """self: -grad / sqrt(1 - self**2)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _quiet(xp.arccos, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * rsqrt(1 - a * a)


class Atan(Op):
    """self: grad / (1 + self**2)"""

    array_backward = True
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.arctan(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * a + 1)


class Atan2(Op):
    """self: grad * other / (self**2 + other**2);  other: -grad * self / (self**2 + other**2)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = grad / (a * a + b * b)
        needs = ctx.needs_input_grad
        return (scale * b if needs[0] else None), (-scale * a if needs[1] else None)


class Sinh(Op):
    """self: grad * cosh(self)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.sinh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cosh(a)


class Cosh(Op):
    """self: grad * sinh(self)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return xp.cosh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sinh(a)


class Tanh(Op):
    """self: grad * (1 - result**2)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.tanh(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * (1 - result * result)


def _sigmoid_array(a: xp.ndarray) -> xp.ndarray:
    # exp of -|a| and of min(a, 0) only: stable for large |a| in either sign; the numerator
    # is 1 for a >= 0 and e for a < 0 (the same bits as selecting with where, 6x faster)
    e = xp.exp(-xp.abs(a))
    return (xp.exp(xp.minimum(a, 0)) / (1 + e)).astype(a.dtype, copy=False)


class Sigmoid(Op):
    """self: grad * result * (1 - result)"""

    array_backward = True
    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return _sigmoid_array(a)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result * (1 - result)


class Logit(Op):
    """self: grad / (self * (1 - self)), 0 outside [eps, 1 - eps] when eps is given"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, eps=None):
        ctx.eps = eps
        if eps is not None:
            a = xp.clip(a, eps, 1 - eps)
        with xp.errstate(divide="ignore"):
            return xp.log(a / (1 - a))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        result = grad / (a * (1 - a))
        if ctx.eps is not None:
            result = where((a < ctx.eps) | (a > 1 - ctx.eps), 0.0, result)
        return result


def _erf_array(x: xp.ndarray) -> xp.ndarray:
    """erf to double precision: Taylor series near 0, continued fraction of erfc beyond."""
    x64 = x.astype(xp.float64, copy=False)
    ax = xp.abs(x64)
    small = ax < 2.5
    result = xp.empty_like(x64)
    xs = x64[small]
    if xs.size:
        x2 = xs * xs
        term = xs.copy()
        total = xs.copy()
        for n in range(1, 60):
            term = term * -x2 / n
            total += term / (2 * n + 1)
        result[small] = total * (2 / math.sqrt(math.pi))
    xl = ax[~small]
    if xl.size:
        fraction = xl.copy()
        for k in range(80, 0, -1):
            fraction = xl + (k / 2) / fraction
        erfc = xp.exp(-xl * xl) / (math.sqrt(math.pi) * fraction)
        result[~small] = xp.sign(x64[~small]) * (1 - erfc)
    return result.astype(x.dtype, copy=False)


class Erf(Op):
    """self: grad * 2 / sqrt(pi) * exp(-self**2)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a):
        return _erf_array(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * exp(-(a * a)) * (2 / math.sqrt(math.pi))


class Sign(Op):
    """self: 0"""

    @staticmethod
    def forward(ctx, a):
        return xp.sign(a)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


class _Rounding(Op):
    """self: 0 (piecewise constant, as torch)"""

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


class Floor(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return xp.floor(a)


class Ceil(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return xp.ceil(a)


class Trunc(_Rounding):
    @staticmethod
    def forward(ctx, a):
        return xp.trunc(a)


class Round(_Rounding):
    @staticmethod
    def forward(ctx, a, decimals=0):
        return xp.round(a, decimals)  # half to even, as torch


# -- gradients of piecewise-linear functions ------------------------------------------------
class _PiecewiseLinearBackward(Op):
    """grad times the slope of the piece ``source`` lies in (torch's threshold_backward,
    hardtanh_backward, leaky_relu_backward).

    grad_output: the same op applied to grad;  source: 0

    As in torch, ``source`` (the saved input, or relu's output) is an input of this recorded op
    whose derivative is zero: with create_graph the gradient requires grad, and differentiating
    it again gives zeros instead of an error. Subclasses define ``scale``.
    """

    saved_inputs = (1,)

    @staticmethod
    def scale(grad, source, **params):
        raise NotImplementedError

    @staticmethod
    def forward(ctx, grad, source, **params):
        ctx.params = params
        return ctx.scale(grad, source, **params)

    @staticmethod
    def backward(ctx, grad):
        (source,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_grad = ctx.apply(grad, source, **ctx.params) if needs[0] else None
        grad_source = _wrap(xp.zeros_like(source._data), False) if needs[1] else None
        return grad_grad, grad_source


_UNSIGNED_OF_SIZE = {2: xp.uint16, 4: xp.uint32, 8: xp.uint64}


def _zero_where(mask, grad):
    """``where(mask, 0, grad)`` as a bitwise select: the same bits (nan and inf included) and
    several times faster than ``where`` on the random masks of activations."""
    if grad.ndim == 0:
        return xp.where(mask, grad.dtype.type(0), grad)
    unsigned = _UNSIGNED_OF_SIZE[grad.dtype.itemsize]
    keep = xp.subtract(mask, 1, dtype=unsigned)  # 0 where zeroed, all bits set where kept
    return xp.bitwise_and(grad.view(unsigned), keep, out=keep).view(grad.dtype)


class ThresholdBackward(_PiecewiseLinearBackward):
    """grad where source > threshold, else 0 (relu: source is the output, relu'(0) = 0)"""

    @staticmethod
    def scale(grad, source, threshold):
        return _zero_where(source <= threshold, grad)  # torch's test: a NaN source passes grad


class HardtanhBackward(_PiecewiseLinearBackward):
    """grad where min_val < source < max_val, else 0 (the bounds get 0, as torch)"""

    @staticmethod
    def scale(grad, source, min_val, max_val):
        return _zero_where((source <= min_val) | (source >= max_val), grad)


class LeakyReluBackward(_PiecewiseLinearBackward):
    """grad where source > 0, grad * negative_slope elsewhere (0 included)"""

    @staticmethod
    def scale(grad, source, negative_slope):
        return xp.where(source > 0, grad, grad * negative_slope)


class EluBackward(Op):
    """grad * scale where self > 0, grad * alpha * scale * exp(self) elsewhere (0 included);
    torch's elu_backward, recorded so that create_graph differentiates it as torch does:

    grad_output: elu_backward(grad, self);  self: elu_backward(grad * grad_output, self) where
    self < 0, else 0 (so the second derivative at 0 is 0, as torch)
    """

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, grad, source, alpha, scale):
        ctx.alpha, ctx.scale = alpha, scale
        negative = grad * (alpha * scale) * xp.exp(xp.minimum(source, 0))
        return xp.where(source <= 0, negative, grad * scale)

    @staticmethod
    def backward(ctx, grad):
        grad_output, source = ctx.saved_tensors
        needs = ctx.needs_input_grad
        params = {"alpha": ctx.alpha, "scale": ctx.scale}
        grad_grad = EluBackward.apply(grad, source, **params) if needs[0] else None
        grad_source = None
        if needs[1]:
            curvature = EluBackward.apply(grad * grad_output, source, **params)
            grad_source = Where.apply(curvature, 0.0, condition=source._data < 0)
        return grad_grad, grad_source


class MulConstant(Op):
    """self: grad * factor  (``factor`` a constant array: masks and tie shares of the
    gradients of clamp, maximum/minimum, amax and the inf-norm, which do not depend on the
    input differentiably, as torch)"""

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, factor):
        ctx.factor = factor
        return _quiet(xp.multiply, a, factor).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return MulConstant.apply(grad, factor=ctx.factor)


# -- activations ---------------------------------------------------------------------------
class Relu(Op):
    """self: threshold_backward(grad, result, 0)  (relu'(0) = 0; the output is saved)"""

    saves_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.maximum(a, 0).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return ThresholdBackward.apply(grad, result, threshold=0)


class Hardtanh(Op):
    """self: hardtanh_backward(grad, self, min_val, max_val)  (grad where min_val < self <
    max_val, else 0: the bounds excluded, as torch)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, min_val=-1.0, max_val=1.0):
        ctx.bounds = (min_val, max_val)
        return xp.clip(a, min_val, max_val).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        low, high = ctx.bounds
        return HardtanhBackward.apply(grad, a, min_val=low, max_val=high)


class LeakyRelu(Op):
    """self: leaky_relu_backward(grad, self, negative_slope)  (grad where self > 0,
    grad * negative_slope elsewhere)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        ctx.negative_slope = negative_slope
        return xp.where(a > 0, a, a * negative_slope).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return LeakyReluBackward.apply(grad, a, negative_slope=ctx.negative_slope)


class Elu(Op):
    """self: elu_backward(grad, self)  (grad * scale where self > 0, else
    grad * alpha * scale * exp(self); elu, and selu with its constants)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, alpha=1.0, scale=1.0):
        ctx.alpha, ctx.scale = alpha, scale
        negative = alpha * xp.expm1(xp.minimum(a, 0))
        return (scale * xp.where(a > 0, a, negative)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return EluBackward.apply(grad, a, alpha=ctx.alpha, scale=ctx.scale)


class Gelu(Op):
    """exact: self: grad * (Phi(self) + self * phi(self));  'tanh': derivative of the tanh form"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate argument must be either none or tanh, got "
                             f"{approximate!r}")
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)
            return (0.5 * a * (1 + xp.tanh(inner))).astype(a.dtype, copy=False)
        return (0.5 * a * (1 + _erf_array(a / math.sqrt(2)))).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = tanh(k * (a + 0.044715 * a * a * a))
            return grad * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * k * (1 + 3 * 0.044715 * a * a))
        cdf = 0.5 * (1 + erf(a * (1 / math.sqrt(2))))
        pdf = exp(a * a * -0.5) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + a * pdf)


class Softplus(Op):
    """self: softplus_backward(grad, self)  (grad * sigmoid(beta * self), linear (grad) where
    beta * self > threshold)"""

    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        scaled = a * beta
        soft = xp.logaddexp(0, scaled) / beta
        return xp.where(scaled > threshold, a, soft).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return SoftplusBackward.apply(grad, a, beta=ctx.beta, threshold=ctx.threshold)


class SoftplusBackward(Op):
    """grad where beta * self > threshold, else grad * sigmoid(beta * self): torch's
    softplus_backward, recorded so that create_graph differentiates it as torch does:

    grad_output: softplus_backward(grad, self);  self: grad * grad_output * s * (1 - s) * beta
    with s = sigmoid(beta * self), only where beta * self < threshold (so at the threshold the
    first derivative is the soft one and the second is 0, as torch)
    """

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, grad, source, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        scaled = source * beta
        return xp.where(scaled > threshold, grad, grad * _sigmoid_array(scaled))

    @staticmethod
    def backward(ctx, grad):
        grad_output, source = ctx.saved_tensors
        needs = ctx.needs_input_grad
        beta, threshold = ctx.beta, ctx.threshold
        grad_grad = grad_source = None
        if needs[0]:
            grad_grad = SoftplusBackward.apply(grad, source, beta=beta, threshold=threshold)
        if needs[1]:
            s = sigmoid(source * beta)
            below = (source._data * beta < threshold).astype(source._data.dtype)
            grad_source = MulConstant.apply(grad * grad_output * (1 - s) * s, factor=below) * beta
        return grad_grad, grad_source


# -- two-input elementwise -----------------------------------------------------------------
def _clamp_array(a, low, high):
    result = a
    if low is not None:
        result = xp.maximum(result, low)
    if high is not None:
        result = xp.minimum(result, high)
    return result.astype(a.dtype, copy=False)


class ClampScalar(Op):
    """self: grad where min <= self <= max, else 0 (bounds included, as torch; nothing passes
    when min > max)"""

    node_name = "ClampBackward1"  # torch's name for clamp with number bounds
    saved_inputs = (0,)

    @staticmethod
    def forward(ctx, a, low, high):
        ctx.low, ctx.high = low, high
        return _clamp_array(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return Where.apply(grad, 0.0, condition=_clamp_keeps(a._data, ctx.low, ctx.high))


def _clamp_keeps(x, low, high):
    """Where clamp passes the gradient on to its input: low <= x <= high (torch)."""
    if low is None:
        return x <= high
    if high is None:
        return x >= low
    return (x >= low) & (x <= high)


class Clamp(Op):
    """self: grad where min <= self <= max, else 0 (bounds included, as torch);
    min: grad where self < min and min < max;  max: grad where self > max or max < min.
    When min > max the result is max, and max gets the whole gradient (torch's
    clamp_backward_min_max)."""

    saved_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx, a, low, high):
        return _clamp_array(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        a, low, high = ctx.saved_tensors
        x = a._data
        low = low._data if isinstance(low, Tensor) else low
        high = high._data if isinstance(high, Tensor) else high
        needs = ctx.needs_input_grad
        grad_self = grad_low = grad_high = None
        if needs[0]:
            grad_self = Where.apply(grad, 0.0, condition=_clamp_keeps(x, low, high))
        if needs[1]:
            low_wins = x < low if high is None else (x < low) & (low < high)
            grad_low = Where.apply(grad, 0.0, condition=low_wins)
        if needs[2]:
            high_wins = x > high if low is None else (x > high) | (high < low)
            grad_high = Where.apply(grad, 0.0, condition=high_wins)
        return grad_self, grad_low, grad_high


class Maximum(Op):
    """self: grad where self > other, grad / 2 on ties, 0 where self < other;  other: the
    mirror image (torch's formula: where either is NaN, both get grad)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _tie_split(grad, a, b, ctx.needs_input_grad, xp.less)


class Minimum(Op):
    """self: grad where self < other, grad / 2 on ties, 0 where self > other;  other: the
    mirror image (torch's formula: where either is NaN, both get grad)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _tie_split(grad, a, b, ctx.needs_input_grad, xp.greater)


def _tie_split(grad, a, b, needs, loses):
    """Gradients of maximum/minimum: an operand gets 0 where it ``loses`` to the other, half
    on ties, all of grad elsewhere (torch: where(self == other, grad / 2, grad)
    .masked_fill_(self loses, 0))."""
    a_data, b_data = a._data, b._data
    dtype = grad._data.dtype
    tie = a_data == b_data
    grads = []
    for needed, mine, theirs in ((needs[0], a_data, b_data), (needs[1], b_data, a_data)):
        if needed:
            share = xp.where(tie, 0.5, xp.where(loses(mine, theirs), 0.0, 1.0)).astype(dtype)
            grads.append(MulConstant.apply(grad, factor=share))
        else:
            grads.append(None)
    return tuple(grads)


class Where(Op):
    """input: grad where condition, else 0;  other: grad where not condition"""

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.condition = condition
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        condition = ctx.condition
        needs = ctx.needs_input_grad
        return (Where.apply(grad, 0.0, condition=condition) if needs[0] else None,
                Where.apply(0.0, grad, condition=condition) if needs[1] else None)


class Lerp(Op):
    """start: grad * (1 - weight);  end: grad * weight;  weight: grad * (end - start)"""

    saved_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx, start, end, weight):
        return start + weight * (end - start)

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * (1 - weight) if needs[0] else None,
                grad * weight if needs[1] else None,
                grad * (end - start) if len(needs) > 2 and needs[2] else None)


class ToCopy(Op):
    """self: grad.to(self.dtype)   (named as torch's grad_fn for .to()/.float(): ToCopyBackward0)"""

    @staticmethod
    def forward(ctx, a, np_dtype, copy=False):
        ctx.source_dtype = a.dtype
        return a.astype(np_dtype, copy=True) if copy or a.dtype != np_dtype else a

    @staticmethod
    def backward(ctx, grad):
        if ctx.source_dtype.kind != "f":
            return None
        return cast(grad, _dtype.from_numpy_dtype(ctx.source_dtype))


Cast = ToCopy


class Clone(Op):
    """self: grad"""

    @staticmethod
    def forward(ctx, a, order="K"):
        # "K" keeps the input's memory layout (torch's preserve_format: a transposed tensor's
        # clone is transposed too); contiguous() asks for "C"
        return a.copy(order=order)

    @staticmethod
    def backward(ctx, grad):
        return grad


# -- public functions ----------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and torch's type promotion."""
    if alpha != 1:
        (input, other), _ = promote(input, other, op_name="add")
        return AddScaled.apply(input, other, alpha=alpha)
    return _binary(Add, "add", input, other)


def _is_bool(x) -> bool:
    return isinstance(x, (bool, xp.bool_)) or (isinstance(x, Tensor) and x._data.dtype == xp.bool_)


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    # torch refuses a bool on either side (tensor or Python bool), whatever the other operand
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if alpha != 1:
        (input, other), _ = promote(input, other, op_name="sub")
        return SubScaled.apply(input, other, alpha=alpha)
    return _binary(Sub, "sub", input, other)


def mul(input, other):
    """Elementwise product."""
    return _binary(Mul, "mul", input, other)


def div(input, other, *, rounding_mode: str | None = None):
    """True division (integers divide to the default float dtype), or ``'floor'``/``'trunc'``
    rounding, whose gradient is zero (as torch)."""
    if rounding_mode is None:
        (a, b), _ = promote(input, other, floating=True, op_name="div")
        return Div.apply(a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    a, b = _integer_division_operands("div", f"div_{rounding_mode}", input, other)
    return DivRounding.apply(a, b, rounding_mode=rounding_mode)


def _integer_division_operands(op_name: str, kernel: str, input, other) -> list:
    """The promoted operands of a rounding division; refuses bool and integer division by 0."""
    (a, b), target = promote(input, other, op_name=op_name)
    if target.kind == "b":
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for 'Bool'")
    if target.kind in "iu" and xp.any(xp.asarray(b._data if isinstance(b, Tensor) else b) == 0):
        raise RuntimeError(f"ZeroDivisionError: integer division by zero in {kernel}")
    return [a, b]


def floor_divide(input, other):
    """``floor(input / other)``; no gradient flows (backward raises, as torch)."""
    a, b = _integer_division_operands("floor_divide", "div_floor", input, other)
    return FloorDivide.apply(a, b)


def remainder(input, other):
    """Python-style remainder (the sign of the divisor)."""
    (a, b), target = promote(input, other, op_name="remainder")
    if target.kind == "b":
        raise NotImplementedError("\"remainder_cpu\" not implemented for 'Bool'")
    if target.kind in "iu" and xp.any(xp.asarray(b._data if isinstance(b, Tensor) else b) == 0):
        raise RuntimeError("ZeroDivisionError: integer remainder by zero in remainder")
    return Remainder.apply(a, b)


def fmod(input, other):
    """C-style remainder (the sign of the dividend)."""
    (a, b), _ = promote(input, other, op_name="fmod")
    return Fmod.apply(a, b)


def pow(input, exponent):
    """``input ** exponent``; a Python number exponent keeps a float tensor's dtype."""
    if isinstance(input, Tensor) and type(exponent) in (int, float) and \
            input._data.dtype.kind == "f":
        return Pow.apply(input, exponent=exponent)
    if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
        if type(exponent) is int and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if isinstance(exponent, bool) and input._data.dtype == xp.bool_:
            # torch keeps bool ** Python bool in bool: x ** True is x, x ** False is all True
            return _untracked(xp.logical_or(input._data, not exponent), input)
    (a, b), target = promote(input, exponent, op_name="pow")
    if target.kind == "b":
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if not isinstance(b, Tensor):
        return Pow.apply(a, exponent=b)
    if not isinstance(a, Tensor):
        return PowScalarBase.apply(b, base=a)
    return PowTensor.apply(a, b)


def neg(input: Tensor) -> Tensor:
    expect_tensor(input, "neg")
    if input._data.dtype == xp.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return Neg.apply(input)


def abs(input: Tensor) -> Tensor:
    return Abs.apply(input)


def _unary(op_class):
    def function(input: Tensor) -> Tensor:
        return _floating_unary(op_class, input)
    function.__name__ = op_class.__name__.lower()
    function.__doc__ = f"Elementwise {function.__name__}. Derivative: {op_class.__doc__}"
    return function


exp = _unary(Exp)
exp2 = _unary(Exp2)
expm1 = _unary(Expm1)
log = _unary(Log)
log2 = _unary(Log2)
log10 = _unary(Log10)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
reciprocal = _unary(Reciprocal)
sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
asin = _unary(Asin)
acos = _unary(Acos)
atan = _unary(Atan)
sinh = _unary(Sinh)
cosh = _unary(Cosh)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)


def square(input: Tensor) -> Tensor:
    expect_tensor(input, "square")
    if input._data.dtype == xp.bool_:
        input = cast(input, _dtype.int64)
    return Square.apply(input)


def atan2(input, other):
    (a, b), _ = promote(input, other, floating=True, op_name="atan2")
    return Atan2.apply(a, b)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    return _floating_unary(Logit, input, eps=eps)


def sign(input: Tensor) -> Tensor:
    expect_tensor(input, "sign")
    if input._data.dtype == xp.bool_:
        return input.clone()
    return Sign.apply(input)


def _keep_integers(op_class):
    def function(input: Tensor, **kwargs) -> Tensor:
        expect_tensor(input, function.__name__)
        if input._data.dtype.kind != "f":
            return input.clone()  # rounding an integer tensor gives it back, as torch
        return op_class.apply(input, **kwargs)
    function.__name__ = op_class.__name__.lower()
    function.__doc__ = f"Elementwise {function.__name__}; its derivative is 0."
    return function


floor = _keep_integers(Floor)
ceil = _keep_integers(Ceil)
trunc = _keep_integers(Trunc)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, optionally to ``decimals`` places."""
    expect_tensor(input, "round")
    if input._data.dtype.kind != "f":
        return input.clone()
    return Round.apply(input, decimals=decimals)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``; the derivative at 0 is 0, as torch."""
    expect_tensor(input, "relu")
    if input._data.dtype == xp.bool_:
        raise RuntimeError("relu is not implemented for bool tensors")
    return Relu.apply(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
        # as torch: integer inputs keep their dtype (the bounds truncated), bool is refused
        if input._data.dtype.kind == "b":
            raise RuntimeError("Bool inputs not supported for hardtanh")
        return clamp(input, int(min_val), int(max_val))
    return _floating_unary(Hardtanh, input, min_val=min_val, max_val=max_val)


def relu6(input: Tensor) -> Tensor:
    return hardtanh(input, 0.0, 6.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return _floating_unary(LeakyRelu, input, negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _floating_unary(Elu, input, alpha=alpha)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor) -> Tensor:
    return _floating_unary(Elu, input, alpha=SELU_ALPHA, scale=SELU_SCALE)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula."""
    return _floating_unary(Gelu, input, approximate=approximate)


def silu(input: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (composite: its derivative follows from mul and sigmoid)."""
    expect_tensor(input, "silu")
    return input * sigmoid(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""
    return _floating_unary(Softplus, input, beta=beta, threshold=threshold)


def mish(input: Tensor) -> Tensor:
    """``x * tanh(softplus(x))`` (composite)."""
    expect_tensor(input, "mish")
    return input * tanh(softplus(input))


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit values to ``[min, max]``; min/max may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [_as_operand(b) if b is not None else None for b in (min, max)]
    present = [b for b in bounds if b is not None]
    (input, *present), _ = promote(input, *present, op_name="clamp")
    low = present.pop(0) if bounds[0] is not None else None
    high = present.pop(0) if bounds[1] is not None else None
    if isinstance(low, Tensor) or isinstance(high, Tensor):
        return Clamp.apply(input, low, high)
    return ClampScalar.apply(input, low=low, high=high)


clip = clamp


def maximum(input: Tensor, other: Tensor) -> Tensor:
    (a, b), _ = promote(input, other, op_name="maximum")
    return Maximum.apply(a, b)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    (a, b), _ = promote(input, other, op_name="minimum")
    return Minimum.apply(a, b)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, ``other`` elsewhere; ``where(condition)`` gives the
    indices of the true elements (as ``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        expect_tensor(condition, "where", "condition")
        from leafgrad.ops.indexing import nonzero
        return nonzero(condition, as_tuple=True)
    mask = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if mask.dtype != xp.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_dtype.from_numpy_dtype(mask.dtype)}")
    _check_shapes("where", mask, input, other)
    (a, b), _ = promote(input, other)
    return Where.apply(a, b, condition=mask)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    (a, b, w), _ = promote(input, end, weight, op_name="lerp")
    return Lerp.apply(a, b, w)


def cast(input: Tensor, dtype, copy: bool = False) -> Tensor:
    """Convert to ``dtype`` (differentiable between floating dtypes)."""
    expect_tensor(input, "cast")
    np_dtype = _dtype.to_numpy_dtype(dtype)
    if input._data.dtype == np_dtype and not copy:
        return input
    return Cast.apply(input, np_dtype=np_dtype, copy=copy)


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own storage; gradients flow back to ``input``."""
    expect_tensor(input, "clone")
    return Clone.apply(input)


# -- comparisons and logic (no gradient) ---------------------------------------------------
def _untracked(array, *sources) -> Tensor:
    """A result that records no graph (a comparison, argmax, isnan ...): volatile when one of
    its sources is, as every result computed from a volatile tensor (C4)."""
    result = _wrap(array, False)
    for source in sources:
        if isinstance(source, Tensor) and source._why_no_grad == "volatile":
            result._why_no_grad = "volatile"
            break
    return result


def _compare(ufunc, name):
    def function(input, other):
        (a, b), _ = promote(input, other, op_name=name)
        a_data = a._data if isinstance(a, Tensor) else a
        b_data = b._data if isinstance(b, Tensor) else b
        return _untracked(xp.asarray(ufunc(a_data, b_data)), input, other)
    function.__name__ = name
    function.__doc__ = f"Elementwise ``{name}`` as a bool tensor (not differentiable)."
    return function


eq = _compare(xp.equal, "eq")
ne = _compare(xp.not_equal, "ne")
lt = _compare(xp.less, "lt")
le = _compare(xp.less_equal, "le")
gt = _compare(xp.greater, "gt")
ge = _compare(xp.greater_equal, "ge")
logical_and = _compare(xp.logical_and, "logical_and")
logical_or = _compare(xp.logical_or, "logical_or")
logical_xor = _compare(xp.logical_xor, "logical_xor")


def _integral_bitwise(ufunc, name):
    def function(input, other):
        (a, b), target = promote(input, other, op_name=name)
        if target.kind == "f":
            dtype_name = _dtype.from_numpy_dtype(target).name.capitalize()
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{dtype_name}': bitwise ops "
                               f"need integer or bool tensors")
        a_data = a._data if isinstance(a, Tensor) else a
        b_data = b._data if isinstance(b, Tensor) else b
        return _untracked(xp.asarray(ufunc(a_data, b_data)), input, other)
    function.__name__ = name
    return function


bitwise_and = _integral_bitwise(xp.bitwise_and, "bitwise_and")
bitwise_or = _integral_bitwise(xp.bitwise_or, "bitwise_or")
bitwise_xor = _integral_bitwise(xp.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    expect_tensor(input, "bitwise_not")
    if input._data.dtype.kind == "f":
        raise RuntimeError("bitwise_not is only defined for integer and bool tensors")
    return _untracked(xp.invert(input._data), input)


def logical_not(input: Tensor) -> Tensor:
    expect_tensor(input, "logical_not")
    return _untracked(xp.logical_not(input._data), input)


def isnan(input: Tensor) -> Tensor:
    expect_tensor(input, "isnan")
    return _untracked(xp.isnan(input._data), input)


def isinf(input: Tensor) -> Tensor:
    expect_tensor(input, "isinf")
    return _untracked(xp.isinf(input._data), input)


def isfinite(input: Tensor) -> Tensor:
    expect_tensor(input, "isfinite")
    return _untracked(xp.isfinite(input._data), input)


# NumPy-style aliases that torch also provides
arcsin, arccos, arctan = asin, acos, atan
negative, multiply, subtract, divide, true_divide, absolute = neg, mul, sub, div, div, abs


def _operator(function):
    """An operator method (``x + y``, ``x == y`` ...): NotImplemented for an operand type the op
    does not take, so that Python tries the other operand's reflected method, and ``==``/``!=``
    fall back to identity (``x == None`` is False, as torch)."""
    def method(self, other):
        try:
            return function(self, other)
        except TypeError:
            if isinstance(other, _OPERAND_TYPES):
                raise
            return NotImplemented
    method.__name__ = function.__name__
    return method


def _binary_operator(op_class, function, reflected: bool = False):
    """``_operator`` for the arithmetic operators, with a fast path for their commonest uses:
    a tensor that requires grad (so floating) with a Python number, or two tensors of one dtype
    of which one requires grad, go straight to the op; anything else takes ``function``
    (promotion and checks). ``reflected``: ``number + tensor`` and ``number * tensor``, which
    torch records as ``tensor + number`` (the tensor's edge first)."""
    fast_path = op_class.binary_fast_path()
    op_name = function.__name__

    def method(self, other):
        if type(other) is float or type(other) is int:
            if self._requires_grad:
                return fast_path(self, other, False)
        elif not reflected and isinstance(other, Tensor) and \
                (self._requires_grad or other._requires_grad) and \
                self._data.dtype is other._data.dtype:
            if self._data.shape != other._data.shape:
                _check_shapes(op_name, self, other)
            return fast_path(self, other, True)
        try:
            return function(other, self) if reflected else function(self, other)
        except TypeError:
            if isinstance(other, _OPERAND_TYPES):
                raise
            return NotImplemented
    return method


def _reflected(function):
    def method(self, other):
        try:
            return function(other, self)
        except TypeError:
            if isinstance(other, _OPERAND_TYPES):
                raise
            return NotImplemented
    return method


def _inplace(function, name):
    def method(self, *args, **kwargs):
        return self._apply_inplace(lambda value: function(value, *args, **kwargs), name,
                                   args + tuple(kwargs.values()))
    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{function.__name__}`."
    return method


def _logical_or_bitwise(bitwise, logical):
    def method(self, other):
        other = _as_operand(other)
        self_bool = self._data.dtype == xp.bool_
        other_bool = other._data.dtype == xp.bool_ if isinstance(other, Tensor) else \
            isinstance(other, bool)
        return logical(self, other) if self_bool and other_bool else bitwise(self, other)
    return method


def _fill(self: Tensor, value, op_name: str = "fill_") -> Tensor:
    """Fill with ``value`` (a number or a 0-dim tensor, through which gradients flow)."""
    value = _as_operand(value)
    if isinstance(value, Tensor):
        if value._data.ndim > 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        return self._apply_inplace(lambda v: v * 0 + value, op_name, (value,))
    return self._apply_inplace(lambda v: Fill.apply(v, value=value), op_name,
                               direct=lambda array: array.fill(value))


class Fill(Op):
    """self: 0 (every element is replaced)"""

    @staticmethod
    def forward(ctx, a, value):
        return xp.full_like(a, value)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


def _copy(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast to this tensor's dtype) into this tensor."""
    src = _as_operand(src)
    if not isinstance(src, Tensor):
        return _fill(self, src)
    try:
        xp.broadcast_to(src._data, self._data.shape)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast "
                           f"to the destination of shape {list(self.shape)}") from None
    return self._apply_inplace(lambda v: _CopyFrom.apply(v, cast(src, self.dtype)), "copy_",
                               (src,))


class _CopyFrom(Op):
    """self: 0;  src: grad (summed over broadcast dims by the engine)"""

    @staticmethod
    def forward(ctx, destination, source):
        return xp.broadcast_to(source, destination.shape).astype(destination.dtype, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, grad


def _zero(self: Tensor) -> Tensor:
    return _fill(self, 0, "zero_")


TENSOR_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "floor_divide": floor_divide, "remainder": remainder,
    "fmod": fmod, "pow": pow, "neg": neg, "negative": neg, "abs": abs, "absolute": abs,
    "exp": exp, "exp2": exp2, "expm1": expm1, "log": log, "log2": log2, "log10": log10,
    "log1p": log1p, "sqrt": sqrt, "rsqrt": rsqrt, "square": square, "reciprocal": reciprocal,
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "acos": acos, "atan": atan,
    "arcsin": asin, "arccos": acos, "arctan": atan, "atan2": atan2, "sinh": sinh, "cosh": cosh,
    "tanh": tanh, "sigmoid": sigmoid, "logit": logit, "erf": erf, "relu": relu, "sign": sign,
    "floor": floor, "ceil": ceil, "trunc": trunc, "round": round, "clamp": clamp, "clip": clamp,
    "maximum": maximum, "minimum": minimum, "where": lambda self, condition, other:
    where(condition, self, other), "lerp": lerp, "clone": clone, "eq": eq, "ne": ne, "lt": lt,
    "le": le, "gt": gt, "ge": ge, "logical_and": logical_and, "logical_or": logical_or,
    "logical_xor": logical_xor, "logical_not": logical_not, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "bitwise_not": bitwise_not,
    "__add__": _binary_operator(Add, add), "__radd__": _binary_operator(Add, add, True),
    "__sub__": _binary_operator(Sub, sub), "__rsub__": _reflected(sub),
    "__mul__": _binary_operator(Mul, mul), "__rmul__": _binary_operator(Mul, mul, True),
    "__truediv__": _binary_operator(Div, div), "__rtruediv__": _reflected(div),
    "__floordiv__": _operator(floor_divide), "__rfloordiv__": _reflected(floor_divide),
    "__mod__": _operator(remainder), "__rmod__": _reflected(remainder),
    "__pow__": _operator(pow), "__rpow__": _reflected(pow),
    "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs,
    "__eq__": _operator(eq), "__ne__": _operator(ne), "__lt__": _operator(lt),
    "__le__": _operator(le), "__gt__": _operator(gt), "__ge__": _operator(ge),
    "__and__": _operator(_logical_or_bitwise(bitwise_and, logical_and)),
    "__or__": _operator(_logical_or_bitwise(bitwise_or, logical_or)),
    "__xor__": _operator(_logical_or_bitwise(bitwise_xor, logical_xor)),
    "__rand__": _operator(_logical_or_bitwise(bitwise_and, logical_and)),
    "__ror__": _operator(_logical_or_bitwise(bitwise_or, logical_or)),
    "__rxor__": _operator(_logical_or_bitwise(bitwise_xor, logical_xor)),
    "__invert__": lambda self: logical_not(self) if self._data.dtype == xp.bool_
    else bitwise_not(self),
    "fill_": _fill, "zero_": _zero, "copy_": _copy,
}

for _name in ("add", "sub", "mul", "div", "pow", "clamp", "clip", "abs", "neg", "exp", "log",
              "sqrt", "sigmoid", "tanh", "relu", "floor", "ceil", "round", "trunc", "sign",
              "remainder", "fmod", "floor_divide", "lerp", "sin", "cos", "reciprocal", "square",
              "exp2", "expm1", "log1p", "log2", "log10", "rsqrt", "atan2", "logit", "erf",
              "maximum", "minimum", "subtract", "multiply", "divide", "true_divide", "tan",
              "asin", "acos", "atan", "sinh", "cosh"):
    TENSOR_METHODS[_name + "_"] = _inplace(TENSOR_METHODS[_name], _name + "_")
TENSOR_METHODS.update({"__iadd__": TENSOR_METHODS["add_"], "__isub__": TENSOR_METHODS["sub_"],
                       "__imul__": TENSOR_METHODS["mul_"],
                       "__itruediv__": TENSOR_METHODS["div_"],
                       "__ipow__": TENSOR_METHODS["pow_"],
                       "__ifloordiv__": TENSOR_METHODS["floor_divide_"],
                       "__imod__": TENSOR_METHODS["remainder_"]})
