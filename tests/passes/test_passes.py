"""Each pass on small graphs: what it removes, folds and groups, and that it explains itself."""
import numpy as np

import ember
import ember.nn.functional as F
from ember.jit import trace
from ember.ir.interpret import Interpreter
from ember.passes import run_pipeline
from ember.passes.fusion import format_groups
from ember.passes.manager import STAGES


def _graph(fn, *args):
    with ember.no_grad():
        return trace(fn, args).graph


def test_canonicalize_cse_fold_and_decompose():
    def f(x):
        a = x.reshape(2, 3).reshape(6) * 1.0
        b = (x ** 2) + (x ** 2)
        c = ember.full((), 2.0) * 3.0
        return a + b * c
    x = ember.randn(6)
    g = _graph(f, x)
    expected = Interpreter(g).run([x._data])[0][0]
    res = run_pipeline(g, keep_stages=True)
    names = [n.prim.name for n in res.graph.nodes]
    assert "pow" not in names and "reshape" not in names
    assert names.count("mul") <= 3
    assert res.nodes["cse"] < res.nodes["traced"]
    np.testing.assert_allclose(Interpreter(res.graph).run([x._data])[0][0], expected, rtol=1e-6)
    assert set(STAGES) <= set(res.stages)
    assert set(res.timings) >= {"canonicalize", "cse", "dce", "fusion", "memory_plan"}


def test_fusion_groups_cover_every_node_once_and_explain_rejections():
    def f(x, w):
        h = F.gelu(x @ w) * 2 + 1
        return F.softmax(h, dim=1)
    g = _graph(f, ember.randn(4, 8), ember.randn(8, 5))
    res = run_pipeline(g)
    plan = res.fusion
    seen = [n for grp in plan.groups for n in grp.nodes]
    assert sorted(map(id, seen)) == sorted(map(id, res.graph.nodes))
    kinds = {grp.kind for grp in plan.kernels}
    assert "matmul" in kinds and "pointwise" in kinds or "reduction" in kinds
    assert any(len(grp.nodes) > 3 for grp in plan.kernels)   # gelu's chain fused
    reasons = " ".join(r for _, _, r in plan.rejected)
    assert "producer is matmul" in reasons
    text = format_groups(res.graph, why=True)
    assert "not fused" in text and "group" in text


def test_perf_log_prints_pass_timings(capsys):
    # EMBER_DEBUG=1 is an alias of EMBER_LOGS=+perf (tests/test_logging.py checks the alias)
    import logging
    ember.set_logs(perf=logging.DEBUG)
    try:
        run_pipeline(_graph(lambda x: x.exp() + 1, ember.randn(3)))
    finally:
        ember.set_logs(perf=False)
    err = capsys.readouterr().err
    assert "[ember.perf] pass canonicalize" in err and "ms" in err
