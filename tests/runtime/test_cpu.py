"""ember.runtime.cpu: large ops split across threads give NumPy's / PyTorch's results exactly
(elementwise) or to summation accuracy (reductions), for every path the splitter takes.  The numba
kernels that cpu.py tries first are switched off here (tests/runtime/test_native.py covers them)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember.runtime import cpu, native
from tests.helpers import assert_close, need_torch

N = cpu.PARALLEL_MIN  # the smallest size that is split


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setattr(native, "ENABLED", False)   # the thread-pool path, not the numba kernels
    old = cpu.get_num_threads()
    cpu.set_num_threads(2)
    yield
    cpu.set_num_threads(old)


def _rand(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_run_chunks_keeps_chunk_order_and_runs_every_chunk_once(two_threads):
    calls = []
    lock = threading.Lock()

    def work(lo, hi):
        with lock:
            calls.append(lo)
        return (lo, hi)

    bounds = cpu._bounds(1000, 7)
    assert cpu._run_chunks(work, bounds) == bounds
    assert sorted(calls) == [lo for lo, _ in bounds]


def test_run_chunks_reraises_a_chunk_error_after_all_chunks_finish(two_threads):
    finished = []

    def work(lo, hi):
        if lo == 0:
            raise ValueError("chunk 0 failed")
        finished.append(lo)

    bounds = cpu._bounds(100, 5)
    with pytest.raises(ValueError, match="chunk 0 failed"):
        cpu._run_chunks(work, bounds)
    assert sorted(finished) == [lo for lo, _ in bounds[1:]]


@pytest.mark.parametrize("fn", [np.exp, np.add, np.maximum])
def test_elementwise_split_equals_numpy(two_threads, fn):
    arrays = [_rand(N + 3, seed=i) for i in range(fn.nin)]
    out = cpu.elementwise(fn, *arrays)
    np.testing.assert_array_equal(out, fn(*arrays))
    assert out.dtype == fn(*arrays).dtype


def test_elementwise_non_contiguous_falls_back(two_threads):
    a = _rand((2, N))[:, ::2]
    np.testing.assert_array_equal(cpu.elementwise(np.exp, a), np.exp(a))


@pytest.mark.parametrize("shape,dims", [
    ((N + 5,), (0,)),                 # full, lane sums
    ((512, 1024), (0, 1)),            # full
    ((1024, 512), (1,)),              # rows (einsum)
    ((64, 8, 1024), (1, 2)),          # trailing dims
    ((64, 8, 1024), (2, 1)),          # trailing dims, unsorted
    ((32, 1024, 16), (1,)),           # a middle dim: split along dim 0
    ((16, 20000), (1,)),              # rows longer than the einsum bound: add.reduce
])
@pytest.mark.parametrize("ufunc", [np.add, np.maximum, np.minimum])
def test_reduce_split_matches_numpy(two_threads, shape, dims, ufunc):
    x = _rand(shape, seed=3)
    got = cpu.reduce(ufunc, x, dims, np.float32)
    want = ufunc.reduce(x.astype(np.float64), axis=dims, keepdims=True)
    assert got.shape == want.shape and got.dtype == np.float32
    if ufunc is np.add:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(x.size / want.size))
    else:
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_reduce_is_deterministic_and_thread_count_independent_for_rows(two_threads):
    x = _rand((1024, 512), seed=4)
    a = cpu.reduce(np.add, x, (1,), np.float32)
    cpu.set_num_threads(1)
    b = cpu.reduce(np.add, x, (1,), np.float32)
    cpu.set_num_threads(2)
    np.testing.assert_array_equal(a, cpu.reduce(np.add, x, (1,), np.float32))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_row_sum_keeps_nan_inf_and_signed_zero_semantics(two_threads):
    x = np.zeros((N // 64, 64), np.float32)
    x[0, 0], x[1, 0], x[1, 1], x[2, 3] = np.nan, np.inf, -np.inf, np.inf
    x[3] = -0.0
    got = cpu.reduce(np.add, x, (1,), np.float32)[:, 0]
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == np.inf
    assert got[3] == 0 and not np.signbit(got[3])          # torch: sum of -0.0s is +0.0


def test_integer_row_sum_stays_exact(two_threads):
    x = np.random.default_rng(5).integers(-1000, 1000, (1024, 512), dtype=np.int64)
    np.testing.assert_array_equal(cpu.reduce(np.add, x, (1,), np.int64),
                                  x.sum(1, keepdims=True))


@pytest.mark.parametrize("op", ["sum_all", "sum_rows", "amax_rows", "amin_cols", "exp", "add"])
def test_large_frontend_ops_match_torch(two_threads, op):
    torch = need_torch()
    a, b = _rand((512, 1024), seed=6), _rand((512, 1024), seed=7)
    ea, eb, ta, tb = ember.tensor(a), ember.tensor(b), torch.tensor(a), torch.tensor(b)
    run = {"sum_all": lambda m, x, y: x.sum(), "sum_rows": lambda m, x, y: x.sum(1),
           "amax_rows": lambda m, x, y: x.amax(dim=-1, keepdim=True),
           "amin_cols": lambda m, x, y: x.amin(0), "exp": lambda m, x, y: m.exp(x),
           "add": lambda m, x, y: x + y}[op]
    got, want = run(ember, ea, eb), run(torch, ta, tb)
    assert tuple(got.shape) == tuple(want.shape)
    assert_close(got, want, rtol=1e-5, atol=1e-3 if op == "sum_all" else 1e-5)


def test_large_same_shape_binary_dunder_goes_through_the_splitter(two_threads, monkeypatch):
    seen = []
    real = cpu.elementwise

    def spy(fn, *arrays):
        seen.append(fn)
        return real(fn, *arrays)

    monkeypatch.setattr(cpu, "elementwise", spy)
    a, b = ember.tensor(_rand(N, seed=8)), ember.tensor(_rand(N, seed=9))
    np.testing.assert_array_equal((a * b).numpy(), a.numpy() * b.numpy())
    assert seen == [np.multiply]
    small = ember.tensor(_rand(16))
    small * small
    assert seen == [np.multiply]  # small ops stay on the direct NumPy call


@pytest.mark.parametrize("dtype,acc", [(np.float64, None), (np.float32, np.float64)])
def test_sum_in_another_dtype_or_float64(two_threads, dtype, acc):
    x = _rand((1024, 512), dtype, seed=10)
    for dims in [(0, 1), (1,)]:
        got = cpu.reduce(np.add, x, dims, acc or dtype)
        assert got.dtype == (acc or dtype)
        np.testing.assert_allclose(got, x.astype(np.float64).sum(dims, keepdims=True), rtol=1e-6,
                                   atol=1e-4)
