"""MultiheadAttention and scaled_dot_product_attention: outputs, attention weights and gradients
against torch with copied weights (self- and cross-attention, kdim/vdim, masks, need_weights,
per-head weights, batch_first, unbatched), float64 gradcheck and gradgradcheck, parameter names,
initialisation, dropout, reprs and errors (torch's types and messages)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import gradcheck, gradgradcheck
from leafgrad.nn import functional as F


def rng(seed: int = 1234):
    return np.random.default_rng(seed)


def copy_weights(theirs, ours) -> None:
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: leafgrad.tensor(v.detach().numpy()) for k, v in state.items()})


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=False) -> None:
    theirs = theirs.detach().numpy()
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=rtol, atol=atol,
                               equal_nan=equal_nan)


def to_library(library, value):
    if value is None:
        return None
    return library.tensor(value)


EMBED, HEADS, TARGET, SOURCE, BATCH = 4, 2, 3, 5, 2
# name: (constructor options, self-attention)
CONFIGS = {
    "self": ({}, True),
    "cross": ({}, False),
    "kdim_vdim": ({"kdim": 3, "vdim": 5}, False),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, False),
    "no_bias_batch_first": ({"bias": False, "batch_first": True}, True),
    "batch_first_cross": ({"batch_first": True, "kdim": 2}, False),
}


def masks(kind: str, source: int, generator, unbatched: bool = False):
    """(attn_mask, key_padding_mask) as NumPy arrays for a mask kind. Every query keeps at
    least one key, so no row is fully masked (see the dedicated test)."""
    attn = generator.random((TARGET, source)) < 0.4
    attn[:, 0] = False
    padding = np.zeros((1 if unbatched else BATCH, source), dtype=bool)
    padding[-1, -1] = True
    padding = padding[0] if unbatched else padding
    as_float = lambda m: np.where(m, -np.inf, 0.0).astype(np.float32)  # noqa: E731
    per_head = generator.standard_normal((BATCH * HEADS, TARGET, source)).astype(np.float32)
    return {
        "none": (None, None),
        "bool_attn": (attn, None),
        "float_attn_3d": (per_head, None),
        "bool_padding": (None, padding),
        "float_both": (as_float(attn), as_float(padding)),
        "bool_both": (attn, padding),
    }[kind]


def run_both(torch, options, self_attention, mask_kind, need_weights, average, unbatched=False,
             training=False):
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS, **options)
    ours = nn.MultiheadAttention(EMBED, HEADS, **options)
    copy_weights(theirs, ours)
    if not training:
        theirs.eval()
        ours.eval()
    generator = rng()
    batch_first = options.get("batch_first", False)

    def shape(length, features):
        if unbatched:
            return (length, features)
        return (BATCH, length, features) if batch_first else (length, BATCH, features)

    query = generator.standard_normal(shape(TARGET, EMBED)).astype(np.float32)
    if self_attention:
        key = value = query
        source = TARGET
    else:
        key = generator.standard_normal(shape(SOURCE, options.get("kdim", EMBED)))
        value = generator.standard_normal(shape(SOURCE, options.get("vdim", EMBED)))
        key, value = key.astype(np.float32), value.astype(np.float32)
        source = SOURCE
    attn_mask, padding = masks(mask_kind, source, generator, unbatched)
    results = []
    for library, module in ((leafgrad, ours), (torch, theirs)):
        q = library.tensor(query, requires_grad=True)
        k, v = (q, q) if self_attention else (library.tensor(key, requires_grad=True),
                                               library.tensor(value, requires_grad=True))
        output, weights = module(q, k, v, key_padding_mask=to_library(library, padding),
                                 need_weights=need_weights,
                                 attn_mask=to_library(library, attn_mask),
                                 average_attn_weights=average)
        results.append((module, (q,) if self_attention else (q, k, v), output, weights))
    return results


def assert_results_match(results, rtol=1e-5, atol=1e-5) -> None:
    (ours, ours_in, ours_out, ours_w), (theirs, theirs_in, theirs_out, theirs_w) = results
    assert_close(ours_out, theirs_out, rtol, atol)
    if theirs_w is None:
        assert ours_w is None
    else:
        assert_close(ours_w, theirs_w, rtol, atol)
    seed = rng(9).standard_normal(tuple(theirs_out.shape)).astype(np.float32)
    ours_loss = (ours_out * leafgrad.tensor(seed)).sum()
    theirs_loss = (theirs_out * type(theirs_out)(seed)).sum()
    if theirs_w is not None:  # the weights are differentiable outputs too
        weight_seed = rng(10).standard_normal(tuple(theirs_w.shape)).astype(np.float32)
        ours_loss = ours_loss + (ours_w * leafgrad.tensor(weight_seed)).sum()
        theirs_loss = theirs_loss + (theirs_w * type(theirs_w)(weight_seed)).sum()
    ours_loss.backward()
    theirs_loss.backward()
    for a, b in zip(ours_in, theirs_in):
        assert_close(a.grad, b.grad, rtol, atol)
    ours_params, theirs_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, param in theirs_params.items():
        assert_close(ours_params[name].grad, param.grad, rtol, atol)


# (need_weights, average_attn_weights)
WEIGHTS = {"averaged": (True, True), "per_head": (True, False), "no_weights": (False, True)}


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("mask_kind", ["none", "bool_attn", "float_attn_3d", "bool_padding",
                                       "float_both", "bool_both"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_multihead_attention_matches_torch(torch, config, mask_kind, weights):
    options, self_attention = CONFIGS[config]
    assert_results_match(run_both(torch, options, self_attention, mask_kind, *WEIGHTS[weights]))


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_kind", ["none", "bool_attn", "bool_padding", "float_both"])
@pytest.mark.parametrize("config", ["self", "kdim_vdim", "no_bias_batch_first"])
def test_multihead_attention_unbatched_matches_torch(torch, config, mask_kind, need_weights):
    options, self_attention = CONFIGS[config]
    assert_results_match(run_both(torch, options, self_attention, mask_kind, need_weights, True,
                         unbatched=True))


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_is_causal_hint_matches_torch(torch, need_weights, with_padding):
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS).eval()
    ours = nn.MultiheadAttention(EMBED, HEADS).eval()
    copy_weights(theirs, ours)
    x = rng().standard_normal((TARGET, BATCH, EMBED)).astype(np.float32)
    causal = np.triu(np.ones((TARGET, TARGET), dtype=bool), 1)
    padding = np.zeros((BATCH, TARGET), dtype=bool)
    padding[1, -1] = with_padding
    outputs = []
    for library, module in ((leafgrad, ours), (torch, theirs)):
        q = library.tensor(x, requires_grad=True)
        out, weights = module(q, q, q, attn_mask=library.tensor(causal), is_causal=True,
                              need_weights=need_weights,
                              key_padding_mask=library.tensor(padding) if with_padding else None)
        out.sum().backward()
        outputs.append((out, weights, q.grad))
    (out, weights, grad), (ref, ref_weights, ref_grad) = outputs
    assert_close(out, ref)
    assert_close(grad, ref_grad)
    assert (weights is None) == (ref_weights is None)
    if ref_weights is not None:
        assert_close(weights, ref_weights)


def test_fully_masked_rows_follow_torch(torch):
    """With need_weights the row's softmax is NaN (as torch); without, torch's kernel gives 0 and
    so do we, with finite gradients."""
    theirs = torch.nn.MultiheadAttention(EMBED, HEADS).eval()
    ours = nn.MultiheadAttention(EMBED, HEADS).eval()
    copy_weights(theirs, ours)
    x = rng().standard_normal((TARGET, BATCH, EMBED)).astype(np.float32)
    padding = np.zeros((BATCH, TARGET), dtype=bool)
    padding[1] = True
    for need_weights in (True, False):
        results = []
        for library, module in ((leafgrad, ours), (torch, theirs)):
            q = library.tensor(x, requires_grad=True)
            with warnings.catch_warnings():
                # leafgrad's softmax warns (NumPy) where it makes the NaN; torch is silent
                warnings.simplefilter("ignore", RuntimeWarning)
                out, weights = module(q, q, q, key_padding_mask=library.tensor(padding),
                                      need_weights=need_weights)
            out[:, 0].sum().backward()  # batch 0 only: batch 1's output is NaN or 0
            results.append((out, weights, q.grad))
        (out, weights, grad), (ref, ref_weights, ref_grad) = results
        assert_close(out, ref, equal_nan=True)
        assert_close(grad, ref_grad, equal_nan=True)
        if need_weights:
            assert np.isnan(out.detach().numpy()[:, 1]).all()
            assert_close(weights, ref_weights, equal_nan=True)
        else:
            assert not np.isnan(out.detach().numpy()).any()
            assert not np.isnan(grad.numpy()).any()


def test_dropout_in_eval_mode_matches_torch_and_in_training_drops_weights(torch):
    options = {"dropout": 0.5}
    assert_results_match(run_both(torch, options, True, "bool_attn", True, False))
    attention = nn.MultiheadAttention(EMBED, HEADS, dropout=0.5)
    x = leafgrad.randn(TARGET, BATCH, EMBED)
    clean = attention.eval()(x, x, x, average_attn_weights=False)[1].detach().numpy()
    attention.train()
    leafgrad.manual_seed(0)
    output, weights = attention(x, x, x, average_attn_weights=False)
    leafgrad.manual_seed(0)
    again = attention(x, x, x, average_attn_weights=False)[0]
    np.testing.assert_array_equal(output.detach().numpy(), again.detach().numpy())
    dropped = weights.detach().numpy()
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped[kept], clean[kept] * 2, rtol=1e-6)


# -- parameters, init, repr ---------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"kdim": 3, "vdim": 5}, {"bias": False},
                                     {"add_bias_kv": True, "kdim": 2},
                                     {"batch_first": True, "dropout": 0.1}])
def test_parameters_state_dict_and_repr_match_torch(torch, options):
    ours = nn.MultiheadAttention(8, 2, **options)
    theirs = torch.nn.MultiheadAttention(8, 2, **options)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert type(ours.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(ours.out_proj, nn.Linear)
    for attribute in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "batch_first",
                      "dropout", "_qkv_same_embed_dim", "add_zero_attn"):
        assert getattr(ours, attribute) == getattr(theirs, attribute)


def test_default_init_follows_torch():
    attention = nn.MultiheadAttention(32, 4, add_bias_kv=True)
    weight = attention.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (32 + 3 * 32))  # xavier_uniform_ of (3E, E)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    np.testing.assert_array_equal(attention.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(attention.out_proj.bias.detach().numpy(), 0)
    out_bound = 1 / math.sqrt(32)  # out_proj keeps Linear's initialisation
    assert np.abs(attention.out_proj.weight.detach().numpy()).max() <= out_bound
    bias_k = attention.bias_k.detach().numpy()
    assert bias_k.shape == (1, 1, 32) and bias_k.std() > 0  # xavier_normal_
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert separate.in_proj_weight is None
    k_bound = math.sqrt(6 / (8 + 3))
    assert np.abs(separate.k_proj_weight.detach().numpy()).max() <= k_bound


# -- float64 gradcheck ---------------------------------------------------------------------------
@pytest.mark.parametrize("options, self_attention, need_weights", [
    ({}, True, True), ({"kdim": 3, "vdim": 2, "add_bias_kv": True}, False, True),
    ({"add_zero_attn": True}, False, False)])
def test_gradcheck_and_gradgradcheck_float64(options, self_attention, need_weights):
    attention = nn.MultiheadAttention(4, 2, **options).double()
    generator = leafgrad.Generator().manual_seed(0)

    def tensor(*shape):
        return leafgrad.randn(*shape, dtype=leafgrad.float64, generator=generator,
                              requires_grad=True)

    query = tensor(2, 1, 4)
    key, value = tensor(3, 1, attention.kdim), tensor(3, 1, attention.vdim)
    inputs = (query,) if self_attention else (query, key, value)
    mask = leafgrad.tensor([[False, True, False], [False, False, True]])
    mask = mask[:, :2] if self_attention else mask

    def run(*args):
        q, k, v = (args[0],) * 3 if self_attention else args[:3]
        return attention(q, k, v, attn_mask=mask, need_weights=need_weights)

    params = tuple(attention.parameters())
    assert gradcheck(run, inputs + params)
    assert gradgradcheck(run, inputs + params[:1])


# -- scaled_dot_product_attention -------------------------------------------------------------
SDPA_CASES = {
    "plain": {},
    "bool_mask": {"attn_mask": "bool"},
    "float_mask": {"attn_mask": "float"},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.3},
    "fully_masked_row": {"attn_mask": "empty_row"},
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_scaled_dot_product_attention_matches_torch(torch, case):
    generator = rng()
    q = generator.standard_normal((2, 2, 3, 4))
    k = generator.standard_normal((2, 2, 5, 4))
    v = generator.standard_normal((2, 2, 5, 6))
    kwargs = dict(SDPA_CASES[case])
    mask = kwargs.pop("attn_mask", None)
    if mask == "bool":
        mask = generator.random((3, 5)) < 0.6
        mask[:, 0] = True
    elif mask == "float":
        mask = generator.standard_normal((2, 1, 3, 5))
    elif mask == "empty_row":
        mask = np.ones((3, 5), dtype=bool)
        mask[1] = False
    results = []
    for library in (leafgrad, torch):
        inputs = [library.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = library.nn.functional.scaled_dot_product_attention(
            *inputs, attn_mask=None if mask is None else library.tensor(mask), **kwargs)
        (out * library.tensor(rng(3).standard_normal((2, 2, 3, 6)))).sum().backward()
        results.append((out, inputs))
    (out, inputs), (ref, ref_inputs) = results
    assert_close(out, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(inputs, ref_inputs):
        assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_scaled_dot_product_attention_grouped_query_heads_match_torch(torch):
    generator = rng()
    q = generator.standard_normal((1, 4, 3, 2))
    k, v = generator.standard_normal((1, 2, 5, 2)), generator.standard_normal((1, 2, 5, 2))
    results = []
    for library in (leafgrad, torch):
        inputs = [library.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = library.nn.functional.scaled_dot_product_attention(*inputs, enable_gqa=True)
        out.pow(2).sum().backward()
        results.append((out, inputs))
    (out, inputs), (ref, ref_inputs) = results
    assert_close(out, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(inputs, ref_inputs):
        assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_scaled_dot_product_attention_gradcheck_and_dropout():
    generator = leafgrad.Generator().manual_seed(0)
    q, k, v = (leafgrad.randn(1, 2, n, 3, dtype=leafgrad.float64, generator=generator,
                              requires_grad=True) for n in (2, 3, 3))
    mask = leafgrad.tensor([[True, False, True], [False, False, False]])

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    assert gradcheck(attention, (q, k, v))
    assert gradgradcheck(attention, (q, k, v))
    x = leafgrad.ones(1, 4, 4)
    leafgrad.manual_seed(5)
    dropped = F.scaled_dot_product_attention(x, x, x, dropout_p=0.5)
    leafgrad.manual_seed(5)
    again = F.scaled_dot_product_attention(x, x, x, dropout_p=0.5)
    np.testing.assert_array_equal(dropped.numpy(), again.numpy())
    # every weight is 1/4; after dropout each output is (kept count) * 1/4 * 2
    assert set(np.unique(dropped.numpy() * 2)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert not np.allclose(dropped.numpy(), 1.0)


def test_scaled_dot_product_attention_errors_match_torch(torch):
    def both(make):
        with pytest.raises(Exception) as theirs:
            make(torch)
        with pytest.raises(type(theirs.value)) as ours:
            make(leafgrad)
        return ours.value, theirs.value

    sdpa = lambda library, *args, **kwargs: library.nn.functional.scaled_dot_product_attention(  # noqa: E731
        *args, **kwargs)
    ours, _ = both(lambda m: sdpa(m, m.zeros(2, 3, 4), m.zeros(2, 3, 4, dtype=m.float64),
                                  m.zeros(2, 3, 4)))
    assert "Expected query, key, and value to have the same dtype" in str(ours)
    ours, _ = both(lambda m: sdpa(m, m.zeros(2, 3, 4), m.zeros(2, 3, 4), m.zeros(2, 3, 4),
                                  attn_mask=m.zeros(3, 3, dtype=m.int64)))
    assert "Expected attn_mask dtype to be bool or float" in str(ours)
    ours, _ = both(lambda m: sdpa(m, m.zeros(1, 3, 2, 4), m.zeros(1, 2, 2, 4),
                                  m.zeros(1, 2, 2, 4), enable_gqa=True))
    assert "Number of heads in key and value must divide the number of heads in" in str(ours)
    both(lambda m: sdpa(m, m.zeros(2, 3, 4), m.zeros(2, 3, 3), m.zeros(2, 3, 4)))
    ours, theirs = both(lambda m: sdpa(m, m.zeros(2, 3, 4), m.zeros(2, 3, 4), m.zeros(2, 3, 4),
                                       dropout_p=1.5))
    assert str(ours) == str(theirs)
    # torch refuses both a mask and the causal flag when gradients are recorded
    ours, theirs = both(lambda m: sdpa(m, m.zeros(2, 3, 4, requires_grad=True), m.zeros(2, 3, 4),
                                       m.zeros(2, 3, 4), attn_mask=m.ones(3, 3, dtype=m.bool),
                                       is_causal=True))
    assert str(ours) == str(theirs)


# -- errors --------------------------------------------------------------------------------------
def mha_call(library, embed=4, heads=2, query=(3, 2, 4), key=(3, 2, 4), value=(3, 2, 4),
             **kwargs):
    module = library.nn.MultiheadAttention(embed, heads)
    for name in ("attn_mask", "key_padding_mask"):
        if isinstance(kwargs.get(name), tuple):
            shape, dtype = kwargs[name]
            kwargs[name] = library.zeros(*shape, dtype=getattr(library, dtype))
    return module(library.zeros(*query), library.zeros(*key), library.zeros(*value), **kwargs)


ERROR_CASES = {
    "not_divisible": {"embed": 5},
    "zero_embed": {"embed": 0},
    "int_padding_mask": {"key_padding_mask": ((2, 3), "int64")},
    "int_attn_mask": {"attn_mask": ((3, 3), "int64")},
    "attn_mask_2d_shape": {"attn_mask": ((3, 4), "float32")},
    "attn_mask_3d_shape": {"attn_mask": ((2, 3, 3), "float32")},
    "attn_mask_4d": {"attn_mask": ((1, 3, 3, 3), "float32")},
    "padding_mask_length": {"key_padding_mask": ((2, 4), "bool")},
    "padding_mask_batch": {"key_padding_mask": ((3, 3), "bool")},
    "padding_mask_rank": {"key_padding_mask": ((2, 3, 1), "bool")},
    "key_value_mismatch": {"key": (3, 1, 4)},
    "unbatched_query_batched_key": {"query": (3, 4)},
    "wrong_embed": {"query": (3, 2, 3), "key": (3, 2, 3), "value": (3, 2, 3)},
    "causal_without_mask": {"is_causal": True},
    "query_4d": {"query": (1, 3, 2, 4)},
    "unbatched_attn_mask_3d_shape": {"query": (3, 4), "key": (3, 4), "value": (3, 4),
                                     "attn_mask": ((1, 3, 3), "float32")},
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_multihead_attention_errors_match_torch(torch, case):
    with pytest.raises(Exception) as theirs:
        mha_call(torch, **ERROR_CASES[case])
    with pytest.raises(type(theirs.value)) as ours:
        mha_call(leafgrad, **ERROR_CASES[case])
    assert str(ours.value) == str(theirs.value)


def test_mismatched_mask_types_warn_as_torch():
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask "
                                         "is deprecated"):
        mha_call(leafgrad, key_padding_mask=((2, 3), "bool"), attn_mask=((3, 3), "float32"))
