"""Records of the reductions, scans and softmax family (see ``op_db``)."""
import math

import numpy as np
from hypothesis import strategies as st

from op_db import SHAPES, OpInfo, Sample, binary, values, with_dim


def method(name, **fixed):
    """Call ``module.<name>(*args, **fixed, **kwargs)`` in both libraries."""
    return lambda m, *args, **kwargs: getattr(m, name)(*args, **fixed, **kwargs)


def same(name, **fixed):
    fn = method(name, **fixed)
    return {"op": fn, "ref": fn}


@st.composite
def reductions(draw, low=-2.0, high=2.0, away_from=None, gap=0.1, dims="any", keepdim=True,
               nonempty=False, zeros=False, **fixed):
    """Samples for ``op(x, dim=..., keepdim=..., **fixed)``.

    dims: 'any' (None, an int or a tuple), 'int' (one int, maybe negative), 'int_or_none',
    'int_or_tuple' (no None) or 'none' (no dim argument). nonempty: the reduced dims get size
    >= 1 (for reductions without an identity). zeros: about a quarter of the values are 0.
    """
    shape = list(draw(SHAPES))
    ndim = len(shape)
    if dims == "none":
        dim = None
    elif dims == "int":
        dim = draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))
    else:
        dim = with_dim(draw, tuple(shape), allow_none=dims in ("any", "int_or_none"),
                       allow_tuple=dims in ("any", "int_or_tuple"))
    if nonempty:
        reduced = range(ndim) if dim is None else (
            [dim] if isinstance(dim, int) else list(dim))
        for d in reduced:
            if ndim:
                shape[d % ndim] = max(shape[d % ndim], 1)
    array = values(draw, tuple(shape), low, high, away_from, gap)
    if zeros:
        array = np.where(values(draw, tuple(shape), salt=1) < -1.0, 0.0, array)
    kwargs = dict(fixed)
    if dim is not None:
        kwargs["dim"] = dim
    if keepdim and dim is not None:
        kwargs["keepdim"] = draw(st.booleans())
    return Sample((array,), kwargs)


@st.composite
def _bool_reductions(draw):
    sample = draw(reductions())
    return Sample((np.asarray(sample.args[0] > 0),), sample.kwargs)


INF = math.inf
NOT_DIFFERENTIABLE = "integer or bool result: no gradient"

RECORDS = [
    OpInfo("sum", **same("sum"), samples=reductions()),
    OpInfo("mean", **same("mean"), samples=reductions()),
    OpInfo("prod", **same("prod"), samples=reductions(dims="none")),
    OpInfo("prod_dim", **same("prod"), samples=reductions(dims="int")),
    OpInfo("prod_with_zeros", **same("prod"), samples=reductions(dims="none", zeros=True),
           notes="zeros take the product-of-the-others path; prod is a polynomial, so finite "
                 "differences stay exact there"),
    OpInfo("prod_dim_with_zeros", **same("prod"), samples=reductions(dims="int", zeros=True)),
    OpInfo("max", **same("max"), samples=reductions(dims="none", nonempty=True)),
    OpInfo("max_dim", **same("max"), samples=reductions(dims="int", nonempty=True),
           notes="(values, indices); indices compared too"),
    OpInfo("max_binary", **same("max"), samples=binary()),
    OpInfo("min", **same("min"), samples=reductions(dims="none", nonempty=True)),
    OpInfo("min_dim", **same("min"), samples=reductions(dims="int", nonempty=True)),
    OpInfo("min_binary", **same("min"), samples=binary()),
    OpInfo("amax", **same("amax"), samples=reductions(nonempty=True)),
    OpInfo("amin", **same("amin"), samples=reductions(nonempty=True)),
    OpInfo("argmax", **same("argmax"), samples=reductions(dims="int_or_none", nonempty=True),
           gradcheck=False, notes=NOT_DIFFERENTIABLE),
    OpInfo("argmin", **same("argmin"), samples=reductions(dims="int_or_none", nonempty=True),
           gradcheck=False, notes=NOT_DIFFERENTIABLE),
    OpInfo("var", **same("var"), samples=reductions()),
    OpInfo("var_correction0", **same("var", correction=0), samples=reductions()),
    OpInfo("var_unbiased_false", **same("var", unbiased=False), samples=reductions()),
    OpInfo("var_positional_unbiased", op=lambda m, x: m.var(x, True),
           ref=lambda m, x: m.var(x, True), samples=reductions(dims="none")),
    OpInfo("std", **same("std"), samples=reductions()),
    OpInfo("std_correction0", **same("std", correction=0), samples=reductions()),
    OpInfo("norm", **same("norm"), samples=reductions(dims="int_or_none")),
    OpInfo("norm_p2_dims", **same("norm", p=2), samples=reductions()),
    OpInfo("norm_fro_dim", **same("norm", p="fro"), samples=reductions(dims="int")),
    OpInfo("norm_p1", **same("norm", p=1), samples=reductions(away_from=(0.0,))),
    OpInfo("norm_p3", **same("norm", p=3), samples=reductions()),
    OpInfo("norm_p1_5", **same("norm", p=1.5), samples=reductions(away_from=(0.0,))),
    OpInfo("norm_p0_5", **same("norm", p=0.5), samples=reductions(away_from=(0.0,), gap=0.2)),
    OpInfo("norm_inf", **same("norm", p=INF), samples=reductions(away_from=(0.0,),
                                                                 nonempty=True)),
    OpInfo("norm_neg_inf", **same("norm", p=-INF),
           samples=reductions(away_from=(0.0,), nonempty=True)),
    OpInfo("norm_p0", **same("norm", p=0), samples=reductions(away_from=(0.0,)),
           notes="a count of non-zeros: its gradient is 0"),
    OpInfo("logsumexp", **same("logsumexp"), samples=reductions(-4, 4, dims="int_or_tuple")),
    OpInfo("softmax", **same("softmax"), samples=reductions(-4, 4, dims="int", keepdim=False)),
    OpInfo("softmax_dtype", op=lambda m, x, **kw: m.softmax(x, dtype=m.float64, **kw),
           ref=lambda m, x, **kw: m.softmax(x, dtype=m.float64, **kw),
           samples=reductions(dims="int", keepdim=False)),
    OpInfo("log_softmax", **same("log_softmax"),
           samples=reductions(-4, 4, dims="int", keepdim=False)),
    OpInfo("functional_softmax",
           op=lambda m, x, dim: m.nn.functional.softmax(x, dim, dtype=m.float64),
           ref=lambda m, x, dim: m.nn.functional.softmax(x, dim, dtype=m.float64),
           samples=reductions(dims="int", keepdim=False).map(
               lambda s: Sample(s.args + (s.kwargs["dim"],)))),
    OpInfo("functional_log_softmax",
           op=lambda m, x, dim: m.nn.functional.log_softmax(x, dim=dim),
           ref=lambda m, x, dim: m.nn.functional.log_softmax(x, dim=dim),
           samples=reductions(dims="int", keepdim=False).map(
               lambda s: Sample(s.args + (s.kwargs["dim"],)))),
    OpInfo("cumsum", **same("cumsum"), samples=reductions(dims="int", keepdim=False)),
    OpInfo("cumprod", **same("cumprod"), samples=reductions(dims="int", keepdim=False)),
    OpInfo("cumprod_with_zeros", **same("cumprod"),
           samples=reductions(dims="int", keepdim=False, zeros=True),
           notes="first order takes the O(n) masked formula, double backward the O(n^2) "
                 "differentiable one"),
    OpInfo("all", **same("all"), samples=reductions(zeros=True), gradcheck=False,
           notes=NOT_DIFFERENTIABLE),
    OpInfo("any", **same("any"), samples=reductions(zeros=True), gradcheck=False,
           notes=NOT_DIFFERENTIABLE),
    OpInfo("all_bool", **same("all"), samples=_bool_reductions(), gradcheck=False,
           notes=NOT_DIFFERENTIABLE),
    OpInfo("any_bool", **same("any"), samples=_bool_reductions(), gradcheck=False,
           notes=NOT_DIFFERENTIABLE),
]
