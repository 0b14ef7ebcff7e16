"""``scaled_dot_product_attention`` and ``multi_head_attention_forward``: the stateless functions
of attention (exported by ``leafgrad.nn.functional``), built from differentiable tensor ops.

Masks follow torch: for ``scaled_dot_product_attention`` a boolean mask says which positions
*take part* (True) and a float mask is added to the scores; for ``multi_head_attention_forward``
a boolean ``attn_mask`` or ``key_padding_mask`` says which positions are *masked out* (True).
"""
from __future__ import annotations

import math
import warnings

from leafgrad import _dtype
from leafgrad._backend import xp
from leafgrad._factories import zeros, zeros_like
from leafgrad._tensor import Tensor, _wrap
from leafgrad.nn._functional_linear import linear
from leafgrad.ops._checks import ArgumentAssertionError, expect_tensor
from leafgrad.ops.elementwise import where
from leafgrad.ops.reduction import softmax
from leafgrad.ops.shape import cat, pad
from leafgrad.ops.sparse import dropout

# torch raises AssertionError for bad attention shapes; ours is also a ValueError
ShapeAssertion = ArgumentAssertionError

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim, with 0 (not NaN) on rows where every score is -inf, as
    torch's math kernel. Such rows are set to 0 before the softmax too, so that no NaN reaches
    the gradients."""
    empty_rows = (scores == float("-inf")).all(-1, keepdim=True)
    if not empty_rows.any():
        return softmax(scores, -1)
    return where(empty_rows, 0.0, softmax(where(empty_rows, 0.0, scores), -1))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over (..., L, E) queries and
    (..., S, E) keys; ``scale`` defaults to 1/sqrt(E). ``attn_mask`` is boolean (True where a
    query may attend) or float (added); ``is_causal`` (without a mask) keeps positions j <= i.
    Rows that may attend nowhere give 0. As torch, dropout (``dropout_p``) is applied whenever
    it is > 0; ``enable_gqa`` shares each key/value head among a group of query heads (dim -3).

    Example::

        >>> q = k = v = leafgrad.randn(2, 4, 8)
        >>> leafgrad.nn.functional.scaled_dot_product_attention(q, k, v).shape
        torch.Size([2, 4, 8])
    """
    expect_tensor(query, "scaled_dot_product_attention", "query")
    expect_tensor(key, "scaled_dot_product_attention", "key", 2)
    expect_tensor(value, "scaled_dot_product_attention", "value", 3)
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and value.dtype: "
                           f"{value.dtype} instead.")
    if attn_mask is not None and attn_mask.dtype not in (_dtype.bool_, query.dtype):
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {attn_mask.dtype} and query.dtype: "
                           f"{query.dtype} instead.")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3:
        heads, kv_heads = query.size(-3), key.size(-3)
        if heads % kv_heads != 0 or value.size(-3) != kv_heads:
            raise RuntimeError(f"Number of heads in key and value must divide the number of "
                               f"heads in query: got {heads} query, {kv_heads} key and "
                               f"{value.size(-3)} value heads")
        key, value = (_repeat_heads(t, heads // kv_heads) for t in (key, value))
    length, source_length = query.size(-2), key.size(-2)
    if scale is not None:
        scale_factor = scale
    else:  # an empty embedding (E = 0) scales by inf, as torch: the scores are empty sums, 0
        scale_factor = 1.0 / math.sqrt(query.size(-1)) if query.size(-1) else math.inf
    scores = (query * scale_factor).matmul(key.transpose(-2, -1))
    allowed = None
    if is_causal:
        allowed = _wrap(xp.tril(xp.ones((length, source_length), dtype=bool, like=scores._data)),
                        False)
    elif attn_mask is not None and attn_mask.dtype == _dtype.bool_:
        allowed = attn_mask
    elif attn_mask is not None:
        scores = scores + attn_mask
    if allowed is not None:
        scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
    weights = _safe_softmax(scores) if attn_mask is not None or is_causal else softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights.matmul(value)


def _repeat_heads(tensor: Tensor, groups: int) -> Tensor:
    """(..., H, S, E) -> (..., H * groups, S, E), each head repeated ``groups`` times in a row
    (torch's repeat_interleave on dim -3)."""
    if groups == 1:
        return tensor
    shape = tuple(tensor.shape)
    expanded = tensor.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


# -- multi-head attention ---------------------------------------------------------------------
def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the inputs are batched; AssertionError (torch's messages) on bad ranks."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise ShapeAssertion(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D "
                                 f"but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise ShapeAssertion(f"For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise ShapeAssertion(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise ShapeAssertion(f"For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise ShapeAssertion(f"For unbatched (2-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 1-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise ShapeAssertion(f"For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     f"instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise ShapeAssertion(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{attn_mask.shape}")
        return False
    raise ShapeAssertion(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str,
                    target_type, check_other: bool = True) -> Tensor | None:
    """A boolean mask (True = masked out) as a float one (-inf there, 0 elsewhere)."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype != _dtype.bool_ and not is_float:
        raise ShapeAssertion(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      f"same type for both instead.", UserWarning, stacklevel=3)
    if not is_float:
        mask = zeros_like(mask, dtype=target_type).masked_fill(mask, float("-inf"))
    return mask


def _in_projection_packed(q: Tensor, k: Tensor, v: Tensor, w: Tensor, b: Tensor | None = None
                          ) -> tuple[Tensor, Tensor, Tensor]:
    """q, k and v projected by the three blocks of the packed (3E, E) weight; one matmul when
    q, k and v are the same tensor (self-attention), two when k is v."""
    embed_dim = q.size(-1)
    if k is v and q is k:
        return linear(q, w, b).unflatten(-1, (3, embed_dim)).unbind(-2)
    if k is v:
        w_q, w_kv = w.split([embed_dim, embed_dim * 2])
        b_q, b_kv = (None, None) if b is None else b.split([embed_dim, embed_dim * 2])
        k_proj, v_proj = linear(k, w_kv, b_kv).unflatten(-1, (2, embed_dim)).unbind(-2)
        return linear(q, w_q, b_q), k_proj, v_proj
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q: Tensor, k: Tensor, v: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
                   b_q: Tensor | None, b_k: Tensor | None, b_v: Tensor | None
                   ) -> tuple[Tensor, Tensor, Tensor]:
    """q, k and v projected by separate weights (key and value sizes may differ)."""
    size_q, size_k, size_v = q.size(-1), k.size(-1), v.size(-1)
    for name, weight, expected in (("query", w_q, (size_q, size_q)), ("key", w_k, (size_q, size_k)),
                                   ("value", w_v, (size_q, size_v))):
        if tuple(weight.shape) != expected:
            raise ShapeAssertion(f"expecting {name} weights shape of {expected}, but got "
                                 f"{weight.shape}")
    for name, bias in (("query", b_q), ("key", b_k), ("value", b_v)):
        if bias is not None and tuple(bias.shape) != (size_q,):
            raise ShapeAssertion(f"expecting {name} bias shape of {(size_q,)}, but got "
                                 f"{bias.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) queries and (S, N, E_k), (S, N, E_v) keys and values
    (or unbatched (L, E) ...): returns the (L, N, E) output and, with ``need_weights``, the
    attention weights (N, L, S), or (N, num_heads, L, S) with ``average_attn_weights=False``.
    Follows torch's function step by step, so results match it.

    Example::

        >>> x, w_in, w_out = leafgrad.randn(5, 1, 8), leafgrad.randn(24, 8), leafgrad.randn(8, 8)
        >>> out, weights = multi_head_attention_forward(x, x, x, 8, 2, w_in, None, None, None,
        ...                                             False, 0.0, w_out, None)
        >>> out.shape, weights.shape
        (torch.Size([5, 1, 8]), torch.Size([1, 5, 5]))
    """
    expect_tensor(query, "multi_head_attention_forward", "query")
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       None if attn_mask is None else attn_mask.dtype,
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        # the causal mask is made by scaled_dot_product_attention itself
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the hint no longer describes the merged mask
    if embed_dim != embed_dim_to_check:
        raise ShapeAssertion(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ShapeAssertion(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ShapeAssertion(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        for name, weight in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if weight is None:
                raise ShapeAssertion(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     f"is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight,
                                 b_q, b_k, b_v)
    else:
        if key.shape != value.shape:
            raise ShapeAssertion(f"key shape {key.shape} does not match value shape "
                                 f"{value.shape}")
        if in_proj_weight is None:
            raise ShapeAssertion("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise ShapeAssertion("bias cannot be added to static key.")
        if static_v is not None:
            raise ShapeAssertion("bias cannot be added to static value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise ShapeAssertion("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise ShapeAssertion("bias_v is set but bias_k is None")

    # heads folded into the batch: (N * num_heads, length, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz * num_heads, head_dim)
    if add_zero_attn:
        zero_attn_shape = (bsz * num_heads, 1, head_dim)
        k = cat([k, zeros(zero_attn_shape, dtype=k.dtype)], dim=1)
        v = cat([v, zeros(zero_attn_shape, dtype=v.dtype)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.size(1)

    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise ShapeAssertion(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise ShapeAssertion(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = (key_padding_mask.reshape(bsz, 1, 1, src_len)
                            .expand(-1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0

    if need_weights:
        # plain softmax here, as torch: a fully masked row gives NaN weights
        scores = (q * math.sqrt(1.0 / float(head_dim))).bmm(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = attn_mask + scores
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        attn_output = weights.bmm(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
        attn_output = attn_output.reshape(tgt_len, bsz, attn_output.size(1))
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            attn_output, weights = attn_output.squeeze(1), weights.squeeze(0)
        return attn_output, weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.reshape(tgt_len, bsz, attn_output.size(1))
    if not is_batched:
        attn_output = attn_output.squeeze(1)
    return attn_output, None


def _heads(projected: Tensor, static: Tensor | None, name: str, batch_heads: int,
           head_dim: int) -> Tensor:
    """Keys or values as (N * num_heads, S, head_dim), or the given static ones (checked)."""
    if static is None:
        return projected.reshape(projected.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.size(0) != batch_heads:
        raise ShapeAssertion(f"expecting {name}.size(0) of {batch_heads}, but got "
                             f"{static.size(0)}")
    if static.size(2) != head_dim:
        raise ShapeAssertion(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static
