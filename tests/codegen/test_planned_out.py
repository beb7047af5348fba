"""Registry rules with an out= path (conv, pooling) write into the compiled program's planned
buffers: same numbers as a fresh result, and a compiled CNN step's peak memory stays at or below
the eager step's."""
import tracemalloc

import numpy as np
import pytest

import ember
from ember.ops.registry import REGISTRY
from tests.helpers import assert_close, need_torch, to_torch


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _check_out(prim, *arrays, **params):
    rule = REGISTRY[prim].numpy
    fresh = np.asarray(rule(*arrays, **params))
    buf = np.full(fresh.shape, 7, fresh.dtype)         # stale contents must not leak through
    res = rule(*arrays, **params, out=buf)
    assert np.shares_memory(res, buf)
    np.testing.assert_array_equal(buf, fresh)


@pytest.mark.parametrize("padding,stride,groups", [((1, 1), (1, 1), 1), ((0, 0), (2, 2), 2)])
def test_conv_rules_write_into_out(padding, stride, groups):
    x, w = _rand(3, 4, 7, 7), _rand(6, 4 // groups, 3, 3, seed=1)
    p = dict(stride=stride, padding=padding, dilation=(1, 1), groups=groups)
    _check_out("conv", x, w, **p)
    y = np.asarray(REGISTRY["conv"].numpy(x, w, **p))
    # conv_transpose with w as its [C_in, C_out/groups, *K] weight: maps y's shape back to x's
    _check_out("conv_transpose", y, w, output_padding=(0, 0), **p)


def test_conv_transpose_out_without_crop():
    x, w = _rand(2, 3, 4, 4), _rand(3, 2, 2, 2, seed=2)
    _check_out("conv_transpose", x, w, output_padding=(0, 0), stride=(2, 2), padding=(0, 0),
               dilation=(1, 1), groups=1)


def test_pool_rules_write_into_out():
    x = _rand(2, 3, 8, 8)
    p = dict(kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    _check_out("max_pool_indices", x, **p)
    idx = np.asarray(REGISTRY["max_pool_indices"].numpy(x, **p)).reshape(2, 3, 16)
    flat = x.reshape(2, 3, 64)
    _check_out("pool_gather", flat, idx, unique=True)
    _check_out("pool_gather", flat[0, 0], idx[0, 0], unique=True)       # 1-d path
    _check_out("pool_scatter", _rand(2, 3, 16, seed=3), idx, size=64, unique=True)
    _check_out("pool_scatter", _rand(2, 3, 16, seed=3), idx, size=64, unique=False)


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 3 * 3, 5))


def _step(lib, model):
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _peak(fn, n=2):
    fn()
    tracemalloc.start()
    for _ in range(n):
        fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_compiled_cnn_step_matches_torch_and_uses_planned_buffers():
    torch = need_torch()
    x, y = _rand(16, 1, 12, 12), np.random.default_rng(4).integers(0, 5, 16)
    ember.manual_seed(0)
    m_e = _cnn(ember.nn)
    m_t = _cnn(torch.nn)
    with torch.no_grad():
        for p_t, p_e in zip(m_t.parameters(), m_e.parameters()):
            p_t.copy_(to_torch(p_e._data))
    c = ember.compile(_step(ember, m_e))
    s_t = _step(torch, m_t)
    ex, ey, tx, ty = ember.tensor(x), ember.tensor(y), to_torch(x), torch.as_tensor(y)
    for _ in range(3):
        assert_close(c(ex, ey), s_t(tx, ty))
    for p_e, p_t in zip(m_e.parameters(), m_t.parameters()):
        assert_close(p_e, p_t.detach())
    code = c.code()
    for prim in ("conv", "max_pool_indices", "pool_gather", "pool_scatter", "conv_transpose"):
        assert f"OP_{prim}(" in code and f"_asarray(OP_{prim}(" not in code, prim


def test_compiled_cnn_step_peak_memory_not_above_eager():
    x, y = _rand(16, 1, 12, 12), np.random.default_rng(4).integers(0, 5, 16)
    ember.manual_seed(0)
    eager = _step(ember, _cnn(ember.nn))
    ember.manual_seed(0)
    c = ember.compile(_step(ember, _cnn(ember.nn)))
    ex, ey = ember.tensor(x), ember.tensor(y)
    c(ex, ey)
    assert _peak(lambda: c(ex, ey)) <= _peak(lambda: eager(ex, ey))
