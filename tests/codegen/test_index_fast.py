"""gather / scatter_add spelled as take_along_axis / a fancy-index add in the NumPy backend (the
cross-entropy pick and its gradient): same numbers as the registry's rules and as PyTorch."""
import numpy as np
import pytest

import ember
from ember.ops.registry import REGISTRY
from tests.helpers import assert_close, need_torch, to_torch


@pytest.fixture(autouse=True)
def _numpy_only(monkeypatch):
    monkeypatch.setenv("EMBER_NATIVE", "0")


def _args(shape=(6, 5), dim=1, seed=0, negative=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    ishape = list(shape)
    ishape[dim] = 1
    lo = -shape[dim] if negative else 0
    idx = rng.integers(lo, shape[dim], ishape)
    src = rng.standard_normal(ishape).astype(np.float32)
    return x, idx, src


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("negative", [False, True])
def test_gather_and_scatter_add_equal_registry_rules(dim, negative):
    x, idx, src = _args(dim=dim % 2, negative=negative)

    def f(x, i, s):
        return x.gather(dim, i) * 2.0, (x * 1.0).scatter_add(dim, i, s)

    c = ember.compile(f)
    g, sa = c(ember.tensor(x), ember.tensor(idx), ember.tensor(src))
    code = c.code()
    assert "IX" in code and "] += " in code and "OP_gather" not in code
    np.testing.assert_array_equal(g._data, REGISTRY["gather"].numpy(x, idx, dim=dim % 2) * 2.0)
    np.testing.assert_array_equal(sa._data, REGISTRY["scatter_add"].numpy(x, idx, src, dim=dim % 2))
    # a second call reuses the planned buffer: same numbers
    g2, sa2 = c(ember.tensor(x), ember.tensor(idx), ember.tensor(src))
    np.testing.assert_array_equal(sa2._data, sa._data)


def test_against_torch_3d():
    torch = need_torch()
    x, idx, src = _args(shape=(3, 4, 5), dim=2)
    f = lambda x, i, s: (x.gather(2, i) + 1.0, x.scatter_add(2, i, s) * 3.0)
    ours = ember.compile(f)(ember.tensor(x), ember.tensor(idx), ember.tensor(src))
    ref = f(to_torch(x), to_torch(idx), to_torch(src))
    for a, b in zip(ours, ref):
        assert_close(a, b)


def test_wider_index_keeps_the_registry_rule():
    # two positions can coincide (np.add.at accumulates them): the general rule stays
    x = np.zeros((2, 3), np.float32)
    idx = np.array([[0, 0, 1], [2, 2, 2]])
    src = np.ones((2, 3), np.float32)
    c = ember.compile(lambda x, i, s: x.scatter_add(1, i, s))
    out = c(ember.tensor(x), ember.tensor(idx), ember.tensor(src))
    assert "OP_scatter_add" in c.code()
    np.testing.assert_array_equal(out._data, [[2, 1, 0], [0, 0, 3]])


def test_out_of_range_index_raises_index_error():
    x, idx, src = _args()
    c = ember.compile(lambda x, i: x.gather(1, i) * 2.0)
    c(ember.tensor(x), ember.tensor(idx))
    with pytest.raises(IndexError):
        c(ember.tensor(x), ember.tensor(idx + 10))
