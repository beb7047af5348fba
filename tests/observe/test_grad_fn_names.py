"""grad_fn names and reprs as PyTorch prints them."""
from __future__ import annotations

import re

import pytest
import torch

import ember

OPS = [
    ("mul", lambda t, x: x * 2), ("add", lambda t, x: x + 1), ("sub", lambda t, x: x - x),
    ("div", lambda t, x: x / 3), ("exp", lambda t, x: x.exp()), ("relu", lambda t, x: x.relu()),
    ("tanh", lambda t, x: x.tanh()), ("sigmoid", lambda t, x: x.sigmoid()),
    ("sum", lambda t, x: x.sum()), ("sum_dim", lambda t, x: x.sum(0)),
    ("mean", lambda t, x: x.mean()), ("mean_dim", lambda t, x: x.mean(1)),
    ("view", lambda t, x: x.view(6)),
]


def _name(mod, fn):
    x = mod.ones(2, 3, requires_grad=True)
    return fn(mod, x).grad_fn


@pytest.mark.parametrize("op, fn", OPS, ids=[o for o, _ in OPS])
def test_names_match_torch(op, fn):
    ours, theirs = _name(ember, fn), _name(torch, fn)
    assert ours.name() == theirs.name()
    pattern = r"<(\w+) object at 0x[0-9a-f]+>"
    assert re.fullmatch(pattern, repr(ours))[1] == re.fullmatch(pattern, repr(theirs))[1]


def test_next_functions_show_accumulate_grad():
    x = ember.ones(2, requires_grad=True)
    nf = (x * x).grad_fn.next_functions
    assert [type(f).__name__ for f, _ in nf] == ["AccumulateGrad", "AccumulateGrad"]
    assert re.fullmatch(r"<AccumulateGrad object at 0x[0-9a-f]+>", repr(nf[0][0]))
    assert nf[0][0].variable is x
    y = (x * 2).exp()
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"


def test_custom_function_node():
    def make(mod):
        class Double(mod.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        return Double

    ours = make(ember).apply(ember.ones(2, requires_grad=True)).grad_fn
    theirs = make(torch).apply(torch.ones(2, requires_grad=True)).grad_fn
    assert ours.name() == theirs.name() == "DoubleBackward"
    assert re.fullmatch(r"<ember\.autograd\.function\.DoubleBackward object at 0x[0-9a-f]+>",
                        repr(ours))
    assert repr(theirs).startswith("<torch.autograd.function.DoubleBackward object")
    assert [type(f).__name__ for f, _ in ours.next_functions] == ["AccumulateGrad"]
