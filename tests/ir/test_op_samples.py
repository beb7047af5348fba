"""Every row of the op sample table, traced: the traced program (run by the reference interpreter)
equals eager ember, and its printed IR parses back to the same text and verifies."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ir import parse_graph, print_graph, verify
from ember.jit import TraceError, trace
from ember.frontend.trace import flatten
from tests.helpers import all_inputs, assert_close

samples = pytest.importorskip("tests.ops.samples")
SAMPLES = samples.SAMPLES


def _fresh(arrays):
    return [ember.tensor(np.array(a, copy=True)) for a in arrays]


def _leaves(out):
    leaves, spec = flatten(out)
    return leaves, spec


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_trace_equals_eager(sample):
    arrays = sample.cast_inputs(sample.dtypes[0])
    ember.manual_seed(0)
    eager_in = _fresh(arrays)
    try:
        expected = sample.call(eager_in, ember)
    except Exception:
        pytest.skip("the sample raises eagerly (an error-case row)")
    ember.manual_seed(0)
    traced_in = _fresh(arrays)

    def fn(*ts):
        return sample.call(ts, ember)
    try:
        program = trace(fn, traced_in)
    except TraceError as e:
        # data-dependent rows (nonzero, item, ...) must say where and what to do instead
        assert "test_op_samples.py" in str(e) or "samples.py" in str(e), str(e)
        return
    text = print_graph(program.graph)
    assert print_graph(verify(parse_graph(text))) == text
    # the program re-runs with the seeds recorded at trace time, like the eager run above
    run_in = _fresh(arrays)
    outs, muts = program._interp.run(all_inputs(program, run_in))
    exp_leaves, exp_spec = _leaves(expected)
    assert len(outs) == len(exp_leaves)
    for o, e in zip(outs, exp_leaves):
        assert_close(ember.tensor(o), e, msg=sample.name)
    # in-place writes into inputs are program mutations with the eager values
    by_input = {v: i for i, v in enumerate(v for v in program.graph.inputs if v.kind == "input")}
    for v, new in muts.items():
        if v.kind == "input":
            assert_close(ember.tensor(new), eager_in[by_input[v]], msg=sample.name + " (mutation)")
