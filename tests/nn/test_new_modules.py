"""Padding layers, LPPool3d, CTCLoss and the Lazy* modules against torch.nn."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.oracle import check, compare

rng = np.random.RandomState(11)


@pytest.mark.parametrize("kind", ["Zero", "Constant", "Reflection", "Replication", "Circular"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_padding_modules(kind, n):
    shape = (2, 3) + (4,) * n
    pads = [1, 2] * n if kind != "Zero" else 2
    args = (pads, 0.5) if kind == "Constant" else (pads,)
    check(lambda lib, x: getattr(lib.nn, f"{kind}Pad{n}d")(*args)(x), rng.standard_normal(shape),
          fd=False)
    check(lambda lib, x: getattr(lib.nn, f"{kind}Pad{n}d")(1)(x) if kind != "Constant" else
          getattr(lib.nn, f"{kind}Pad{n}d")(1, -1.0)(x), rng.standard_normal(shape[1:]), fd=False)
    torch = pytest.importorskip("torch")
    assert repr(getattr(ember.nn, f"{kind}Pad{n}d")(*args)) == \
        repr(getattr(torch.nn, f"{kind}Pad{n}d")(*args))


def test_circular_pad_checks_rank():
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        ember.nn.CircularPad1d(1)(ember.ones(1, 1, 1, 3))


def test_lp_pool3d():
    x = np.abs(rng.standard_normal((1, 2, 4, 4, 5))) + 0.1
    check(lambda lib, x: lib.nn.LPPool3d(2, 2)(x), x)
    check(lambda lib, x: lib.nn.LPPool3d(3.0, (2, 1, 2), stride=1)(x), x, fd=False)


def _ctc(lib, lp, targets, il, tl, **kw):
    t = lib.tensor(targets) if lib is ember else lib.from_numpy(targets)
    return lib.nn.CTCLoss(**kw)(lp, t, il, tl)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_padded_targets(reduction):
    T, N, C, S = 6, 3, 4, 3
    logits = rng.standard_normal((T, N, C))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = rng.randint(1, C, (N, S))
    targets[0, 1] = targets[0, 0]               # a repeated label needs a blank between
    check(lambda lib, x: _ctc(lib, x, targets, [6, 5, 4], [3, 2, 0], reduction=reduction), lp,
          fd=False)   # (PyTorch's kernel gradient, not d/d log_probs: see ember/ops/ctc.py)
    # raw (unnormalized) log-probabilities: PyTorch's kernel gradient is kept as is
    check(lambda lib, x: _ctc(lib, x, targets, [6, 6, 6], [3, 3, 1], reduction=reduction),
          logits, fd=False)
    # through log_softmax: the true gradient (finite differences agree)
    check(lambda lib, x: _ctc(lib, lib.nn.functional.log_softmax(x, -1), targets, [6, 5, 4], [3, 2, 1],
                              reduction=reduction), logits)


def test_ctc_loss_concatenated_unbatched_and_infinite():
    torch = pytest.importorskip("torch")
    T, N, C = 5, 2, 3
    lp = np.log(rng.dirichlet(np.ones(C), (T, N)))
    flat = np.array([1, 2, 2, 1, 1], dtype=np.int64)
    check(lambda lib, x: lib.nn.functional.ctc_loss(
        x, lib.tensor(flat) if lib is ember else lib.from_numpy(flat), [5, 4], [2, 3]), lp,
        fd=False)
    check(lambda lib, x: lib.nn.functional.ctc_loss(
        x, lib.tensor(flat[:2]) if lib is ember else lib.from_numpy(flat[:2]),
        lib.tensor(5), lib.tensor(2)), lp[:, 0], fd=False)
    for zi in (True, False):   # an impossible alignment: 3 labels, 2 frames
        e = ember.nn.functional.ctc_loss(ember.tensor(lp[:2]), ember.tensor([[1, 1, 2]] * 2),
                                         [2, 2], [3, 3], reduction="none", zero_infinity=zi)
        t = torch.nn.functional.ctc_loss(torch.tensor(lp[:2]), torch.tensor([[1, 1, 2]] * 2),
                                         [2, 2], [3, 3], reduction="none", zero_infinity=zi)
        compare(e, t, "float64")


LAZY = [("LazyLinear", (3,), (4, 5)), ("LazyConv1d", (3, 2), (2, 4, 6)),
        ("LazyConv2d", (3, 2), (2, 4, 5, 5)), ("LazyConv3d", (2, 2), (1, 2, 4, 4, 4)),
        ("LazyConvTranspose1d", (3, 2), (2, 4, 6)), ("LazyConvTranspose2d", (3, 2), (4, 5, 5)),
        ("LazyConvTranspose3d", (2, 2), (1, 2, 3, 3, 3)), ("LazyBatchNorm1d", (), (4, 3)),
        ("LazyBatchNorm2d", (), (2, 3, 4, 4)), ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), (2, 3, 5)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name,args,shape", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_modules(name, args, shape):
    torch = pytest.importorskip("torch")
    kw = {"affine": True, "track_running_stats": True} if "InstanceNorm" in name else {}
    x = rng.standard_normal(shape)
    tm = getattr(torch.nn, name)(*args, **kw).double()
    em = getattr(ember.nn, name)(*args, **kw).double()
    assert em.has_uninitialized_params()
    tx = torch.from_numpy(x).requires_grad_(True)
    ex = ember.tensor(x, requires_grad=True)
    with torch.no_grad():
        tm(tx.detach())                     # materialize torch's, then copy its values over
    em(ex.detach())
    assert type(em).__name__ == type(tm).__name__ and not em.has_uninitialized_params() \
        if hasattr(em, "has_uninitialized_params") else type(em).__name__ == type(tm).__name__
    assert set(em.state_dict()) == set(tm.state_dict())
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    for k, v in tm.state_dict().items():
        assert tuple(em.state_dict()[k].shape) == tuple(v.shape), k
        assert em.state_dict()[k].dtype.name == str(v.dtype).replace("torch.", ""), k
    to, eo = tm(tx), em(ex)
    compare(eo, to, "float64")
    to.sum().backward()
    eo.sum().backward()
    compare(ex.grad, tx.grad, "float64")
    for (k, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        compare(p.grad, q.grad, "float64", what=k)
    assert repr(em) == repr(tm)
