"""Every row of the op sample table (with its strided "T"/"step" layouts), run primitive by
primitive through the eager GPU executor (``ember.codegen.triton.gpu_eager.run``) on FakeRuntime device
arrays (host memory, kernels through the Triton interpreter), equals the reference interpreter
(the NumPy rules).

Each traced node is one eager call: views become device views, the rest one-node Triton modules
(or the host fallback), so every primitive the table binds is checked on the device path with the
sample's params, dtypes and the strided views the frontend feeds it."""
import numpy as np
import pytest

import ember
from ember.codegen.triton import concretize
from ember.jit import TraceError, trace
from ember.ir.interpret import bind_symbols
from ember.runtime import cuda as rt
from ember.codegen.triton import gpu_eager

from tests.ops.harness import storage_for, view_of

from tests.codegen_triton.util import all_inputs, check

samples = pytest.importorskip("tests.ops.samples")
SAMPLES = samples.SAMPLES
CASES = [(s, d) for s in SAMPLES for d in s.dtypes]


@pytest.fixture(scope="module", autouse=True)
def fake_gpu(gpu_module):
    return gpu_module


def run_eager_on_device(graph, arrays):
    """The graph's outputs and mutated values, each node run by gpu_eager on device arrays."""
    env = {v: rt.DeviceArray.from_host(a) for v, a in zip(graph.inputs, arrays)}
    for n in graph.nodes:
        env[n.out] = gpu_eager.run(n.prim, [env[v] for v in n.inputs], dict(n.params), device=0)
    outs = [env[v].to_host() for v in graph.outputs]
    muts = {k: env[v].to_host() for k, v in graph.mutations.items()}
    return outs, muts


@pytest.mark.parametrize("sample,dtype", CASES, ids=[f"{s.name}-{d}" for s, d in CASES])
def test_sample_on_device_equals_reference(sample, dtype):
    if not sample.gpu:
        pytest.skip("host-only row (complex values or LAPACK factors)")
    arrays = sample.cast_inputs(dtype)
    ember.manual_seed(0)
    try:
        sample.call([ember.tensor(np.array(a, copy=True)) for a in arrays], ember)
    except Exception:
        pytest.skip("the sample raises eagerly (an error-case row)")
    # rows with a layout ("T", "step") see strided views of their storage: the traced view nodes
    # hand the device executor non-contiguous inputs
    layouts = sample.layouts()
    storages = [storage_for(a, lay) for a, lay in zip(arrays, layouts)]

    def fn(*ts):
        return sample.call([view_of(t, lay, a.ndim) for t, lay, a in zip(ts, layouts, arrays)],
                           ember)
    ember.manual_seed(0)
    inputs = [ember.tensor(np.array(a, copy=True)) for a in storages]
    try:
        program = trace(fn, inputs)
    except TraceError:
        pytest.skip("data-dependent row")
    run = all_inputs(program, [ember.tensor(np.array(a, copy=True)) for a in storages])
    ref, ref_muts = program._interp.run(run)
    graph = concretize(program.graph, bind_symbols(program.graph, run))
    failures = len(gpu_eager.FAILURES)
    outs, muts = run_eager_on_device(graph, [np.array(a, copy=True) for a in run])
    assert gpu_eager.FAILURES[failures:] == []     # every kernel generated and compiled
    check(outs, ref)
    assert len(muts) == len(ref_muts)
    check(list(muts.values()), list(ref_muts.values()))
