"""NumPy backend layout choices: a matmul read only through a transpose is computed transposed."""
import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch, to_torch


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def test_transposed_matmul_result_is_contiguous_and_equal():
    torch = need_torch()
    a, b = _data((5, 7), (7, 3))

    def f(x, y):
        return (x @ y).t() * 2.0

    c = ember.compile(f)
    out = c(ember.tensor(a), ember.tensor(b))
    assert "np.matmul(" in c.code() and ".swapaxes(-1, -2)" in c.code()
    assert out.shape == (3, 5) and out._data.flags.c_contiguous
    assert_close(out, f(to_torch(a), to_torch(b)))


def test_transposed_matmul_into_a_planned_buffer():
    # the matmul value is internal (not returned): it lives in a planned buffer, reshaped to the
    # swapped shape; a second call reuses the buffer and must give the same numbers
    torch = need_torch()
    a, b, w = _data((4, 6), (6, 8), (8, 4))

    def f(x, y, z):
        return ((x @ y).t() + z).exp().sum(0)

    c = ember.compile(f)
    args = [ember.tensor(v) for v in (a, b, w)]
    first = c(*args)._data.copy()
    second = c(*args)
    expect = f(*(to_torch(v) for v in (a, b, w)))
    assert_close(second, expect)
    np.testing.assert_array_equal(first, second._data)


def test_batched_transposed_matmul():
    torch = need_torch()
    a, b = _data((2, 3, 4), (2, 4, 5))

    def f(x, y):
        return (x @ y).transpose(1, 2).sin()

    c = ember.compile(f)
    assert_close(c(ember.tensor(a), ember.tensor(b)), f(to_torch(a), to_torch(b)))


def test_matmul_also_read_directly_keeps_its_layout():
    torch = need_torch()
    a, b = _data((3, 4), (4, 3))

    def f(x, y):
        m = x @ y
        return m + m.t()

    c = ember.compile(f)
    out = c(ember.tensor(a), ember.tensor(b))
    assert ".swapaxes(" not in c.code()
    assert_close(out, f(to_torch(a), to_torch(b)))


@pytest.mark.parametrize("steps", [3])
def test_linear_training_step_weight_grad_contiguous(steps):
    # x^T @ dy is the weight gradient of Linear: the compiled step's .grad must be contiguous and
    # the parameters must follow eager Adam over several steps
    torch = need_torch()
    x, = _data((8, 6))
    y = np.random.default_rng(1).integers(0, 3, 8)
    lin_e = ember.nn.Linear(6, 3)
    lin_t = torch.nn.Linear(6, 3)
    with torch.no_grad():
        lin_t.weight.copy_(to_torch(lin_e.weight._data))
        lin_t.bias.copy_(to_torch(lin_e.bias._data))
    opt_e = ember.optim.Adam(lin_e.parameters(), lr=1e-2)
    opt_t = torch.optim.Adam(lin_t.parameters(), lr=1e-2)

    def step_e(xb, yb):
        opt_e.zero_grad()
        loss = ember.nn.functional.cross_entropy(lin_e(xb), yb)
        loss.backward()
        opt_e.step()
        return loss

    c = ember.compile(step_e)
    ex, ey = ember.tensor(x), ember.tensor(y)
    tx, ty = to_torch(x), torch.as_tensor(y)
    for _ in range(steps):
        le = c(ex, ey)
        opt_t.zero_grad()
        lt = torch.nn.functional.cross_entropy(lin_t(tx), ty)
        lt.backward()
        opt_t.step()
        assert_close(le, lt)
    assert lin_e.weight.grad._data.flags.c_contiguous
    assert_close(lin_e.weight, lin_t.weight.detach())
    assert_close(lin_e.weight.grad, lin_t.weight.grad)
