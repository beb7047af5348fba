"""Run an ember module and a PyTorch module with identical weights and inputs; compare outputs,
input gradients and parameter gradients."""
from __future__ import annotations

import numpy as np

import ember
from tests.helpers import assert_close, need_torch, to_torch


def copy_weights(ember_mod, torch_mod):
    """Load the ember module's parameters and buffers into the torch module (same key names)."""
    torch = need_torch()
    sd = {k: torch.from_numpy(np.array(v._data, copy=True)) for k, v in
          ember_mod.state_dict().items()}
    torch_mod.load_state_dict(sd)


def run_both(ember_fn, torch_fn, *arrays, grad=True, int_inputs=(), rtol=None, atol=None,
             ember_params=(), torch_params=()):
    """Call both functions on the same inputs, backprop a fixed random cotangent, and compare the
    output, the gradient of every float input and of every listed parameter."""
    torch = need_torch()
    e_in, t_in = [], []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        needs = grad and a.dtype.kind == "f" and i not in int_inputs
        e = ember.tensor(a.copy())
        t = torch.from_numpy(a.copy())
        if needs:
            e.requires_grad_(True)
            t.requires_grad_(True)
        e_in.append(e)
        t_in.append(t)
    e_out = ember_fn(*e_in)
    t_out = torch_fn(*t_in)
    assert_close(e_out, t_out, rtol=rtol, atol=atol, msg="forward")
    if not grad or not t_out.requires_grad:
        return e_out, t_out
    cot = np.random.default_rng(7).standard_normal(tuple(t_out.shape)).astype(
        t_out.detach().numpy().dtype)
    e_out.backward(ember.tensor(cot))
    t_out.backward(torch.from_numpy(cot))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.requires_grad and t.grad is None:
            assert e.grad is None or not e.grad.numpy().any(), f"input {i}: torch has no grad"
        elif t.requires_grad:
            assert e.grad is not None, f"input {i} got no gradient"
            assert_close(e.grad, t.grad, rtol=rtol, atol=atol, msg=f"grad of input {i}")
    for (name, p), tp in zip(ember_params, torch_params):
        if tp.grad is None:
            assert p.grad is None or np.allclose(p.grad._data, 0), name
            continue
        assert p.grad is not None, f"parameter {name} got no gradient"
        assert_close(p.grad, tp.grad, rtol=rtol, atol=atol, msg=f"grad of {name}")
    return e_out, t_out


def check_module(ember_mod, torch_mod, *arrays, rtol=None, atol=None, int_inputs=(), grad=True):
    copy_weights(ember_mod, torch_mod)
    e_params = list(ember_mod.named_parameters())
    t_params = dict(torch_mod.named_parameters())
    return run_both(ember_mod, torch_mod, *arrays, grad=grad, int_inputs=int_inputs, rtol=rtol,
                    atol=atol, ember_params=e_params,
                    torch_params=[t_params[n] for n, _ in e_params])


def numeric_grad_check(fn, *arrays, eps=1e-6, tol=1e-5):
    """Finite differences in float64 against ember's backward, for a scalar-valued fn."""
    inputs = [ember.tensor(np.asarray(a, np.float64).copy(), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    out.backward()
    for x, a in zip(inputs, arrays):
        a = np.asarray(a, np.float64)
        num = np.zeros_like(a)
        flat = num.reshape(-1)
        for j in range(a.size):
            plus, minus = a.copy().reshape(-1), a.copy().reshape(-1)
            plus[j] += eps
            minus[j] -= eps
            args_p = [ember.tensor(plus.reshape(a.shape)) if y is x else ember.tensor(
                np.asarray(b, np.float64)) for y, b in zip(inputs, arrays)]
            args_m = [ember.tensor(minus.reshape(a.shape)) if y is x else ember.tensor(
                np.asarray(b, np.float64)) for y, b in zip(inputs, arrays)]
            flat[j] = (fn(*args_p).item() - fn(*args_m).item()) / (2 * eps)
        np.testing.assert_allclose(x.grad._data, num, rtol=tol, atol=tol)
