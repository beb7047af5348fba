"""Every row of the op sample table, traced and run through the Triton backend (interpreter),
equals the reference interpreter (the NumPy rules)."""
import numpy as np
import pytest

import ember
from ember.codegen.triton import TritonProgram
from ember.jit import TraceError, trace

from .util import all_inputs, check

samples = pytest.importorskip("tests.ops.samples")
SAMPLES = samples.SAMPLES


CASES = [(s, d) for s in SAMPLES for d in s.dtypes]


@pytest.mark.parametrize("sample,dtype", CASES, ids=[f"{s.name}-{d}" for s, d in CASES])
def test_sample_equals_reference(sample, dtype):
    if not sample.gpu:
        pytest.skip("host-only row (complex values or LAPACK factors)")
    arrays = sample.cast_inputs(dtype)
    ember.manual_seed(0)
    try:
        sample.call([ember.tensor(np.array(a, copy=True)) for a in arrays], ember)
    except Exception:
        pytest.skip("the sample raises eagerly (an error-case row)")
    ember.manual_seed(0)
    inputs = [ember.tensor(np.array(a, copy=True)) for a in arrays]
    try:
        program = trace(lambda *ts: sample.call(ts, ember), inputs)
    except TraceError:
        pytest.skip("data-dependent row")
    run = all_inputs(program, [ember.tensor(np.array(a, copy=True)) for a in arrays])
    ref, ref_muts = program._interp.run(run)
    outs, muts = TritonProgram(program.graph).run(
        all_inputs(program, [ember.tensor(np.array(a, copy=True)) for a in arrays]))
    check(outs, ref)
    assert set(muts) == set(ref_muts)
    check([muts[k] for k in ref_muts], list(ref_muts.values()))
