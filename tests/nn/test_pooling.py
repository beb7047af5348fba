"""Pooling and resampling against PyTorch: max/avg/adaptive/lp pooling (values, indices, grads),
interpolate in every mode, Upsample, pixel_shuffle; finite differences; errors."""
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
rng = np.random.default_rng(1)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def distinct(*shape, dtype=np.float32):
    """No ties, so max pooling's gradient has one winner per window."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape).astype(dtype)


MAX2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=(2, 3), dilation=2),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, dilation=(1, 2)),
         dict(kernel_size=2, stride=1)]


@pytest.mark.parametrize("kw", MAX2D, ids=str)
def test_max_pool2d_values_indices_grads(kw):
    x = distinct(2, 3, 7, 8)
    run_both(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), x)
    _, ie = F.max_pool2d(ember.tensor(x), return_indices=True, **kw)
    _, it = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    assert_close(ie, it)
    assert ie.dtype is ember.int64


def test_max_pool1d_3d_and_unbatched():
    run_both(lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True),
             lambda x: TF.max_pool1d(x, 3, 2, 1, ceil_mode=True), distinct(2, 3, 10))
    run_both(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), distinct(3, 6, 5))
    run_both(lambda x: F.max_pool3d(x, 2, padding=1), lambda x: TF.max_pool3d(x, 2, padding=1),
             distinct(1, 2, 4, 3, 5))


def test_max_pool_ties_nan_and_ints():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 2.0, 2.0], [0.0, 2.0, 2.0]]]], np.float32)
    run_both(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), x)
    xn = x.copy()
    xn[0, 0, 1, 1] = np.nan
    ve, ie = F.max_pool2d(ember.tensor(xn), 2, 1, return_indices=True)
    vt, it = TF.max_pool2d(torch.tensor(xn), 2, 1, return_indices=True)
    assert_close(ve, vt)
    assert_close(ie, it)
    xi = rng.integers(-50, 50, (2, 2, 5, 5))
    assert_close(F.max_pool2d(ember.tensor(xi), 2), TF.max_pool2d(torch.tensor(xi), 2))
    assert_close(F.max_pool2d(ember.tensor(x).double(), 2, 1), TF.max_pool2d(
        torch.tensor(x).double(), 2, 1))


def test_max_pool_errors():
    x = ember.randn(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(ember.randn(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="stride must be greater than zero"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(RuntimeError):
        F.max_pool2d(ember.randn(4), 2)


AVG2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
         dict(kernel_size=(2, 3), stride=(1, 2), divisor_override=5),
         dict(kernel_size=2, ceil_mode=True)]


@pytest.mark.parametrize("kw", AVG2D, ids=str)
def test_avg_pool2d(kw):
    run_both(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), randn(2, 3, 7, 8))


def test_avg_pool1d_3d_unbatched_and_fd():
    run_both(lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
             lambda x: TF.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
             randn(2, 3, 10))
    run_both(lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2), randn(3, 4, 6))
    run_both(lambda x: F.avg_pool3d(x, 2, padding=1), lambda x: TF.avg_pool3d(x, 2, padding=1),
             randn(1, 2, 4, 3, 5))
    numeric_grad_check(lambda x: (F.avg_pool2d(x, 3, 2, 1, ceil_mode=True) ** 2).sum(),
                       randn(1, 1, 5, 6))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        F.avg_pool2d(ember.ones(1, 1, 4, 4, dtype=ember.int64), 2)


@pytest.mark.parametrize("out", [(3, 4), 1, (None, 2), (7, 9), (5, 6)], ids=str)
def test_adaptive_pool2d(out):
    x = distinct(2, 3, 7, 9)
    run_both(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), x)
    run_both(lambda x: F.adaptive_max_pool2d(x, out), lambda x: TF.adaptive_max_pool2d(x, out), x)
    _, ie = F.adaptive_max_pool2d(ember.tensor(x), out, return_indices=True)
    _, it = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    assert_close(ie, it)


def test_adaptive_pool1d_3d():
    x = distinct(2, 3, 10)
    for out in (1, 3, 4, 10):
        run_both(lambda x: F.adaptive_avg_pool1d(x, out),
                 lambda x: TF.adaptive_avg_pool1d(x, out), x)
        run_both(lambda x: F.adaptive_max_pool1d(x, out),
                 lambda x: TF.adaptive_max_pool1d(x, out), x)
    run_both(lambda x: F.adaptive_avg_pool3d(x, (2, 1, 3)),
             lambda x: TF.adaptive_avg_pool3d(x, (2, 1, 3)), randn(1, 2, 4, 3, 5))
    run_both(lambda x: F.adaptive_avg_pool2d(x, 2), lambda x: TF.adaptive_avg_pool2d(x, 2),
             randn(3, 5, 5))


def test_lp_pool():
    x = np.abs(randn(2, 3, 6, 7)) + 0.1
    run_both(lambda x: F.lp_pool2d(x, 2, 2), lambda x: TF.lp_pool2d(x, 2, 2), x)
    run_both(lambda x: F.lp_pool1d(x, 3, 3, 2), lambda x: TF.lp_pool1d(x, 3, 3, 2), x[0])


def test_pooling_modules():
    x = distinct(2, 3, 8, 8)
    pairs = [(nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
             (nn.MaxPool2d(2, ceil_mode=True), torch.nn.MaxPool2d(2, ceil_mode=True)),
             (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
              torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
             (nn.AdaptiveAvgPool2d((3, 2)), torch.nn.AdaptiveAvgPool2d((3, 2))),
             (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3)),
             (nn.LPPool2d(2, 2), torch.nn.LPPool2d(2, 2))]
    for e, t in pairs:
        assert repr(e) == repr(t)
        check_module(e, t, np.abs(x) + 0.1)
    x1 = distinct(2, 3, 9)
    for e, t in [(nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2)),
                 (nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1)),
                 (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4)),
                 (nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4))]:
        assert repr(e) == repr(t)
        check_module(e, t, x1)
    ve, ie = nn.MaxPool2d(2, return_indices=True)(ember.tensor(x))
    vt, it = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    assert_close(ie, it)


# --- resampling ---------------------------------------------------------------------------------
SIZES = [dict(size=(7, 9)), dict(scale_factor=2), dict(scale_factor=(1.5, 0.7)),
         dict(size=(3, 2)), dict(scale_factor=1.7, recompute_scale_factor=True)]


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
@pytest.mark.parametrize("kw", SIZES, ids=str)
def test_interpolate_nearest_area(mode, kw):
    if mode == "area" and "recompute_scale_factor" in kw:
        kw = dict(size=(4, 4))
    run_both(lambda x: F.interpolate(x, mode=mode, **kw),
             lambda x: TF.interpolate(x, mode=mode, **kw), randn(2, 3, 5, 6))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kw", SIZES, ids=str)
def test_interpolate_bilinear_bicubic(mode, align_corners, kw):
    run_both(lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **kw),
             lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **kw),
             randn(2, 3, 5, 6), atol=1e-5 if mode == "bilinear" else 2e-5)


def test_interpolate_linear_trilinear_float64_fd():
    run_both(lambda x: F.interpolate(x, scale_factor=2.3, mode="linear"),
             lambda x: TF.interpolate(x, scale_factor=2.3, mode="linear"), randn(2, 3, 5))
    run_both(lambda x: F.interpolate(x, size=(5, 3, 4), mode="trilinear", align_corners=True),
             lambda x: TF.interpolate(x, size=(5, 3, 4), mode="trilinear", align_corners=True),
             randn(1, 2, 3, 4, 2, dtype=np.float64))
    run_both(lambda x: F.interpolate(x, scale_factor=3), lambda x: TF.interpolate(x, scale_factor=3),
             randn(1, 2, 4))
    numeric_grad_check(lambda x: (F.interpolate(x, size=(4, 5), mode="bilinear") ** 2).sum(),
                       randn(1, 1, 3, 3))


def test_interpolate_nearest_ints_and_errors():
    xi = rng.integers(0, 9, (1, 1, 3, 3)).astype(np.uint8)
    assert_close(F.interpolate(ember.tensor(xi), scale_factor=2),
                 TF.interpolate(torch.tensor(xi), scale_factor=2))
    x = ember.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor should be defined"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(ember.randn(1, 1, 4), size=2, mode="bilinear")


def test_upsample_modules():
    x = randn(2, 3, 4, 5)
    pairs = [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(6, 7), mode="bilinear"),
              torch.nn.Upsample(size=(6, 7), mode="bilinear")),
             (nn.Upsample(scale_factor=(2, 1.5), mode="bicubic", align_corners=True),
              torch.nn.Upsample(scale_factor=(2, 1.5), mode="bicubic", align_corners=True)),
             (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
             (nn.UpsamplingBilinear2d(size=(5, 9)), torch.nn.UpsamplingBilinear2d(size=(5, 9))),
             (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
             (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2))]
    for e, t in pairs:
        assert repr(e) == repr(t)
        inp = randn(2, 8, 4, 6) if isinstance(e, (nn.PixelShuffle, nn.PixelUnshuffle)) else x
        check_module(e, t, inp, atol=2e-5)


def test_pixel_shuffle_errors():
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(ember.randn(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError, match="divisible by downscale_factor"):
        F.pixel_unshuffle(ember.randn(1, 3, 3, 2), 2)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)],
                         ids=["disjoint", "overlapping"])
def test_max_pool_double_backward_and_fd(kw):
    x = distinct(1, 2, 5, 6, dtype=np.float64)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for lib, f, a in ((ember, F, ex), (torch, TF, tx)):
        y = (f.max_pool2d(a, **kw) ** 3).sum()
        (g,) = lib.autograd.grad(y, a, create_graph=True)
        (g * g).sum().backward()
    assert_close(ex.grad, tx.grad)
    numeric_grad_check(lambda x: (F.max_pool2d(x, **kw) ** 2).sum(), x)


def test_pooling_empty_batch():
    x = ember.randn(0, 3, 4, 4, requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.sum().backward()
    assert tuple(y.shape) == (0, 3, 2, 2) and tuple(x.grad.shape) == (0, 3, 4, 4)
    assert tuple(F.avg_pool2d(ember.randn(0, 2, 4, 4), 2).shape) == (0, 2, 2, 2)
