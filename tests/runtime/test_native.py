"""ember.runtime.native: the numba kernels for large exp / sum / amax / amin.

exp is checked against the correctly rounded result (float64 exp rounded to float32) to 2 ulp
across the whole float32 range, with NaN/inf/overflow/underflow/denormals exactly as np.exp;
reductions against float64 NumPy and PyTorch, NaN/inf semantics included; and the fallbacks
(native off, a kernel failing, another thread inside a kernel, a forked child) give NumPy's
results."""
from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading

import numpy as np
import pytest

import ember
from ember.runtime import cpu, native
from tests.helpers import assert_close, need_torch

pytest.importorskip("numba")

N = cpu.PARALLEL_MIN


@pytest.fixture
def two_threads():
    old = cpu.get_num_threads()
    cpu.set_num_threads(2)
    yield
    cpu.set_num_threads(old)


def _rand(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _ulps(a, b):
    """Distance in representable float32 steps (both finite or equal infinities)."""
    def key(f):
        i = f.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(key(a) - key(b))


def _check_exp(x):
    got = native.exp(x, 2)
    assert got is not None, "the native exp did not run"
    with np.errstate(all="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)   # correctly rounded (almost)
        np_exp = np.exp(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(np_exp))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(np_exp))
    np.testing.assert_array_equal(got == 0, want == 0)
    finite = np.isfinite(got)
    ulps = _ulps(got[finite], want[finite])
    assert ulps.max(initial=0) <= 2, f"exp({x[finite][np.argmax(ulps)]!r}) is {ulps.max()} ulp off"
    return got, ulps


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 1e-45, -1e-45, 1e-38,
                  88.72283, 88.72284, 88.7228394, 88.8, 89.0, 89.5, 100.0, 1e30, 3.4e38,
                  -87.33654, -87.3366, -88.0, -100.0, -103.2789, -103.2790, -103.9720,
                  -103.9721, -104.0, -104.5, -1e30, -3.4e38, 0.34657359, -0.34657359,
                  0.6931472, 1e-8, -1e-8], np.float32)


def test_exp_edge_values_match_np_exp():
    x = np.resize(EDGES, N)                      # large enough for the native path
    got, _ = _check_exp(x)
    with np.errstate(over="ignore"):
        want = np.exp(EDGES)
    # the values whose result is exactly representable or special must be bit-identical
    exact = ~np.isfinite(want) | (want == 0) | (want == 1) | (EDGES == 0)
    np.testing.assert_array_equal(got[:EDGES.size][exact], want[exact])
    # (a NaN's sign and payload are not kept equal: np.exp(-nan) is +nan, this gives -nan)


def test_exp_within_2_ulp_over_random_bit_patterns():
    # 4M random float32 bit patterns: every exponent, NaN payloads, denormals, both signs
    bits = np.random.default_rng(1).integers(0, 1 << 32, 1 << 22, dtype=np.uint64)
    _check_exp(bits.astype(np.uint32).view(np.float32))


def test_exp_within_2_ulp_on_a_dense_grid_of_the_finite_range():
    # the inputs with a finite, non-zero result, including the denormal outputs below -87.34
    x = np.linspace(-104.0, 89.0, 1 << 22, dtype=np.float32)
    _, ulps = _check_exp(x)
    assert (ulps == 0).mean() > 0.85            # mostly correctly rounded, not just "close"


def test_exp_through_the_frontend_matches_torch(two_threads):
    torch = need_torch()
    a = _rand(N + 7, seed=2) * 30
    a[::1000] = np.nan
    a[1::1000] = np.inf
    a[2::1000] = -np.inf
    a[3::1000] = 100.0
    a[4::1000] = -100.0
    got = ember.tensor(a).exp().numpy()
    want = torch.tensor(a).exp().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=3e-7, atol=3e-45)   # (denormals: 2 steps)


def test_exp_takes_the_native_path_only_for_large_contiguous_float32(two_threads, monkeypatch):
    calls = []
    real = native.exp

    def spy(x, threads):
        out = real(x, threads)
        calls.append((x.dtype, out is not None))
        return out
    monkeypatch.setattr(native, "exp", spy)
    cpu.elementwise(np.exp, _rand(N))
    assert calls == [(np.float32, True)]
    cpu.elementwise(np.exp, _rand(N, np.float64))       # float64: NumPy's own (SIMD) exp
    cpu.elementwise(np.exp, _rand(2 * N)[::2])          # strided
    cpu.elementwise(np.exp, _rand(16))                  # small
    np.testing.assert_array_equal(cpu.elementwise(np.exp, _rand(N, np.float16)),
                                  np.exp(_rand(N, np.float16)))
    assert calls == [(np.float32, True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(N,), (N + 4099,), (4 << 20,), (512, 1031)])
def test_full_sum_max_min_match_numpy(two_threads, dtype, shape):
    x = _rand(shape, dtype, seed=3) + 0.25
    dims = tuple(range(len(shape)))
    ref = x.astype(np.float64)
    for ufunc, kind in [(np.add, "sum"), (np.maximum, "max"), (np.minimum, "min")]:
        assert native.full_reduce(kind, x, 2) is not None
        got = cpu.reduce(ufunc, x, dims, dtype)
        assert got.shape == (1,) * len(shape) and got.dtype == dtype
        want = ufunc.reduce(ref, axis=None, keepdims=True)
        if kind == "sum":
            # float32: a few ulp of the float64 sum (summed in 4096-element blocks)
            tol = 1e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(ref).sum())
        else:
            np.testing.assert_array_equal(got, want.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,dims", [((2048, 2048), (1,)), ((N // 100 + 1, 100), (1,)),
                                        ((64, 8, 1000), (1, 2)), ((3, 5, 4096, 7), (2, 3))])
def test_row_reductions_match_numpy(two_threads, dtype, shape, dims):
    x = _rand(shape, dtype, seed=4)
    ref = x.astype(np.float64)
    for ufunc, kind in [(np.add, "sum"), (np.maximum, "max"), (np.minimum, "min")]:
        got = cpu.reduce(ufunc, x, dims, dtype)
        want = ufunc.reduce(ref, axis=dims, keepdims=True)
        assert got.shape == want.shape and got.dtype == dtype
        if kind == "sum":
            tol = 1e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(ref).sum(dims).max())
        else:
            np.testing.assert_array_equal(got, want.astype(dtype))


def test_row_reduce_calls_the_native_kernels(two_threads, monkeypatch):
    kinds = []
    real = native.row_reduce
    monkeypatch.setattr(native, "row_reduce", lambda k, x, t: kinds.append(k) or real(k, x, t))
    x = _rand((2048, 2048))
    for ufunc in (np.add, np.maximum, np.minimum):
        cpu.reduce(ufunc, x, (1,), np.float32)
    cpu.reduce(np.add, x, (0,), np.float32)                   # a leading dim: not a row reduction
    cpu.reduce(np.add, x.reshape(-1, 16), (1,), np.float32)   # rows too short
    cpu.reduce(np.add, x.astype(np.int32), (1,), np.int32)    # not float
    assert kinds == ["sum", "max", "min"]


def test_nan_and_inf_semantics_match_torch(two_threads):
    torch = need_torch()
    x = _rand((1024, 1024), seed=5)
    x[0, 5] = np.nan                      # one NaN: sum, amax and amin are NaN
    x[1, 7], x[1, 9] = np.inf, -np.inf    # inf - inf: sum NaN, amax inf, amin -inf
    x[2, 3] = np.inf
    x[3, :] = -np.inf
    x[4, 1000] = np.nan                   # NaN late in a row
    x[5, :] = np.nan
    x[6, :] = -0.0
    e, t = ember.tensor(x), torch.tensor(x)
    for name in ["sum", "amax", "amin"]:
        for dim in [1, None]:
            got = getattr(e, name)(dim) if dim is not None else getattr(e, name)()
            want = getattr(t, name)(dim) if dim is not None else getattr(t, name)()
            assert_close(got, want, rtol=1e-5, atol=1e-3)   # NaNs equal
    only_last_nan = _rand(N)
    only_last_nan[-1] = np.nan
    assert np.isnan(ember.tensor(only_last_nan).amax().item())
    assert np.isnan(ember.tensor(only_last_nan).amin().item())
    assert ember.tensor(x[6:7].repeat(N // 1024, 0)).sum().item() == 0


def test_large_ops_match_torch_in_float64_and_keepdim(two_threads):
    torch = need_torch()
    x = _rand((4, 512, 256), np.float64, seed=6)
    e, t = ember.tensor(x), torch.tensor(x)
    assert_close(e.sum((1, 2), keepdim=True), t.sum((1, 2), keepdim=True), rtol=1e-12, atol=1e-9)
    assert_close(e.amax(-1), t.amax(-1), rtol=0, atol=0)
    assert_close(e.amin((1, 2)), t.amin((1, 2)), rtol=0, atol=0)
    assert_close(e.mean(), t.mean(), rtol=1e-12, atol=1e-12)


def test_results_do_not_depend_on_the_thread_count():
    x = _rand((2048, 2048), seed=7)
    old = cpu.get_num_threads()
    try:
        cpu.set_num_threads(1)
        one = [cpu.reduce(np.add, x, (1,), np.float32), cpu.reduce(np.add, x, (0, 1), np.float32),
               cpu.elementwise(np.exp, x)]
        cpu.set_num_threads(2)
        two = [cpu.reduce(np.add, x, (1,), np.float32), cpu.reduce(np.add, x, (0, 1), np.float32),
               cpu.elementwise(np.exp, x)]
    finally:
        cpu.set_num_threads(old)
    np.testing.assert_array_equal(one[0], two[0])   # a row never spans threads
    np.testing.assert_array_equal(one[1], two[1])   # fixed blocks, combined in a fixed order
    np.testing.assert_array_equal(one[2], two[2])


@pytest.fixture
def fresh_timing(monkeypatch):
    monkeypatch.setattr(native, "_fastest", {})
    monkeypatch.setattr(native, "_slow", {"until": 0.0, "span": native.BACKOFF_S[0]})


def test_a_slow_multithread_call_backs_off_to_one_thread(two_threads, fresh_timing):
    x = _rand(N, seed=12)
    native.exp(x, 2)
    k = native.kernels()
    assert k.numba.get_num_threads() == 2
    key = (k.exp_f32, x.dtype, 2)
    fastest = native._fastest[key]
    # a call 10x slower per element than the fastest one starts a back-off ...
    native._judge(key, N, max(10 * fastest * N, 2 * native.SLOW_MIN_S))
    assert native._slow["until"] > native.perf_counter()
    assert native._slow["span"] == 2 * native.BACKOFF_S[0]
    np.testing.assert_array_equal(native.exp(x, 2), cpu.elementwise(np.exp, x))
    assert k.numba.get_num_threads() == 1                 # ... during which calls run on one thread
    # a second slow call doubles the back-off; a fast one resets it
    native._judge(key, N, max(10 * fastest * N, 2 * native.SLOW_MIN_S))
    assert native._slow["span"] == 4 * native.BACKOFF_S[0]
    native._judge(key, N, fastest * N)
    assert native._slow["span"] == native.BACKOFF_S[0]
    native._slow["until"] = 0.0                            # the back-off is over
    native.exp(x, 2)
    assert k.numba.get_num_threads() == 2


def test_short_or_single_thread_calls_are_never_judged_slow(fresh_timing):
    key2, key1 = ("kernel", np.float32, 2), ("kernel", np.float32, 1)
    native._judge(key2, N, 1e-5)
    native._judge(key2, N, native.SLOW_MIN_S / 2)          # 50x slower, but under SLOW_MIN_S
    native._judge(key1, N, 1e-5)
    native._judge(key1, N, 1.0)                            # one thread: nothing to back off to
    assert native._slow["until"] == 0.0


def test_disabled_native_path_gives_numpy_results(two_threads, monkeypatch):
    x = _rand(N, seed=8)
    monkeypatch.setattr(native, "ENABLED", False)
    assert native.exp(x, 2) is None and native.full_reduce("sum", x, 2) is None
    np.testing.assert_array_equal(cpu.elementwise(np.exp, x), np.exp(x))


def test_a_failing_kernel_falls_back_to_numpy_and_switches_native_off(two_threads, monkeypatch):
    k = native.kernels()

    def broken(*args):
        raise RuntimeError("LLVM could not compile this")
    monkeypatch.setattr(k, "exp_f32", broken)
    monkeypatch.setitem(native._state, "kernels", k)
    monkeypatch.setitem(native._state, "failed", False)
    x = _rand(N, seed=9)
    np.testing.assert_array_equal(cpu.elementwise(np.exp, x), np.exp(x))
    assert native._state["failed"] and native.kernels() is None
    assert native.full_reduce("sum", x, 2) is None    # no further attempts this process


def test_numba_missing_means_numpy(two_threads, monkeypatch):
    import ember.runtime as runtime
    native.kernels()
    monkeypatch.delattr(runtime, "native_kernels")
    monkeypatch.setitem(sys.modules, "ember.runtime.native_kernels", None)  # import fails
    monkeypatch.setitem(native._state, "kernels", None)
    monkeypatch.setitem(native._state, "failed", False)
    assert native.kernels() is None and native._state["failed"]
    x = _rand(N, seed=14)
    np.testing.assert_array_equal(cpu.elementwise(np.exp, x), np.exp(x))
    np.testing.assert_array_equal(cpu.reduce(np.maximum, x, (0,), np.float32), x.max(keepdims=True))


def test_numba_disable_jit_means_numpy(two_threads, monkeypatch):
    k = native.kernels()
    monkeypatch.setattr(k.numba.config, "DISABLE_JIT", True)
    monkeypatch.setitem(native._state, "kernels", None)
    monkeypatch.setitem(native._state, "failed", False)
    assert native.kernels() is None
    x = _rand(N, seed=13)
    np.testing.assert_array_equal(cpu.elementwise(np.exp, x), np.exp(x))


def test_another_thread_inside_a_kernel_means_numpy_here(two_threads):
    x = _rand(N, seed=10)
    with native._busy:      # as if another thread were running a native kernel
        assert native.exp(x, 2) is None
        np.testing.assert_array_equal(cpu.elementwise(np.exp, x), np.exp(x))
    results = []

    def work():
        results.append(ember.tensor(x).exp().numpy())
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ref = native.exp(x, 2)
    for r in results:
        np.testing.assert_allclose(r, ref, rtol=3e-7, atol=0)


def _child_exp(queue):
    x = _rand(N, seed=11)
    queue.put((native.kernels() is None, float(ember.tensor(x).exp().sum().item())))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_child_runs_large_ops_on_numpy():
    # GNU OpenMP aborts a forked child that enters a parallel region after its parent did, so a
    # DataLoader worker (forked) must not use the kernels
    x = _rand(N, seed=11)
    assert native.exp(x, 2) is not None        # the parent has run a parallel region
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_child_exp, args=(queue,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    off, total = queue.get(timeout=5)
    assert off
    np.testing.assert_allclose(total, np.exp(x).astype(np.float64).sum(), rtol=1e-5)


def test_import_ember_does_not_import_numba():
    code = "import sys, ember; print('numba' in sys.modules, 'ember.runtime.native' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
