"""Every row of the sample table: values (vs PyTorch and NumPy), gradients (vs PyTorch and by
central differences in float64), and primitive infer rules (vs the eager results)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import need_torch
from tests.ops import harness as H
from tests.ops.samples import SAMPLES

CASES = [pytest.param(s, d, id=f"{s.name}-{d}") for s in SAMPLES for d in s.dtypes]
GRAD_CASES = [pytest.param(s, s.dtypes[0], id=f"{s.name}-{s.dtypes[0]}")
              for s in SAMPLES if s.grad]
FD_CASES = [pytest.param(s, id=s.name) for s in SAMPLES if s.fd]


def _torch_out(sample, arrays):
    torch = need_torch()
    _, out = H.run(sample, torch, arrays)
    return out


@pytest.mark.parametrize("sample,dtype", CASES)
def test_values(sample, dtype):
    arrays = sample.cast_inputs(dtype)
    _, out = H.run(sample, ember, arrays)
    if sample.ref is not None:
        expect = sample.ref(*arrays)
        H.close(out, expect, dtype, sample.tol, "numpy reference")
    H.compare(out, _torch_out(sample, arrays), sample.tol)


@pytest.mark.parametrize("sample,dtype", CASES)
def test_values_recorded_path_and_infer(sample, dtype):
    """Under a checking tracer every op binds its primitives (explicit expand/convert), and each
    primitive's infer rule must agree with what the eager NumPy rule produced."""
    arrays = sample.cast_inputs(dtype)
    with H.CheckingTracer() as tracer:
        _, out = H.run(sample, ember, arrays)
    assert not tracer.errors, "\n".join(tracer.errors)
    H.compare(out, _torch_out(sample, arrays), sample.tol)


def _grads(lib, sample, arrays, gs=None):
    leaves, out = H.run(sample, lib, arrays, requires_grad=True)
    outs = H.flat_tensors(out)
    diff = [o for o in outs if o.requires_grad]
    wrt = [leaf for leaf in leaves if leaf.requires_grad]
    if gs is None:
        gs = H.upstream(diff)
    g_t = [_as(lib, g, o) for g, o in zip(gs, diff)]
    grads = lib.autograd.grad(diff, wrt, g_t, allow_unused=True) if diff else [None] * len(wrt)
    return outs, [o.requires_grad for o in outs], grads, wrt, gs


def _as(lib, g, like):
    if lib is ember:
        return ember.tensor(g).to(like.dtype)
    return lib.from_numpy(g).to(like.dtype)


@pytest.mark.parametrize("sample,dtype", GRAD_CASES)
def test_grads_vs_torch(sample, dtype):
    torch = need_torch()
    arrays = sample.cast_inputs(dtype)
    t_outs, t_flags, t_grads, t_wrt, gs = _grads(torch, sample, arrays)
    assert any(t_flags), "sample is marked differentiable but no torch output requires grad"
    e_outs, e_flags, e_grads, e_wrt, _ = _grads(ember, sample, arrays, gs)
    assert e_flags == t_flags, f"requires_grad of outputs {e_flags} != torch's {t_flags}"
    for i, (eo, to) in enumerate(zip(e_outs, t_outs)):   # the recorded path's values
        H.compare(eo, to, sample.tol, f"out[{i}] with grad")
    for i, (ge, gt, leaf) in enumerate(zip(e_grads, t_grads, t_wrt)):
        if gt is None:
            gt = torch.zeros_like(leaf)
        assert ge is not None, f"grad of input {i} is None; torch has one"
        H.compare(ge, gt, sample.grad_tol or sample.tol, f"grad[{i}]")


@pytest.mark.parametrize("sample", FD_CASES)
def test_grads_finite_differences(sample):
    arrays = sample.cast_inputs("float64")
    outs, flags, grads, wrt, gs = _grads(ember, sample, arrays)
    diff_idx = [i for i, f in enumerate(flags) if f]
    assert diff_idx, "sample is marked differentiable but no output requires grad"
    layouts = sample.layouts()
    storages = [H.storage_for(a, lay) for a, lay in zip(arrays, layouts)]
    float_pos = [i for i, s in enumerate(storages) if H.is_float_array(s)]
    eps = 1e-6

    def loss(stor):
        with ember.no_grad():
            inputs = [H.view_of(ember.tensor(s.copy()), lay, a.ndim)
                      for s, lay, a in zip(stor, layouts, arrays)]
            outs_ = H.flat_tensors(sample.call(inputs, ember))
        return sum(float((o._data.astype(np.float64) * g).sum())
                   for o, g in zip([outs_[i] for i in diff_idx], gs))

    for k, i in enumerate(float_pos):
        analytic = np.zeros(storages[i].shape) if grads[k] is None else grads[k]._data
        numeric = np.zeros(storages[i].shape)
        for idx in np.ndindex(storages[i].shape):
            plus = [s.copy() for s in storages]
            minus = [s.copy() for s in storages]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"input {i}: analytic vs central differences")


def _second_order(lib, sample, arrays, gs):
    """d/dx of sum_i <grad_i(x), v_i> with fixed v_i: a double backward through every vjp."""
    leaves, out = H.run(sample, lib, arrays, requires_grad=True)
    diff = [o for o in H.flat_tensors(out) if o.requires_grad]
    wrt = [leaf for leaf in leaves if leaf.requires_grad]
    g_t = [_as(lib, g, o) for g, o in zip(gs, diff)]
    firsts = lib.autograd.grad(diff, wrt, g_t, create_graph=True, allow_unused=True)
    vs = H.upstream(wrt, seed=1)
    terms = [(f * _as(lib, v, f)).sum() for f, v in zip(firsts, vs)
             if f is not None and f.requires_grad]
    if not terms:  # the first-order gradients are constants: the second order is zero
        return [None] * len(wrt)
    return list(lib.autograd.grad(sum(terms), wrt, allow_unused=True))


@pytest.mark.parametrize("sample", FD_CASES)
def test_second_order_grads_vs_torch(sample):
    """Every vjp is written with ember ops, so differentiating the backward pass again must agree
    with PyTorch's double backward (float64, same upstream vectors)."""
    torch = need_torch()
    arrays = sample.cast_inputs("float64")
    if not sample.gg:
        pytest.skip("double backward not exact for this row (see the row's comment)")
    _, _, _, t_wrt, gs = _grads(torch, sample, arrays)
    t_second = _second_order(torch, sample, arrays, gs)
    e_second = _second_order(ember, sample, arrays, gs)
    assert len(e_second) == len(t_second)
    for i, (ge, gt, leaf) in enumerate(zip(e_second, t_second, t_wrt)):
        if gt is None or gt._is_zerotensor():
            gt = torch.zeros(leaf.shape, dtype=torch.float64)
        if ge is None:
            ge = ember.zeros(*gt.shape, dtype=ember.float64)
        H.compare(ge, gt, (1e-6, 1e-8), f"second-order grad[{i}]")
