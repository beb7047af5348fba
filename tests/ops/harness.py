"""Running a sample on ember and on torch with identical inputs, and comparing what comes out."""
from __future__ import annotations

import math

import numpy as np

import ember
from ember.frontend import dispatch, inplace
from ember.frontend.dispatch import STATE
from ember.ops.registry import Meta
from tests.helpers import TOL, to_numpy


def _poison(a):
    return np.full_like(a, True if a.dtype == bool else 7)


def storage_for(a, layout):
    """The storage array whose `layout` view has the logical values `a`."""
    if layout == "T" and a.ndim >= 2:
        return np.ascontiguousarray(np.swapaxes(a, -1, -2))
    if layout == "step" and a.ndim >= 1:
        s = np.concatenate([a[:, None], _poison(a)[:, None]], axis=1)
        return s.reshape((2 * a.shape[0],) + a.shape[1:])
    return a


def view_of(t, layout, ndim):
    if layout == "T" and ndim >= 2:
        return t.transpose(-1, -2)
    if layout == "step" and ndim >= 1:
        return t[::2]
    return t


def make_leaf(lib, storage, requires_grad):
    if lib is ember:
        t = ember.tensor(np.array(storage, copy=True))
    else:
        from tests.helpers import to_torch
        t = to_torch(storage, requires_grad=False)
    if requires_grad and storage.dtype.kind == "f" or (
            requires_grad and storage.dtype == ember.bfloat16.np):
        t.requires_grad_(True)
    return t


def is_float_array(a):
    return a.dtype.kind == "f" or a.dtype == ember.bfloat16.np


def build(lib, arrays, layouts, requires_grad=False):
    """(leaves, inputs): leaves own the storage (they get .grad); inputs are the views fn sees."""
    leaves, inputs = [], []
    for a, lay in zip(arrays, layouts):
        leaf = make_leaf(lib, storage_for(a, lay), requires_grad)
        leaves.append(leaf)
        inputs.append(view_of(leaf, lay, a.ndim))
    return leaves, inputs


def run(sample, lib, arrays, requires_grad=False):
    leaves, inputs = build(lib, arrays, sample.layouts(), requires_grad)
    return leaves, sample.call(inputs, lib)


# --- comparing outputs ----------------------------------------------------------------------------
def is_tensor(x):
    return isinstance(x, ember.Tensor) or type(x).__name__ in ("Tensor", "Parameter")


def flat_tensors(out):
    if is_tensor(out):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat_tensors(o)]
    return []


def dtype_name(d):
    return str(d).replace("torch.", "").replace("ember.", "")


def tolerance(dtype, tol=None):
    rtol, atol = TOL.get(dtype, (0, 0))
    if tol is not None:
        rtol, atol = max(rtol, tol[0]), max(atol, tol[1])
    return rtol, atol


def compare(actual, expected, tol=None, path="out"):
    """ember output vs torch output: same structure, dtypes, shapes, values."""
    if is_tensor(expected):
        assert isinstance(actual, ember.Tensor), f"{path}: expected a Tensor, got {type(actual)}"
        want = dtype_name(expected.dtype)
        assert actual.dtype.name == want, f"{path}: dtype {actual.dtype.name} != torch's {want}"
        assert tuple(actual.shape) == tuple(expected.shape), \
            f"{path}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}"
        close(actual, expected, want, tol, path)
        return
    if isinstance(expected, (tuple, list)) and not type(expected).__name__ == "Size":
        assert isinstance(actual, (tuple, list)), f"{path}: expected a sequence, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        fields = getattr(type(expected), "_fields", None)
        if fields is not None and type(expected).__module__ != "builtins":
            assert getattr(type(actual), "_fields", None) == fields, \
                f"{path}: expected a named tuple with fields {fields}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            compare(a, e, tol, f"{path}[{i}]")
        return
    if type(expected).__name__ == "Size":
        assert tuple(actual) == tuple(expected), f"{path}: {actual} != {expected}"
        return
    if type(expected).__name__ == "dtype":
        assert dtype_name(actual) == dtype_name(expected), f"{path}: {actual} != {expected}"
        return
    if isinstance(expected, (bool, int, float)):
        assert type(actual) is type(expected), \
            f"{path}: {type(actual).__name__} {actual!r} != {type(expected).__name__} {expected!r}"
        if isinstance(expected, float):
            assert actual == expected or math.isclose(actual, expected, rel_tol=1e-6,
                                                      abs_tol=1e-7) or (
                math.isnan(actual) and math.isnan(expected)), f"{path}: {actual} != {expected}"
        else:
            assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        return
    if isinstance(expected, str):
        assert actual == expected.replace("torch.", "ember."), f"{path}: {actual!r} != {expected!r}"
        return
    if expected is None:
        assert actual is None, f"{path}: expected None, got {actual!r}"
        return
    raise AssertionError(f"{path}: don't know how to compare {type(expected)}")


def close(actual, expected, dtype, tol=None, path="out"):
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{path}: shape {a.shape} != {e.shape}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=path)
        return
    rtol, atol = tolerance(dtype, tol)
    np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True, err_msg=path)


def upstream(outs, seed=0):
    """The same upstream gradient for each output, on both sides (float64 arrays)."""
    rng = np.random.RandomState(seed)
    return [rng.uniform(-1, 1, size=tuple(o.shape)) for o in outs]


# --- a tracer that checks infer rules while running eagerly --------------------------------------
class CheckingTracer:
    """Installed as STATE.tracer: every op then takes its recorded path (explicit expand/convert
    primitives), and each bind checks the primitive's infer rule against the eager result."""

    def __init__(self):
        self.seen = set()
        self.errors = []

    def bind(self, prim, args, params):
        metas = [Meta(tuple(a.shape), a.dtype) for a in args]
        want = prim.infer(*metas, **params)
        STATE.tracer = None
        try:
            out = dispatch.bind(prim, *args, **params)
        finally:
            STATE.tracer = self
        self.seen.add(prim.name)
        got = (tuple(out.shape), out.dtype)
        if (tuple(want.shape), want.dtype) != got:
            self.errors.append(f"{prim.name}{params}: infer says {tuple(want.shape)} "
                               f"{want.dtype}, eager gave {got[0]} {got[1]}")
        return out

    def write(self, target, result):
        STATE.tracer = None
        try:
            inplace.write(target, result)
        finally:
            STATE.tracer = self

    def __enter__(self):
        self._prev = STATE.tracer
        STATE.tracer = self
        return self

    def __exit__(self, *exc):
        STATE.tracer = self._prev
        return False
