"""Linear algebra: batched matmul.  Operands have equal rank (>= 2) and equal batch dims; the
frontend handles 1-d operands and batch broadcasting."""
from __future__ import annotations

import numpy as np

from .registry import Meta, define, fail


def _infer_matmul(a, b):
    if len(a.shape) < 2 or len(a.shape) != len(b.shape):
        fail("matmul", "operands must have equal rank >= 2 (the frontend must reshape first)", a, b)
    if tuple(a.shape[:-2]) != tuple(b.shape[:-2]):
        fail("matmul", "batch dims differ (the frontend must expand first)", a, b)
    if a.shape[-1] != b.shape[-2]:
        m, k = a.shape[-2], a.shape[-1]
        k2, n = b.shape[-2], b.shape[-1]
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    if a.dtype is not b.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.name} != {b.dtype.name}")
    return Meta(tuple(a.shape[:-1]) + (b.shape[-1],), a.dtype)


def _matmul_vjp(g, out, a, b):
    return g.matmul(b.transpose(-1, -2)), a.transpose(-1, -2).matmul(g)


def _matmul_np(a, b):
    out = np.matmul(a, b)
    # ml_dtypes' bfloat16 matmul accumulates and returns float32; PyTorch returns bfloat16
    return out if out.dtype == a.dtype else out.astype(a.dtype)


MATMUL = define("matmul", family="linalg", infer=_infer_matmul, numpy=_matmul_np, vjp=_matmul_vjp,
                triton="matmul")
MATMUL.needs_input = lambda i, requires: requires[1 - i]  # a is read only for b's gradient
