"""The op sample table through the frontend on "cuda": each row's outputs and input gradients
with CUDA tensors (the row's own views: transposed and stepped layouts) equal the same row on the
CPU, and a row that raises on the CPU raises the same error type on CUDA.

Rows whose values depend on random numbers are compared by shape and dtype only (the CUDA
generator's numbers differ from the CPU generator's by design, as in PyTorch)."""
import numpy as np
import pytest

import ember
from tests.ops import harness as H
from tests.ops.samples import SAMPLES

CASES = [pytest.param(s, id=s.name) for s in SAMPLES]


def build(sample, arrays, device, requires_grad):
    leaves, inputs = [], []
    for a, lay in zip(arrays, sample.layouts()):
        leaf = ember.tensor(np.array(H.storage_for(a, lay), copy=True), device=device)
        if requires_grad and H.is_float_array(a):
            leaf.requires_grad_(True)
        leaves.append(leaf)
        inputs.append(H.view_of(leaf, lay, a.ndim))
    return leaves, inputs


def run(sample, arrays, device, requires_grad, seed=0):
    ember.manual_seed(seed)
    ember.cuda.manual_seed(seed)
    leaves, inputs = build(sample, arrays, device, requires_grad)
    outs = H.flat_tensors(sample.call(inputs, ember))
    grads = []
    if requires_grad:
        diff = [o for o in outs if o.requires_grad]
        wrt = [leaf for leaf in leaves if leaf.requires_grad]
        if diff and wrt:
            gs = [ember.tensor(g, device=device).to(o.dtype) for g, o in zip(H.upstream(diff),
                                                                                 diff)]
            grads = ember.autograd.grad(diff, wrt, gs, allow_unused=True)
    return outs, grads


def host(ts):
    return [None if t is None else t.detach().cpu().numpy() for t in ts]


@pytest.mark.parametrize("sample", CASES)
def test_sample_on_cuda_equals_cpu(cuda_rt, sample):
    if not sample.gpu:
        pytest.skip("host-only row (complex values or LAPACK factors)")
    arrays = sample.cast_inputs(sample.dtypes[0])
    grad = sample.grad
    try:
        cpu_outs, cpu_grads = run(sample, arrays, "cpu", grad)
    except Exception as e:           # an error-case row: the same error type on CUDA
        with pytest.raises(type(e)):
            run(sample, arrays, "cuda", grad)
        return
    outs, grads = run(sample, arrays, "cuda", grad)
    # results follow the inputs' device (creation rows take no tensor to follow; to_cpu moves,
    # and ember.tensor([...0-d CUDA tensors...]) is a CPU tensor, as in PyTorch)
    if arrays and sample.name not in ("to_cpu", "tensor_of_0d_tensors"):
        assert [o.device.type for o in outs] == ["cuda"] * len(outs)
    assert all(g is None or g.is_cuda for g in grads)
    again, _ = run(sample, arrays, "cpu", False, seed=1)
    random = any(not np.array_equal(a, b, equal_nan=True)
                 for a, b in zip(host(cpu_outs), host(again)))
    rtol, atol = H.tolerance(sample.dtypes[0], sample.tol)
    rtol, atol = max(rtol, 1e-5), max(atol, 1e-6)
    for got, want in zip(outs, cpu_outs):
        assert got.dtype is want.dtype and got.shape == want.shape
    if random:
        return
    for got, want in zip(host(outs), host(cpu_outs)):
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol, atol)
    assert [g is None for g in grads] == [g is None for g in cpu_grads]
    for got, want in zip(host(grads), host(cpu_grads)):
        if got is not None:
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                       rtol * 10, atol * 10)
