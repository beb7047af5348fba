"""The printed form: valid Python, deterministic, parsed back without eval/exec into the same graph
(print -> parse -> print is a fixpoint), with clear errors for malformed text."""
from __future__ import annotations

import ast
import builtins
import math

import pytest

import ember
from ember import dtypes as dt
from ember.ir import Graph, IRSyntaxError, TensorMeta, parse_graph, print_graph, verify
from ember.ir.meta import format_type, parse_type
from ember.shapes import sym


def _fixpoint(g):
    text = print_graph(g)
    ast.parse(text)  # valid Python
    again = print_graph(verify(parse_graph(text)))
    assert again == text
    return text


def test_types_round_trip():
    s0, s1 = sym("s0"), sym("s1")
    for meta in [TensorMeta((), dt.float32), TensorMeta((2, 3), dt.bfloat16),
                 TensorMeta((s0, 256), dt.int64), TensorMeta((2 * s0, s1 + 1), dt.bool_),
                 TensorMeta((s0 * s1, (s0 + 1) // 2), dt.uint8)]:
        text = format_type(meta)
        assert parse_type(text) == meta, text
    assert format_type(TensorMeta((s0, 256), dt.float32)) == "f32[s0,256]"


def test_params_of_every_kind_round_trip():
    g = Graph("params")
    s0 = sym("s0")
    x = g.add_input(TensorMeta((s0, 3), dt.float32), "x")
    g.guards.append(s0 >= 2)
    t = g.add_node("pad", [x], {"pads": ((1, -1), (0, 2)), "value": -math.inf})
    t = g.add_node("pad", [t], {"pads": ((0, 0), (0, 0)), "value": math.nan})
    t = g.add_node("reshape", [t], {"shape": (5, s0)})
    t2 = g.add_node("convert", [t], {"dtype": dt.bfloat16})
    full = g.add_node("full", [], {"shape": (), "value": 1e-300, "dtype": dt.float64})
    idx = g.add_node("argsort", [t], {"dim": 1, "descending": True})
    g.outputs = [t2, full, idx]
    text = _fixpoint(g)
    assert "value=float('-inf')" in text and "value=float('nan')" in text
    assert "dtype=bf16" in text and "descending=True" in text and "shape=(5, s0)" in text
    assert "assert s0 >= 2" in text
    back = parse_graph(text)
    assert back.nodes[0].params["pads"] == ((1, -1), (0, 2))
    assert math.isnan(back.nodes[1].params["value"])
    assert back.nodes[2].params["shape"] == (5, s0)


def test_printed_form_is_deterministic_and_names_are_stable():
    def f(x, y):
        return (x * y).sum(0) + y.exp().mean()
    x, y = ember.randn(3, 4), ember.randn(3, 4)
    a = print_graph(ember.jit.trace(f, (x, y)).graph)
    b = print_graph(ember.jit.trace(f, (x, y)).graph)
    assert a == b
    assert a.splitlines()[0] == 'def f(x: "f32[3,4]", y: "f32[3,4]"):'
    assert '    t0: "f32[3,4]" = mul(x, y)  # test_text.py:' in a
    _fixpoint(ember.jit.trace(f, (x, y), dynamic=True).graph)


def test_parse_never_evaluates(monkeypatch):
    text = print_graph(ember.jit.trace(lambda x: x.relu() * 2, (ember.randn(2, 2),)).graph)

    def forbidden(*a, **k):
        raise AssertionError("the parser must not eval/exec")
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert print_graph(parse_graph(text)) == text


def test_input_names_that_clash_are_renamed_consistently():
    def f(f32, t0, s0):
        return f32 + t0 + s0
    g = ember.jit.trace(f, (ember.ones(2), ember.ones(2), ember.ones(2))).graph
    text = _fixpoint(g)
    assert text.startswith('def f(f32_: "f32[2]", t0: "f32[2]", s0_: "f32[2]"):')


@pytest.mark.parametrize("text, message", [
    ("x = 1\n", "exactly one function"),
    ('def f(x):\n    return (x,)\n', "needs a type annotation"),
    ('def f(x: "f33[2]"):\n    return (x,)\n', "bad type"),
    ('def f(x: "f32[2]"):\n    t0: "f32[2]" = frobnicate(x)\n    return (t0,)\n',
     "unknown primitive 'frobnicate'"),
    ('def f(x: "f32[2]"):\n    t0: "f32[2]" = neg(y)\n    return (t0,)\n',
     "'y' is used before it is defined"),
    ('def f(x: "f32[2]"):\n    t0: "f32[2]" = neg(x)\n    t0: "f32[2]" = neg(x)\n'
     '    return (t0,)\n', "assigned twice"),
    ('def f(x: "f32[2]"):\n    t0: "f32[2]" = neg(x)\n', "no return"),
    ('def f(x: "f32[2]"):\n    import os\n    return (x,)\n', "unexpected statement"),
    ('def f(x: "f32[2]"):\n    t0: "f32[2]" = neg(x, k=__import__("os"))\n    return (t0,)\n',
     "not a size expression"),
    ("def f(x: \"f32[2]\"):\n    return (x,\n", "line"),
])
def test_malformed_text_is_rejected(text, message):
    with pytest.raises(IRSyntaxError, match=message.replace("(", r"\(")):
        parse_graph(text)


def test_verifier_catches_a_wrong_recorded_type():
    text = ('def f(x: "f32[2,3]"):\n    t0: "f32[3,3]" = neg(x)\n    return (t0,)\n')
    with pytest.raises(ember.ir.VerifyError, match=r"recorded type f32\[3,3\] but its inputs give "
                                                   r"f32\[2,3\]"):
        verify(parse_graph(text))


def test_verifier_catches_ordering_params_and_symbols():
    g = Graph("bad")
    x = g.add_input(TensorMeta((2,), dt.float32), "x")
    y = g.add_node("neg", [x], {})
    g.outputs = [y]
    g.nodes[0].params["bogus"] = 1
    with pytest.raises(ember.ir.VerifyError, match="unknown params"):
        verify(g)
    del g.nodes[0].params["bogus"]
    z = g.add_node("neg", [y], {})
    g.nodes.reverse()  # z's node now runs before y is defined
    with pytest.raises(ember.ir.VerifyError, match="not defined before"):
        verify(g)
    g.nodes.reverse()
    g.guards.append(sym("s7") >= 2)
    with pytest.raises(ember.ir.VerifyError, match="unknown size symbols"):
        verify(g)
    g.guards.clear()
    g.outputs = [z]
    verify(g)
