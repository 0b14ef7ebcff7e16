"""Elementwise ops: arithmetic, math functions, activations, comparisons, casts.

Each op states its derivative in its docstring, derivatives.yaml style (``self: grad * ...``);
the unary ops with a local derivative are the rows of one table (:func:`unary`, "unary math"
below), from which their Op classes are made. Binary ops accept a Tensor or a Python number on
either side; operands are first promoted with torch's rules (:func:`promote`), so NumPy then
computes in the right dtype. Every op batches under vmap by the shared elementwise rule
(``batch_rule = "elementwise"``, in ``ops/_batching.py``).
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

from leafgrad import _dtype
from leafgrad._backend import is_array, is_scalar, xp
from leafgrad._dtype import is_bool, is_floating_point, is_integral
from leafgrad._factories import tensor
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
def _is_operand(value) -> bool:
    """Whether ``_as_operand`` takes ``value``."""
    return isinstance(value, (Tensor, bool, int, float)) or is_scalar(value) or is_array(value)


def _as_operand(value):
    """Tensors pass through; array scalars become Python numbers and arrays tensors.
    Anything else (lists included, as torch) raises TypeError."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    if is_scalar(value):
        return value.item()
    if is_array(value):
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
    if floating and not is_floating_point(target):
        target = _dtype.get_default_dtype().np_dtype
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            if x._data.dtype != target:
                x = cast(x, _dtype.from_numpy_dtype(target))
        elif is_floating_point(target):
            x = float(x)
        elif not is_bool(target):
            # torch casts the scalar to the result dtype, wrapping around (uint8 + -3 adds 253);
            # NumPy 2 would raise OverflowError on a Python int out of the dtype's range.
            x = xp.int64(x).astype(target)
        out.append(x)
    return out, target


def _binary(op_class, op_name: str, a, b):
    # Fast paths: a floating tensor with a Python float/int, or two tensors of one dtype.
    if type(b) is float or type(b) is int:
        if isinstance(a, Tensor) and is_floating_point(a._data.dtype):
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
    if not is_floating_point(x._data.dtype):
        x = cast(x, _dtype.get_default_dtype())
    return op_class.apply(x, **kwargs)


def _check_shapes(op_name: str, *operands) -> None:
    """Name the op and the shapes when its tensor (or array) operands do not broadcast."""
    shapes = [x._data.shape if isinstance(x, Tensor) else x.shape for x in operands
              if isinstance(x, Tensor) or is_array(x)]
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


class _Elementwise(Op):
    """The base of this module's ops: each runs under vmap by the shared batching rule of
    broadcasting elementwise ops (``ops/_batching.py``)."""

    batch_rule = "elementwise"


class _ParametrizedUnary(_Elementwise):
    """A unary op whose local derivative also reads the parameters its forward keeps on ctx
    (pow's exponent, logit's eps, hardtanh's bounds ...): ``derivative(ctx, grad, x)`` is grad
    times f'(x), written once; backward applies it to grad, jvp to the tangent."""

    saved_inputs = (0,)

    @staticmethod
    def derivative(ctx, grad, x):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ctx.derivative(ctx, grad, x)

    @staticmethod
    def jvp(ctx, inputs, output, tangent):
        return None if tangent is None else ctx.derivative(ctx, tangent, inputs[0])


def _total(*terms):
    """The sum of the terms that are not None, None if all are: a jvp's contributions from
    the inputs that have tangents."""
    present = [term for term in terms if term is not None]
    if not present:
        return None
    total = present[0]
    for term in present[1:]:
        total = total + term
    return total


def _zeros_like(tensor: Tensor) -> Tensor:
    """Zeros of ``tensor``'s shape and dtype that do not require grad (a zero derivative)."""
    return _wrap(xp.zeros_like(tensor._data), False)


# -- arithmetic ----------------------------------------------------------------------------
class Add(_Elementwise):
    """self: grad;  other: grad"""

    array_backward = True
    linear = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class AddScaled(_Elementwise):
    """``add(..., alpha=...)``: self: grad;  other: grad * alpha"""

    node_name = "AddBackward0"
    array_backward = True
    linear = True

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a + b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * ctx.alpha


class Sub(_Elementwise):
    """self: grad;  other: -grad"""

    array_backward = True
    linear = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class SubScaled(_Elementwise):
    """``sub(..., alpha=...)``: self: grad;  other: -grad * alpha"""

    node_name = "SubBackward0"
    array_backward = True
    linear = True

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a - b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * -ctx.alpha


class Mul(_Elementwise):
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

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        a, b = inputs
        return _total(None if tangent_a is None else tangent_a * b,
                      None if tangent_b is None else a * tangent_b)


class Div(_Elementwise):
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

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        a, b = inputs
        return _total(None if tangent_a is None else tangent_a / b,
                      None if tangent_b is None else -tangent_b * a / (b * b))


class FloorDivide(_Elementwise):
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


class DivRounding(_Elementwise):
    """self: 0;  other: 0  (div with rounding_mode 'floor' or 'trunc' is piecewise constant:
    torch's DivBackward2 gives zero gradients)"""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b, rounding_mode):
        quotient = _quiet(xp.floor_divide, a, b)
        if rounding_mode == "floor":
            return quotient
        if is_floating_point(quotient.dtype):
            return _quiet(xp.trunc, _quiet(xp.divide, a, b)).astype(quotient.dtype, copy=False)
        # integer division rounded towards zero: the floor, plus one where it rounded down
        rounded_down = (_quiet(xp.remainder, a, b) != 0) & ((xp.asarray(a) < 0) != (b < 0))
        return (quotient + rounded_down).astype(quotient.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        zeros = _zeros_like(grad)
        needs = ctx.needs_input_grad
        return (zeros if needs[0] else None), (zeros if needs[1] else None)

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        return _zeros_like(output)


class _Modulo(_Elementwise):
    """self: grad;  other: -grad * quotient(self / other), ``quotient`` rounding the quotient
    as the subclass's remainder does"""

    saved_inputs = (0, 1)

    @staticmethod
    def quotient(ratio: Tensor) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = -grad * ctx.quotient(a / b) if ctx.needs_input_grad[1] else None
        return grad, grad_b

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        a, b = inputs
        return _total(tangent_a, None if tangent_b is None else -tangent_b * ctx.quotient(a / b))


class Remainder(_Modulo):
    """self: grad;  other: -grad * floor(self / other)  (Python's sign convention)"""

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.remainder, a, b)

    @staticmethod
    def quotient(ratio):
        return floor(ratio)


class Fmod(_Modulo):
    """self: grad;  other: -grad * trunc(self / other)  (C's sign convention)"""

    @staticmethod
    def forward(ctx, a, b):
        return _quiet(xp.fmod, a, b)

    @staticmethod
    def quotient(ratio):
        return trunc(ratio)


def _power(a, b):
    if is_integral(xp.result_type(a, b)) and xp.any(xp.asarray(b) < 0):
        # torch's integer pow for tensor exponents: 1 / a**|b| truncated, so 0 unless
        # |a| == 1 (NumPy refuses). A negative Python int exponent is refused in pow().
        b = xp.asarray(b)
        result = xp.power(a, xp.where(b < 0, 0, b))
        reciprocal = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
        return xp.where(b < 0, reciprocal, result).astype(result.dtype)
    return _quiet(xp.power, a, b)


class Pow(_ParametrizedUnary):
    """self: grad * exponent * self**(exponent - 1)   (a number exponent; 0 where it is 0)"""

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.exponent = exponent
        return _power(a, exponent)

    @staticmethod
    def derivative(ctx, grad, a):
        exponent = ctx.exponent
        if exponent == 0:  # torch: zeros_like(self)
            return _zeros_like(a)
        return grad * (a ** (exponent - 1) * exponent)  # torch's order of the products


class PowTensor(_Elementwise):
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
        return _pow_tensor_derivatives(grad if needs[0] else None, grad if needs[1] else None,
                                       a, b, result)

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        return _total(*_pow_tensor_derivatives(tangent_a, tangent_b, *inputs, output))


def _pow_tensor_derivatives(grad_a, grad_b, a, b, result) -> tuple:
    """PowTensor's two terms, ``grad_a`` and ``grad_b`` the gradients (or tangents) they
    scale; None where that one is None."""
    # torch's formulas, so that NaN and inf propagate the same way in double backward; the
    # branches masked out may hold 0 * inf (at self == 0), which NumPy would warn about
    with xp.errstate(invalid="ignore"):
        if grad_a is not None:
            # where exponent == 0 the gradient is 0, even at self == 0
            grad_a = Where.apply(0.0, grad_a * (b * a ** (b - 1)), condition=b._data == 0)
        if grad_b is not None:
            # the exponent's gradient is 0 where self == 0 and exponent >= 0
            masked = (a._data == 0) & (b._data >= 0)
            grad_b = grad_b * Where.apply(0.0, result * log(a), condition=masked)
    return grad_a, grad_b


class PowScalarBase(_Elementwise):
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
        return _pow_scalar_base_derivative(grad, exponent, result, ctx.base)

    @staticmethod
    def jvp(ctx, inputs, output, tangent):
        if tangent is None:
            return None
        return _pow_scalar_base_derivative(tangent, inputs[0], output, ctx.base)


def _pow_scalar_base_derivative(grad, exponent, result, base):
    if base == 0:
        with xp.errstate(invalid="ignore"):  # 0 * -inf where exponent >= 0, masked out
            return grad * Where.apply(0.0, result * -math.inf, condition=exponent._data >= 0)
    return grad * result * (math.log(base) if base > 0 else math.nan)  # log(base < 0): NaN


# -- unary math: one table of local derivatives --------------------------------------------
class Unary(NamedTuple):
    """A row of the table of unary elementwise ops (made by :func:`unary`)."""

    name: str  # the Op class; its grad_fn is <name>Backward0 unless node_name says otherwise
    forward: Callable  # the result's array from the input's array
    derivative: Callable  # the input's gradient from grad and what ``reads`` names
    reads: str | None  # "x": the input (saved), "result": the output (saved), None: neither
    array_backward: bool
    linear: bool
    node_name: str | None


UNARY_DERIVATIVES: dict = {}  # row name -> Unary: the table, in the order of the rows below


def unary(name: str, forward: Callable, derivative: Callable, *, arrays: bool = False,
          linear: bool = False, node_name: str | None = None) -> type:
    """Add a row to the table and return its Op class.

    ``derivative`` is the input's gradient as derivatives.yaml writes it (``self: grad *
    result``): ``derivative(grad, x)`` reads the input x, which is then saved for backward;
    ``derivative(grad, result)`` reads the output, saved instead (where the derivative is
    cheaper from it: exp, tanh, sigmoid, sqrt ...); ``derivative(grad)`` reads neither. The
    formula is grad times the local derivative f', so the same formula with the input's tangent
    in place of grad is the forward derivative (derivatives.yaml's ``auto_element_wise``):
    backward = grad * f', jvp = tangent * f'. The formulas keep the order of operations that
    they had as classes, so results are the same to the bit. ``arrays=True`` where a formula
    uses operators only and reads the same on raw arrays (the class's ``array_backward``).
    """
    code = derivative.__code__
    reads = code.co_varnames[1:code.co_argcount]
    if reads not in ((), ("x",), ("result",)):
        raise ValueError(f"unary {name}: its derivative takes (grad), (grad, x) or (grad, "
                         f"result), not {code.co_varnames[:code.co_argcount]}")
    row = Unary(name, forward, derivative, reads[0] if reads else None, arrays, linear,
                node_name)
    UNARY_DERIVATIVES[name] = row
    return _unary_op_class(row)


def _unary_op_class(row: Unary) -> type:
    """The Op subclass of a table row, named as the row (so its grad_fn is torch's)."""
    forward_array, derivative, reads = row.forward, row.derivative, row.reads

    def forward(ctx, a):
        return forward_array(a)

    def backward(ctx, grad):
        return derivative(grad, *ctx.saved_tensors)  # the saved input or output, if any

    def jvp(ctx, inputs, output, tangent):
        if tangent is None:
            return None
        if reads is None:
            return derivative(tangent)
        return derivative(tangent, inputs[0] if reads == "x" else output)

    namespace = {
        "__doc__": f"Elementwise {row.name.lower()}: the row {row.name!r} of the derivative "
                   f"table (UNARY_DERIVATIVES) gives its backward and jvp.",
        "__module__": __name__, "__qualname__": row.name,
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "jvp": staticmethod(jvp), "saved_inputs": (0,) if reads == "x" else (),
        "saves_output": reads == "result", "array_backward": row.array_backward,
        "linear": row.linear,
    }
    if row.node_name is not None:
        namespace["node_name"] = row.node_name
    return type(_Elementwise)(row.name, (_Elementwise,), namespace)


def _silenced(ufunc) -> Callable:
    """``ufunc`` without NumPy's floating-point warnings (see ``_quiet``)."""
    return functools.partial(_quiet, ufunc)


def _rsqrt_array(a):
    with xp.errstate(divide="ignore"):
        return 1 / xp.sqrt(a)


def _reciprocal_array(a):
    with xp.errstate(divide="ignore"):
        return xp.reciprocal(a)


def _relu_array(a):
    return xp.maximum(a, 0).astype(a.dtype, copy=False)


def _sigmoid_array(a):
    # exp of -|a| and of min(a, 0) only: stable for large |a| in either sign; the numerator
    # is 1 for a >= 0 and e for a < 0 (the same bits as selecting with where, 6x faster)
    e = xp.exp(-xp.abs(a))
    return (xp.exp(xp.minimum(a, 0)) / (1 + e)).astype(a.dtype, copy=False)


def _erf_array(x):
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


LN2, LN10, TWO_OVER_SQRT_PI = math.log(2.0), math.log(10.0), 2 / math.sqrt(math.pi)

# The table: op class = unary(name, forward on arrays, the input's gradient from grad and the
# input x or the result). Formulas of the result save the output instead of the input.
Neg = unary("Neg", xp.negative, lambda grad: -grad, arrays=True, linear=True)
Abs = unary("Abs", xp.abs, lambda grad, x: grad * sign(x))  # 0 at 0
# piecewise constant (as torch): zero derivatives
Sign = unary("Sign", xp.sign, lambda grad: grad * 0)
Floor = unary("Floor", xp.floor, lambda grad: grad * 0)
Ceil = unary("Ceil", xp.ceil, lambda grad: grad * 0)
Trunc = unary("Trunc", xp.trunc, lambda grad: grad * 0)
# torch's threshold_backward(grad, result, 0): relu'(0) = 0
Relu = unary("Relu", _relu_array,
             lambda grad, result: ThresholdBackward.apply(grad, result, threshold=0))
Exp = unary("Exp", xp.exp, lambda grad, result: grad * result, arrays=True)
Exp2 = unary("Exp2", xp.exp2, lambda grad, result: grad * result * LN2, arrays=True)
Expm1 = unary("Expm1", xp.expm1, lambda grad, result: grad * (result + 1), arrays=True)
Log = unary("Log", _silenced(xp.log), lambda grad, x: grad / x, arrays=True)
Log2 = unary("Log2", _silenced(xp.log2), lambda grad, x: grad / (x * LN2), arrays=True)
Log10 = unary("Log10", _silenced(xp.log10), lambda grad, x: grad / (x * LN10), arrays=True)
Log1p = unary("Log1p", _silenced(xp.log1p), lambda grad, x: grad / (x + 1), arrays=True,
              node_name="Log1PBackward0")  # torch's spelling of its grad_fn
Sqrt = unary("Sqrt", _silenced(xp.sqrt), lambda grad, result: grad / (2 * result), arrays=True)
Rsqrt = unary("Rsqrt", _rsqrt_array, lambda grad, result: grad * result ** 3 * -0.5,
              arrays=True)
Square = unary("Square", xp.square, lambda grad, x: grad * x * 2, arrays=True)
Reciprocal = unary("Reciprocal", _reciprocal_array,
                   lambda grad, result: -grad * result * result, arrays=True)
Sin = unary("Sin", xp.sin, lambda grad, x: grad * cos(x))
Cos = unary("Cos", xp.cos, lambda grad, x: -grad * sin(x))
Tan = unary("Tan", xp.tan, lambda grad, result: grad * (result * result + 1), arrays=True)
Asin = unary("Asin", _silenced(xp.arcsin), lambda grad, x: grad * rsqrt(1 - x * x))
Acos = unary("Acos", _silenced(xp.arccos), lambda grad, x: -grad * rsqrt(1 - x * x))
Atan = unary("Atan", xp.arctan, lambda grad, x: grad / (x * x + 1), arrays=True)
Sinh = unary("Sinh", xp.sinh, lambda grad, x: grad * cosh(x))
Cosh = unary("Cosh", xp.cosh, lambda grad, x: grad * sinh(x))
Tanh = unary("Tanh", xp.tanh, lambda grad, result: grad * (1 - result * result), arrays=True)
Sigmoid = unary("Sigmoid", _sigmoid_array,
                lambda grad, result: grad * result * (1 - result), arrays=True)
Erf = unary("Erf", _erf_array, lambda grad, x: grad * exp(-(x * x)) * TWO_OVER_SQRT_PI)


# -- unary ops that need more than a local derivative ----------------------------------------
class Round(_Elementwise):
    """self: 0 (piecewise constant, as torch); a class for its ``decimals``"""

    @staticmethod
    def forward(ctx, a, decimals=0):
        return xp.round(a, decimals)  # half to even, as torch

    @staticmethod
    def backward(ctx, grad):
        return grad * 0

    @staticmethod
    def jvp(ctx, inputs, output, tangent):
        return None if tangent is None else tangent * 0


class Logit(_ParametrizedUnary):
    """self: grad / (self * (1 - self)), 0 outside [eps, 1 - eps] when eps is given"""

    @staticmethod
    def forward(ctx, a, eps=None):
        ctx.eps = eps
        if eps is not None:
            a = xp.clip(a, eps, 1 - eps)
        with xp.errstate(divide="ignore"):
            return xp.log(a / (1 - a))

    @staticmethod
    def derivative(ctx, grad, a):
        result = grad / (a * (1 - a))
        eps = ctx.eps
        if eps is not None:
            result = where((a < eps) | (a > 1 - eps), 0.0, result)
        return result


class Atan2(_Elementwise):
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

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        a, b = inputs
        return _total(None if tangent_a is None else tangent_a / (a * a + b * b) * b,
                      None if tangent_b is None else -(tangent_b / (a * a + b * b)) * a)


# -- gradients of piecewise-linear functions ------------------------------------------------
class _PiecewiseLinearBackward(_Elementwise):
    """grad times the slope of the piece ``source`` lies in (torch's threshold_backward,
    hardtanh_backward, leaky_relu_backward).

    grad_output: the same op applied to grad;  source: 0

    As in torch, ``source`` (the saved input, or relu's output) is an input of this recorded op
    whose derivative is zero: with create_graph the gradient requires grad, and differentiating
    it again gives zeros instead of an error. Subclasses define ``forward``, which keeps its
    parameters as ``ctx.params``.
    """

    saved_inputs = (1,)

    @staticmethod
    def backward(ctx, grad):
        (source,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_grad = ctx.apply(grad, source, **ctx.params) if needs[0] else None
        grad_source = _zeros_like(source) if needs[1] else None
        return grad_grad, grad_source

    @staticmethod
    def jvp(ctx, inputs, output, tangent_grad, tangent_source):
        # linear in grad; the slope is piecewise constant in source (derivative 0)
        return None if tangent_grad is None else ctx.apply(tangent_grad, inputs[1], **ctx.params)


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
    def forward(ctx, grad, source, threshold):
        ctx.params = {"threshold": threshold}
        return _zero_where(source <= threshold, grad)  # torch's test: a NaN source passes grad


class HardtanhBackward(_PiecewiseLinearBackward):
    """grad where min_val < source < max_val, else 0 (the bounds get 0, as torch)"""

    @staticmethod
    def forward(ctx, grad, source, min_val, max_val):
        ctx.params = {"min_val": min_val, "max_val": max_val}
        return _zero_where((source <= min_val) | (source >= max_val), grad)


class LeakyReluBackward(_PiecewiseLinearBackward):
    """grad where source > 0, grad * negative_slope elsewhere (0 included)"""

    @staticmethod
    def forward(ctx, grad, source, negative_slope):
        ctx.params = {"negative_slope": negative_slope}
        return xp.where(source > 0, grad, grad * negative_slope)


class EluBackward(_Elementwise):
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
        return _elu_backward_terms(ctx, grad if needs[0] else None, grad if needs[1] else None,
                                   grad_output, source)

    @staticmethod
    def jvp(ctx, inputs, output, tangent_grad, tangent_source):
        return _total(*_elu_backward_terms(ctx, tangent_grad, tangent_source, *inputs))


def _elu_backward_terms(ctx, grad_grad, grad_source, grad_output, source) -> tuple:
    """EluBackward's derivatives with respect to its two inputs, scaling ``grad_grad`` and
    ``grad_source`` (gradients or tangents); None where that one is None."""
    params = {"alpha": ctx.alpha, "scale": ctx.scale}
    if grad_grad is not None:
        grad_grad = EluBackward.apply(grad_grad, source, **params)
    if grad_source is not None:
        curvature = EluBackward.apply(grad_source * grad_output, source, **params)
        grad_source = Where.apply(curvature, 0.0, condition=source._data < 0)
    return grad_grad, grad_source


class SoftplusBackward(_Elementwise):
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
        return _softplus_backward_terms(ctx, grad if needs[0] else None,
                                        grad if needs[1] else None, grad_output, source)

    @staticmethod
    def jvp(ctx, inputs, output, tangent_grad, tangent_source):
        return _total(*_softplus_backward_terms(ctx, tangent_grad, tangent_source, *inputs))


def _softplus_backward_terms(ctx, grad_grad, grad_source, grad_output, source) -> tuple:
    """SoftplusBackward's derivatives with respect to its two inputs, scaling ``grad_grad``
    and ``grad_source`` (gradients or tangents); None where that one is None."""
    beta, threshold = ctx.beta, ctx.threshold
    if grad_grad is not None:
        grad_grad = SoftplusBackward.apply(grad_grad, source, beta=beta, threshold=threshold)
    if grad_source is not None:
        s = sigmoid(source * beta)
        below = (source._data * beta < threshold).astype(source._data.dtype)
        grad_source = MulConstant.apply(grad_source * grad_output * (1 - s) * s,
                                        factor=below) * beta
    return grad_grad, grad_source


class MulConstant(_Elementwise):
    """self: grad * factor  (``factor`` a constant array: masks and tie shares of the
    gradients of clamp, maximum/minimum, amax and the inf-norm, which do not depend on the
    input differentiably, as torch)"""

    node_name = "MulBackward0"
    linear = True

    @staticmethod
    def forward(ctx, a, factor):
        ctx.factor = factor
        return _quiet(xp.multiply, a, factor).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return MulConstant.apply(grad, factor=ctx.factor)


# -- activations with parameters (relu is a row of the table) -------------------------------
class _Activation(_ParametrizedUnary):
    """An activation whose derivative is an op of its own, as torch's ``*_backward`` functions:
    self: backward_op(grad, self, **ctx.params), ``ctx.params`` the parameters its forward
    keeps."""

    backward_op: type = None

    @staticmethod
    def derivative(ctx, grad, a):
        return ctx.backward_op.apply(grad, a, **ctx.params)


class Hardtanh(_Activation):
    """self: hardtanh_backward(grad, self, min_val, max_val)  (grad where min_val < self <
    max_val, else 0: the bounds excluded, as torch)"""

    backward_op = HardtanhBackward

    @staticmethod
    def forward(ctx, a, min_val=-1.0, max_val=1.0):
        ctx.params = {"min_val": min_val, "max_val": max_val}
        return xp.clip(a, min_val, max_val).astype(a.dtype, copy=False)


class LeakyRelu(_Activation):
    """self: leaky_relu_backward(grad, self, negative_slope)  (grad where self > 0,
    grad * negative_slope elsewhere)"""

    backward_op = LeakyReluBackward

    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        ctx.params = {"negative_slope": negative_slope}
        return xp.where(a > 0, a, a * negative_slope).astype(a.dtype, copy=False)


class Elu(_Activation):
    """self: elu_backward(grad, self)  (grad * scale where self > 0, else
    grad * alpha * scale * exp(self); elu, and selu with its constants)"""

    backward_op = EluBackward

    @staticmethod
    def forward(ctx, a, alpha=1.0, scale=1.0):
        ctx.params = {"alpha": alpha, "scale": scale}
        negative = alpha * xp.expm1(xp.minimum(a, 0))
        return (scale * xp.where(a > 0, a, negative)).astype(a.dtype, copy=False)


class Gelu(_ParametrizedUnary):
    """exact: self: grad * (Phi(self) + self * phi(self));  'tanh': derivative of the tanh form"""

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
    def derivative(ctx, grad, a):
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = tanh(k * (a + 0.044715 * a * a * a))
            return grad * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * k * (1 + 3 * 0.044715 * a * a))
        cdf = 0.5 * (1 + erf(a * (1 / math.sqrt(2))))
        pdf = exp(a * a * -0.5) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + a * pdf)


class Softplus(_Activation):
    """self: softplus_backward(grad, self)  (grad * sigmoid(beta * self), linear (grad) where
    beta * self > threshold)"""

    backward_op = SoftplusBackward

    @staticmethod
    def forward(ctx, a, beta=1.0, threshold=20.0):
        ctx.params = {"beta": beta, "threshold": threshold}
        scaled = a * beta
        soft = xp.logaddexp(0, scaled) / beta
        return xp.where(scaled > threshold, a, soft).astype(a.dtype, copy=False)


# -- two-input elementwise -----------------------------------------------------------------
def _clamp_array(a, low, high):
    result = a
    if low is not None:
        result = xp.maximum(result, low)
    if high is not None:
        result = xp.minimum(result, high)
    return result.astype(a.dtype, copy=False)


class ClampScalar(_Elementwise):
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

    @staticmethod
    def jvp(ctx, inputs, output, tangent):
        keeps = _clamp_keeps(inputs[0]._data, ctx.low, ctx.high)
        return None if tangent is None else Where.apply(tangent, 0.0, condition=keeps)


def _clamp_keeps(x, low, high):
    """Where clamp passes the gradient on to its input: low <= x <= high (torch)."""
    if low is None:
        return x <= high
    if high is None:
        return x >= low
    return (x >= low) & (x <= high)


class Clamp(_Elementwise):
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
        needs = ctx.needs_input_grad
        return _clamp_terms([grad if need else None for need in needs], *ctx.saved_tensors)

    @staticmethod
    def jvp(ctx, inputs, output, *tangents):
        return _total(*_clamp_terms(tangents, *inputs))


def _clamp_terms(grads, a, low, high) -> tuple:
    """Clamp's derivatives with respect to self, min and max, scaling ``grads`` (gradients or
    tangents); None where one is None."""
    x = a._data
    low = low._data if isinstance(low, Tensor) else low
    high = high._data if isinstance(high, Tensor) else high
    grad_self, grad_low, grad_high = grads
    if grad_self is not None:
        grad_self = Where.apply(grad_self, 0.0, condition=_clamp_keeps(x, low, high))
    if grad_low is not None:
        low_wins = x < low if high is None else (x < low) & (low < high)
        grad_low = Where.apply(grad_low, 0.0, condition=low_wins)
    if grad_high is not None:
        high_wins = x > high if low is None else (x > high) | (high < low)
        grad_high = Where.apply(grad_high, 0.0, condition=high_wins)
    return grad_self, grad_low, grad_high


class _Extremum(_Elementwise):
    """maximum and minimum. self: grad where self wins, grad / 2 on ties, 0 where it
    ``loses``;  other: the mirror image (torch's formula: where either is NaN, both get grad)"""

    saved_inputs = (0, 1)
    loses = None  # the ufunc telling where its first operand loses to its second

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _tie_split(_needed(grad, ctx.needs_input_grad), a, b, ctx.loses)

    @staticmethod
    def jvp(ctx, inputs, output, tangent_a, tangent_b):
        return _total(*_tie_split((tangent_a, tangent_b), *inputs, ctx.loses))


class Maximum(_Extremum):
    """self: grad where self > other, grad / 2 on ties, 0 where self < other; other: mirrored"""

    loses = xp.less

    @staticmethod
    def forward(ctx, a, b):
        return xp.maximum(a, b)


class Minimum(_Extremum):
    """self: grad where self < other, grad / 2 on ties, 0 where self > other; other: mirrored"""

    loses = xp.greater

    @staticmethod
    def forward(ctx, a, b):
        return xp.minimum(a, b)


def _needed(grad, needs) -> tuple:
    """``grad`` for each input that needs a gradient, None for the others."""
    return tuple(grad if need else None for need in needs)


def _tie_split(grads, a, b, loses):
    """Derivatives of maximum/minimum, scaling ``grads`` (one gradient or tangent per operand,
    or None): an operand gets 0 where it ``loses`` to the other, half on ties, all of it
    elsewhere (torch: where(self == other, grad / 2, grad).masked_fill_(self loses, 0))."""
    a_data, b_data = a._data, b._data
    tie = a_data == b_data
    results = []
    for grad, mine, theirs in ((grads[0], a_data, b_data), (grads[1], b_data, a_data)):
        if grad is not None:
            share = xp.where(tie, 0.5, xp.where(loses(mine, theirs), 0.0, 1.0))
            grad = MulConstant.apply(grad, factor=share.astype(grad._data.dtype))
        results.append(grad)
    return tuple(results)


class Where(_Elementwise):
    """input: grad where condition, else 0;  other: grad where not condition"""

    linear = True

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


class Lerp(_Elementwise):
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

    @staticmethod
    def jvp(ctx, inputs, output, tangent_start, tangent_end, tangent_weight):
        start, end, weight = inputs
        return _total(None if tangent_start is None else tangent_start * (1 - weight),
                      None if tangent_end is None else tangent_end * weight,
                      None if tangent_weight is None else tangent_weight * (end - start))


class ToCopy(_Elementwise):
    """self: grad.to(self.dtype)   (named as torch's grad_fn for .to()/.float(): ToCopyBackward0)"""

    linear = True  # between floating dtypes (an integer result has no tangent)

    @staticmethod
    def forward(ctx, a, np_dtype, copy=False):
        ctx.source_dtype = a.dtype
        return a.astype(np_dtype, copy=True) if copy or a.dtype != np_dtype else a

    @staticmethod
    def backward(ctx, grad):
        if not is_floating_point(ctx.source_dtype):
            return None
        return cast(grad, _dtype.from_numpy_dtype(ctx.source_dtype))


Cast = ToCopy


class Clone(_Elementwise):
    """self: grad"""

    linear = True

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
    if isinstance(x, Tensor):
        return is_bool(x._data.dtype)
    return isinstance(x, bool) or (is_scalar(x) and is_bool(x.dtype))


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
    if is_bool(target):
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for 'Bool'")
    if is_integral(target) and xp.any(xp.asarray(b._data if isinstance(b, Tensor) else b) == 0):
        raise RuntimeError(f"ZeroDivisionError: integer division by zero in {kernel}")
    return [a, b]


def floor_divide(input, other):
    """``floor(input / other)``; no gradient flows (backward raises, as torch)."""
    a, b = _integer_division_operands("floor_divide", "div_floor", input, other)
    return FloorDivide.apply(a, b)


def remainder(input, other):
    """Python-style remainder (the sign of the divisor)."""
    (a, b), target = promote(input, other, op_name="remainder")
    if is_bool(target):
        raise NotImplementedError("\"remainder_cpu\" not implemented for 'Bool'")
    if is_integral(target) and xp.any(xp.asarray(b._data if isinstance(b, Tensor) else b) == 0):
        raise RuntimeError("ZeroDivisionError: integer remainder by zero in remainder")
    return Remainder.apply(a, b)


def fmod(input, other):
    """C-style remainder (the sign of the dividend)."""
    (a, b), _ = promote(input, other, op_name="fmod")
    return Fmod.apply(a, b)


def pow(input, exponent):
    """``input ** exponent``; a Python number exponent keeps a float tensor's dtype."""
    if isinstance(input, Tensor) and type(exponent) in (int, float) and \
            is_floating_point(input._data.dtype):
        return Pow.apply(input, exponent=exponent)
    if isinstance(input, Tensor) and is_integral(input._data.dtype, include_bool=True):
        if type(exponent) is int and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if isinstance(exponent, bool) and is_bool(input._data.dtype):
            # torch keeps bool ** Python bool in bool: x ** True is x, x ** False is all True
            return LogicalOr.apply(input, not exponent)
    (a, b), target = promote(input, exponent, op_name="pow")
    if is_bool(target):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if not isinstance(b, Tensor):
        return Pow.apply(a, exponent=b)
    if not isinstance(a, Tensor):
        return PowScalarBase.apply(b, base=a)
    return PowTensor.apply(a, b)


def neg(input: Tensor) -> Tensor:
    expect_tensor(input, "neg")
    if is_bool(input._data.dtype):
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
    function.__doc__ = f"Elementwise {function.__name__} (integer inputs in the default float " \
                       f"dtype); its derivative is the row {op_class.__name__!r} of the table."
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
    if is_bool(input._data.dtype):
        input = cast(input, _dtype.int64)
    return Square.apply(input)


def atan2(input, other):
    (a, b), _ = promote(input, other, floating=True, op_name="atan2")
    return Atan2.apply(a, b)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    return _floating_unary(Logit, input, eps=eps)


def sign(input: Tensor) -> Tensor:
    expect_tensor(input, "sign")
    if is_bool(input._data.dtype):
        return input.clone()
    return Sign.apply(input)


def _keep_integers(op_class):
    def function(input: Tensor, **kwargs) -> Tensor:
        expect_tensor(input, function.__name__)
        if not is_floating_point(input._data.dtype):
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
    if not is_floating_point(input._data.dtype):
        return input.clone()
    return Round.apply(input, decimals=decimals)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``; the derivative at 0 is 0, as torch."""
    expect_tensor(input, "relu")
    if is_bool(input._data.dtype):
        raise RuntimeError("relu is not implemented for bool tensors")
    return Relu.apply(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if isinstance(input, Tensor) and is_integral(input._data.dtype, include_bool=True):
        # as torch: integer inputs keep their dtype (the bounds truncated), bool is refused
        if is_bool(input._data.dtype):
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


def _tensor_operands(op_name: str, input, other) -> None:
    """torch's check for ops whose operands must both be tensors (maximum, minimum)."""
    for position, (name, value) in enumerate((("input", input), ("other", other))):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op_name}(): argument '{name}' (position {position + 1}) must be "
                            f"Tensor, not {type(value).__name__}")


def maximum(input: Tensor, other: Tensor) -> Tensor:
    _tensor_operands("maximum", input, other)
    (a, b), _ = promote(input, other, op_name="maximum")
    return Maximum.apply(a, b)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    _tensor_operands("minimum", input, other)
    (a, b), _ = promote(input, other, op_name="minimum")
    return Minimum.apply(a, b)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, ``other`` elsewhere; ``where(condition)`` gives the
    indices of the true elements (as ``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        expect_tensor(condition, "where", "condition")
        # the Tensor method (indexing's nonzero), not an import: indexing imports this module
        return condition.nonzero(as_tuple=True)
    mask = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if not is_bool(mask.dtype):
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


# -- comparisons and logic: ops whose results never carry gradients -------------------------
def no_gradient(name: str, ufunc) -> type:
    """The Op class of an elementwise ``ufunc`` whose bool or integer result never carries
    gradients (``differentiable = False``): it goes through Op.apply untracked, and its result
    is volatile when an input is."""
    def forward(ctx, *arrays):
        return xp.asarray(ufunc(*arrays))  # an array, also for 0-dim inputs

    namespace = {"__doc__": f"``{ufunc.__name__}``, elementwise (no gradient)",
                 "__module__": __name__, "__qualname__": name, "forward": staticmethod(forward),
                 "differentiable": False}
    return type(_Elementwise)(name, (_Elementwise,), namespace)


Eq = no_gradient("Eq", xp.equal)
Ne = no_gradient("Ne", xp.not_equal)
Lt = no_gradient("Lt", xp.less)
Le = no_gradient("Le", xp.less_equal)
Gt = no_gradient("Gt", xp.greater)
Ge = no_gradient("Ge", xp.greater_equal)
LogicalAnd = no_gradient("LogicalAnd", xp.logical_and)
LogicalOr = no_gradient("LogicalOr", xp.logical_or)
LogicalXor = no_gradient("LogicalXor", xp.logical_xor)
LogicalNot = no_gradient("LogicalNot", xp.logical_not)
BitwiseAnd = no_gradient("BitwiseAnd", xp.bitwise_and)
BitwiseOr = no_gradient("BitwiseOr", xp.bitwise_or)
BitwiseXor = no_gradient("BitwiseXor", xp.bitwise_xor)
BitwiseNot = no_gradient("BitwiseNot", xp.invert)
IsNan = no_gradient("IsNan", xp.isnan)
IsInf = no_gradient("IsInf", xp.isinf)
IsFinite = no_gradient("IsFinite", xp.isfinite)


def _compare(op_class, name):
    def function(input, other):
        (a, b), _ = promote(input, other, op_name=name)
        return op_class.apply(a, b)
    function.__name__ = name
    function.__doc__ = f"Elementwise ``{name}`` as a bool tensor (not differentiable)."
    return function


eq = _compare(Eq, "eq")
ne = _compare(Ne, "ne")
lt = _compare(Lt, "lt")
le = _compare(Le, "le")
gt = _compare(Gt, "gt")
ge = _compare(Ge, "ge")
logical_and = _compare(LogicalAnd, "logical_and")
logical_or = _compare(LogicalOr, "logical_or")
logical_xor = _compare(LogicalXor, "logical_xor")


def _integral_bitwise(op_class, name):
    def function(input, other):
        (a, b), target = promote(input, other, op_name=name)
        if is_floating_point(target):
            dtype_name = _dtype.from_numpy_dtype(target).name.capitalize()
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{dtype_name}': bitwise ops "
                               f"need integer or bool tensors")
        return op_class.apply(a, b)
    function.__name__ = name
    return function


bitwise_and = _integral_bitwise(BitwiseAnd, "bitwise_and")
bitwise_or = _integral_bitwise(BitwiseOr, "bitwise_or")
bitwise_xor = _integral_bitwise(BitwiseXor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    expect_tensor(input, "bitwise_not")
    if is_floating_point(input._data.dtype):
        raise RuntimeError("bitwise_not is only defined for integer and bool tensors")
    return BitwiseNot.apply(input)


def _test(op_class, name):
    def function(input: Tensor) -> Tensor:
        expect_tensor(input, name)
        return op_class.apply(input)
    function.__name__ = name
    function.__doc__ = f"Elementwise ``{name}`` as a bool tensor (not differentiable)."
    return function


logical_not = _test(LogicalNot, "logical_not")
isnan = _test(IsNan, "isnan")
isinf = _test(IsInf, "isinf")
isfinite = _test(IsFinite, "isfinite")


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
            if _is_operand(other):
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
            if _is_operand(other):
                raise
            return NotImplemented
    return method


def _reflected(function):
    def method(self, other):
        try:
            return function(other, self)
        except TypeError:
            if _is_operand(other):
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
        self_bool = is_bool(self._data.dtype)
        other_bool = is_bool(other._data.dtype) if isinstance(other, Tensor) else \
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


class Fill(_Elementwise):
    """self: 0 (every element is replaced)"""

    @staticmethod
    def forward(ctx, a, value):
        return xp.full_like(a, value)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0

    @staticmethod
    def jvp(ctx, inputs, output, tangent):
        return None if tangent is None else _zeros_like(output)


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
    """self: 0;  src: grad (summed over broadcast dims by the engine). Not batched by the
    elementwise rule: the result takes the destination's shape, which a batched source
    would not fit."""

    linear = True  # in the source (the destination's values are discarded)

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
    "__invert__": lambda self: logical_not(self) if is_bool(self._data.dtype)
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
