"""Guards, recompiles and their reasons, dynamic sizes, graph breaks, fullgraph, the disk cache."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler.compile import CompileError, GraphBreakWarning, RecompileLimitWarning, config
from tests.compile.models import data, make, train_step_fn
from tests.helpers import assert_close


def _fn(x, w):
    return (x @ w).relu().sum(1)


def test_new_batch_size_compiles_once_for_all_sizes():
    w = ember.randn(5, 3)
    c = ember.compile(_fn)
    for n in (4, 6, 9, 13):
        x = ember.randn(n, 5)
        assert_close(c(x, w), _fn(x, w))
    assert c.stats["compiles"] == 2, c.explain()     # static, then symbolic batch
    reason = c.stats["recompiles"][0]["reason"]
    assert "shape changed ([4,5] -> [6,5])" in reason and "'x'" in reason
    assert "test_guards.py" in c.stats["recompiles"][0]["site"]


def test_dynamic_true_never_recompiles_for_sizes():
    w = ember.randn(5, 3)
    c = ember.compile(_fn, dynamic=True)
    for n in (4, 6, 9):
        x = ember.randn(n, 5)
        assert_close(c(x, w), _fn(x, w))
    assert c.stats["compiles"] == 1


def test_dynamic_false_recompiles_per_size():
    w = ember.randn(5, 3)
    c = ember.compile(_fn, dynamic=False)
    for n in (4, 6, 9):
        c(ember.randn(n, 5), w)
    assert c.stats["compiles"] == 3


def test_dtype_change_recompiles_with_a_reason(capsys):
    c = ember.compile(lambda x: x * 2 + 1)
    c(ember.ones(3))
    old = config.log_recompiles
    config.log_recompiles = True
    try:
        out = c(ember.ones(3, dtype=ember.float64))
    finally:
        config.log_recompiles = old
    assert out.dtype is ember.float64
    r = c.stats["recompiles"][0]["reason"]
    assert "dtype changed" in r and "float32" in r and "float64" in r
    assert "recompiling" in capsys.readouterr().err


def test_scalar_argument_and_grad_mode_and_training_flag_are_guarded():
    c = ember.compile(lambda x, k: x * k)
    assert_close(c(ember.ones(2), 2.0), ember.full((2,), 2.0))
    assert_close(c(ember.ones(2), 3.0), ember.full((2,), 3.0))
    assert "changed (2.0 -> 3.0)" in c.stats["recompiles"][0]["reason"]
    m, _ = make("cnn")
    cm = ember.compile(m)
    x, _ = data("cnn")
    with ember.no_grad():
        m.eval()
        cm(x)
        m.train()
        ember.manual_seed(3)
        a = cm(x)
        ember.manual_seed(3)
        b = m(x)
    assert_close(a, b, rtol=1e-5, atol=1e-5)     # dropout: same random stream as eager
    assert any(".training changed" in r["reason"] for r in cm._compiled.stats["recompiles"])


def test_recompile_limit_warns_loudly_and_runs_eagerly():
    old = config.recompile_limit
    config.recompile_limit = 2
    try:
        c = ember.compile(lambda x, k: x + k)
        with pytest.warns(RecompileLimitWarning, match="recompiled 2 times"):
            for k in range(4):
                assert_close(c(ember.zeros(2), float(k)), ember.full((2,), float(k)))
        assert c.stats["eager_calls"] == 2
    finally:
        config.recompile_limit = old


def _breaking(x):
    y = x * 2
    if y.sum() > 0:          # data-dependent Python: a graph break
        return y + 1
    return y - 1


def test_graph_break_runs_in_segments_and_is_reported_once():
    c = ember.compile(_breaking)
    with pytest.warns(GraphBreakWarning) as rec:
        a = c(ember.ones(3))
        b = c(ember.ones(3))
    assert_close(a, _breaking(ember.ones(3)))
    assert_close(b, a)
    assert len([w for w in rec if issubclass(w.category, GraphBreakWarning)]) == 1
    msg = str(rec[0].message)
    assert "test_guards.py" in msg and "bool" in msg
    # compiled before and after the break (tests/compile/test_segments.py has the details)
    assert c.stats["eager_calls"] == 0 and c.stats["segment_calls"] == 2
    assert c.stats["segments"] == 2


def test_item_in_training_step_is_a_graph_break_with_eager_results():
    m1, o1 = make("mlp")
    m2, o2 = make("mlp")

    def step(model, opt):
        def f(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
        return f
    c = ember.compile(step(m2, o2))
    e = step(m1, o1)
    x, y = data("mlp")
    with pytest.warns(GraphBreakWarning, match="item"):
        lc = c(x, y)
    assert lc == pytest.approx(e(x, y), rel=1e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert_close(p2, p1.detach())


def test_fullgraph_makes_a_break_an_error_naming_the_line():
    c = ember.compile(_breaking, fullgraph=True)
    with pytest.raises(CompileError, match=r"test_guards.py:\d+"):
        c(ember.ones(3))


def test_disk_cache_skips_passes_in_a_new_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    w = ember.randn(5, 3)
    c1 = ember.compile(_fn)
    c1(ember.randn(4, 5), w)
    assert c1.variants[0].cache_hit is False and c1.variants[0].pipeline is not None
    assert list(tmp_path.glob("*.py"))
    c2 = ember.compile(_fn)
    x = ember.randn(4, 5)
    assert_close(c2(x, w), _fn(x, w))
    assert c2.variants[0].cache_hit is True and c2.variants[0].pipeline is None


def test_decorator_forms_and_backends():
    @ember.compile
    def f(x):
        return x.exp()

    @ember.compile(backend="interpret", dynamic=True)
    def g(x):
        return x.exp()
    x = ember.randn(3)
    assert_close(f(x), x.exp())
    assert_close(g(x), x.exp())
    assert f.__name__ == "f"
    with pytest.raises(RuntimeError, match="unknown backend"):
        ember.compile(f, backend="nope")


def test_backward_outside_uses_the_autodiff_pass():
    m1, _ = make("mlp")
    m2, _ = make("mlp")
    cm = ember.compile(m2)
    for i in range(3):
        x, y = data("mlp", seed=i)
        F.cross_entropy(m1(x), y).backward()
        F.cross_entropy(cm(x), y).backward()     # backward of the compiled forward program
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert_close(p2.grad, p1.grad, rtol=1e-5, atol=1e-6)
    st = cm._compiled.stats
    assert st["eager_calls"] == 0 and st["compiles"] == 1, cm._compiled.explain()
    assert cm._compiled.variants[0].bwd_module is not None
    # an input that requires grad gets its gradient too
    x = ember.randn(4, 20, requires_grad=True)
    xe = x.detach().clone().requires_grad_(True)
    cm(x).sum().backward()
    m1(xe).sum().backward()
    assert_close(x.grad, xe.grad, rtol=1e-5, atol=1e-6)


def test_errors_name_the_users_line():
    def bad(x):
        return x @ ember.ones(7, 2)      # shape error in user code
    c = ember.compile(bad)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        c(ember.ones(3, 5))
