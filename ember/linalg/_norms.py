"""Norms and spectral quantities: vector_norm, matrix_norm, norm, cond, matrix_rank."""
from __future__ import annotations

import math

from .. import dtypes as dt
from ..ops import linalg_decomp as D
from ._common import bind, check_float, check_matrix, check_tensor

_INF = math.inf


def _dims(x, dim):
    nd = max(x.ndim, 1)
    if dim is None:
        return tuple(range(x.ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = tuple(sorted({d % nd for d in dim}))
    if len(out) != len(dim):
        raise RuntimeError("linalg.vector_norm: dim must not contain repeated values")
    return out


def _ord(ord):
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, got '{ord}'")
    return float(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    check_tensor("linalg.vector_norm", x, "input")
    if dtype is not None:
        x = x.to(dt.to_dtype(dtype))
    if x.dtype.category != dt.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dt.legacy_name(x.dtype)}")
    dims = _dims(x, dim)
    p = _ord(ord)
    if (p < 0 or p == _INF) and x.ndim:
        for d in dims or range(x.ndim):
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty "
                                   "tensor because the operation does not have an identity")
    if x.ndim == 0:
        x1 = x.reshape(1)
        out = bind(D.VECTOR_NORM, x1, ord=p, dims=(0,))
        return out.reshape(())
    out = bind(D.VECTOR_NORM, x, ord=p, dims=dims)
    if not keepdim:
        out = out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in dims))
    return out


def _matrix_dims(A, dim):
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = dim[0] % A.ndim, dim[1] % A.ndim
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _to_back(A, d0, d1):
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    return A.permute(*(rest + [d0, d1]))


def _keep(out, d0, d1, keepdim):
    if not keepdim:
        return out
    for d in sorted((d0, d1)):
        out = out.unsqueeze(d)
    return out


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    check_tensor("linalg.matrix_norm", A)
    check_matrix("linalg.matrix_norm", A)
    if dtype is not None:
        A = A.to(dt.to_dtype(dtype))
    check_float("linalg.matrix_norm", A)
    d0, d1 = _matrix_dims(A, tuple(dim))
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        from ._decompositions import svdvals
        s = svdvals(_to_back(A, d0, d1))
        if ord == "nuc":
            out = s.sum(-1)
        else:
            out = s.amax(-1) if ord == 2 else s.amin(-1)
        return _keep(out, d0, d1, keepdim)
    if ord in (1, -1, _INF, -_INF):
        # 1: max column sum (sum over rows d0, then extreme over d1); inf: max row sum
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(inner, keepdim=True)
        out = sums.amax(outer, keepdim=True) if ord > 0 else sums.amin(outer, keepdim=True)
        if not keepdim:
            out = out.squeeze(max(d0, d1)).squeeze(min(d0, d1))
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    check_tensor("linalg.norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is not None and dim is None and A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if ord is not None and dim is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def cond(A, p=None):
    check_tensor("linalg.cond", A)
    check_matrix("linalg.cond", A)
    check_float("linalg.cond", A)
    if p is None or p in (2, -2):
        from ._decompositions import svdvals
        s = svdvals(A)
        hi, lo = s.amax(-1), s.amin(-1)
        return hi / lo if p in (None, 2) else lo / hi
    check_matrix("linalg.cond", A, square=True)
    from ._solvers import inv
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    check_tensor("linalg.matrix_rank", A)
    check_matrix("linalg.matrix_rank", A)
    check_float("linalg.matrix_rank", A)
    from ..frontend.autograd import no_grad
    from ._decompositions import eigvalsh, svdvals
    from ._solvers import _tolerance
    if tol is not None:
        atol, rtol = tol, 0.0
    with no_grad():
        s = eigvalsh(A).abs() if hermitian else svdvals(A)
        if hermitian:
            s = s.sort(-1, descending=True).values
        t = _tolerance(A, s, atol, rtol)
        return (s > t).sum(-1)
