"""One check for library functions against PyTorch: ``check(fn, *arrays)`` runs ``fn(lib, *tensors)``
on ember and on torch with identical inputs and compares

* the outputs (values, dtypes, shapes; tuples elementwise);
* the input gradients for a fixed random upstream gradient (``grad=True``);
* the gradients against central differences in float64 (``fd=True``).

Complex inputs and outputs follow PyTorch's convention: for an upstream gradient G of a complex
output y the loss is sum(Re(conj(G) y)), and a complex input's gradient is dL/dRe + i dL/dIm.

``fn`` should return what is sign- or basis-invariant when the decomposition is not unique (for
example ``|V|`` of eigenvectors), so values and gradients are comparable.
"""
from __future__ import annotations

import numpy as np

import ember
from tests.helpers import TOL, need_torch, to_numpy


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out] if hasattr(out, "shape") and hasattr(out, "dtype") else []


def _leaves(lib, arrays, dtype, grad):
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f" and dtype is not None:
            a = a.astype(dtype)
        if a.dtype.kind == "c" and dtype is not None:
            a = a.astype(np.complex64 if dtype == "float32" else np.complex128)
        t = ember.tensor(a.copy()) if lib is ember else lib.from_numpy(a.copy())
        if grad and a.dtype.kind in "fc":
            t.requires_grad_(True)
        out.append(t)
    return out


def _dtype_name(d):
    return str(d).replace("torch.", "").replace("ember.", "")


def compare(e, t, dtype, tol=None, what="out"):
    rtol, atol = tol or TOL.get(dtype, (1e-4, 1e-5))
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{what}: {e!r} vs {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            compare(a, b, dtype, tol, f"{what}[{i}]")
        return
    if not hasattr(t, "dtype"):
        assert e == t, f"{what}: {e!r} != torch's {t!r}"
        return
    assert _dtype_name(e.dtype) == _dtype_name(t.dtype), f"{what}: dtype {e.dtype} vs {t.dtype}"
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
    if hasattr(t, "resolve_conj"):   # (torch's lazy conjugate / negative bits)
        t = t.resolve_conj().resolve_neg()
    np.testing.assert_allclose(to_numpy(e), to_numpy(t), rtol=rtol, atol=atol, err_msg=what,
                               equal_nan=True)


def check(fn, *arrays, dtypes=("float32", "float64"), grad=True, fd=True, tol=None,
          grad_tol=None, seed=0):
    torch = need_torch()
    for dtype in dtypes:
        e_in = _leaves(ember, arrays, dtype, grad)
        t_in = _leaves(torch, arrays, dtype, grad)
        e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
        compare(e_out, t_out, dtype, tol)
        if not grad:
            continue
        t_flat = [o for o in _flat(t_out) if o.requires_grad]
        e_flat = [o for o in _flat(e_out) if o.requires_grad]
        assert len(e_flat) == len(t_flat), "differentiable outputs differ from torch's"
        rng = np.random.RandomState(seed)
        gs = [np.asarray(rng.standard_normal(tuple(o.shape)) + (
            1j * rng.standard_normal(tuple(o.shape)) if o.is_complex() else 0)) for o in t_flat]
        wrt_t = [t for t in t_in if t.requires_grad]
        wrt_e = [t for t in e_in if t.requires_grad]
        t_g = torch.autograd.grad(t_flat, wrt_t, [torch.from_numpy(g).to(o.dtype)
                                                 for g, o in zip(gs, t_flat)], allow_unused=True)
        e_g = ember.autograd.grad(e_flat, wrt_e, [ember.tensor(g).to(o.dtype)
                                                 for g, o in zip(gs, e_flat)], allow_unused=True)
        for i, (a, b) in enumerate(zip(e_g, t_g)):
            if b is None:
                b = torch.zeros_like(wrt_t[i])
            assert a is not None, f"grad[{i}] is None; torch has one"
            compare(a, b, dtype, grad_tol or tol, f"grad[{i}] ({dtype})")
        if fd and dtype == "float64":
            idx = [i for i, o in enumerate(_flat(e_out)) if o.requires_grad]
            _finite_differences(fn, arrays, e_g, gs, idx)


def _finite_differences(fn, arrays, grads, gs, diff_idx, eps=1e-6):
    arrays = [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else
              np.asarray(a, np.complex128) if np.asarray(a).dtype.kind == "c" else np.asarray(a)
              for a in arrays]
    float_pos = [i for i, a in enumerate(arrays) if a.dtype.kind in "fc"]

    def loss(arrs):
        with ember.no_grad():
            flat = _flat(fn(ember, *[ember.tensor(a) for a in arrs]))
            outs = [flat[i] for i in diff_idx]
        return sum(float((o._data * np.conj(g)).real.sum()) for o, g in zip(outs, gs))

    for k, i in enumerate(float_pos):
        numeric = np.zeros(arrays[i].shape, arrays[i].dtype)
        steps = (eps, 1j * eps) if arrays[i].dtype.kind == "c" else (eps,)
        for idx in np.ndindex(arrays[i].shape):
            for step in steps:   # dL/dRe (+ i dL/dIm for a complex input)
                plus = [a.copy() for a in arrays]
                minus = [a.copy() for a in arrays]
                plus[i][idx] += step
                minus[i][idx] -= step
                numeric[idx] += (loss(plus) - loss(minus)) / (2 * eps) * (step / eps)
        analytic = np.zeros(arrays[i].shape) if grads[k] is None else grads[k]._data
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"input {i}: analytic vs central differences")
