"""Moving PyTorch's sample arguments into ember, and comparing results.

A torch sample (tensors nested in tuples, lists, dicts, with dtypes, devices, sizes and memory
formats among them) becomes the same structure of ember objects with identical values; leaf
tensors that require grad in torch require grad in ember too.  Results are flattened to a list of
leaves (tensors and Python scalars) on both sides and compared leaf by leaf.
"""
from __future__ import annotations

import numpy as np
import torch

import ember

# (rtol, atol) for forward values and for gradients, per dtype
FORWARD_TOL = {torch.float32: (1e-4, 1e-5), torch.float64: (1e-7, 1e-9)}
GRAD_TOL = {torch.float32: (1e-3, 1e-4), torch.float64: (1e-6, 1e-8)}

_DTYPES = {getattr(torch, n): getattr(ember, n) for n in (
    "float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
    "bool")}


class Unsupported(Exception):
    """A torch argument ember has no counterpart for (a complex tensor before complex dtypes)."""


def ember_dtype(d):
    try:
        return _DTYPES[d]
    except KeyError:
        raise Unsupported(f"dtype {d}") from None


def tensor_to_ember(t, leaves):
    """One torch tensor -> an ember tensor with the same values; `leaves` maps id -> pair."""
    if id(t) in leaves:
        return leaves[id(t)][1]
    d = ember_dtype(t.dtype)
    host = t.detach()
    if host.dtype is torch.bfloat16:
        arr = host.float().numpy().astype(d.np)
    else:
        arr = host.resolve_conj().resolve_neg().numpy().copy()
    e = ember.tensor(arr, dtype=d)
    if t.requires_grad and t.is_leaf:
        e.requires_grad_(True)
    elif t.requires_grad:  # a non-leaf (a view of a leaf): make it a leaf on both sides
        e.requires_grad_(True)
    leaves[id(t)] = (t, e)
    return e


def to_ember(obj, leaves):
    if isinstance(obj, torch.Tensor):
        return tensor_to_ember(obj, leaves)
    if isinstance(obj, torch.dtype):
        return ember_dtype(obj)
    if isinstance(obj, torch.device):
        return obj.type
    if isinstance(obj, torch.Size):
        return tuple(obj)
    if isinstance(obj, torch.memory_format):
        name = str(obj).split(".")[-1]
        if not hasattr(ember, name):
            raise Unsupported(f"memory format {name}")
        return getattr(ember, name)
    if isinstance(obj, torch.layout):
        name = str(obj).split(".")[-1]
        if not hasattr(ember, name):
            raise Unsupported(f"layout {name}")
        return getattr(ember, name)
    if isinstance(obj, torch.Generator):
        raise Unsupported("torch.Generator argument")
    if isinstance(obj, complex):
        raise Unsupported("complex scalar")
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_ember(v, leaves) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_ember(v, leaves) for v in obj)
    if isinstance(obj, dict):
        return {k: to_ember(v, leaves) for k, v in obj.items()}
    if isinstance(obj, slice):
        return slice(to_ember(obj.start, leaves), to_ember(obj.stop, leaves),
                     to_ember(obj.step, leaves))
    if callable(obj) and getattr(obj, "__module__", "") and "torch" in getattr(
            obj, "__module__", ""):
        raise Unsupported(f"torch callable argument {obj!r}")
    return obj


def by_unique_name(items, name_of):
    """{name: item}; a repeated name gets '#2', '#3' ... (a few database entries share one)."""
    out = {}
    for item in items:
        base = name_of(item)
        name, k = base, 2
        while name in out:
            name = f"{base}#{k}"
            k += 1
        out[name] = item
    return out


def flatten(obj):
    """Nested results -> a list of leaves (tensors, numbers, None, strings)."""
    if isinstance(obj, (list, tuple)):
        out = []
        for v in obj:
            out.extend(flatten(v))
        return out
    if isinstance(obj, dict):
        out = []
        for k in sorted(obj):
            out.extend(flatten(obj[k]))
        return out
    return [obj]


def same_torch(a, b):
    """Whether two torch results are identical (shapes, dtypes, values with NaN == NaN)."""
    la, lb = flatten(a), flatten(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
            if not torch.equal(x.detach(), y.detach()):
                if not (x.dtype.is_floating_point or x.dtype.is_complex):
                    return False
                xa, ya = _np(x), _np(y)
                if not np.array_equal(xa, ya, equal_nan=True):
                    return False
        elif type(x) is not type(y):
            return False
        elif not isinstance(x, torch.Tensor):
            try:
                if x != y and not (x != x and y != y):
                    return False
            except Exception:
                pass
    return True


def _np(x):
    if isinstance(x, ember.Tensor):
        a = x.detach()._data
        a = np.asarray(a)
        return a.astype(np.float32) if a.dtype == ember.bfloat16.np else a
    t = x.detach()
    if t.dtype in (torch.bfloat16,):
        t = t.float()
    return t.resolve_conj().resolve_neg().numpy()


def dtype_name(x):
    return str(x.dtype).split(".")[-1]


def compare(ember_out, torch_out, tol, what="output", check_dtype=True):
    """None if the two results agree, else a short reason."""
    e_leaves, t_leaves = flatten(ember_out), flatten(torch_out)
    if len(e_leaves) != len(t_leaves):
        return f"{what}: {len(e_leaves)} results, torch has {len(t_leaves)}"
    for i, (e, t) in enumerate(zip(e_leaves, t_leaves)):
        where = f"{what}[{i}]" if len(t_leaves) > 1 else what
        if isinstance(t, torch.Tensor):
            if not isinstance(e, ember.Tensor):
                return f"{where}: got {type(e).__name__}, torch gives a tensor"
            if tuple(e.shape) != tuple(t.shape):
                return f"{where}: shape {tuple(e.shape)}, torch {tuple(t.shape)}"
            if check_dtype and dtype_name(e) != dtype_name(t):
                return f"{where}: dtype {dtype_name(e)}, torch {dtype_name(t)}"
            if tol[0] == np.inf:   # shapes and dtypes only (random ops)
                continue
            a, b = _np(e), _np(t)
            if a.dtype.kind in "biu" and b.dtype.kind in "biu":
                if not np.array_equal(a, b):
                    return f"{where}: values differ"
                continue
            rtol, atol = tol
            a = a.astype(np.float64)
            b = b.astype(np.float64)
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
                diff = np.abs(a - b)[bad]
                return (f"{where}: values differ at {int(bad.sum())} of {a.size} "
                        f"(max abs diff {np.nanmax(diff) if diff.size else 'nan'})")
        elif isinstance(t, (bool, int, float)) or t is None or isinstance(t, str):
            ev = e.item() if isinstance(e, ember.Tensor) and e.numel() == 1 else e
            if isinstance(t, float) and isinstance(ev, (int, float)):
                if not np.isclose(ev, t, rtol=tol[0], atol=tol[1], equal_nan=True):
                    return f"{where}: {ev} != torch {t}"
            elif ev != t and not (isinstance(ev, (list, tuple)) and list(ev) == list(t or [])):
                return f"{where}: {ev!r} != torch {t!r}"
        elif isinstance(t, torch.dtype):
            if e != ember_dtype(t):
                return f"{where}: {e} != torch {t}"
    return None
