"""Records of the elementwise ops (see ``op_db``)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from op_db import NONEMPTY_SHAPES, OpInfo, Sample, binary, unary, values


def method(name, **fixed):
    """Call ``module.<name>(*args, **fixed, **kwargs)`` in both libraries."""
    return lambda m, *args, **kwargs: getattr(m, name)(*args, **fixed, **kwargs)


def functional(name, **fixed):
    return lambda m, *args, **kwargs: getattr(m.nn.functional, name)(*args, **fixed, **kwargs)


def same(name, **fixed):
    fn = method(name, **fixed)
    return dict(op=fn, ref=fn)


def act(name, **fixed):
    fn = functional(name, **fixed)
    return dict(op=fn, ref=fn)


@st.composite
def _clamp_tensor_bounds(draw):
    shape = draw(NONEMPTY_SHAPES)
    return Sample((values(draw, shape), values(draw, shape, -2, -0.5, salt=1),
                   values(draw, shape, 0.5, 2, salt=2)))


@st.composite
def _clamp_crossed_bounds(draw):
    """min > max everywhere: the result is max, which gets the whole gradient (torch)."""
    shape = draw(NONEMPTY_SHAPES)
    return Sample((values(draw, shape), values(draw, shape, 0.5, 2, salt=1),
                   values(draw, shape, -2, -0.5, salt=2)))


@st.composite
def _where_samples(draw):
    shape = draw(NONEMPTY_SHAPES)
    condition = np.asarray(values(draw, shape) > 0)
    return Sample((condition, values(draw, shape, salt=1), values(draw, shape, salt=2)))


@st.composite
def _lerp_samples(draw):
    shape = draw(NONEMPTY_SHAPES)
    return Sample((values(draw, shape), values(draw, shape, salt=1),
                   values(draw, shape, 0, 1, salt=2)))


@st.composite
def _pow_scalar(draw):
    shape = draw(NONEMPTY_SHAPES)
    exponent = draw(st.sampled_from([2, 3, 0.5, -1.5, 0, 1]))
    return Sample((values(draw, shape, 0.5, 2.0), exponent))


@st.composite
def _rpow(draw):
    shape = draw(NONEMPTY_SHAPES)
    return Sample((values(draw, shape),))


KINKS = (0.0,)
_STEP = "a step function: its zero first derivative has no second derivative to check"

RECORDS = [
    OpInfo("add", **same("add"), samples=binary()),
    OpInfo("add_alpha", op=method("add", alpha=2.5), ref=method("add", alpha=2.5),
           samples=binary()),
    OpInfo("sub", **same("sub"), samples=binary()),
    OpInfo("sub_alpha", op=method("sub", alpha=2.5), ref=method("sub", alpha=2.5),
           samples=binary()),
    OpInfo("mul", **same("mul"), samples=binary()),
    OpInfo("div", **same("div"), samples=binary(other_low=0.5, other_high=2.0)),
    OpInfo("operator_radd", op=lambda m, x: 1.5 + x, ref=lambda m, x: 1.5 + x,
           samples=unary()),
    OpInfo("operator_rsub", op=lambda m, x: 1.5 - x, ref=lambda m, x: 1.5 - x,
           samples=unary()),
    OpInfo("operator_rmul", op=lambda m, x: 2.0 * x, ref=lambda m, x: 2.0 * x,
           samples=unary()),
    OpInfo("operator_rtruediv", op=lambda m, x: 2.0 / x, ref=lambda m, x: 2.0 / x,
           samples=unary(0.5, 2.0)),
    OpInfo("operator_rpow", op=lambda m, x: 2.0 ** x, ref=lambda m, x: 2.0 ** x,
           samples=_rpow()),
    OpInfo("pow", **same("pow"), samples=binary(0.5, 2.0, other_low=-2, other_high=2)),
    OpInfo("pow_scalar", op=lambda m, x, e: x ** e, ref=lambda m, x, e: x ** e,
           samples=_pow_scalar()),
    OpInfo("remainder", **same("remainder"), samples=binary(other_low=0.7, other_high=2.0),
           gradgradcheck=False, notes="piecewise; the first derivative is piecewise constant"),
    OpInfo("fmod", **same("fmod"), samples=binary(other_low=0.7, other_high=2.0),
           gradgradcheck=False, notes="piecewise"),
    OpInfo("div_floor", **same("div", rounding_mode="floor"),
           samples=binary(other_low=0.7, other_high=2.0), gradgradcheck=False,
           notes="piecewise constant: a zero gradient that does not require grad (torch)"),
    OpInfo("div_trunc", **same("div", rounding_mode="trunc"),
           samples=binary(other_low=0.7, other_high=2.0), gradgradcheck=False,
           notes="piecewise constant: a zero gradient that does not require grad (torch)"),
    OpInfo("floor_divide", op=lambda m, a, b: m.floor_divide(a, b).detach(),
           ref=lambda m, a, b: m.floor_divide(a, b).detach(),
           samples=binary(other_low=0.7, other_high=2.0), gradcheck=False,
           notes="no derivative, as torch"),
    OpInfo("neg", **same("neg"), samples=unary()),
    OpInfo("abs", **same("abs"), samples=unary(away_from=KINKS)),
    OpInfo("exp", **same("exp"), samples=unary()),
    OpInfo("exp2", **same("exp2"), samples=unary()),
    OpInfo("expm1", **same("expm1"), samples=unary()),
    OpInfo("log", **same("log"), samples=unary(0.3, 3.0)),
    OpInfo("log2", **same("log2"), samples=unary(0.3, 3.0)),
    OpInfo("log10", **same("log10"), samples=unary(0.3, 3.0)),
    OpInfo("log1p", **same("log1p"), samples=unary(-0.7, 3.0)),
    OpInfo("sqrt", **same("sqrt"), samples=unary(0.3, 3.0)),
    OpInfo("rsqrt", **same("rsqrt"), samples=unary(0.3, 3.0)),
    OpInfo("square", **same("square"), samples=unary()),
    OpInfo("reciprocal", **same("reciprocal"), samples=unary(0.5, 2.0)),
    OpInfo("sin", **same("sin"), samples=unary()),
    OpInfo("cos", **same("cos"), samples=unary()),
    OpInfo("tan", **same("tan"), samples=unary(-1.2, 1.2)),
    OpInfo("asin", **same("asin"), samples=unary(-0.9, 0.9)),
    OpInfo("acos", **same("acos"), samples=unary(-0.9, 0.9)),
    OpInfo("atan", **same("atan"), samples=unary()),
    OpInfo("atan2", **same("atan2"), samples=binary(0.3, 2.0)),
    OpInfo("sinh", **same("sinh"), samples=unary()),
    OpInfo("cosh", **same("cosh"), samples=unary()),
    OpInfo("tanh", **same("tanh"), samples=unary()),
    OpInfo("sigmoid", **same("sigmoid"), samples=unary(-6, 6)),
    OpInfo("logit", **same("logit"), samples=unary(0.1, 0.9)),
    OpInfo("logit_eps", op=method("logit", eps=0.2), ref=method("logit", eps=0.2),
           samples=unary(0.01, 0.99, away_from=(0.2, 0.8), gap=0.05)),
    OpInfo("erf", **same("erf"), samples=unary(-3, 3)),
    OpInfo("relu", **same("relu"), samples=unary(away_from=KINKS)),
    OpInfo("relu6", **act("relu6"), samples=unary(-3, 8, away_from=(0.0, 6.0))),
    OpInfo("leaky_relu", **act("leaky_relu", negative_slope=0.2),
           samples=unary(away_from=KINKS)),
    OpInfo("elu", **act("elu", alpha=1.3), samples=unary(away_from=KINKS)),
    OpInfo("selu", **act("selu"), samples=unary(away_from=KINKS)),
    OpInfo("gelu", **act("gelu"), samples=unary(-4, 4)),
    OpInfo("gelu_tanh", **act("gelu", approximate="tanh"), samples=unary(-4, 4)),
    OpInfo("silu", **act("silu"), samples=unary(-4, 4)),
    OpInfo("softplus", **act("softplus", beta=1.5, threshold=4.0),
           samples=unary(-4, 4, away_from=(4 / 1.5,))),
    OpInfo("mish", **act("mish"), samples=unary(-4, 4)),
    OpInfo("hardtanh", **act("hardtanh", min_val=-0.5, max_val=1.0),
           samples=unary(away_from=(-0.5, 1.0))),
    OpInfo("clamp", **same("clamp", min=-0.5, max=1.0), samples=unary(away_from=(-0.5, 1.0))),
    OpInfo("clamp_min_only", **same("clamp", min=0.2), samples=unary(away_from=(0.2,))),
    OpInfo("clamp_tensor_bounds", **same("clamp"), samples=_clamp_tensor_bounds(),
           notes="tensor min/max"),
    OpInfo("clamp_tensor_bounds_crossed", **same("clamp"), samples=_clamp_crossed_bounds(),
           notes="tensor min > max"),
    OpInfo("minimum", **same("minimum"), samples=binary()),
    OpInfo("maximum", **same("maximum"), samples=binary()),
    OpInfo("where", **same("where"), samples=_where_samples()),
    OpInfo("lerp", **same("lerp"), samples=_lerp_samples()),
    OpInfo("sign", **same("sign"), samples=unary(away_from=KINKS), gradgradcheck=False,
           notes=_STEP),
    OpInfo("floor", **same("floor"), samples=unary(), gradgradcheck=False,
           notes=_STEP),
    OpInfo("ceil", **same("ceil"), samples=unary(), gradgradcheck=False,
           notes=_STEP),
    OpInfo("round", **same("round"), samples=unary(), gradgradcheck=False,
           notes=_STEP),
    OpInfo("trunc", **same("trunc"), samples=unary(), gradgradcheck=False,
           notes=_STEP),
    OpInfo("clone", **same("clone"), samples=unary()),
    OpInfo("fill_", op=lambda m, x: (x * 1).fill_(1.5), ref=lambda m, x: (x * 1).fill_(1.5),
           samples=unary(), gradgradcheck=False,
           notes="a constant result: its zero first derivative has no second derivative"),
    OpInfo("to_float32", op=lambda m, x: x.to(m.float32).double(),
           ref=lambda m, x: x.to(m.float32).double(), samples=unary(), gradcheck=False,
           notes="float32 rounding makes finite differences meaningless; values and "
                 "gradients are compared with PyTorch"),
]


@st.composite
def _integer_pairs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=0, max_side=3)).input_shapes
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return Sample((np.asarray(rng.integers(-4, 5, shapes[0])),
                   np.asarray(rng.integers(-4, 5, shapes[1]))))


@st.composite
def _bool_pairs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=0, max_side=3)).input_shapes
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return Sample((np.asarray(rng.random(shapes[0]) > 0.5),
                   np.asarray(rng.random(shapes[1]) > 0.5)))


@st.composite
def _with_specials(draw):
    shape = draw(NONEMPTY_SHAPES)
    array = values(draw, shape)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0])
    mask = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(shape) < 0.4
    picks = specials[np.arange(array.size).reshape(shape) % 4] if array.size else array
    return Sample((np.where(mask, picks, array),), no_grad=(0,))


_NO_GRAD = "a bool or integer result: not differentiable"
RECORDS += [
    OpInfo(name, **same(name), samples=binary(), gradcheck=False, notes=_NO_GRAD)
    for name in ("eq", "ne", "lt", "le", "gt", "ge")
] + [
    OpInfo(name, **same(name), samples=_bool_pairs(), gradcheck=False, notes=_NO_GRAD)
    for name in ("logical_and", "logical_or", "logical_xor")
] + [
    OpInfo(name, **same(name), samples=_integer_pairs(), gradcheck=False, notes=_NO_GRAD)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor")
] + [
    OpInfo("logical_not", **same("logical_not"), samples=unary(), gradcheck=False,
           notes=_NO_GRAD),
    OpInfo("bitwise_not", op=lambda m, a, b: m.bitwise_not(a), ref=lambda m, a, b:
           m.bitwise_not(a), samples=_integer_pairs(), gradcheck=False, notes=_NO_GRAD),
] + [
    OpInfo(name, **same(name), samples=_with_specials(), gradcheck=False, notes=_NO_GRAD)
    for name in ("isnan", "isinf", "isfinite")
]


# -- the activations of nn.functional in place: `inplace=True` and the functions ending in _ ------
def _written_into_a_copy(name, **fixed):
    """``y = x * 1; F.<name>(y, ...)``, returning y: the in-place op on a non-leaf."""
    def call(m, x):
        y = x * 1
        getattr(m.nn.functional, name)(y, **fixed)
        return y
    return dict(op=call, ref=call)


_IN_PLACE_ACTIVATIONS = [  # (name, fixed arguments, samples)
    ("relu", {}, unary(away_from=KINKS)),
    ("relu6", {}, unary(-3, 8, away_from=(0.0, 6.0))),
    ("leaky_relu", {"negative_slope": 0.2}, unary(away_from=KINKS)),
    ("elu", {"alpha": 1.3}, unary(away_from=KINKS)),
    ("selu", {}, unary(away_from=KINKS)),
    ("silu", {}, unary(-4, 4)),
    ("mish", {}, unary(-4, 4)),
    ("hardtanh", {"min_val": -0.5, "max_val": 1.0}, unary(away_from=(-0.5, 1.0))),
]
RECORDS += [
    OpInfo(f"{name}_inplace", **_written_into_a_copy(name, inplace=True, **fixed),
           samples=samples)
    for name, fixed, samples in _IN_PLACE_ACTIVATIONS
] + [
    OpInfo(f"{name}_", **_written_into_a_copy(f"{name}_", **fixed), samples=samples)
    for name, fixed, samples in _IN_PLACE_ACTIVATIONS
    if name in ("relu", "leaky_relu", "elu", "selu", "hardtanh")
]
