import numpy as np

from ember.codegen.triton import TritonProgram
from ember.jit import trace
from tests.helpers import all_inputs  # noqa: F401  (re-exported to the tests here)


def run_both(fn, inputs, options=None):
    """Trace fn on ember tensors; run the graph with the reference interpreter and with Triton.
    Returns (triton outputs, reference outputs, the TritonProgram, the arrays)."""
    program = trace(fn, inputs)
    arrays = all_inputs(program, inputs)
    ref, ref_muts = program._interp.run(arrays)
    tp = TritonProgram(program.graph, options)
    outs, muts = tp.run(arrays)
    return outs, ref, tp, arrays


def kernel_count(tp, arrays):
    return tp.source(arrays).count("@triton.jit\ndef k")


def check(outs, ref, rtol=None, atol=None):
    from tests.helpers import assert_close
    import ember
    assert len(outs) == len(ref)
    for o, r in zip(outs, ref):
        assert o.shape == r.shape and o.dtype == r.dtype, (o.shape, r.shape, o.dtype, r.dtype)
        assert_close(ember.tensor(np.array(o)), ember.tensor(np.array(r)), rtol=rtol, atol=atol)
