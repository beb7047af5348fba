"""Attention: scaled_dot_product_attention and multi_head_attention_forward, composites on matmul
and softmax (so they run eagerly, trace, and differentiate with no rule of their own).

Behaviour follows PyTorch on CPU: in ``scaled_dot_product_attention`` a query row whose keys are all
masked out gets zeros (PyTorch's fused CPU kernel), while ``multi_head_attention_forward`` with
``need_weights=True`` takes PyTorch's explicit softmax path, where such a row is NaN.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.tensor import Tensor
from .activation import softmax
from .dropout import dropout
from .linear import linear
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _const(a):
    return F._wrap(np.asarray(a))


def _causal(L, S, like):
    """True where a query may look: key index <= query index (top-left aligned, like PyTorch);
    on the device of tensor ``like``."""
    from ...frontend.device_ops import on_device_of
    return on_device_of(np.tril(np.ones((L, S), dtype=bool)), like)


def _safe_softmax(scores):
    """softmax over the last dim; a row that is all -inf gives zeros instead of NaN."""
    m = F.amax(scores, -1, keepdim=True).detach()
    m = F.where(F.isinf(m), 0.0, m)
    e = F.exp(scores - m)
    denom = F.sum(e, -1, keepdim=True)
    return e / F.where(denom == 0, 1.0, denom)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    if _AMP.on and "scaled_dot_product_attention" in _AMP.ops:
        return _AMP.call("scaled_dot_product_attention", scaled_dot_product_attention, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, "
                            f"not {type(t).__name__}")
    if query.dtype is not key.dtype or query.dtype is not value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype.name} key.dtype: {key.dtype.name} and "
                           f"value.dtype: {value.dtype.name} instead.")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least "
                           "2-dimensional")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same embedding dimension, but got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    L, S = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk != 0:
            raise RuntimeError(f"number of heads in key/value must divide the number of heads in "
                               f"query ({hk} vs {hq})")
        key = _repeat_heads(key, hq // hk)
        value = _repeat_heads(value, hq // hk)
    scores = F.matmul(query, key.transpose(-2, -1)) * scale_factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        scores = F.where(_causal(L, S, scores), scores, -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype is dt.bool_:
            scores = F.where(attn_mask, scores, -math.inf)
        else:
            scores = scores + F.to_dtype(attn_mask, scores.dtype)
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return F.matmul(weights, value)


def _repeat_heads(x, n):
    """repeat_interleave along the head dim (-3)."""
    shape = tuple(x.shape)
    x = x.unsqueeze(-3).expand(shape[:-3] + (shape[-3], n) + shape[-2:])
    return x.reshape(shape[:-3] + (shape[-3] * n,) + shape[-2:])


# --- multi_head_attention_forward -------------------------------------------------------------
def _canonical_mask(mask, name, other_name, other_type, target_dtype, check_other=True):
    """PyTorch's rule: a bool mask (True = not allowed) becomes a float mask of 0 / -inf."""
    if mask is None:
        return None
    if mask.dtype is not dt.bool_ and mask.dtype.category != dt.FLOAT:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if check_other and other_type is not None and other_type is not mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      "type for both instead.")
    if mask.dtype is dt.bool_:
        return F.where(mask, _const(np.array(-np.inf, target_dtype.np)),
                       _const(np.array(0.0, target_dtype.np)))
    return mask


def _check_ranks(kind, nd, key, value, key_padding_mask, attn_mask):
    """The rank checks shared by batched (nd=3) and unbatched (nd=2) queries, in PyTorch's words;
    ``kind`` is "batched (3-D)" or "unbatched (2-D)"."""
    if key.ndim != nd or value.ndim != nd:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {nd}-D but "
                             f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != nd - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{nd - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or "
                             f"3-D but found {attn_mask.ndim}-D tensor instead")


def _check_batched(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True when the inputs carry a batch dim; checks shapes like PyTorch."""
    if query.ndim == 3:
        _check_ranks("batched (3-D)", 3, key, value, key_padding_mask, attn_mask)
        return True
    if query.ndim == 2:
        _check_ranks("unbatched (2-D)", 2, key, value, key_padding_mask, attn_mask)
        if attn_mask is not None and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")


def _in_projection(query, key, value, w, b, separate, q_w, k_w, v_w, E):
    if not separate:
        if w is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if key is value and query is key:
            # self-attention: one matmul, then split
            qkv = linear(query, w, b)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
    else:
        if q_w is None or k_w is None or v_w is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        wq, wk, wv = q_w, k_w, v_w
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = b[:E], b[E:2 * E], b[2 * E:]
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _pad_last(mask):
    """Append one zero (nothing masked) column along the last dim."""
    if mask is None:
        return None
    return F.cat([mask, mask.new_zeros(tuple(mask.shape[:-1]) + (1,))], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    batched = _check_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", "attn_mask",
                                       None if attn_mask is None else attn_mask.dtype, query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        # the mask is only a hint: let attention build the causal mask itself
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, None, query.dtype, False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight, embed_dim)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {(bsz * num_heads, tgt_len, src_len)}.")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key." if static_k is not None
                                 else "bias cannot be added to static value.")
        k = F.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = F.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    # [L, N, E] -> [N*H, L, head_dim]
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        v = static_v

    if add_zero_attn:
        zero_shape = (bsz * num_heads, 1, head_dim)
        k = F.cat([k, k.new_zeros(zero_shape)], 1)
        v = F.cat([v, v.new_zeros(zero_shape)], 1)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)

    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = F.matmul(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = F.matmul(weights, v)                                     # [N*H, L, hd]
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, out.shape[1])
    if not batched:
        out = out.squeeze(1)
    return out, None
