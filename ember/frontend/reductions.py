"""Reductions (sum, mean, prod, var/std, amax/amin, max/min with indices, argmax/argmin,
logsumexp, all/any, cumsum/cumprod, norm).  Primitive reductions keep their dims; `_drop`
removes them for keepdim=False.  Large plain-eager float reductions run on every core."""
from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from ..runtime import cpu as _cpu
from .device_ops import on_cuda, on_device_of
from .autograd import torch_named
from .dispatch import STATE, bind, wrap as _wrap
from .tensor import Tensor, _dim
from .functional import (_AMP, abs, exp, float_input, isinf, isnan, log, logical_not, maximum,
                         minimum, pow, sqrt, to_dtype, where)
from .indexing import gather
from .shape_ops import cat

__all__ = ["sum", "nansum", "prod", "mean", "nanmean", "var", "std", "var_mean", "std_mean",
           "amax", "amin", "max", "min", "MaxResult", "argmax", "argmin", "aminmax", "logsumexp",
           "all", "any", "count_nonzero", "cumsum", "cumprod", "norm", "dist"]

def _dims(x, dim):
    """dim argument (None, int, tuple/list) -> sorted tuple of non-negative axes."""
    nd = x.ndim
    if dim is None:
        return tuple(range(nd))
    if nd == 0:  # a 0-d tensor accepts dim 0 / -1 (or a list of them) and reduces nothing
        for d in (dim if isinstance(dim, (list, tuple)) else (dim,)):
            _dim(d, 0)
        return ()
    if isinstance(dim, (list, tuple)):
        dims = tuple(sorted({_dim(d, nd) for d in dim}))
        return dims if dims or nd == 0 else ()
    return (_dim(dim, nd),) if nd else ()


def _drop(out, dims, keepdim, x):
    if keepdim or not dims:
        return out
    shape = tuple(s for i, s in enumerate(out.shape) if i not in dims)
    if STATE.tracer is None and not out._requires_grad and not on_cuda(out._data):
        return _wrap(out._data.reshape(shape))
    return bind(P.RESHAPE, out, shape=shape)


_PARALLEL_REDUCERS = {P.SUM: np.add, P.AMAX: np.maximum, P.AMIN: np.minimum}


def _reduce(prim, x, dims, keepdim):
    if STATE.tracer is None and not (STATE.grad_enabled and x._requires_grad):
        a = x._data
        try:
            if a.size >= _cpu.PARALLEL_MIN and prim in _PARALLEL_REDUCERS and \
                    a.dtype.kind in "fi" and a.dtype.itemsize >= 4:
                out = _cpu.reduce(_PARALLEL_REDUCERS[prim], a, dims, a.dtype)
            else:
                out = prim.numpy(a, dims=dims)
        except (TypeError, AttributeError):
            if not on_cuda(a):
                raise
            return _drop(bind(prim, x, dims=dims), dims, keepdim, x)   # CUDA: through bind
        if not keepdim and dims:
            out = out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in dims))
        return _wrap(out)
    return _drop(bind(prim, x, dims=dims), dims, keepdim, x)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    if _AMP.on and "sum" in _AMP.ops:
        return _AMP.call("sum", sum, input, dim, keepdim, dtype=dtype)
    if dim is None and dtype is None and not keepdim and STATE.tracer is None and not (
            STATE.grad_enabled and input._requires_grad):
        a = input._data
        if a.dtype.kind == "f" and a.dtype.itemsize >= 4:  # the common full float sum, one call
            try:
                if a.size >= _cpu.PARALLEL_MIN:
                    return _wrap(_cpu.reduce(np.add, a, tuple(range(a.ndim)), a.dtype).reshape(()))
                return _wrap(np.add.reduce(a, axis=None, dtype=a.dtype))
            except (TypeError, AttributeError):
                if not on_cuda(a):
                    raise       # else a CUDA tensor: the general path below binds it
    x = input
    if dtype is not None:
        x = to_dtype(x, dt.to_dtype(dtype))
    elif x.dtype.category < dt.FLOAT:
        x = to_dtype(x, dt.int64)
    out = _reduce(P.SUM, x, _dims(x, dim), keepdim)
    # torch numbers its overloads: sum() is SumBackward0, sum(dim) SumBackward1
    return torch_named(out, "SumBackward0" if dim is None else "SumBackward1") \
        if out._grad_fn is not None else out


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    if input.dtype.category != dt.FLOAT:
        return sum(input, dim, keepdim, dtype=dtype)
    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    if _AMP.on and "prod" in _AMP.ops:
        return _AMP.call("prod", prod, input, dim, keepdim, dtype=dtype)
    x = input
    if dtype is not None:
        x = to_dtype(x, dt.to_dtype(dtype))
    elif x.dtype.category < dt.FLOAT:
        x = to_dtype(x, dt.int64)
    if dim is not None and isinstance(dim, (list, tuple)):
        raise TypeError("prod(): argument 'dim' must be int, not tuple")
    return _reduce(P.PROD, x, _dims(x, dim), keepdim)


def _count(x, dims):
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(input, dim=None, keepdim=False, *, dtype=None):
    x = input if dtype is None else to_dtype(input, dt.to_dtype(dtype))
    if x.dtype.category < dt.FLOAT:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dt.legacy_name(x.dtype)}")
    dims = _dims(x, dim)
    n = _count(x, dims)
    out = sum(x, dims, keepdim) / n if n else sum(x, dims, keepdim) * math.nan
    return torch_named(out, "MeanBackward0" if dim is None else "MeanBackward1") \
        if out._grad_fn is not None else out


def nanmean(input, dim=None, keepdim=False):
    notnan = logical_not(isnan(input))
    return nansum(input, dim, keepdim) / sum(notnan, dim, keepdim)


def _unbiased_first(dim, unbiased, keepdim):
    """torch's var(x, unbiased) overload: a bool in dim's place is `unbiased`, over all dims."""
    if isinstance(dim, bool):
        return None, dim, keepdim
    return dim, unbiased, keepdim


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased, keepdim = _unbiased_first(dim, unbiased, keepdim)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    x = float_input(input)
    dims = _dims(x, dim)
    n = _count(x, dims)
    mu = mean(x, dims, keepdim=True)
    d = x - mu
    return sum(d * d, dims, keepdim) / builtins.max(n - correction, 0)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased, keepdim = _unbiased_first(dim, unbiased, keepdim)
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased, keepdim = _unbiased_first(dim, unbiased, keepdim)
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, unbiased, keepdim = _unbiased_first(dim, unbiased, keepdim)
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def amax(input, dim=(), keepdim=False):
    dims = _dims(input, None if dim == () else dim)
    _check_nonempty("amax", input, dims)
    return _reduce(P.AMAX, input, dims, keepdim)


def amin(input, dim=(), keepdim=False):
    dims = _dims(input, None if dim == () else dim)
    _check_nonempty("amin", input, dims)
    return _reduce(P.AMIN, input, dims, keepdim)


def _check_nonempty(op, x, dims):
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    if x.numel() == 0 and not dims:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")


_MinMax = collections.namedtuple("return_types_max", ["values", "indices"])


class MaxResult(_MinMax):
    pass


def _minmax(name, reduce_prim, arg_prim, binop):
    def op(input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor):
            return binop(input, dim)
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the 'dim' "
                                   "argument.")
            return _reduce(reduce_prim, input, tuple(range(input.ndim)), False)
        d = _dim(dim, input.ndim)
        if input.ndim and input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        idx = bind(arg_prim, input, dim=d) if input.ndim else \
            on_device_of(np.zeros((), np.int64), input)
        values = gather(input, d, idx) if input.ndim else input.clone()
        if not keepdim and input.ndim:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return MaxResult(values, idx)
    op.__name__ = name
    return op


max = _minmax("max", P.AMAX, P.ARGMAX, maximum)
min = _minmax("min", P.AMIN, P.ARGMIN, minimum)


def _arg(name, prim):
    def op(input, dim=None, keepdim=False):
        if dim is None:
            flat = input.reshape(-1)
            if flat.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0.")
            out = bind(prim, flat, dim=0).reshape(())
            return out.reshape((1,) * input.ndim) if keepdim else out
        d = _dim(dim, input.ndim)
        if input.ndim == 0:
            return on_device_of(np.zeros((), np.int64), input)
        if input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        out = bind(prim, input, dim=d)
        return out if keepdim else out.squeeze(d)
    op.__name__ = name
    return op


argmax = _arg("argmax", P.ARGMAX)
argmin = _arg("argmin", P.ARGMIN)


def aminmax(input, *, dim=None, keepdim=False):
    return amin(input, () if dim is None else dim, keepdim), amax(input, () if dim is None else dim,
                                                                   keepdim)


def logsumexp(input, dim=None, keepdim=False):
    if _AMP.on and "logsumexp" in _AMP.ops:
        return _AMP.call("logsumexp", logsumexp, input, dim, keepdim)
    x = float_input(input)
    dims = _dims(x, dim)
    if x.numel() == 0:
        return log(sum(exp(x), dims, keepdim))
    m = amax(x, dims, keepdim=True).detach()
    m = where(isinf(m), 0.0, m)
    out = log(sum(exp(x - m), dims, keepdim=True)) + m
    return out if keepdim else _drop(out, dims, False, x)


def all(input, dim=None, keepdim=False):
    x = to_dtype(input, dt.bool_) if input.dtype is not dt.bool_ else input
    x = logical_not(x)
    out = logical_not(any(x, dim, keepdim))
    return to_dtype(out, dt.uint8) if input.dtype is dt.uint8 else out  # PyTorch keeps uint8


def any(input, dim=None, keepdim=False):
    x = to_dtype(input, dt.bool_) if input.dtype is not dt.bool_ else input
    if x.numel() == 0:
        out = sum(to_dtype(x, dt.int64), dim, keepdim) > 0
    else:
        out = to_dtype(_reduce(P.AMAX, to_dtype(x, dt.uint8), _dims(x, dim), keepdim), dt.bool_)
    return to_dtype(out, dt.uint8) if input.dtype is dt.uint8 else out  # PyTorch keeps uint8


def count_nonzero(input, dim=None):
    return sum(to_dtype(input != 0, dt.int64), dim)


def cumsum(input, dim, *, dtype=None):
    if _AMP.on and "cumsum" in _AMP.ops:
        return _AMP.call("cumsum", cumsum, input, dim, dtype=dtype)
    x = input
    if dtype is not None:
        x = to_dtype(x, dt.to_dtype(dtype))
    elif x.dtype.category < dt.FLOAT:
        x = to_dtype(x, dt.int64)
    return bind(P.CUMSUM, x, dim=_dim(dim, x.ndim))


def cumprod(input, dim, *, dtype=None):
    if _AMP.on and "cumprod" in _AMP.ops:
        return _AMP.call("cumprod", cumprod, input, dim, dtype=dtype)
    x = input if dtype is None else to_dtype(input, dt.to_dtype(dtype))
    if x.dtype.category < dt.FLOAT:
        x = to_dtype(x, dt.int64)   # like cumsum: integers and bools multiply in int64
    d = _dim(dim, x.ndim)
    if x.ndim == 0:
        return x.clone()
    # a Hillis-Steele scan: log2(n) products with shifted copies.  No log/exp, so it is exact for
    # integers, zeros and signs, and differentiable everywhere (also at zeros)
    n, k = x.shape[d], 1
    while k < n:
        shape = tuple(k if i == d else s for i, s in enumerate(x.shape))
        x = x * cat([x.new_ones(shape), x.narrow(d, 0, n - k)], d)
        k *= 2
    return x


def _root_at_zero(s, root):
    """root(s) with gradient 0 where s == 0 (the norm of a zero vector), as in PyTorch."""
    zero = s == 0
    return where(zero, 0.0, root(where(zero, 1.0, s)))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    x = float_input(input)
    if p == "fro" or p == 2:
        return _root_at_zero(sum(x * x, dim, keepdim), sqrt)
    if p == 1:
        return sum(abs(x), dim, keepdim)
    if p == math.inf or p == "inf":
        return amax(abs(x), () if dim is None else dim, keepdim)
    if p == -math.inf:
        return amin(abs(x), () if dim is None else dim, keepdim)
    if p == 0:
        from .functional import zero_grad_link
        nonzero = to_dtype(x != 0, x.dtype)
        if x.requires_grad:
            nonzero = nonzero + zero_grad_link(x)
        return sum(nonzero, dim, keepdim)
    return _root_at_zero(sum(pow(abs(x), p), dim, keepdim), lambda s: pow(s, 1.0 / p))


def dist(input, other, p=2):
    return norm(input - other, p)
