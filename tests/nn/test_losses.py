"""Losses against PyTorch: every reduction, weights, ignore_index, label smoothing, input grads."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close, need_torch
from tests.nn.compare import numeric_grad_check, run_both

torch = need_torch()
TF = torch.nn.functional
rng = np.random.default_rng(1)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def both(name, *arrays, int_inputs=None, atol=1e-5, **kw):
    """Compare module name(**kw) in ember and torch on the given inputs.  The target of a
    two-argument loss gets no gradient (PyTorch refuses or gives NaN for several)."""
    if int_inputs is None:
        int_inputs = (1,) if len(arrays) == 2 else ()
    e_mod = getattr(nn, name)(**{k: (ember.tensor(v) if isinstance(v, np.ndarray) else v)
                                  for k, v in kw.items()})
    t_mod = getattr(torch.nn, name)(**{k: (torch.from_numpy(v) if isinstance(v, np.ndarray)
                                           else v) for k, v in kw.items()})
    return run_both(e_mod, t_mod, *arrays, int_inputs=int_inputs, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
                                  "SoftMarginLoss"])
def test_regression_losses(name, reduction):
    both(name, randn(4, 3), randn(4, 3), reduction=reduction)


def test_smooth_l1_huber_options():
    for beta in (0.0, 0.5, 2.0):
        both("SmoothL1Loss", randn(5, 2), randn(5, 2), beta=beta)
    for delta in (0.5, 2.0):
        both("HuberLoss", randn(5, 2), randn(5, 2), delta=delta)
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values"):
        F.smooth_l1_loss(ember.randn(2), ember.randn(2), beta=-1.0)


def test_mse_broadcast_warning_and_legacy_args():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(ember.randn(3, 1), ember.randn(3))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.l1_loss(ember.randn(2), ember.randn(2), reduction="foo")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_indices(reduction, smoothing, weighted):
    x = randn(6, 5) * 3
    t = np.array([0, 4, 2, -100, 1, 4], np.int64)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weighted:
        kw["weight"] = np.abs(randn(5)) + 0.1
    both("CrossEntropyLoss", x, t, int_inputs=(1,), **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_and_spatial(reduction):
    x = randn(2, 4, 3, 2)
    t = rng.integers(0, 4, (2, 3, 2)).astype(np.int64)
    t[0, 1, 1] = 2
    both("CrossEntropyLoss", x, t, int_inputs=(1,), reduction=reduction, ignore_index=2,
         label_smoothing=0.1, weight=np.abs(randn(4)) + 0.1)
    both("CrossEntropyLoss", randn(5), np.array(3, np.int64), int_inputs=(1,),
         reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, smoothing):
    p = np.abs(randn(4, 3))
    p = p / p.sum(1, keepdims=True)
    both("CrossEntropyLoss", randn(4, 3), p, reduction=reduction, label_smoothing=smoothing,
         weight=np.abs(randn(3)) + 0.5)
    both("CrossEntropyLoss", randn(2, 3, 4), np.abs(randn(2, 3, 4)), reduction=reduction)


def test_cross_entropy_stable_and_errors():
    x = ember.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, ember.tensor([1]))
    ref = TF.cross_entropy(torch.tensor([[1000.0, -1000.0, 0.0]]), torch.tensor([1]))
    assert_close(loss, ref)
    loss.backward()
    assert np.isfinite(x.grad.numpy()).all()
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 7]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(2\) to match target "
                                         r"batch_size \(3\)"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 1, 2]))


def test_cross_entropy_finite_differences():
    t = ember.tensor([2, 0, 1])
    w = ember.tensor([0.5, 1.0, 2.0], dtype=ember.float64)
    numeric_grad_check(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
                       randn(3, 3, dtype=np.float64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    x = randn(5, 4)
    t = np.array([0, 3, 1, 1, 2], np.int64)
    both("NLLLoss", x, t, int_inputs=(1,), reduction=reduction)
    both("NLLLoss", x, t, int_inputs=(1,), reduction=reduction, ignore_index=1,
         weight=np.abs(randn(4)) + 0.1)


def test_nll_all_ignored_mean_is_nan():
    x = ember.randn(2, 3)
    out = F.nll_loss(x, ember.tensor([-100, -100]))
    ref = TF.nll_loss(torch.randn(2, 3), torch.tensor([-100, -100]))
    assert np.isnan(out.item()) and np.isnan(ref.item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction):
    x = 1 / (1 + np.exp(-randn(4, 3)))
    t = rng.random((4, 3)).astype(np.float32)
    both("BCELoss", x, t, reduction=reduction)
    both("BCELoss", x, t, reduction=reduction, weight=np.abs(randn(4, 3)))
    with pytest.raises(ValueError, match="Using a target size"):
        F.binary_cross_entropy(ember.rand(3), ember.rand(3, 1))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))
    # log is clamped at -100, like PyTorch
    assert_close(F.binary_cross_entropy(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 0.0])),
                 TF.binary_cross_entropy(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x = randn(4, 3) * 10
    t = rng.random((4, 3)).astype(np.float32)
    both("BCEWithLogitsLoss", x, t, reduction=reduction)
    both("BCEWithLogitsLoss", x, t, reduction=reduction, pos_weight=np.abs(randn(3)) + 0.5,
         weight=np.abs(randn(4, 3)))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(ember.randn(3), ember.rand(3, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(np.abs(randn(3, 4)) + 0.1)
    t = np.abs(randn(3, 4))
    t[0, 0] = 0.0
    if log_target:
        t = np.log(t + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both("KLDivLoss", x, t, reduction=reduction, log_target=log_target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_other_losses(reduction):
    a, b = randn(4, 5), randn(4, 5)
    y = np.array([1, -1, 1, -1], np.float32)
    both("PoissonNLLLoss", randn(4, 3), np.abs(randn(4, 3)) * 3, reduction=reduction)
    both("PoissonNLLLoss", np.abs(randn(4, 3)) + 0.1, np.abs(randn(4, 3)) * 3,
         reduction=reduction, log_input=False, full=True)
    both("MarginRankingLoss", randn(4), randn(4), y, reduction=reduction, margin=0.2)
    both("HingeEmbeddingLoss", randn(4, 3), np.sign(randn(4, 3)), reduction=reduction)
    both("CosineEmbeddingLoss", a, b, y, reduction=reduction, margin=0.1)
    both("TripletMarginLoss", a, b, randn(4, 5), reduction=reduction)
    both("TripletMarginLoss", a, b, randn(4, 5), reduction=reduction, swap=True, p=1)
    both("MultiLabelSoftMarginLoss", a, (randn(4, 5) > 0).astype(np.float32),
         reduction=reduction)
    both("MultiMarginLoss", a, np.array([0, 4, 2, 1], np.int64), int_inputs=(1,),
         reduction=reduction)
    both("MultiMarginLoss", a, np.array([0, 4, 2, 1], np.int64), int_inputs=(1,),
         reduction=reduction, p=2, margin=0.5, weight=np.abs(randn(5)))
    both("MultiLabelMarginLoss", a, np.array([[3, 0, -1, 1, 2]] * 4, np.int64), int_inputs=(1,),
         reduction=reduction)
    both("GaussianNLLLoss", a, b, np.abs(randn(4, 5)) + 0.1, reduction=reduction)
    both("GaussianNLLLoss", a, b, np.abs(randn(4)) + 0.1, reduction=reduction, full=True)


def test_mse_target_gradient():
    both("MSELoss", randn(3, 2), randn(3, 2), int_inputs=())
    both("L1Loss", randn(3, 2), randn(3, 2), int_inputs=())


def test_loss_module_reprs_and_buffers():
    w = ember.ones(3)
    m = nn.CrossEntropyLoss(weight=w)
    assert "weight" in dict(m.named_buffers())
    assert repr(m) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
