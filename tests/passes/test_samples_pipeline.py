"""Every row of the op sample table goes through every pass (each verified after it runs) and the
NumPy backend; the generated module and the interpreter on the optimized graph both equal eager.
Float rows with gradients also go through the autodiff pass, checked against eager autograd."""
import numpy as np
import pytest

import ember
from ember.codegen.numpy_backend import CompiledModule, generate
from ember.jit import TraceError, trace
from ember.ir.interpret import Interpreter
from ember.frontend.trace import flatten
from ember.passes import run_pipeline
from ember.passes.autodiff import autodiff
from tests.helpers import all_inputs, assert_close

samples = pytest.importorskip("tests.ops.samples")
SAMPLES = samples.SAMPLES


def _fresh(arrays):
    return [ember.tensor(np.array(a, copy=True)) for a in arrays]


def _traced(sample, grad=False):
    arrays = sample.cast_inputs(sample.dtypes[0])
    ember.manual_seed(0)
    eager_in = _fresh(arrays)
    try:
        expected = sample.call(eager_in, ember)
    except Exception:
        pytest.skip("the sample raises eagerly (an error-case row)")
    ember.manual_seed(0)
    try:
        with ember.no_grad():
            program = trace(lambda *ts: sample.call(ts, ember), _fresh(arrays))
    except TraceError:
        pytest.skip("data-dependent row (a graph break)")
    return arrays, eager_in, expected, program


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_pipeline_and_codegen_equal_eager(sample):
    arrays, eager_in, expected, program = _traced(sample)
    graph = program.graph
    seeds = [n.params["seed"] for n in graph.nodes if "seed" in n.prim.params]
    res = run_pipeline(graph, keep_stages=False)          # verifies after every pass
    g = res.graph
    kept_seeds = [n.params["seed"] for n in g.nodes if "seed" in n.prim.params]
    assert all(s in seeds for s in kept_seeds)
    run_in = _fresh(arrays)
    ins = all_inputs(program, run_in)
    outs, muts = Interpreter(g).run([np.array(a, copy=True) for a in ins])
    mod = CompiledModule(generate(g))
    code_ins = [np.array(a, copy=True) for a in ins]
    code_outs = mod.run(code_ins, kept_seeds)
    leaves, _ = flatten(expected)
    assert len(outs) == len(code_outs) == len(leaves)
    for o, c, e in zip(outs, code_outs, leaves):
        assert_close(ember.tensor(np.asarray(o)), e, msg=sample.name + " (interpreter)")
        assert_close(ember.tensor(np.asarray(c)), e, msg=sample.name + " (numpy codegen)")
    # writes into inputs land in the arrays passed to the generated module
    for k, v in enumerate(g.inputs):
        if v in g.mutations and v.kind == "input":
            pos = [w for w in g.inputs if w.kind == "input"].index(v)
            assert_close(ember.tensor(code_ins[k]), eager_in[pos], msg=sample.name + " (mutation)")


GRAD_SAMPLES = [s for s in SAMPLES if s.grad and s.dtypes[0] in ("float32", "float64")]


@pytest.mark.parametrize("sample", GRAD_SAMPLES, ids=[s.name for s in GRAD_SAMPLES])
def test_autodiff_pass_equals_eager_autograd(sample):
    arrays = sample.cast_inputs(sample.dtypes[0])
    float_pos = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    if not float_pos:
        pytest.skip("no float inputs")
    ember.manual_seed(0)
    leaves_in = _fresh(arrays)
    for i in float_pos:
        leaves_in[i].requires_grad_(True)
    try:
        out = sample.call(leaves_in, ember)
        outs, _ = flatten(out)
        outs = [o for o in outs if o.requires_grad and o.dtype.is_floating_point]
        if not outs:
            pytest.skip("no differentiable output")
        total = sum((o * (k + 1.0)).sum() for k, o in enumerate(outs))
        total.backward()
    except Exception:
        pytest.skip("the sample raises eagerly")
    ember.manual_seed(0)
    try:
        with ember.no_grad():
            program = trace(lambda *ts: _weighted(sample, ts), _fresh(arrays))
    except TraceError:
        pytest.skip("data-dependent row")
    g = program.graph
    user = [v for v in g.inputs if v.kind == "input"]
    wrt = [user[i] for i in float_pos]
    autodiff(g, wrt=wrt, outputs=g.outputs[:1])
    run = Interpreter(g).run(all_inputs(program, _fresh(arrays)))[0]
    grads = run[1:]
    for i, gv in zip(float_pos, grads):
        exp = leaves_in[i].grad
        if exp is None:
            exp = ember.zeros_like(leaves_in[i])
        assert_close(ember.tensor(np.asarray(gv)), exp, rtol=1e-4, atol=1e-4,
                     msg=f"{sample.name} grad {i}")


def _weighted(sample, ts):
    out = sample.call(ts, ember)
    outs, _ = flatten(out)
    outs = [o for o in outs if o.dtype.is_floating_point]
    return sum((o * (k + 1.0)).sum() for k, o in enumerate(outs))
