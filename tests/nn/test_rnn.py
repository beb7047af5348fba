"""RNN / LSTM / GRU and cells against PyTorch: parameter names and shapes, init, outputs, final
states, input/state/parameter gradients through time, options, errors."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close, need_torch
from tests.nn.compare import copy_weights, numeric_grad_check

torch = need_torch()
rng = np.random.default_rng(2)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def _run(e_mod, t_mod, x, hx=None):
    """Forward both with identical weights; backprop a random cotangent through the output and
    the final state(s); compare everything."""
    copy_weights(e_mod, t_mod)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ehx = thx = None
    if hx is not None:
        if isinstance(hx, tuple):
            ehx = tuple(ember.tensor(h, requires_grad=True) for h in hx)
            thx = tuple(torch.tensor(h, requires_grad=True) for h in hx)
        else:
            ehx, thx = ember.tensor(hx, requires_grad=True), torch.tensor(hx, requires_grad=True)
    eo, es = e_mod(ex, ehx)
    to, ts = t_mod(tx, thx)
    assert_close(eo, to, msg="output")
    es = es if isinstance(es, tuple) else (es,)
    ts = ts if isinstance(ts, tuple) else (ts,)
    for a, b in zip(es, ts):
        assert_close(a, b, msg="final state")
    loss_e = (eo * ember.tensor(np.cos(np.arange(to.numel())).reshape(tuple(to.shape)))).sum()
    loss_t = (to * torch.tensor(np.cos(np.arange(to.numel())).reshape(tuple(to.shape)))).sum()
    for i, (a, b) in enumerate(zip(es, ts)):
        loss_e = loss_e + (a * (i + 2.0)).sum()
        loss_t = loss_t + (b * (i + 2.0)).sum()
    loss_e.backward()
    loss_t.backward()
    assert_close(ex.grad, tx.grad, msg="input grad")
    if hx is not None:
        for a, b in zip(ehx if isinstance(ehx, tuple) else (ehx,),
                        thx if isinstance(thx, tuple) else (thx,)):
            assert_close(a.grad, b.grad, msg="state grad")
    tp = dict(t_mod.named_parameters())
    for n, p in e_mod.named_parameters():
        assert_close(p.grad, tp[n].grad, msg=f"grad of {n}")


CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(batch_first=True),
           dict(num_layers=2, bidirectional=True, batch_first=True), dict(bias=False)]


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_match_torch(kind, kw):
    e = getattr(nn, kind)(3, 4, dtype=ember.float64, **kw)
    t = getattr(torch.nn, kind)(3, 4, dtype=torch.float64, **kw)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(e) == repr(t)
    x = randn(2, 5, 3) if kw.get("batch_first") else randn(5, 2, 3)
    _run(e, t, x)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_initial_state_and_unbatched(kind):
    layers, dirs = 2, 2
    e = getattr(nn, kind)(3, 4, num_layers=layers, bidirectional=True, dtype=ember.float64)
    t = getattr(torch.nn, kind)(3, 4, num_layers=layers, bidirectional=True, dtype=torch.float64)
    h = randn(layers * dirs, 2, 4)
    hx = (h, randn(layers * dirs, 2, 4)) if kind == "LSTM" else h
    _run(e, t, randn(5, 2, 3), hx)
    hu = (randn(layers * dirs, 4), randn(layers * dirs, 4)) if kind == "LSTM" else \
        randn(layers * dirs, 4)
    _run(e, t, randn(5, 3), hu)       # unbatched input and state
    _run(e, t, randn(4, 3))           # unbatched, zero state


def test_rnn_relu_and_positional_nonlinearity():
    e = nn.RNN(3, 4, 2, "relu", dtype=ember.float64)
    t = torch.nn.RNN(3, 4, 2, "relu", dtype=torch.float64)
    assert repr(e) == repr(t) and e.nonlinearity == "relu"
    _run(e, t, randn(6, 2, 3))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")


def test_lstm_proj_size():
    e = nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=True, dtype=ember.float64)
    t = torch.nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=True, dtype=torch.float64)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert repr(e) == repr(t)
    _run(e, t, randn(4, 2, 3), (randn(4, 2, 2), randn(4, 2, 5)))


def test_dropout_between_layers():
    e = nn.LSTM(3, 4, num_layers=3, dropout=0.5)
    x = ember.randn(5, 2, 3)
    e.eval()
    a, b = e(x)[0], e(x)[0]
    assert ember.equal(a, b)          # no dropout in eval
    e.train()
    ember.manual_seed(0)
    c = e(x)[0]
    ember.manual_seed(1)
    d = e(x)[0]
    assert not ember.equal(c, d)      # dropout applied between layers in training
    single = nn.GRU(3, 4, num_layers=1)  # no warning-worthy dropout, deterministic in train
    assert ember.equal(single(x)[0], single(x)[0])


def test_init_and_float32_default():
    e = nn.LSTM(3, 16, num_layers=2)
    bound = 1 / math.sqrt(16)
    for name, p in e.named_parameters():
        assert p.dtype is ember.float32
        assert float(p.abs().max()) <= bound and float(p.abs().max()) > 0.8 * bound, name
    assert len(e.all_weights) == 2 and len(e.all_weights[0]) == 4
    e.flatten_parameters()


def test_finite_differences_through_time():
    e = nn.GRU(2, 3, dtype=ember.float64)
    w = {n: p.detach().numpy().copy() for n, p in e.named_parameters()}

    def f(x):
        return (e(x)[0] ** 2).sum()
    numeric_grad_check(f, randn(4, 1, 2))
    l = nn.LSTM(2, 3, dtype=ember.float64)
    numeric_grad_check(lambda x: (l(x)[1][1] ** 2).sum(), randn(3, 2, 2))
    assert w  # parameters untouched by the checks


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(kind):
    e = getattr(nn, kind)(3, 4, dtype=ember.float64)
    t = getattr(torch.nn, kind)(3, 4, dtype=torch.float64)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(e) == repr(t)
    copy_weights(e, t)
    x = randn(2, 3)
    h = randn(2, 4)
    if kind == "LSTMCell":
        eo, to = e(ember.tensor(x), (ember.tensor(h), ember.tensor(h))), \
            t(torch.tensor(x), (torch.tensor(h), torch.tensor(h)))
        for a, b in zip(eo, to):
            assert_close(a, b)
        for a, b in zip(e(ember.tensor(x[0])), t(torch.tensor(x[0]))):
            assert_close(a, b)
    else:
        assert_close(e(ember.tensor(x), ember.tensor(h)), t(torch.tensor(x), torch.tensor(h)))
        assert_close(e(ember.tensor(x[0])), t(torch.tensor(x[0])))
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu", bias=False)) == \
        repr(torch.nn.RNNCell(3, 4, nonlinearity="relu", bias=False))


def test_errors_in_pytorch_words():
    e, t = nn.GRU(3, 4), torch.nn.GRU(3, 4)
    for bad in (np.zeros((5, 2, 7), np.float32), np.zeros((2, 3, 4, 5), np.float32)):
        with pytest.raises((RuntimeError, ValueError)) as et:
            t(torch.tensor(bad))
        with pytest.raises(type(et.value)) as ee:
            e(ember.tensor(bad))
        assert str(ee.value) == str(et.value)
    with pytest.raises(RuntimeError) as et:
        t(torch.zeros(5, 2, 3), torch.zeros(1, 3, 4))
    with pytest.raises(RuntimeError) as ee:
        e(ember.zeros(5, 2, 3), ember.zeros(1, 3, 4))
    assert str(ee.value) == str(et.value)
    for kw, exc in [(dict(dropout=1.5), ValueError), (dict(num_layers=0), ValueError),
                    (dict(proj_size=4), ValueError)]:
        with pytest.raises(exc):
            nn.LSTM(3, 4, **kw)
        with pytest.raises(exc):
            torch.nn.LSTM(3, 4, **kw)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
