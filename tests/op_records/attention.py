"""Records of ``nn.functional.scaled_dot_product_attention`` and
``multi_head_attention_forward`` (see ``op_db``)."""
from hypothesis import strategies as st

from op_db import OpInfo, Sample, values


def functional(name, **fixed):
    def fn(m, *args, **kwargs):
        return getattr(m.nn.functional, name)(*args, **fixed, **kwargs)
    return {"op": fn, "ref": fn}


@st.composite
def _sdpa_samples(draw, mask: bool):
    """query (batch, L, E), key (batch, S, E), value (batch, S, Ev), optionally a float mask."""
    batch = draw(st.sampled_from([(), (2,), (1, 2)]))
    target, source = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    embed, value_dim = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    args = (values(draw, batch + (target, embed)), values(draw, batch + (source, embed), salt=1),
            values(draw, batch + (source, value_dim), salt=2))
    if mask:  # an additive float mask, itself differentiable
        args += (values(draw, (target, source), salt=3),)
    return Sample(args)


@st.composite
def _mha_samples(draw):
    """Self-attention inputs (L, N, E) with packed projection weights, for 1 or 2 heads."""
    heads = draw(st.sampled_from([1, 2]))
    embed = heads * draw(st.integers(1, 2))
    length, batch = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    x = values(draw, (length, batch, embed))
    weights = (values(draw, (3 * embed, embed), salt=1), values(draw, (3 * embed,), salt=2),
               values(draw, (embed, embed), salt=3), values(draw, (embed,), salt=4))
    return Sample((x, x.copy(), x.copy()) + weights, {"heads": heads})


def _mha(m, query, key, value, in_weight, in_bias, out_weight, out_bias, heads):
    output, weights = m.nn.functional.multi_head_attention_forward(
        query, key, value, query.shape[-1], heads, in_weight, in_bias, None, None, False, 0.0,
        out_weight, out_bias, training=False)
    return output, weights


RECORDS = [
    OpInfo("scaled_dot_product_attention", **functional("scaled_dot_product_attention"),
           samples=_sdpa_samples(mask=False)),
    OpInfo("scaled_dot_product_attention_mask", **functional("scaled_dot_product_attention"),
           samples=_sdpa_samples(mask=True)),
    OpInfo("scaled_dot_product_attention_causal",
           **functional("scaled_dot_product_attention", is_causal=True),
           samples=_sdpa_samples(mask=False)),
    OpInfo("multi_head_attention_forward", op=_mha, ref=_mha, samples=_mha_samples()),
]
