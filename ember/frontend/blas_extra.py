"""addmv, addbmm, addr, vdot (BLAS-style composites of matmul), and the smaller leftovers
frexp, unique_consecutive, renorm, nonzero_static, empty_permuted, histogram."""
from __future__ import annotations

import collections

import numpy as np

from .. import dtypes as dt
from .functional import abs, sum, to_dtype, where
from .linalg import bmm, dot, matmul, outer
from .tensor import Tensor, _dim

__all__ = ["addmv", "addbmm", "addr", "vdot", "frexp", "unique_consecutive", "renorm",
           "nonzero_static", "empty_permuted", "histogram"]


def _plus_scaled(prod_, input, beta, alpha):
    """beta * input + alpha * prod_, where beta == 0 ignores input (even NaN), as BLAS does."""
    if not (isinstance(alpha, (int, float)) and alpha == 1):
        prod_ = prod_ * alpha
    if isinstance(beta, (int, float)) and beta == 0:
        return prod_ + where(input != input, 0, input) * 0  # keeps the shape and the graph
    return prod_ + (input if isinstance(beta, (int, float)) and beta == 1 else input * beta)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _plus_scaled(matmul(mat, vec), input, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _plus_scaled(sum(bmm(batch1, batch2), 0), input, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    if input.dtype is dt.bool_:  # bool addr is logical: (beta and input) or (alpha and v1 v2^T)
        o = outer(vec1, vec2)
        return (input & bool(beta)) | (o & bool(alpha))
    return _plus_scaled(outer(vec1, vec2), input, beta, alpha)


def vdot(input, other):
    return dot(input, other)  # real tensors: no conjugation


_Frexp = collections.namedtuple("return_types_frexp", ["mantissa", "exponent"])


def frexp(input):
    from .creation import tensor
    if input.dtype.category != dt.FLOAT:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    _, e = np.frexp(np.asarray(input._host()))
    exponent = tensor(e.astype(np.int32), device=input.device)
    # mantissa = x * 2^-e with e a constant: exact (a power of two), and differentiable
    scale = tensor(np.ldexp(np.ones_like(e, dtype=input.dtype.np), -e), device=input.device)
    return _Frexp(input * scale, exponent)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    from .creation import tensor
    a = np.asarray(input._host())
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            keep = np.zeros(0, bool)
        else:
            keep = np.concatenate([[True], flat[1:] != flat[:-1]])
        values = flat[keep]
        group = np.cumsum(keep) - 1
        inverse = group.reshape(a.shape)
    else:
        d = _dim(dim, a.ndim)
        moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        keep = np.concatenate([[True], (moved[1:] != moved[:-1]).any(1)]) if len(moved) else \
            np.zeros(0, bool)
        values = np.moveaxis(np.compress(keep, a, axis=d), d, d)
        group = np.cumsum(keep) - 1
        inverse = group
    counts = np.bincount(group, minlength=int(keep.sum())) if keep.size else np.zeros(0, np.int64)
    out = [tensor(values, dtype=input.dtype, device=input.device)]
    if return_inverse:
        out.append(tensor(inverse.astype(np.int64), device=input.device))
    if return_counts:
        out.append(tensor(counts.astype(np.int64), device=input.device))
    return out[0] if len(out) == 1 else tuple(out)


def renorm(input, p, dim, maxnorm):
    """Each slice along dim scaled down to p-norm <= maxnorm (torch.renorm)."""
    from .reductions import norm
    d = _dim(dim, input.ndim)
    others = [i for i in range(input.ndim) if i != d]
    n = norm(input, p, others, keepdim=True) if others else abs(input)
    scale = where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)
    return input * to_dtype(scale, input.dtype)


def nonzero_static(input, *, size, fill_value=-1):
    from .creation import tensor
    idx = np.argwhere(np.asarray(input._host())) if input.ndim else \
        np.zeros((int(bool(input.item())), 0), np.int64)
    out = np.full((size, input.ndim), fill_value, np.int64)
    k = min(size, len(idx))
    out[:k] = idx[:k]
    return tensor(out, device=input.device)


def empty_permuted(size, physical_layout, *, dtype=None, device=None, requires_grad=False,
                   layout=None, pin_memory=False):
    from .creation import empty
    return empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


_Hist = collections.namedtuple("return_types_histogram", ["hist", "bin_edges"])


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    from .creation import tensor
    a = np.asarray(input._host(), np.float64).reshape(-1)
    b = np.asarray(bins._host(), np.float64) if isinstance(bins, Tensor) else bins
    w = None if weight is None else np.asarray(weight._host(), np.float64).reshape(-1)
    if range is None and not isinstance(b, np.ndarray) and a.size:
        range = (a.min(), a.max())
    hist, edges = np.histogram(a, bins=b, range=range, weights=w, density=density)
    return _Hist(tensor(hist.astype(input.dtype.np), device=input.device),
                 tensor(edges.astype(input.dtype.np), device=input.device))
