"""Results that were silently wrong (issue 14), each checked against PyTorch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
F, TF = ember.nn.functional, torch.nn.functional


def _pair(a, requires_grad=False):
    e = ember.tensor(np.array(a), requires_grad=requires_grad)
    t = torch.tensor(np.array(a), requires_grad=requires_grad)
    return e, t


def _close(e, t, tol=1e-6):
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol,
                               equal_nan=True)


X = np.random.default_rng(0).standard_normal((3, 4))


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_positional_unbiased(name, unbiased):
    e, t = _pair(X)
    _close(getattr(e, name)(unbiased), getattr(t, name)(unbiased))
    for fn in ("var_mean", "std_mean"):
        for a, b in zip(getattr(ember, fn)(e, unbiased), getattr(torch, fn)(t, unbiased)):
            _close(a, b)


@pytest.mark.parametrize("offset,dim1,dim2", [(0, -2, -1), (1, 0, 2), (-2, 2, 0), (1, 1, 0)])
def test_diag_embed(offset, dim1, dim2):
    e, t = _pair(X[:2, :3], requires_grad=True)
    oe, ot = ember.diag_embed(e, offset, dim1, dim2), torch.diag_embed(t, offset, dim1, dim2)
    _close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    _close(e.grad, t.grad)


def test_roll_returns_a_copy():
    x = ember.tensor([1.0, 2.0, 3.0])
    y = x.roll(3)
    y[0] = 9.0
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_embedding_bag_negative_padding_idx():
    w = np.random.default_rng(1).standard_normal((5, 3))
    we, wt = _pair(w, requires_grad=True)
    idx, off = np.array([0, 4, 2, 4, 1]), np.array([0, 2])
    oe = F.embedding_bag(ember.tensor(idx), we, ember.tensor(off), padding_idx=-1, mode="sum")
    ot = TF.embedding_bag(torch.tensor(idx), wt, torch.tensor(off), padding_idx=-1, mode="sum")
    _close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    _close(we.grad, wt.grad)


@pytest.mark.parametrize("value", [3.0, 0.0])
def test_zero_dim_nonzero_argwhere_gather(value):
    e, t = _pair(value)
    for fn in ("nonzero", "argwhere"):
        assert tuple(getattr(ember, fn)(e).shape) == tuple(getattr(torch, fn)(t).shape)
    for index in (0, [0], [0, 0]):
        assert tuple(ember.gather(e, 0, ember.tensor(index)).shape) == \
            tuple(torch.gather(t, 0, torch.tensor(index)).shape)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
def test_kl_div_negative_target_is_nan(reduction):
    target = np.abs(X)
    target[0, 0], target[1, 1] = 0.0, -1.0
    ie, it = _pair(X)
    te, tt = _pair(target)
    _close(F.kl_div(ie, te, reduction=reduction), TF.kl_div(it, tt, reduction=reduction))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_all_ignored_gradient_is_zero(smoothing):
    e, t = _pair(X, requires_grad=True)
    target = np.array([-100, -100, -100])
    le = F.cross_entropy(e, ember.tensor(target), label_smoothing=smoothing)
    lt = TF.cross_entropy(t, torch.tensor(target), label_smoothing=smoothing)
    _close(le, lt)
    le.backward()
    lt.backward()
    _close(e.grad, t.grad)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_int32_targets_are_rejected(fn):
    target = ember.tensor([0, 1, 2], dtype=ember.int32)
    with pytest.raises(RuntimeError, match="Long or Byte"):
        getattr(F, fn)(ember.tensor(X), target)
    assert getattr(F, fn)(ember.tensor(X), target.to(ember.uint8)).shape == ()


def test_log_softmax_0d_gradient():
    e, t = _pair(2.0, requires_grad=True)
    F.log_softmax(e, 0).backward()
    TF.log_softmax(t, 0).backward()
    _close(e.grad, t.grad)


@pytest.mark.parametrize("case", ["norm2", "norm3", "pdist", "floor_div", "bernoulli"])
def test_zero_gradients(case):
    x = np.zeros((3, 2)) if case.startswith("norm") else (
        np.ones((3, 2)) if case == "pdist" else np.abs(X[:, :2]) / 4)
    fns = {"norm2": lambda lib, v: v.norm(),
           "norm3": lambda lib, v: v.norm(3),
           "pdist": lambda lib, v: (F if lib is ember else TF).pdist(v),
           "floor_div": lambda lib, v: lib.div(v, 0.3, rounding_mode="floor"),
           "bernoulli": lambda lib, v: lib.bernoulli(v)}
    e, t = _pair(x, requires_grad=True)
    oe, ot = fns[case](ember, e), fns[case](torch, t)
    assert oe.requires_grad and ot.requires_grad
    oe.sum().backward()
    ot.sum().backward()
    _close(e.grad, t.grad)


@pytest.mark.parametrize("nd", [2, 3])
def test_conv_transpose_input_gradient_shape(nd):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 4) + (5,) * nd)
    w = rng.standard_normal((4, 2) + (3,) * nd)
    xe, xt = _pair(x, requires_grad=True)
    we, wt = _pair(w, requires_grad=True)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)
    oe = getattr(F, f"conv_transpose{nd}d")(xe, we, **kw)
    ot = getattr(TF, f"conv_transpose{nd}d")(xt, wt, **kw)
    _close(oe, ot, 1e-5)
    oe.sum().backward()
    ot.sum().backward()
    _close(xe.grad, xt.grad, 1e-5)
    _close(we.grad, wt.grad, 1e-5)
