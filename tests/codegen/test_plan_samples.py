"""Every op-table sample: the NumPy module's CPU kernels are exactly the kernel plan's groups (that
the CPU backend can run), and, for a shard of the samples, the kernels compiled and launched
equal eager within docs/compile.md's tolerances."""
import numpy as np
import pytest

import ember
from ember.codegen import cpu_kernels
from ember.codegen.numpy_backend import CompiledModule, generate
from ember.frontend.trace import flatten
from ember.passes import run_pipeline
from tests.helpers import all_inputs, assert_close
from tests.passes.test_samples_pipeline import _fresh, _traced

samples = pytest.importorskip("tests.ops.samples")
SAMPLES = samples.SAMPLES
SHARD = 23           # every SHARD-th sample with a kernel group also runs its kernels


def _planned(sample):
    try:
        arrays, _, expected, program = _traced(sample)
    except pytest.skip.Exception:
        return None
    graph = run_pipeline(program.graph, keep_stages=False).graph
    return arrays, expected, program, graph


def test_every_sample_module_has_exactly_the_plans_kernels(monkeypatch):
    monkeypatch.setattr(cpu_kernels, "MIN_ELEMENTS", 0)
    checked = 0
    for sample in SAMPLES:
        got = _planned(sample)
        if got is None:
            continue
        graph = got[3]
        expected = tuple(f"k{g.id}" for g in graph.fusion.kernels
                         if cpu_kernels.why_not(g) is None)
        mod = CompiledModule(generate(graph))
        assert tuple(k.name for k in mod.kernels) == expected, sample.name
        ids = [g.id for g in graph.fusion.kernels]
        assert ids == list(range(len(ids))), sample.name     # contiguous, in execution order
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("k", range(4))
def test_a_shard_of_samples_runs_its_kernels_within_tolerance(monkeypatch, k):
    pytest.importorskip("numba")
    monkeypatch.setattr(cpu_kernels, "MIN_ELEMENTS", 0)
    monkeypatch.setenv("EMBER_KERNELS_SYNC", "1")
    monkeypatch.setenv("EMBER_NATIVE", "1")
    with_kernels = 0
    ran = 0
    for sample in SAMPLES:
        if sample.dtypes[0] not in ("float32", "float64"):
            continue
        got = _planned(sample)
        if got is None:
            continue
        arrays, expected, program, graph = got
        if not any(cpu_kernels.why_not(g) is None for g in graph.fusion.kernels):
            continue
        with_kernels += 1
        if with_kernels % (SHARD * 4) != k * SHARD:
            continue
        mod = CompiledModule(generate(graph))
        seeds = [n.params["seed"] for n in graph.nodes if "seed" in n.prim.params]
        ins = [np.array(a, copy=True) for a in all_inputs(program, _fresh(arrays))]
        outs = mod.run(ins, seeds)
        assert mod.native_error is None, (sample.name, mod.native_error)
        assert all(kk.launches == 1 for kk in mod.kernels), sample.name
        leaves, _ = flatten(expected)
        rtol, atol = (1e-5, 1e-6) if sample.dtypes[0] == "float32" else (1e-12, 1e-13)
        for o, e in zip(outs, leaves):
            assert_close(ember.tensor(np.asarray(o)), e, rtol=rtol, atol=atol,
                         msg=sample.name)
        ran += 1
    assert ran >= 1
