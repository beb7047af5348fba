"""ember.compile(module) returns PyTorch's OptimizedModule shape: an nn.Module with the module as
``_orig_mod`` (parameters registered, state_dict keys prefixed), forward compiled; its backward
works for a 0-d loss."""
from __future__ import annotations

import numpy as np

import ember
from ember import nn


def _net():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def test_compiled_module_is_a_module_with_orig_mod():
    m = _net()
    cm = ember.compile(m)
    assert isinstance(cm, nn.Module) and cm._orig_mod is m
    assert list(cm.state_dict()) == ["_orig_mod." + k for k in m.state_dict()]
    assert [p is q for p, q in zip(cm.parameters(), m.parameters())] == [True] * 4
    m.note = "hi"
    assert cm.note == "hi"                       # other attributes are the module's
    cm.eval()
    assert not m.training


def test_compiled_submodule_parameters_are_registered():
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = ember.compile(_net())

        def forward(self, x):
            return self.body(x)
    o = Outer()
    assert len(list(o.parameters())) == 4
    assert "body._orig_mod.0.weight" in o.state_dict()
    fresh = Outer()
    fresh.load_state_dict(o.state_dict())


class _WithLoss(nn.Module):
    """A module whose compiled forward returns the 0-d loss itself."""

    def __init__(self):
        super().__init__()
        self.net = _net()

    def forward(self, x):
        return self.net(x).pow(2).mean()


def test_compiled_backward_on_a_0d_loss_matches_eager():
    m = _WithLoss()
    cm = ember.compile(m)
    x = ember.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    for _ in range(2):   # the second call runs the compiled program
        cm.zero_grad()
        loss = cm(x)
        assert loss.shape == ()
        loss.backward()
    compiled = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m(x).backward()
    for c, e in zip(compiled, [p.grad.numpy() for p in m.parameters()]):
        np.testing.assert_allclose(c, e, rtol=1e-5, atol=1e-7)
    assert cm._compiled.stats["compiles"] >= 1
