"""nn.functional core against PyTorch: activations, softmax family, pad, distances, embedding,
one_hot, normalization functions; finite differences in float64 where cheap."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests.helpers import assert_close, need_torch
from tests.nn.compare import numeric_grad_check, run_both

torch = need_torch()
TF = torch.nn.functional
rng = np.random.default_rng(2)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name,kw", [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {"negative_slope": 0.1}), ("elu", {}),
    ("selu", {}), ("celu", {"alpha": 0.5}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}), ("mish", {}), ("hardtanh", {"min_val": -2.0}), ("hardsigmoid", {}),
    ("hardswish", {}), ("softplus", {"beta": 0.5, "threshold": 5.0}), ("softsign", {}),
    ("logsigmoid", {}), ("tanhshrink", {}), ("softshrink", {}), ("hardshrink", {"lambd": 1.0}),
    ("sigmoid", {}), ("tanh", {}), ("glu", {"dim": 0})])
def test_activations(name, kw):
    x = randn(4, 6) * 4
    run_both(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), x,
             atol=1e-5)


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus", "logsigmoid", "mish"])
def test_activation_finite_differences(name):
    numeric_grad_check(lambda x: (getattr(F, name)(x) ** 2).sum(), randn(7, dtype=np.float64) * 3)


def test_activation_extremes_are_finite():
    x = ember.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0], requires_grad=True)
    for fn in (F.softplus, F.logsigmoid, F.elu, F.silu, F.gelu, F.mish):
        y = fn(x)
        ref = getattr(TF, fn.__name__)(torch.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
        assert_close(y, ref)
        x.grad = None
        y.sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), fn.__name__


def test_prelu_threshold_rrelu():
    run_both(lambda x, w: F.prelu(x, w), TF.prelu, randn(2, 3, 4), np.full(3, 0.2, np.float32))
    run_both(lambda x: F.threshold(x, 0.5, -1.0), lambda x: TF.threshold(x, 0.5, -1.0), randn(5))
    x = randn(6)
    assert_close(F.rrelu(ember.tensor(x)), TF.rrelu(torch.tensor(x)))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(fn, dim):
    run_both(lambda x: getattr(F, fn)(x, dim), lambda x: getattr(TF, fn)(x, dim),
             randn(3, 4, 5) * 5, atol=1e-6)


def test_softmax_stability_dtype_and_implicit_dim():
    big = np.array([[1000.0, 1001.0, -1e30], [0.0, 0.0, 0.0]], np.float32)
    assert_close(F.softmax(ember.tensor(big), 1), TF.softmax(torch.tensor(big), 1))
    assert_close(F.log_softmax(ember.tensor(big), 1), TF.log_softmax(torch.tensor(big), 1))
    out = F.softmax(ember.tensor(big), 1, dtype=ember.float64)
    assert out.dtype is ember.float64
    ninf = np.array([[-np.inf, -np.inf], [0.0, -np.inf]], np.float32)
    assert_close(F.softmax(ember.tensor(ninf), 1), TF.softmax(torch.tensor(ninf), 1))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(ember.tensor(randn(2, 3)))
    assert_close(y.sum(1), np.ones(2, np.float32))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        F.softmax(ember.tensor([1, 2]), 0)
    run_both(lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), np.array(2.0, np.float32))


def test_log_softmax_finite_differences():
    numeric_grad_check(lambda x: (F.log_softmax(x, 1) * ember.tensor(
        np.arange(12.0).reshape(3, 4))).sum(), randn(3, 4, dtype=np.float64))


def test_dropout_functional():
    x = ember.ones(1000)
    assert F.dropout(x, 0.5, training=False) is x
    y = F.dropout(x, 0.25)
    assert set(np.unique(y.numpy()).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(x, -0.1)
    z = ember.ones(100)
    F.dropout(z, 0.5, inplace=True)
    assert (z.numpy() == 0).any()
    a = F.alpha_dropout(ember.randn(20000), 0.3, training=True).numpy()
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                       ((1, 1, 3, 4, 5), (1, 1, 2, 0, 1, 2))])
def test_pad_modes(mode, shape, pad):
    run_both(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode),
             randn(*shape))


def test_pad_constant_value_negative_and_errors():
    run_both(lambda x: F.pad(x, (1, -1, 2, 0), value=3.5), lambda x: TF.pad(x, (1, -1, 2, 0),
             value=3.5), randn(3, 4))
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(ember.randn(2, 3), (1, 1, 1))
    with pytest.raises(RuntimeError, match=r"Padding size should be less than the corresponding "
                                           r"input dimension, but got: padding \(3, 3\)"):
        F.pad(ember.randn(1, 3), (3, 3), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input"):
        F.pad(ember.randn(4), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        F.pad(ember.randn(1, 2, 3), (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(ember.randn(1, 2, 3), (4, 4), mode="circular")


def test_distances_and_normalize():
    a, b = randn(4, 5), randn(4, 5)
    run_both(lambda x: F.normalize(x), lambda x: TF.normalize(x), a)
    run_both(lambda x: F.normalize(x, p=1, dim=0), lambda x: TF.normalize(x, p=1, dim=0), a)
    run_both(F.cosine_similarity, TF.cosine_similarity, a, b)
    run_both(lambda x, y: F.cosine_similarity(x, y, dim=0), lambda x, y: TF.cosine_similarity(
        x, y, dim=0), a, randn(1, 5))
    run_both(F.pairwise_distance, TF.pairwise_distance, a, b)
    run_both(lambda x, y: F.pairwise_distance(x, y, p=1, keepdim=True),
             lambda x, y: TF.pairwise_distance(x, y, p=1, keepdim=True), a, b)
    run_both(lambda x: F.pdist(x), lambda x: TF.pdist(x), a, atol=1e-5)


def test_linear_bilinear_functional():
    run_both(F.linear, TF.linear, randn(3, 4), randn(2, 4), randn(2))
    run_both(lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), randn(2, 3, 4),
             randn(5, 4))
    run_both(F.bilinear, TF.bilinear, randn(3, 2), randn(3, 4), randn(5, 2, 4), randn(5))


def test_embedding_and_one_hot():
    idx = np.array([[1, 3], [0, 1]], np.int64)
    run_both(lambda i, w: F.embedding(i, w, padding_idx=1),
             lambda i, w: TF.embedding(i, w, padding_idx=1), idx, randn(5, 3), int_inputs=(0,))
    t = np.array([0, 2, 1, 2], np.int64)
    assert_close(F.one_hot(ember.tensor(t)), TF.one_hot(torch.tensor(t)))
    assert_close(F.one_hot(ember.tensor(t), 5), TF.one_hot(torch.tensor(t), 5))
    assert F.one_hot(ember.tensor(t)).dtype is ember.int64
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(ember.tensor(t), 2)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        F.one_hot(ember.tensor([1.0]))


def test_normalization_functions():
    x = randn(4, 3, 5)
    w, b = randn(3), randn(3)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    run_both(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True), x, w, b,
             atol=1e-5)
    e_rm, e_rv = ember.tensor(rm), ember.tensor(rv)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    run_both(lambda x: F.batch_norm(x, e_rm, e_rv, training=True, momentum=0.2),
             lambda x: TF.batch_norm(x, t_rm, t_rv, training=True, momentum=0.2), x, atol=1e-5)
    assert_close(e_rm, t_rm)
    assert_close(e_rv, t_rv)
    run_both(lambda x: F.batch_norm(x, e_rm, e_rv), lambda x: TF.batch_norm(x, t_rm, t_rv), x,
             atol=1e-5)
    run_both(lambda x: F.group_norm(x, 3), lambda x: TF.group_norm(x, 3), x, atol=1e-5)
    run_both(lambda x: F.instance_norm(x), lambda x: TF.instance_norm(x), x, atol=1e-5)
    run_both(lambda x: F.layer_norm(x, (5,)), lambda x: TF.layer_norm(x, (5,)), x, atol=1e-5)
    run_both(lambda x: F.rms_norm(x, (3, 5)), lambda x: TF.rms_norm(x, (3, 5)), x, atol=1e-5)
    run_both(lambda x: F.local_response_norm(x, 3), lambda x: TF.local_response_norm(x, 3), x,
             atol=1e-5)


def test_batch_norm_finite_differences():
    numeric_grad_check(lambda x, w, b: (F.batch_norm(x, None, None, w, b, training=True) ** 3)
                       .sum(), randn(4, 3, dtype=np.float64), randn(3, dtype=np.float64),
                       randn(3, dtype=np.float64))


def test_group_norm_error():
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible"):
        F.group_norm(ember.randn(2, 5, 3), 2)


def test_functional_names_cover_torch_core():
    core = """relu relu6 leaky_relu elu selu celu gelu silu mish hardtanh hardsigmoid hardswish
    sigmoid tanh softplus softsign softmin softmax log_softmax logsigmoid tanhshrink softshrink
    hardshrink threshold prelu glu rrelu dropout dropout1d dropout2d dropout3d alpha_dropout
    feature_alpha_dropout linear bilinear embedding embedding_bag one_hot batch_norm instance_norm
    layer_norm group_norm rms_norm local_response_norm pad normalize cosine_similarity
    pairwise_distance pdist l1_loss mse_loss smooth_l1_loss huber_loss cross_entropy nll_loss
    binary_cross_entropy binary_cross_entropy_with_logits kl_div poisson_nll_loss
    gaussian_nll_loss margin_ranking_loss hinge_embedding_loss soft_margin_loss
    multilabel_soft_margin_loss cosine_embedding_loss triplet_margin_loss multi_margin_loss
    multilabel_margin_loss""".split()
    missing = [n for n in core if not hasattr(F, n)]
    assert not missing
    assert all(hasattr(TF, n) for n in core)
