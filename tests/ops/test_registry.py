"""The registry self-test: every primitive carries all of its rules and is bound by at least one
row of the sample table (forward under the checking tracer, or in a recorded backward pass)."""
from __future__ import annotations

import pytest

import ember
from ember.frontend.dispatch import STATE
from ember.ops import REGISTRY
from tests.ops import harness as H
from tests.ops.samples import SAMPLES

FAMILIES = {"elementwise", "reduce", "movement", "linalg", "index", "source", "conv", "special",
            "loss", "complex", "fft"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_primitive_has_every_rule(name):
    prim = REGISTRY[name]
    assert prim.name == name
    assert prim.family in FAMILIES, f"{name}: unknown family {prim.family!r}"
    assert callable(prim.infer), f"{name}: no infer rule"
    assert callable(prim.numpy), f"{name}: no numpy rule"
    if prim.differentiable:
        assert callable(prim.vjp), f"{name}: differentiable but no vjp rule"
    else:
        assert prim.vjp is None, f"{name}: declared non-differentiable but has a vjp"
    assert isinstance(prim.triton, str) and prim.triton, f"{name}: no triton template"
    assert isinstance(prim.params, tuple)
    assert all(isinstance(p, str) for p in prim.params)
    if prim.is_view:
        assert prim.family == "movement", f"{name}: a view outside the movement family"


def _bound_by_samples():
    seen = set()
    for s in SAMPLES:
        arrays = s.cast_inputs(s.dtypes[0])
        with H.CheckingTracer() as tracer:
            H.run(s, ember, arrays)
        seen |= tracer.seen
        if s.grad:  # primitives only a backward pass binds (e.g. conv_weight, slice_scatter)
            prev = STATE.record_hook
            STATE.record_hook = lambda prim, *a, **k: seen.add(prim.name)
            try:
                leaves, out = H.run(s, ember, arrays, requires_grad=True)
                outs = [o for o in H.flat_tensors(out) if o.requires_grad]
                wrt = [leaf for leaf in leaves if leaf.requires_grad]
                ember.autograd.grad(outs, wrt, [ember.ones_like(o) for o in outs],
                                    allow_unused=True)
            finally:
                STATE.record_hook = prev
    return seen


def test_every_primitive_has_a_sample():
    seen = _bound_by_samples()
    missing = sorted(set(REGISTRY) - seen)
    assert not missing, f"primitives no sample binds: {missing} (add rows to tests/ops/samples.py)"


def test_define_rejects_duplicates_and_missing_vjp():
    from ember.ops.registry import define
    with pytest.raises(ValueError, match="defined twice"):
        define("add", family="elementwise", infer=None, numpy=None, vjp=lambda *a: a)
    with pytest.raises(ValueError, match="no vjp rule"):
        define("__test_no_vjp", family="elementwise", infer=None, numpy=None)
    assert "__test_no_vjp" not in REGISTRY


def test_docs_ops_table_is_current():
    from pathlib import Path
    from ember.ops import listing
    text = (Path(__file__).resolve().parents[2] / "docs" / "ops.md").read_text()
    start = text.index(listing.BEGIN) + len(listing.BEGIN)
    assert text[start:text.index(listing.END)].strip() == listing.table().strip(), \
        "docs/ops.md is stale: run `python -m ember.ops.listing --write`"
