"""The registry self-test for scalar rules: every pointwise primitive has one, every renderer spells
every vocabulary op it uses, and the rule (rendered for NumPy) computes what the primitive's NumPy
reference computes, for every dtype the primitive accepts."""
import numpy as np
import pytest

import ember
from ember import dtypes as dt
from ember.codegen import scalar_render
from ember.codegen.triton.lowering import TRITON_VOCAB
from ember.ops.registry import REGISTRY, Meta, ShapeError
from ember.ops.scalar import VOCAB, ops_used, rule_expr

# primitives that may still lack a scalar rule (must only shrink; empty means every one has it)
NO_RULE_YET = frozenset()

POINTWISE = sorted(p.name for p in REGISTRY.values() if p.family == "elementwise")
DTYPES = (dt.float32, dt.float64, dt.float16, dt.bfloat16, dt.int32, dt.int64, dt.uint8, dt.bool_)


def _arity(prim):
    import inspect
    return len([p for p in inspect.signature(prim.infer).parameters.values()
                if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
                and p.name not in prim.params])


def _cases(prim):
    """(input dtypes, params) for every dtype the primitive's infer rule accepts."""
    n = _arity(prim)
    out = []
    for d in DTYPES:
        ins = [d] * n
        if prim.name == "where":
            ins = [dt.bool_, d, d]
        for params in ([{"dtype": t} for t in (dt.float32, dt.int32, dt.bool_)]
                       if prim.name == "convert" else [{}]):
            try:
                meta = prim.infer(*[Meta((3,), x) for x in ins], **params)
            except ShapeError:
                continue
            out.append((ins, params, meta.dtype))
    return out


def test_every_pointwise_primitive_has_a_scalar_rule():
    lacking = {n for n in POINTWISE if REGISTRY[n].scalar is None}
    assert lacking <= NO_RULE_YET, f"pointwise primitives without a scalar rule: {lacking - NO_RULE_YET}"
    assert not (NO_RULE_YET - lacking), "remove these from NO_RULE_YET: they have a rule now"


@pytest.mark.parametrize("table", ["numpy", "kernel", "triton"])
def test_every_renderer_spells_the_whole_vocabulary(table):
    ops = {"numpy": scalar_render.NUMPY_VOCAB, "kernel": scalar_render.KERNEL_VOCAB,
           "triton": TRITON_VOCAB}[table]
    assert set(VOCAB) - ops == set()


def _values(d, n, rng):
    if d is dt.bool_:
        return [rng.random(64) > 0.5 for _ in range(n)]
    if not d.is_floating_point:
        info = np.iinfo(d.np)
        lo, hi = max(info.min, -20), min(info.max, 20)
        return [rng.integers(lo, hi, 64).astype(d.np) for _ in range(n)]
    xs = []
    for _ in range(n):
        x = rng.standard_normal(64) * 3
        x[:6] = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5]
        xs.append(x.astype(d.np))
    return xs


@pytest.mark.parametrize("name", [n for n in POINTWISE if n not in NO_RULE_YET])
def test_rule_rendered_for_numpy_equals_the_reference(name):
    prim = REGISTRY[name]
    rng = np.random.default_rng(0)
    cases = _cases(prim)
    assert cases, f"{name}: accepts none of the tested dtypes"
    for ins, params, out_dtype in cases:
        expr = rule_expr(prim, ins, out_dtype, params)
        assert {op for op, _ in ops_used(expr)} <= set(VOCAB)
        arrays = _values(ins[0] if name != "where" else ins[1], len(ins), rng)
        if name == "where":
            arrays[0] = rng.random(64) > 0.5
        if name in ("floor_divide", "remainder", "fmod") and not ins[0].is_floating_point:
            arrays[1] = np.where(arrays[1] == 0, 3, arrays[1]).astype(arrays[1].dtype)
        if name == "pow" and not ins[0].is_floating_point and ins[0] is not dt.bool_:
            arrays[1] = np.abs(arrays[1]) % 5 if ins[0] is dt.uint8 else arrays[1] % 5 - 1
        text, _ = scalar_render.numpy_expr(expr, lambda k: f"x{k}")
        ns = {"np": np, "NAN": float("nan"), "INF": float("inf")}
        exec(scalar_render.NUMPY_PRELUDE, ns)     # the helpers a generated module imports
        ns.update({f"DT_{d.short}": d for d in dt.ALL})
        ns.update({f"x{k}": a for k, a in enumerate(arrays)})
        with np.errstate(all="ignore"):
            try:
                ref = np.asarray(prim.numpy(*arrays, **params))
            except TypeError:
                continue        # NumPy refuses this dtype (bool subtraction): nothing to match
            if ref.dtype != out_dtype.np:
                continue        # the reference is not dtype-strict here; the frontend converts
            got = np.asarray(eval(text, ns))
        assert got.dtype == ref.dtype == out_dtype.np, (name, ins, text)
        if out_dtype.is_floating_point:
            tol = 1e-2 if out_dtype in (dt.float16, dt.bfloat16) else 1e-6
            np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=tol,
                                       atol=tol, equal_nan=True, err_msg=f"{name} {ins}: {text}")
        else:
            np.testing.assert_array_equal(got, ref, err_msg=f"{name} {ins}: {text}")


def test_rule_of_sigmoid_does_not_overflow_to_nan():
    x = ember.tensor(np.array([-1000.0, 0.0, 1000.0], np.float32))
    f = ember.compile(lambda t: t.sigmoid())
    np.testing.assert_array_equal(f(x).numpy(), [0.0, 0.5, 1.0])
