"""Compiled programs on CUDA device arrays (FakeRuntime + the Triton interpreter): results equal
the NumPy path, the planned intermediates are ONE arena allocation per program made at the first
call and reused afterwards (no per-call allocation but the returned outputs), and mutated inputs
are written in place on the device."""
import numpy as np
import pytest

import ember
from ember.codegen.triton.compile_backend import TritonModule
from ember.jit import trace
from ember.runtime import cuda as rt

from .conftest import fake_only


@pytest.fixture
def fake_gpu(gpu):
    return gpu


def sgd_step(w, b, x, y):
    """A linear-regression step with hand-written gradients: several reductions, a matmul chain
    and in-place parameter updates (intermediates that need planned buffers)."""
    pred = x @ w + b
    err = pred - y
    loss = (err * err).mean()
    gw = x.t() @ err * (2.0 / err.numel())
    gb = err.sum(0) * (2.0 / err.numel())
    w.sub_(gw * 0.1)
    b.sub_(gb * 0.1)
    return loss, (ember.nn.functional.softmax(pred, -1) * err).sum()


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in [(8, 4), (4,), (16, 8), (16, 4)]]


def test_device_program_equals_numpy_and_uses_one_arena(fake_gpu):
    host = make_inputs()
    program = trace(sgd_step, [ember.tensor(a.copy()) for a in host])
    module = TritonModule(program.graph)

    # reference: the same module on NumPy arrays (the interpreter path), two steps
    ref_arrays = [a.copy() for a in host]
    ref = [module.run(ref_arrays) for _ in range(2)]
    # and eager ember on the CPU agrees with it
    eager = [ember.tensor(a.copy()) for a in host]
    for r in ref:
        got = sgd_step(*eager)
        np.testing.assert_allclose(r[0], got[0].numpy(), rtol=1e-5)
        np.testing.assert_allclose(r[1], got[1].numpy(), rtol=1e-5, atol=1e-6)

    dev_arrays = [rt.DeviceArray.from_host(a) for a in host]
    alloc = fake_gpu.allocator(0)
    compiled = module.program.specialize(dev_arrays)
    arena_bytes = compiled.arena_bytes
    assert arena_bytes > 0 and arena_bytes % 256 == 0
    base_bytes = alloc.stats["allocated_bytes"]["all"].current

    outs1 = module.run(dev_arrays)
    arena = compiled.arenas[0][1]
    assert arena.nbytes == arena_bytes
    counts1 = alloc.stats["allocation"]["all"].allocated
    outs2 = module.run(dev_arrays)
    counts2 = alloc.stats["allocation"]["all"].allocated
    assert compiled.arenas[0][1] is arena                   # the same arena, not a new one
    assert counts2 - counts1 == len(outs2)                   # only the outputs are allocated
    for got, want in zip(outs2, ref[1]):
        assert isinstance(got, rt.DeviceArray)
        np.testing.assert_allclose(got.to_host(), want, rtol=1e-5, atol=1e-6)
    for got, want in zip(outs1, ref[0]):
        np.testing.assert_allclose(got.to_host(), want, rtol=1e-5, atol=1e-6)
    for d, h in zip(dev_arrays, ref_arrays):                 # w and b updated in place, twice
        np.testing.assert_allclose(d.to_host(), h, rtol=1e-5, atol=1e-6)
    assert not np.allclose(dev_arrays[0].to_host(), host[0])

    # what stays allocated between calls: the arena (plus the outputs the caller holds)
    held = sum(o.buffer.block.size for o in outs1 + outs2)
    now = alloc.stats["allocated_bytes"]["all"].current
    assert now - base_bytes == arena.buffer.block.size + held
    del outs1, outs2, got
    assert alloc.stats["allocated_bytes"]["all"].current - base_bytes == arena.buffer.block.size


def test_arena_offsets_are_aligned_and_buffers_do_not_overlap(fake_gpu):
    host = make_inputs(1)
    program = trace(sgd_step, [ember.tensor(a.copy()) for a in host])
    module = TritonModule(program.graph)
    dev_arrays = [rt.DeviceArray.from_host(a) for a in host]
    src = module.program.source(dev_arrays)
    spans = []
    for line in src.splitlines():
        if "rt.bytes_at(arena," in line:
            off, n = (int(v) for v in line.split("rt.bytes_at(arena,")[1].rstrip(")").split(","))
            assert off % 256 == 0
            spans.append((off, off + n))
    assert spans
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert "ARENA_BYTES = " in src and "# holds an output" in src


@fake_only
def test_numpy_path_allocates_one_arena_per_call():
    """On NumPy arrays the same module makes its arena per call (nothing persists between calls:
    outputs never alias it)."""
    host = make_inputs(2)
    program = trace(sgd_step, [ember.tensor(a.copy()) for a in host])
    module = TritonModule(program.graph)
    a1 = [a.copy() for a in host]
    o1 = module.run(a1)
    o2 = module.run(a1)
    assert not np.shares_memory(o1[0], o2[0])
    assert np.isfinite(o2[0]).all()
