"""Core layers against PyTorch: identical weights and inputs; outputs, input and parameter grads."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close, need_torch
from tests.nn.compare import check_module, numeric_grad_check

torch = need_torch()
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5), (5,)])
def test_linear(bias, shape):
    check_module(nn.Linear(5, 4, bias=bias), torch.nn.Linear(5, 4, bias=bias), randn(*shape))


def test_linear_float64_and_errors():
    m = nn.Linear(3, 2, dtype=ember.float64)
    assert m.weight.dtype is ember.float64
    check_module(m, torch.nn.Linear(3, 2, dtype=torch.float64), randn(4, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        nn.Linear(3, 2)(ember.randn(4, 5))
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))


def test_linear_default_init_bounds():
    m = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    w = m.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() > bound / 2.5
    b = m.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound


def test_bilinear():
    e, t = nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)
    check_module(e, t, randn(6, 3), randn(6, 4))
    check_module(nn.Bilinear(3, 4, 2, bias=False), torch.nn.Bilinear(3, 4, 2, bias=False),
                 randn(2, 7, 3), randn(2, 7, 4))
    assert repr(e) == repr(t)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (2, 3, 4, 4)),
                                       ("BatchNorm3d", (2, 3, 2, 2, 2))])
def test_batchnorm_train_eval(cls, shape):
    e, t = getattr(nn, cls)(3), getattr(torch.nn, cls)(3)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(randn(3)))
        e.bias.copy_(ember.tensor(randn(3)))
    for _ in range(2):
        x = randn(*shape) * 3 + 1
        check_module(e, t, x, atol=1e-4)
        t_state = t.state_dict()
        for k, v in e.state_dict().items():
            assert_close(v, t_state[k], atol=1e-5, msg=k)
    assert int(e.num_batches_tracked) == 2
    e.eval()
    t.eval()
    check_module(e, t, randn(*shape), atol=1e-5)
    assert repr(e) == repr(t)


def test_batchnorm_options():
    for kw in (dict(momentum=None), dict(affine=False), dict(track_running_stats=False),
               dict(momentum=0.3, eps=1e-3), dict(bias=False)):
        e, t = nn.BatchNorm1d(4, **kw), torch.nn.BatchNorm1d(4, **kw)
        for _ in range(3):
            check_module(e, t, randn(5, 4) * 2, atol=1e-5)
            assert repr(e) == repr(t)
        e.eval(), t.eval()
        check_module(e, t, randn(5, 4), atol=1e-5)
        t_state = t.state_dict()
        for k, v in e.state_dict().items():
            assert_close(v, t_state[k], atol=1e-5, msg=k)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ember.randn(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(ember.randn(1, 3))
    nn.BatchNorm1d(3).eval()(ember.randn(1, 3))  # fine in eval mode


def test_batchnorm_old_checkpoint_without_num_batches_tracked():
    bn = nn.BatchNorm1d(3)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""] = {"version": 1}
    bn.load_state_dict(sd)  # no missing key error


@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 4), (3, 4)), ((2, 3, 4), 4)])
def test_layernorm(shape, norm):
    e, t = nn.LayerNorm(norm), torch.nn.LayerNorm(norm)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(randn(*e.weight.shape)))
        e.bias.copy_(ember.tensor(randn(*e.bias.shape)))
    check_module(e, t, randn(*shape) * 2 + 1, atol=1e-5)
    assert repr(e) == repr(t)
    check_module(nn.LayerNorm(norm, elementwise_affine=False, eps=1e-3),
                 torch.nn.LayerNorm(norm, elementwise_affine=False, eps=1e-3), randn(*shape))
    check_module(nn.LayerNorm(norm, bias=False), torch.nn.LayerNorm(norm, bias=False),
                 randn(*shape), atol=1e-5)


def test_layernorm_shape_error():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with "
                                           r"shape \[\*, 5\], but got input of size\[2, 4\]"):
        nn.LayerNorm(5)(ember.randn(2, 4))


def test_layernorm_finite_differences():
    w, b = randn(4, dtype=np.float64), randn(4, dtype=np.float64)
    numeric_grad_check(lambda x, w, b: (nn.functional.layer_norm(x, (4,), w, b) ** 3).sum(),
                       randn(3, 4, dtype=np.float64), w, b)


@pytest.mark.parametrize("shape", [(2, 6, 5), (3, 6), (2, 6, 2, 3)])
def test_groupnorm(shape):
    e, t = nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(randn(6)))
        e.bias.copy_(ember.tensor(randn(6)))
    check_module(e, t, randn(*shape) * 2, atol=1e-5)
    assert repr(e) == repr(t)
    check_module(nn.GroupNorm(2, 6, affine=False), torch.nn.GroupNorm(2, 6, affine=False),
                 randn(*shape), atol=1e-5)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(4, 6)


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rmsnorm(eps):
    e, t = nn.RMSNorm((3, 4), eps=eps), torch.nn.RMSNorm((3, 4), eps=eps)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(randn(3, 4)))
    check_module(e, t, randn(2, 3, 4), atol=1e-5)
    assert repr(e) == repr(t)
    check_module(nn.RMSNorm(4, elementwise_affine=False), torch.nn.RMSNorm(4,
                 elementwise_affine=False), randn(5, 4), atol=1e-5)


def test_instance_norm():
    for kw in (dict(), dict(affine=True), dict(track_running_stats=True)):
        e, t = nn.InstanceNorm1d(3, **kw), torch.nn.InstanceNorm1d(3, **kw)
        check_module(e, t, randn(2, 3, 5) * 2, atol=1e-5)
        t_state = t.state_dict()
        for k, v in e.state_dict().items():
            assert_close(v, t_state[k], atol=1e-5, msg=k)
    check_module(nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3), randn(3, 4, 4), atol=1e-5)


def test_dropout_modes():
    d = nn.Dropout(0.4)
    x = ember.ones(20000)
    y = d(x)
    kept = (y.numpy() != 0).mean()
    assert abs(kept - 0.6) < 0.02
    np.testing.assert_allclose(y.numpy()[y.numpy() != 0], 1 / 0.6, rtol=1e-6)
    d.eval()
    assert d(x) is x
    assert repr(d) == repr(torch.nn.Dropout(0.4))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got"):
        nn.Dropout(1.5)
    x = ember.ones(10, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())
    assert (nn.Dropout(1.0)(ember.ones(5)).numpy() == 0).all()


def test_dropout2d_channels():
    y = nn.Dropout2d(0.5)(ember.ones(4, 64, 3, 3)).numpy()
    per_channel = y.reshape(4, 64, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()


@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=1), dict(padding_idx=-1),
                                dict(scale_grad_by_freq=True), dict(max_norm=1.0)])
def test_embedding(kw):
    e, t = nn.Embedding(6, 3, **kw), torch.nn.Embedding(6, 3, **kw)
    idx = np.array([[0, 1, 5], [1, 1, 3]], np.int64)
    check_module(e, t, idx, int_inputs=(0,), atol=1e-6)
    assert repr(e) == repr(t)


def test_embedding_padding_row_and_from_pretrained():
    e = nn.Embedding(5, 2, padding_idx=2)
    assert (e.weight[2].detach().numpy() == 0).all()
    w = ember.randn(4, 3)
    p = nn.Embedding.from_pretrained(w)
    assert not p.weight.requires_grad
    assert_close(p(ember.tensor([3])), w[3:4])
    with pytest.raises(IndexError, match="index out of range in self"):
        p(ember.tensor([4]))


def test_embedding_bag():
    e, t = nn.EmbeddingBag(6, 3, mode="sum"), torch.nn.EmbeddingBag(6, 3, mode="sum")
    from tests.nn.compare import copy_weights
    copy_weights(e, t)
    idx, off = [1, 2, 4, 5, 4, 3], [0, 2]
    out = e(ember.tensor(idx), ember.tensor(off))
    assert_close(out, t(torch.tensor(idx), torch.tensor(off)))
    for mode in ("mean", "max"):
        e.mode = t.mode = mode
        assert_close(e(ember.tensor([[1, 2], [3, 4]])), t(torch.tensor([[1, 2], [3, 4]])))


@pytest.mark.parametrize("name,args", [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("GELU", ()), ("GELU", ("tanh",)),
    ("SiLU", ()), ("Mish", ()), ("Tanh", ()), ("Sigmoid", ()), ("Softmax", (1,)),
    ("LogSoftmax", (1,)), ("Softmin", (0,)), ("Softplus", ()), ("Softplus", (2.0, 1.0)),
    ("ELU", ()), ("ELU", (0.5,)), ("SELU", ()), ("CELU", (0.7,)), ("Hardtanh", ()),
    ("Hardtanh", (-0.5, 2.0)), ("Hardsigmoid", ()), ("Hardswish", ()), ("LogSigmoid", ()),
    ("Softsign", ()), ("Tanhshrink", ()), ("Softshrink", (0.3,)), ("Hardshrink", (0.3,)),
    ("Threshold", (0.1, 20.0)), ("GLU", ()), ("PReLU", ()), ("PReLU", (4,))])
def test_activation_modules(name, args):
    e, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    x = randn(3, 4) * 3
    check_module(e, t, x, atol=1e-5)
    assert repr(e) == repr(t)


def test_activation_inplace():
    for name in ("ReLU", "LeakyReLU", "ELU", "Hardtanh", "SiLU", "ReLU6"):
        x = ember.tensor(randn(5))
        ref = getattr(torch.nn, name)()(torch.from_numpy(x.numpy().copy()))
        y = getattr(nn, name)(inplace=True)(x)
        assert y is x
        assert_close(x, ref)
        assert "inplace=True" in repr(getattr(nn, name)(inplace=True))


def test_flatten_unflatten_identity():
    check_module(nn.Flatten(), torch.nn.Flatten(), randn(2, 3, 4))
    check_module(nn.Flatten(0, 1), torch.nn.Flatten(0, 1), randn(2, 3, 4))
    check_module(nn.Unflatten(1, (2, 6)), torch.nn.Unflatten(1, (2, 6)), randn(3, 12))
    assert repr(nn.Unflatten(1, (2, 6))) == repr(torch.nn.Unflatten(1, (2, 6)))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    x = ember.randn(2)
    assert nn.Identity(3, foo=1)(x) is x
    assert repr(nn.Identity()) == "Identity()"
