"""scaled_dot_product_attention, multi_head_attention_forward and MultiheadAttention against
PyTorch: every mask kind, need_weights / average_attn_weights, kdim/vdim, bias_kv, zero attn,
batch_first, unbatched; gradients of inputs and parameters; finite differences."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close, need_torch
from tests.nn.compare import copy_weights, numeric_grad_check, run_both

torch = need_torch()
TF = torch.nn.functional
rng = np.random.default_rng(3)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def _mask_pair(m):
    return (None, None) if m is None else (ember.tensor(m), torch.tensor(m))


# --- scaled_dot_product_attention ---------------------------------------------------------------
SDPA = [dict(), dict(is_causal=True), dict(scale=0.3), dict(mask="bool"), dict(mask="float"),
        dict(mask="bool_bcast"), dict(mask="bool_row_empty")]


@pytest.mark.parametrize("kw", SDPA, ids=str)
def test_sdpa(kw):
    kw = dict(kw)
    kind = kw.pop("mask", None)
    m = None
    if kind == "bool":
        m = rng.random((2, 3, 5, 6)) > 0.3
    elif kind == "float":
        m = randn(2, 1, 5, 6)
    elif kind == "bool_bcast":
        m = rng.random((5, 6)) > 0.3
    elif kind == "bool_row_empty":
        m = rng.random((5, 6)) > 0.3
        m[2] = False      # a query that sees nothing: PyTorch's CPU kernel gives zeros
    em, tm = _mask_pair(m)
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, em, **kw),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, tm, **kw),
             randn(2, 3, 5, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4))


def test_sdpa_float32_3d_gqa_and_fd():
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v),
             randn(3, 5, 8, dtype=np.float32), randn(3, 7, 8, dtype=np.float32),
             randn(3, 7, 2, dtype=np.float32))
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
             randn(1, 4, 3, 2), randn(1, 2, 5, 2), randn(1, 2, 5, 2))
    numeric_grad_check(lambda q, k, v: (F.scaled_dot_product_attention(
        q, k, v, is_causal=True) ** 2).sum(), randn(1, 3, 2), randn(1, 3, 2), randn(1, 3, 2))


def test_sdpa_dropout_and_errors():
    q = ember.randn(2, 4, 8, 4)
    ember.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ember.manual_seed(1)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert not ember.equal(a, b)
    assert ember.equal(F.scaled_dot_product_attention(q, q, q, dropout_p=0.0),
                       F.scaled_dot_product_attention(q, q, q))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, q, q, ember.ones(8, 8, dtype=ember.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)


# --- multi-head attention ----------------------------------------------------------------------
def _mha_pair(**kw):
    e = nn.MultiheadAttention(8, 2, dtype=ember.float64, **kw)
    t = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **kw)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    copy_weights(e, t)
    return e, t


def _compare_mha(e, t, q, k, v, self_attn=False, **fkw):
    tensors = []
    for lib in (ember, torch):
        a = lib.tensor(q, requires_grad=True)
        if self_attn:
            b = c = a
        else:
            b, c = lib.tensor(k, requires_grad=True), lib.tensor(v, requires_grad=True)
        tensors.append((a, b, c))
    masks = {}
    for name in ("key_padding_mask", "attn_mask"):
        if fkw.get(name) is not None:
            masks[name] = _mask_pair(fkw[name])
    ekw = {**fkw, **{n: m[0] for n, m in masks.items()}}
    tkw = {**fkw, **{n: m[1] for n, m in masks.items()}}
    eo, ew = e(*tensors[0], **ekw)
    to, tw = t(*tensors[1], **tkw)
    assert_close(eo, to, msg="output")
    if tw is None:
        assert ew is None
    else:
        assert_close(ew, tw, msg="weights")
    cot = np.cos(np.arange(to.numel())).reshape(tuple(to.shape))
    (eo * ember.tensor(cot)).sum().backward()
    (to * torch.tensor(cot)).sum().backward()
    for a, b in zip(tensors[0], tensors[1]):
        if b.grad is not None:
            assert_close(a.grad, b.grad, msg="input grad")
    tp = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, tp[n].grad, msg=f"grad of {n}")


MHA_CASES = [
    dict(),
    dict(need_weights=False),
    dict(average_attn_weights=False),
    dict(key_padding_mask="bool"),
    dict(attn_mask="bool2d"),
    dict(attn_mask="float3d", key_padding_mask="float"),
    dict(attn_mask="causal", is_causal=True, need_weights=False),
    dict(key_padding_mask="bool", need_weights=False),
]


def _masks(kw, L=5, S=6, N=3, H=2):
    kw = dict(kw)
    kpm, am = kw.get("key_padding_mask"), kw.get("attn_mask")
    if kpm == "bool":
        m = rng.random((N, S)) > 0.7
        m[:, 0] = False
        kw["key_padding_mask"] = m
    elif kpm == "float":
        kw["key_padding_mask"] = randn(N, S)
    if am == "bool2d":
        m = rng.random((L, S)) > 0.7
        m[:, 0] = False
        kw["attn_mask"] = m
    elif am == "float3d":
        kw["attn_mask"] = randn(N * H, L, S)
    elif am == "causal":
        kw["attn_mask"] = np.triu(np.full((L, S), -np.inf), 1)
    return kw


@pytest.mark.parametrize("kw", MHA_CASES, ids=str)
def test_multihead_attention(kw):
    e, t = _mha_pair()
    fkw = _masks(kw, L=5, S=5 if "causal" in str(kw) else 6)
    S = 5 if "causal" in str(kw) else 6
    _compare_mha(e, t, randn(5, 3, 8), randn(S, 3, 8), randn(S, 3, 8), **fkw)


def test_multihead_self_attention_batch_first_and_unbatched():
    e, t = _mha_pair(batch_first=True)
    _compare_mha(e, t, randn(3, 5, 8), None, None, self_attn=True)
    e, t = _mha_pair()
    _compare_mha(e, t, randn(5, 8), randn(4, 8), randn(4, 8))
    _compare_mha(e, t, randn(5, 8), randn(4, 8), randn(4, 8),
                 key_padding_mask=np.array([False, True, False, False]))


def test_multihead_kdim_vdim_bias_kv_zero_attn():
    e, t = _mha_pair(kdim=5, vdim=3)
    assert e.in_proj_weight is None and tuple(e.k_proj_weight.shape) == (8, 5)
    _compare_mha(e, t, randn(4, 2, 8), randn(6, 2, 5), randn(6, 2, 3))
    e, t = _mha_pair(add_bias_kv=True, add_zero_attn=True)
    _compare_mha(e, t, randn(4, 2, 8), randn(6, 2, 8), randn(6, 2, 8),
                 key_padding_mask=rng.random((2, 6)) > 0.7)
    e, t = _mha_pair(bias=False)
    assert e.in_proj_bias is None and e.out_proj.bias is None
    _compare_mha(e, t, randn(4, 2, 8), randn(6, 2, 8), randn(6, 2, 8), need_weights=False)


def test_multihead_attention_init_repr_and_errors():
    e, t = nn.MultiheadAttention(16, 4), torch.nn.MultiheadAttention(16, 4)
    assert repr(e) == repr(t)
    bound = math.sqrt(6 / (16 + 48))
    w = e.in_proj_weight
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.8 * bound
    assert not e.in_proj_bias.any() and not e.out_proj.bias.any()
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 1)
    x = ember.randn(4, 2, 16)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is"):
        e(x, x, x, attn_mask=ember.zeros(3, 3))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        e(x, x, x, is_causal=True)


def test_multihead_attention_dropout_only_in_training():
    e = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.randn(5, 2, 8)
    e.eval()
    assert ember.equal(e(x, x, x)[0], e(x, x, x)[0])
    e.train()
    ember.manual_seed(0)
    a = e(x, x, x)[0]
    ember.manual_seed(1)
    assert not ember.equal(a, e(x, x, x)[0])


def test_multi_head_attention_forward_functional():
    E, H = 6, 3
    args = [randn(4, 2, E), randn(5, 2, E), randn(5, 2, E), randn(3 * E, E), randn(3 * E),
            randn(E, E), randn(E)]

    def f(lib):
        fn = (F if lib is ember else TF).multi_head_attention_forward

        def call(q, k, v, w, b, ow, ob):
            return fn(q, k, v, E, H, w, b, None, None, False, 0.0, ow, ob)[0]
        return call
    run_both(f(ember), f(torch), *args)
