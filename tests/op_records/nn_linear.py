"""Records of ``nn.functional.linear``, ``bilinear`` and ``prelu`` (see ``op_db``)."""
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from op_db import OpInfo, Sample, values

SIZES = st.integers(0, 3)
BATCH = hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3)


def functional(name):
    fn = lambda m, *args, **kwargs: getattr(m.nn.functional, name)(*args, **kwargs)  # noqa: E731
    return {"op": fn, "ref": fn}


@st.composite
def _linear_samples(draw, bias: bool, vector_weight: bool = False):
    """input (*batch, in) with weight (out, in) and bias (out,) (an empty batch shape makes a
    1-D input), or a dot product: input (in,), vector weight (in,), 0-dim bias (torch's
    backward fails for a vector weight with batched inputs)."""
    batch = () if vector_weight else draw(BATCH)
    in_features, out_features = draw(SIZES), draw(SIZES)
    weight_shape = (in_features,) if vector_weight else (out_features, in_features)
    args = (values(draw, batch + (in_features,)), values(draw, weight_shape, salt=1))
    if bias:
        args += (values(draw, () if vector_weight else (out_features,), salt=2),)
    return Sample(args)


@st.composite
def _bilinear_samples(draw, bias: bool):
    batch = draw(BATCH)
    # torch's bilinear fails for empty input features (a reshape with -1 of 0 elements)
    in1, in2, out = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(SIZES)
    args = (values(draw, batch + (in1,)), values(draw, batch + (in2,), salt=1),
            values(draw, (out, in1, in2), salt=2))
    if bias:
        args += (values(draw, (out,), salt=3),)
    return Sample(args)


@st.composite
def _prelu_samples(draw):
    """One slope, or one per channel (dim 1); inputs kept away from the kink at 0."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))
    channels = shape[1] if len(shape) > 1 else 1
    count = draw(st.sampled_from([1, channels]))
    return Sample((values(draw, shape, away_from=(0.0,)),
                   values(draw, (count,), 0.0, 0.5, salt=1)))


RECORDS = [
    OpInfo("linear", **functional("linear"), samples=_linear_samples(bias=True)),
    OpInfo("linear_no_bias", **functional("linear"), samples=_linear_samples(bias=False)),
    OpInfo("linear_vector_weight", **functional("linear"),
           samples=_linear_samples(bias=True, vector_weight=True)),
    OpInfo("bilinear", **functional("bilinear"), samples=_bilinear_samples(bias=True)),
    OpInfo("bilinear_no_bias", **functional("bilinear"), samples=_bilinear_samples(bias=False)),
    OpInfo("prelu", **functional("prelu"), samples=_prelu_samples()),
]
