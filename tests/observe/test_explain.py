"""explain(): what differs between variants and which guard failed with its values; compiled
modules' introspection; program() of a segmented variant; fn.report()."""
from __future__ import annotations

import html.parser

import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


def _training_step():
    ember.manual_seed(0)
    lin = nn.Linear(3, 2)
    opt = ember.optim.SGD(lin.parameters(), lr=0.1)

    @ember.compile
    def step(x):
        loss = lin(x).sum()
        loss.backward()
        opt.step()
        return loss
    return lin, step


def test_variant_differences_and_named_grad_guard():
    lin, step = _training_step()
    x = ember.randn(4, 3)
    step(x)
    lin.train(False)
    step(x)
    for p in lin.parameters():
        p.grad = None
    step(x)
    text = step.explain()
    assert "differs from variant 0: Linear.training True -> False" in text
    assert "parameter Linear.weight: .grad None -> set" in text
    assert "differs from variant 1: parameter Linear.weight: .grad set -> None" in text
    reasons = [r["reason"] for r in step.stats["recompiles"]]
    assert reasons[0] == "Linear.training changed (True -> False)"
    assert reasons[1] == "parameter Linear.weight: .grad is None (it was set when compiled)"


def test_symbolic_guard_failure_names_expression_and_size():
    f = ember.compile(lambda x, w: (x @ w).sum(), dynamic=True)
    w = ember.randn(3, 4)
    f(ember.randn(5, 3), w)
    f(ember.randn(1, 3), w)      # size 1 is never symbolic: breaks s0 >= 2
    reason = f.stats["recompiles"][0]["reason"]
    assert reason == "the symbolic guard `s0 >= 2` failed with s0=1 ('x' dim 0)"
    assert "differs from variant 0: argument 'x'" in f.explain()


def test_optimized_module_exposes_introspection():
    m = nn.Linear(3, 2)
    cm = ember.compile(m)
    cm(ember.randn(4, 3))
    assert cm.stats["compiles"] == 1 and cm.stats["calls"] == 1
    assert "ember.compile(Linear): 1 variant(s)" in cm.explain()
    assert "def call(args, seeds, B):" in cm.code()
    assert len(cm.program().graph.nodes) > 0


def test_program_of_a_segmented_variant_names_its_number():
    @ember.compile
    def f(x):
        y = x * 2
        if y.sum() > 0:
            return y + 1
        return y - 1
    with pytest.warns(Warning):
        f(ember.ones(3))
    with pytest.raises(RuntimeError, match=r"variant 0 of f has no single program .*segments"):
        f.program()
    with pytest.raises(RuntimeError, match="no compiled variant yet"):
        ember.compile(lambda x: x).program()


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs)["id"])


def test_compiled_function_report(tmp_path):
    pytest.importorskip("matplotlib")
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))

    @ember.compile
    def loss_of(x, y):
        return F.cross_entropy(m(x), y)
    x, y = ember.randn(5, 8), ember.zeros(5, dtype=ember.int64)
    path = loss_of.report(str(tmp_path / "r.html"), x, y)
    page = open(path).read()
    p = _Ids()
    p.feed(page)
    assert p.ids == ["summary", "explain", "graph", "stages", "fusion", "memory-plan", "code",
                     "profile", "memory"]
    assert "loss_of variant 0" in page and "one run:" in page and "np.matmul" in page
    assert loss_of.stats["calls"] == 2             # one call compiled, one was profiled
    loss_of.report(str(tmp_path / "again.html"), x, y)
    assert loss_of.stats["calls"] == 3             # the variant exists: only the profiled call
    with pytest.raises(RuntimeError, match="no compiled variant yet"):
        ember.compile(lambda x: x).report(str(tmp_path / "none.html"))
