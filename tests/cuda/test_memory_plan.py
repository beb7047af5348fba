"""Predicted step memory of compiled programs (ember.compiler.memory_plan.predict), checked on the
CPU against the NumPy backend's planned buffers and tracemalloc-measured allocations."""
import gc
import tracemalloc

import pytest

import ember
import ember.nn as nn
from ember.compiler.memory_plan import predict


def _pointwise(x, w):
    h = (x @ w).relu()
    return (h * 2 + 1).sum(1)


def _measure_first_call(fn, *args):
    # warm the process first (lazily imported codegen/kernel modules, caches): what is measured is
    # the call's own allocations, not one-time imports
    ember.compile(fn)(*[a.clone() for a in args])
    cf = ember.compile(fn)
    gc.collect()
    tracemalloc.start()
    try:
        cf(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_prediction_runs_nothing_and_the_variant_is_reused():
    x, w = ember.randn(64, 128), ember.randn(128, 256)
    calls = []

    def f(x, w):
        calls.append(1)
        return _pointwise(x, w)
    cf = ember.compile(f)
    p = predict(cf, x, w)
    assert len(calls) == 1 and cf.stats["compiles"] == 1        # traced once, not run
    assert p.arena_bytes == 64 * 256 * 4 and p.output_bytes == 64 * 4
    assert p.input_bytes == (64 * 128 + 128 * 256) * 4
    assert p.peak_bytes == int(p) == p.input_bytes + p.arena_bytes + p.output_bytes
    assert p.naive_bytes > p.arena_bytes and "predicted peak" in p.summary()
    out = cf(x, w)
    assert len(calls) == 1 and cf.stats["cache_hits"] == 1     # the call used that variant
    assert out.shape == (64,)
    assert predict(cf, x, w).peak_bytes == p.peak_bytes


def test_pointwise_step_within_10_percent_of_measured():
    x, w = ember.randn(256, 512), ember.randn(512, 1024)
    p = predict(ember.compile(_pointwise), x, w)
    measured = _measure_first_call(_pointwise, x, w)
    assert abs(measured - p.step_bytes) <= 0.10 * p.step_bytes, (measured, p.step_bytes)


def test_training_step_arena_matches_backend_and_bounds_measured():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    xs, ys = ember.randn(256, 128), ember.randint(0, 10, (256,))
    cs = ember.compile(step)
    p = predict(cs, xs, ys)
    assert p.arena_bytes < p.naive_bytes
    cs(xs, ys)
    v = cs.variants[0]
    assert v.module.planned_bytes() == p.arena_bytes         # the plan the backend allocates
    # the NumPy backend adds NumPy's own temporaries (not modelled: fused GPU kernels make none)
    measured = _measure_first_call(step, xs, ys)
    assert 0.9 * p.step_bytes <= measured <= 1.6 * p.step_bytes, (measured, p.step_bytes)


def test_graph_break_has_no_plan():
    def f(x):
        if x.sum().item() > 0:
            return x * 2
        return x
    with pytest.warns(Warning):
        with pytest.raises(RuntimeError, match="runs eagerly"):
            predict(ember.compile(f), ember.ones(3))


def test_compile_result_has_memory_plan_method():
    """ember.compile(fn).memory_plan(*inputs) and the OptimizedModule form (compiler/compile.py)."""
    x, w = ember.randn(32, 16), ember.randn(16, 8)
    p = ember.compile(_pointwise).memory_plan(x, w)
    assert p.arena_bytes == 32 * 8 * 4 and p.output_bytes == 32 * 4
    lin = nn.Linear(16, 8)
    m = ember.compile(lin)
    with ember.no_grad():
        q = m.memory_plan(x)
    assert q.output_bytes == 32 * 8 * 4 and q.input_bytes == (32 * 16 + 16 * 8 + 8) * 4
