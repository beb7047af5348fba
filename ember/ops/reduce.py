"""Reductions.  Every reduction keeps its reduced dims (size 1); the frontend drops them for
keepdim=False.  ``dims`` is a sorted tuple of non-negative axes."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .registry import Meta, define, fail


def _infer_reduce(op, out_dtype=None, allow_empty=True):
    def infer(x, dims):
        nd = len(x.shape)
        for d in dims:
            if not 0 <= d < nd:
                fail(op, f"dim {d} out of range for a tensor of rank {nd}", x)
        if not allow_empty:
            for d in dims:
                if x.shape[d] == 0:
                    fail(op, "Expected reduction dim to have non-zero size; the reduced dimension "
                             f"{d} is empty", x)
        shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape))
        return Meta(shape, out_dtype or x.dtype)
    return infer


def _sum_vjp(g, out, x, dims):
    return (g.expand(tuple(x.shape)),)


_LOW_PRECISION = (np.dtype(np.float16), dt.bfloat16.np)


def _sum_np(x, dims):
    # ufunc.reduce skips np.sum's Python wrapper (a microsecond per call); half-precision inputs
    # accumulate in float32 like PyTorch's
    if x.dtype in _LOW_PRECISION:
        return np.add.reduce(x, axis=dims, keepdims=True, dtype=np.float32).astype(x.dtype)
    return np.add.reduce(x, axis=dims, keepdims=True, dtype=x.dtype)


SUM = define("sum", family="reduce", infer=_infer_reduce("sum"), numpy=_sum_np,
             vjp=_sum_vjp, triton="sum", saves_inputs=False, params=("dims",))


def _prod_vjp(g, out, x, dims):
    # grad_i = prod_{j != i} x_j, computed without dividing by zero
    is_zero = x == 0
    nonzero = x.where(~is_zero, 1.0)
    prod_nonzero = PROD(nonzero, dims=dims).expand(tuple(x.shape))
    zeros = is_zero.to(x.dtype).sum(dims, keepdim=True).expand(tuple(x.shape))
    outx = out.expand(tuple(x.shape))
    at_zero = prod_nonzero.where(zeros == 1, 0.0)
    grad = at_zero.where(is_zero, outx / nonzero)
    return (g.expand(tuple(x.shape)) * grad,)


PROD = define("prod", family="reduce", infer=_infer_reduce("prod"),
              numpy=lambda x, dims: np.prod(x, axis=dims, keepdims=True, dtype=x.dtype),
              vjp=_prod_vjp, triton="prod", saves_output=True, params=("dims",))


def _amax_vjp(g, out, x, dims):
    # the gradient is shared evenly between tied maxima, like torch.amax
    hit = (x == out.expand(tuple(x.shape))).to(g.dtype)
    count = hit.sum(dims, keepdim=True)
    return ((g / count).expand(tuple(x.shape)) * hit,)


AMAX = define("amax", family="reduce", infer=_infer_reduce("amax", allow_empty=False),
              numpy=lambda x, dims: np.maximum.reduce(x, axis=dims, keepdims=True),
              vjp=_amax_vjp, triton="max", saves_output=True, params=("dims",))
AMIN = define("amin", family="reduce", infer=_infer_reduce("amin", allow_empty=False),
              numpy=lambda x, dims: np.minimum.reduce(x, axis=dims, keepdims=True),
              vjp=_amax_vjp, triton="min", saves_output=True, params=("dims",))


def _infer_arg(op):
    def infer(x, dim):
        if not 0 <= dim < max(len(x.shape), 1):
            fail(op, f"dim {dim} out of range", x)
        if len(x.shape) and x.shape[dim] == 0:
            fail(op, "Expected reduction dim to have non-zero size", x)
        shape = tuple(1 if i == dim else s for i, s in enumerate(x.shape))
        return Meta(shape, dt.int64)
    return infer


def _argext(np_fn):
    def f(x, dim):
        if x.ndim == 0:
            return np.zeros((), np.int64)
        if x.dtype.kind == "f" and np.isnan(x).any():
            # NaN wins, like PyTorch: argmax/argmin of a NaN-containing row is its first NaN
            nan = np.isnan(x)
            base = np_fn(x, axis=dim, keepdims=True)
            first_nan = np.argmax(nan, axis=dim, keepdims=True)
            return np.where(nan.any(axis=dim, keepdims=True), first_nan, base).astype(np.int64)
        return np_fn(x, axis=dim, keepdims=True).astype(np.int64, copy=False)
    return f


ARGMAX = define("argmax", family="reduce", infer=_infer_arg("argmax"), numpy=_argext(np.argmax),
                triton="argmax", differentiable=False, params=("dim",))
ARGMIN = define("argmin", family="reduce", infer=_infer_arg("argmin"), numpy=_argext(np.argmin),
                triton="argmin", differentiable=False, params=("dim",))


def _infer_cumsum(x, dim):
    if not 0 <= dim < max(len(x.shape), 1):
        fail("cumsum", f"dim {dim} out of range", x)
    return Meta(tuple(x.shape), x.dtype)


def _cumsum_vjp(g, out, x, dim):
    # reverse cumulative sum without a flip: total - cumsum(g) + g
    if g.ndim == 0:
        return (g,)
    total = g.sum((dim,), keepdim=True).expand(tuple(g.shape))
    return (total - CUMSUM(g, dim=dim) + g,)


CUMSUM = define("cumsum", family="reduce", infer=_infer_cumsum,
                numpy=lambda x, dim: np.cumsum(x, axis=dim, dtype=x.dtype) if x.ndim else x.copy(),
                vjp=_cumsum_vjp, triton="cumsum", saves_inputs=False, params=("dim",))
