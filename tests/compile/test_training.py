"""Compiled training steps give eager's numbers: losses, gradients, parameters, optimizer state and
BatchNorm running stats after several steps, for MLP / CNN / transformer layers, SGD / Adam /
AdamW, with dropout (same random stream) and an lr scheduler."""
import numpy as np
import pytest

import ember
from tests.compile.models import data, make, train_step_fn
from tests.helpers import assert_close

STEPS = 4


def _state_arrays(opt):
    out = []
    for st in opt.state.values():
        for k in sorted(st):
            v = st[k]
            if isinstance(v, ember.Tensor):
                out.append((k, v._data))
    return out


def _run_pair(kind, optname, sched=False, steps=STEPS, tol=1e-5):
    m1, o1 = make(kind, optname)
    m2, o2 = make(kind, optname)
    s1 = ember.optim.lr_scheduler.StepLR(o1, step_size=2, gamma=0.5) if sched else None
    s2 = ember.optim.lr_scheduler.StepLR(o2, step_size=2, gamma=0.5) if sched else None
    eager = train_step_fn(m1, o1, s1)
    compiled = ember.compile(train_step_fn(m2, o2, s2))
    for i in range(steps):
        x, y = data(kind, seed=i)
        ember.manual_seed(100 + i)
        l1 = eager(x, y)
        ember.manual_seed(100 + i)
        l2 = compiled(x, y)
        assert_close(l2, l1.detach(), rtol=tol, atol=tol, msg=f"loss at step {i}")
    for (n1, p1), (n2, p2) in zip(m1.named_parameters(), m2.named_parameters()):
        ptol = np.full(p1.shape, tol)
        if optname != "sgd":
            # a gradient that is zero in exact arithmetic (a key bias under softmax): Adam turns
            # its rounding noise into steps of size lr, in eager and compiled alike
            ptol[np.abs(p1.grad._data) < 1e-6] = 1e-2 * steps
        diff = np.abs(p2._data - p1._data) - tol * np.abs(p1._data)
        assert (diff <= ptol).all(), (n1, diff.max())
        assert_close(p2.grad, p1.grad, rtol=tol, atol=tol, msg=n1 + ".grad")
    for (n1, b1), (n2, b2) in zip(m1.named_buffers(), m2.named_buffers()):
        assert_close(b2, b1, rtol=tol, atol=tol, msg=n1)
    for (k1, a1), (k2, a2) in zip(_state_arrays(o1), _state_arrays(o2)):
        assert k1 == k2
        np.testing.assert_allclose(a2, a1, rtol=tol, atol=tol, err_msg=k1)
    if sched:
        assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    return compiled


@pytest.mark.parametrize("kind", ["mlp", "cnn", "transformer"])
@pytest.mark.parametrize("optname", ["sgd", "adam"])
def test_compiled_step_equals_eager(kind, optname):
    c = _run_pair(kind, optname)
    st = c.stats
    assert st["graph_breaks"] == [] and st["eager_calls"] == 0
    # Adam creates its state on the first step: one recompile, then the cache is hit
    assert st["compiles"] <= 2, c.explain()
    assert st["cache_hits"] >= STEPS - 2


def test_adamw_with_lr_scheduler():
    c = _run_pair("mlp", "adamw", sched=True, steps=5)
    reasons = [r["reason"] for r in c.stats["recompiles"]]
    # lr is a runtime input: the only recompile is Adam's lazily created state
    assert c.stats["compiles"] == 2 and not any("'lr'" in r for r in reasons), reasons


def test_generated_code_writes_parameters_in_place():
    m, o = make("mlp", "sgd")
    step = ember.compile(train_step_fn(m, o))
    x, y = data("mlp")
    w = m[0].weight
    before = w._data
    step(x, y)
    step(x, y)
    assert w._data is before          # the same buffer, updated in place
    code = step.code()
    assert "out=" in code and "np.matmul" in code


def test_grad_accumulates_like_eager_without_zero_grad():
    m1, _ = make("mlp")
    m2, _ = make("mlp")
    import ember.nn.functional as F

    def step_fn(model):
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        return step
    e, c = step_fn(m1), ember.compile(step_fn(m2))
    for i in range(3):
        x, y = data("mlp", seed=i)
        e(x, y)
        c(x, y)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert_close(p2.grad, p1.grad, rtol=1e-5, atol=1e-5)


def test_compiled_module_forward_eval_and_no_grad():
    m, _ = make("cnn")
    m.eval()
    cm = ember.compile(m)
    x, _ = data("cnn")
    with ember.no_grad():
        out = cm(x)
        ref = m(x)
    assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert list(cm.parameters())   # attributes pass through to the module
