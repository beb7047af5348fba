"""Convolutions against PyTorch (outputs, input grads, weight/bias grads), finite differences in
float64, second-order gradients, module options/init/repr, and errors in PyTorch's words."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close, need_torch
from tests.nn.compare import check_module, numeric_grad_check, run_both

torch = need_torch()
TF = torch.nn.functional
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# --- functional ---------------------------------------------------------------------------------
CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding=(2, 0), stride=(1, 2)),
    dict(dilation=2, padding=2),
    dict(groups=2),
    dict(groups=4, stride=2, padding=1),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
]


@pytest.mark.parametrize("kw", CONV2D_CASES, ids=str)
def test_conv2d(kw):
    groups = kw.get("groups", 1)
    run_both(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
             randn(2, 4, 7, 6), randn(8, 4 // groups, 3, 3), randn(8))


@pytest.mark.parametrize("kernel", [(2, 2), (4, 3), (1, 1)])
def test_conv2d_same_even_and_odd_kernels(kernel):
    run_both(lambda x, w: F.conv2d(x, w, padding="same"),
             lambda x, w: TF.conv2d(x, w, padding="same"), randn(2, 3, 5, 6), randn(4, 3, *kernel))


@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=2), dict(dilation=3, groups=2),
                                dict(padding="same")], ids=str)
def test_conv1d(kw):
    groups = kw.get("groups", 1)
    run_both(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
             randn(2, 4, 11), randn(6, 4 // groups, 3), randn(6))


def test_conv3d():
    run_both(lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1),
             lambda x, w, b: TF.conv3d(x, w, b, stride=2, padding=1),
             randn(1, 2, 5, 4, 5), randn(3, 2, 3, 2, 3), randn(3))


def test_conv_unbatched_noncontiguous_and_float64():
    x = randn(3, 6, 5).transpose(0, 2, 1)  # a non-contiguous view
    run_both(lambda x, w: F.conv2d(x.transpose(1, 2), w, padding=1),
             lambda x, w: TF.conv2d(x.transpose(1, 2), w, padding=1),
             np.ascontiguousarray(x).transpose(0, 2, 1), randn(2, 3, 3, 3))
    run_both(lambda x, w: F.conv1d(x, w), lambda x, w: TF.conv1d(x, w), randn(3, 8), randn(2, 3, 2))
    run_both(lambda x, w: F.conv2d(x, w, stride=2), lambda x, w: TF.conv2d(x, w, stride=2),
             randn(2, 3, 6, 6, dtype=np.float64), randn(4, 3, 3, 3, dtype=np.float64))


def test_conv_empty_batch():
    out = F.conv2d(ember.zeros(0, 3, 5, 5), ember.ones(2, 3, 3, 3))
    assert tuple(out.shape) == (0, 2, 3, 3)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(stride=2, output_padding=1),
                                dict(stride=3, padding=1, output_padding=2),
                                dict(groups=2, dilation=2), dict(stride=2, dilation=2,
                                                                 output_padding=1, padding=2)],
                         ids=str)
def test_conv_transpose2d(kw):
    groups = kw.get("groups", 1)
    run_both(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
             lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
             randn(2, 4, 4, 5), randn(4, 6 // groups, 3, 3), randn(6))


def test_conv_transpose1d_and_3d():
    run_both(lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
             lambda x, w: TF.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
             randn(2, 3, 6), randn(3, 2, 4))
    run_both(lambda x, w: F.conv_transpose3d(x, w, stride=2),
             lambda x, w: TF.conv_transpose3d(x, w, stride=2), randn(1, 2, 3, 2, 3),
             randn(2, 2, 2, 2, 2))


def test_conv_finite_differences():
    def f(x, w):
        return (F.conv2d(x, w, stride=2, padding=1, groups=2) ** 2).sum()
    numeric_grad_check(f, randn(1, 2, 4, 5), randn(4, 1, 3, 2))

    def g(x, w):
        return (F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1) ** 2).sum()
    numeric_grad_check(g, randn(1, 2, 4), randn(2, 3, 3))


def test_conv_second_order_matches_torch():
    x, w = randn(1, 2, 5, 5, dtype=np.float64), randn(3, 2, 3, 3, dtype=np.float64)
    ex, ew = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    for lib, f, a, b in ((ember, F, ex, ew), (torch, TF, tx, tw)):
        y = (f.conv2d(a, b, stride=2, padding=1) ** 2).sum()
        gx, gw = lib.autograd.grad(y, (a, b), create_graph=True)
        ((gx ** 2).sum() + (gw * gw).sum()).backward()
    assert_close(ex.grad, tx.grad)
    assert_close(ew.grad, tw.grad)


def test_unfold_fold():
    run_both(lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
             lambda x: TF.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
             randn(2, 3, 6, 7))
    run_both(lambda x: F.fold(x, (5, 6), 2, padding=1, stride=2),
             lambda x: TF.fold(x, (5, 6), 2, padding=1, stride=2), randn(2, 12, 12))
    run_both(lambda x: F.unfold(x, 2), lambda x: TF.unfold(x, 2), randn(3, 4, 4))
    check_module(nn.Unfold(3, padding=1), torch.nn.Unfold(3, padding=1), randn(1, 2, 4, 4))
    check_module(nn.Fold((4, 5), 2), torch.nn.Fold((4, 5), 2), randn(1, 8, 12))


def test_unfold_keeps_inf_exact():
    x = ember.tensor([[[[1.0, math.inf], [2.0, 3.0]]]])
    out = F.unfold(x, 1)
    assert out[0, 0, 1].item() == math.inf and not ember.isnan(out).any()


# --- errors -------------------------------------------------------------------------------------
def _both_raise(fn_e, fn_t, exc=RuntimeError, match=None):
    with pytest.raises(exc) as et:
        fn_t()
    with pytest.raises(exc, match=match) as ee:
        fn_e()
    return str(ee.value), str(et.value)


def test_conv_errors_in_pytorch_words():
    x, w = randn(2, 3, 5, 5), randn(4, 2, 3, 3)
    e, t = _both_raise(lambda: F.conv2d(ember.tensor(x), ember.tensor(w)),
                       lambda: TF.conv2d(torch.tensor(x), torch.tensor(w)))
    assert e == t
    e, t = _both_raise(lambda: F.conv2d(ember.tensor(randn(3, 5)), ember.tensor(w)),
                       lambda: TF.conv2d(torch.tensor(randn(3, 5)), torch.tensor(w)))
    assert e == t
    e, t = _both_raise(lambda: F.conv2d(ember.tensor(randn(1, 2, 2, 2)), ember.tensor(w)),
                       lambda: TF.conv2d(torch.tensor(randn(1, 2, 2, 2)), torch.tensor(w)))
    assert e == t
    e, t = _both_raise(lambda: F.conv2d(ember.tensor(x), ember.tensor(randn(4, 3, 3, 3)),
                                        stride=2, padding="same"),
                       lambda: TF.conv2d(torch.tensor(x), torch.tensor(randn(4, 3, 3, 3)),
                                         stride=2, padding="same"))
    assert e == t
    with pytest.raises(RuntimeError, match="should be the same"):
        F.conv2d(ember.tensor(x), ember.tensor(randn(4, 3, 3, 3, dtype=np.float64)))


def test_conv_module_errors():
    for kw, msg in [(dict(groups=0), "groups must be a positive integer"),
                    (dict(groups=2), "in_channels must be divisible by groups"),
                    (dict(padding="full"), "Invalid padding string 'full'"),
                    (dict(padding="same", stride=2), "not supported for strided convolutions"),
                    (dict(padding_mode="mirror"), "padding_mode must be one of")]:
        with pytest.raises(ValueError, match=msg):
            torch.nn.Conv2d(3, 4, 3, **kw)
        with pytest.raises(ValueError, match=msg):
            nn.Conv2d(3, 4, 3, **kw)
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


# --- modules ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes(mode):
    check_module(nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode, groups=1),
                 torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode),
                 randn(2, 3, 5, 6))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_conv1d_module_same_padding_modes(mode):
    check_module(nn.Conv1d(2, 3, 4, padding="same", padding_mode=mode, dilation=1),
                 torch.nn.Conv1d(2, 3, 4, padding="same", padding_mode=mode), randn(2, 2, 9))


def test_conv_modules_match_torch():
    check_module(nn.Conv2d(4, 6, (3, 2), stride=2, groups=2, bias=False),
                 torch.nn.Conv2d(4, 6, (3, 2), stride=2, groups=2, bias=False), randn(2, 4, 7, 7))
    check_module(nn.Conv3d(2, 3, 2), torch.nn.Conv3d(2, 3, 2), randn(1, 2, 3, 4, 3))
    check_module(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
                 torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                          groups=2), randn(2, 4, 3, 4))
    check_module(nn.ConvTranspose1d(3, 2, 3, dilation=2), torch.nn.ConvTranspose1d(3, 2, 3,
                                                                                  dilation=2),
                 randn(2, 3, 5))


def test_conv_transpose_output_size():
    e, t = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    x = randn(1, 2, 4, 4)
    from tests.nn.compare import copy_weights
    copy_weights(e, t)
    assert_close(e(ember.tensor(x), output_size=[10, 10]),
                 t(torch.tensor(x), output_size=[10, 10]))
    assert tuple(e(ember.tensor(x), output_size=(1, 2, 9, 10)).shape) == (1, 3, 9, 10)
    with pytest.raises(ValueError, match="requested an output size of"):
        e(ember.tensor(x), output_size=(12, 12))


def test_conv_parameters_init_and_repr():
    for kw in [dict(), dict(groups=2, bias=False, stride=2, padding=1, dilation=2),
               dict(padding="same", padding_mode="reflect")]:
        e, t = nn.Conv2d(4, 6, 3, **kw), torch.nn.Conv2d(4, 6, 3, **kw)
        assert repr(e) == repr(t)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        bound = 1 / math.sqrt(e.weight.shape[1] * 9)
        assert float(e.weight.abs().max()) <= bound
        assert float(e.weight.abs().max()) > 0.5 * bound   # really drawn from U(-b, b)
        assert e.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.35)
    e = nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2)
    t = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2)
    assert repr(e) == repr(t) and tuple(e.weight.shape) == tuple(t.weight.shape)
    assert repr(nn.Conv1d(2, 3, 4)) == repr(torch.nn.Conv1d(2, 3, 4))
    assert nn.Conv2d(2, 3, 3, dtype=ember.float64).weight.dtype is ember.float64


def test_conv_state_dict_roundtrip_with_torch():
    t = torch.nn.Conv2d(3, 5, 3)
    e = nn.Conv2d(3, 5, 3)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = randn(1, 3, 6, 6)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))


def test_conv_traces_into_conv_primitives():
    from ember.frontend.dispatch import STATE
    seen = []
    prev = STATE.record_hook
    STATE.record_hook = lambda prim: seen.append(prim.name)
    try:
        x = ember.randn(1, 2, 5, 5, requires_grad=True)
        F.conv2d(x, ember.randn(3, 2, 3, 3, requires_grad=True)).sum().backward()
    finally:
        STATE.record_hook = prev
    assert {"conv", "conv_transpose", "conv_weight"} <= set(seen)


def test_first_layer_skips_unneeded_input_gradient():
    from ember.frontend.dispatch import STATE
    seen = []
    prev = STATE.record_hook
    STATE.record_hook = lambda prim: seen.append(prim.name)
    try:
        w = ember.randn(3, 2, 3, 3, requires_grad=True)
        F.conv2d(ember.randn(1, 2, 5, 5), w).sum().backward()
    finally:
        STATE.record_hook = prev
    assert "conv_weight" in seen and "conv_transpose" not in seen
    assert w.grad is not None


def test_integer_convolution_like_pytorch_cpu():
    x = rng.integers(-3, 4, (1, 2, 4, 4))
    w = rng.integers(-2, 3, (3, 2, 2, 2))
    assert_close(F.conv2d(ember.tensor(x), ember.tensor(w), padding=1),
                 TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1))
    assert_close(F.conv_transpose2d(ember.tensor(x), ember.tensor(w.transpose(1, 0, 2, 3))),
                 TF.conv_transpose2d(torch.tensor(x), torch.tensor(w.transpose(1, 0, 2, 3))))
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        F.conv2d(ember.ones(1, 1, 2, 2, dtype=ember.bool), ember.ones(1, 1, 2, 2, dtype=ember.bool))


def test_conv_primitive_infer_rules_agree_with_numpy():
    from ember.ops import REGISTRY
    from ember.ops.registry import Meta
    x, w = np.zeros((2, 4, 7, 6), np.float32), np.zeros((6, 2, 3, 2), np.float32)
    cases = [("conv", (x, w), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
             ("conv_transpose", (x, np.zeros((4, 3, 3, 2), np.float32)),
              dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 1),
                   groups=2)),
             ("conv_weight", (x, np.zeros((2, 6, 3, 5), np.float32)),
              dict(kernel=(3, 2), stride=(2, 1), padding=(0, 0), dilation=(1, 1), groups=2)),
             ("max_pool_indices", (x,), dict(kernel=(3, 2), stride=(2, 2), padding=(1, 1),
                                             dilation=(1, 1), ceil_mode=True)),
             ("pool_gather", (x.reshape(2, 4, -1), np.zeros((2, 4, 5), np.int64)),
              dict(unique=True)),
             ("pool_scatter", (np.ones((2, 4, 5), np.float32), np.zeros((2, 4, 5), np.int64)),
              dict(size=42, unique=False))]
    for name, arrays, params in cases:
        prim = REGISTRY[name]
        metas = [Meta(a.shape, ember.dtypes.BY_NP[a.dtype]) for a in arrays]
        meta = prim.infer(*metas, **params)
        out = prim.numpy(*arrays, **params)
        assert tuple(meta.shape) == out.shape, name
        assert meta.dtype.np == out.dtype, name
