"""Optimizer hyper-parameters are runtime inputs of a compiled step: lr schedulers (inside or
outside the compiled function) never recompile, and compiled == eager."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler.compile import GraphBreakWarning
from tests.compile.models import data, mlp
from tests.helpers import assert_close

SCHEDS = {
    "step": lambda o: ember.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "cosine": lambda o: ember.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7),
}


def _make(opt="sgd", **kw):
    ember.manual_seed(0)
    m = mlp()
    o = ember.optim.SGD(m.parameters(), lr=0.1, **kw) if opt == "sgd" else \
        ember.optim.Adam(m.parameters(), lr=0.01, **kw)
    return m, o


def _step(model, opt, sched=None, sched_first=False):
    def step(x, y):
        if sched is not None and sched_first:
            sched.step()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if sched is not None and not sched_first:
            sched.step()
        return loss
    return step


def _compare(m1, m2, o1, o2):
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert_close(p2, p1, rtol=1e-5, atol=1e-6)
    assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]


@pytest.mark.parametrize("sched", sorted(SCHEDS))
@pytest.mark.parametrize("where", ["inside", "outside", "inside_first"])
def test_scheduler_never_recompiles(sched, where):
    (m1, o1), (m2, o2) = _make(), _make()
    s1, s2 = SCHEDS[sched](o1), SCHEDS[sched](o2)
    inside = where != "outside"
    e = _step(m1, o1, s1 if inside else None, where == "inside_first")
    c = ember.compile(_step(m2, o2, s2 if inside else None, where == "inside_first"))
    lrs = set()
    for i in range(20):
        x, y = data("mlp", seed=i)
        assert_close(c(x, y), e(x, y).detach(), rtol=1e-5, atol=1e-6, msg=f"step {i}")
        if not inside:
            s1.step()
            s2.step()
        lrs.add(o2.param_groups[0]["lr"])
    assert len(lrs) > 3                     # the lr really changed
    _compare(m1, m2, o1, o2)
    assert c.stats["compiles"] == 1, c.explain()
    assert c.stats["eager_calls"] == 0 and c.stats["cache_hits"] == 19


def test_adam_with_cosine_schedule():
    (m1, o1), (m2, o2) = _make("adam"), _make("adam")
    s1, s2 = SCHEDS["cosine"](o1), SCHEDS["cosine"](o2)
    e, c = _step(m1, o1, s1), ember.compile(_step(m2, o2, s2))
    for i in range(10):
        x, y = data("mlp", seed=i)
        assert_close(c(x, y), e(x, y).detach(), rtol=1e-5, atol=1e-6, msg=f"step {i}")
    _compare(m1, m2, o1, o2)
    assert c.stats["compiles"] == 2, c.explain()   # Adam's lazily created state, not the lr


def test_changed_eps_becomes_an_input_after_one_recompile():
    (m1, o1), (m2, o2) = _make("adam"), _make("adam")
    e, c = _step(m1, o1), ember.compile(_step(m2, o2))
    for i in range(8):
        for o in (o1, o2):
            o.param_groups[0]["eps"] = 1e-8 * (1 + i)
        x, y = data("mlp", seed=i)
        assert_close(c(x, y), e(x, y).detach(), rtol=1e-5, atol=1e-6, msg=f"step {i}")
    _compare(m1, m2, o1, o2)
    # the second call (Adam's state now exists, eps changed) recompiles once with eps an input
    assert c.stats["compiles"] == 2, c.explain()
    assert "'eps'" in c.stats["recompiles"][-1]["reason"]


def test_momentum_branched_on_stays_a_guard():
    # SGD branches on `momentum != 0`: a changing momentum cannot be an input; it is retried
    # once as a guarded constant and stays one (correct results, one compile per value)
    (m1, o1), (m2, o2) = _make(momentum=0.5), _make(momentum=0.5)
    e, c = _step(m1, o1), ember.compile(_step(m2, o2))
    for i in range(5):
        for o in (o1, o2):
            o.param_groups[0]["momentum"] = 0.5 + 0.1 * (i // 2)
        x, y = data("mlp", seed=i)
        assert_close(c(x, y), e(x, y).detach(), rtol=1e-5, atol=1e-6, msg=f"step {i}")
    _compare(m1, m2, o1, o2)
    assert c.stats["graph_breaks"] == [] and c.stats["eager_calls"] == 0
    assert "momentum" in c.hp_baked and c.stats["compiles"] == 4, c.explain()


def test_graph_break_does_not_step_the_scheduler_twice():
    (m1, o1), (m2, o2) = _make(), _make()
    s1, s2 = SCHEDS["step"](o1), SCHEDS["step"](o2)

    def step_fn(model, opt, sched):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            if loss > 100:      # data-dependent: a graph break after the scheduler step
                loss = loss * 0
            return loss
        return step
    e, c = step_fn(m1, o1, s1), ember.compile(step_fn(m2, o2, s2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphBreakWarning)
        for i in range(4):
            x, y = data("mlp", seed=i)
            assert_close(c(x, y), e(x, y).detach(), rtol=1e-5, atol=1e-6)
    assert s1.last_epoch == s2.last_epoch == 4
    _compare(m1, m2, o1, o2)


def test_program_state_holds_the_current_lr():
    m, o = _make()
    c = ember.compile(_step(m, o))
    x, y = data("mlp")
    c(x, y)
    o.param_groups[0]["lr"] = 0.25
    prog = c.program()
    lr = [v for k, v in prog.state.items() if k.endswith("_lr")]
    assert len(lr) == 1 and np.isclose(float(lr[0]), 0.25)
