"""Shared test helpers: conversion between ember and PyTorch, and closeness checks.

PyTorch is the test oracle where it is installed (the `test` extra); tests that need it use
`torch = need_torch()` and are skipped otherwise.  ember itself never imports torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember

TOL = {  # (rtol, atol) per dtype for comparisons against a reference
    "float64": (1e-7, 1e-9),
    "float32": (1e-4, 1e-5),
    "float16": (1e-2, 1e-3),
    "bfloat16": (2e-2, 2e-2),
}


def need_torch():
    return pytest.importorskip("torch")


def to_numpy(x):
    """ember tensor, torch tensor, or array -> NumPy array (float64 for low-precision floats)."""
    if isinstance(x, ember.Tensor):
        a = x.detach()._data
    elif hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        a = t.numpy()
    else:
        a = np.asarray(x)
    if a.dtype == ember.bfloat16.np:
        a = a.astype(np.float32)
    return a


def to_torch(x, requires_grad=None):
    torch = need_torch()
    a = x.detach()._data if isinstance(x, ember.Tensor) else np.asarray(x)
    if a.dtype == ember.bfloat16.np:
        t = torch.from_numpy(a.astype(np.float32).copy()).to(torch.bfloat16)
    else:
        t = torch.from_numpy(np.array(a, copy=True))
    if requires_grad if requires_grad is not None else (
            isinstance(x, ember.Tensor) and x.requires_grad):
        t.requires_grad_(True)
    return t


def to_ember(x, requires_grad=None):
    a = to_numpy(x) if not isinstance(x, np.ndarray) else x
    t = ember.tensor(np.array(a, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def assert_close(actual, expected, rtol=None, atol=None, dtype=None, msg=""):
    """Values (and dtype names, when both sides are tensors) match within per-dtype tolerances."""
    a, e = to_numpy(actual), to_numpy(expected)
    name = dtype or (actual.dtype.name if isinstance(actual, ember.Tensor) else str(a.dtype))
    r, t = TOL.get(name, (0, 0))
    rtol = r if rtol is None else rtol
    atol = t if atol is None else atol
    assert a.shape == e.shape, f"{msg} shape {a.shape} != {e.shape}"
    if a.dtype.kind in "biu" or e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=msg)
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=msg)


def all_inputs(program, user):
    """The arrays a traced Program's interpreter runs on: the user tensors' arrays in order, with
    the program's param/buffer/constant state arrays where the graph takes them."""
    it = iter(user)
    out = []
    for v in program.graph.inputs:
        if v.kind == "input":
            out.append(next(it)._data)
        else:
            out.append(program.state[v.target if v.kind in ("param", "buffer") else v.name]._data)
    return out
