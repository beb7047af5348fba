"""More reductions and scans, as composites: cummax/cummin, logcumsumexp, quantile/nanquantile,
mode, nanmedian, cov, corrcoef, histc, trapezoid/cumulative_trapezoid."""
from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .. import dtypes as dt
from . import shape_ops as S
from .functional import float_input, isnan, logical_not, sqrt, sum, to_dtype, where
from .indexing import gather, sort
from .reductions import cumsum, mean
from .tensor import Tensor, _dim

__all__ = ["cummax", "cummin", "logcumsumexp", "quantile", "nanquantile", "mode", "nanmedian",
           "cov", "corrcoef", "histc", "trapezoid", "trapz", "cumulative_trapezoid"]

_Pair = collections.namedtuple("return_types_cummax", ["values", "indices"])


def _cum_extreme(name, better):
    def op(input, dim):
        d = _dim(dim, input.ndim) if input.ndim else 0
        if input.ndim == 0 or input.numel() == 0:
            return _Pair(input.clone(), input.new_zeros(tuple(input.shape), dtype=dt.int64))
        a = np.asarray(input._host())
        n = a.shape[d]
        moved = np.moveaxis(a, d, -1)
        idx = np.zeros(moved.shape, np.int64)
        best = moved[..., 0].copy()
        cur = np.zeros(moved.shape[:-1], np.int64)
        for i in range(n):
            v = moved[..., i]
            # ties move the index forward (torch's rule); a NaN wins and stays
            take = better(v, best) | (v == best) | np.isnan(v) if a.dtype.kind == "f" else \
                better(v, best) | (v == best)
            if a.dtype.kind == "f":
                take &= ~np.isnan(best) | np.isnan(v)
            cur = np.where(take, i, cur)
            best = np.where(take, v, best)
            idx[..., i] = cur
        from .creation import tensor
        index = tensor(np.moveaxis(idx, -1, d).copy(), device=input.device)
        return _Pair(gather(input, d, index), index)
    op.__name__ = name
    return op


cummax = _cum_extreme("cummax", np.greater)
cummin = _cum_extreme("cummin", np.less)


def logcumsumexp(input, dim):
    """A Hillis-Steele scan of logaddexp: log2(n) steps, each exact to rounding, so early
    elements far below the row's maximum keep their precision (no global shift)."""
    from .math_extra import logaddexp
    x = float_input(input)
    if x.ndim == 0:
        return x.clone()
    d = _dim(dim, x.ndim)
    n, k = x.shape[d], 1
    while k < n:
        shape = tuple(k if i == d else s for i, s in enumerate(x.shape))
        pad = x.new_full(shape, -math.inf)
        x = logaddexp(x, S.cat([pad, S.narrow(x, d, 0, n - k)], d))
        k *= 2
    return x


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    if input.dtype.category != dt.FLOAT:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qs = np.atleast_1d(np.asarray(q._host() if isinstance(q, Tensor) else q, np.float64))
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else (_dim(dim, x.ndim) if x.ndim else 0)
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[d]
    if n == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    srt = sort(x, d).values       # NaN sorts last
    nan = isnan(x)
    count = to_dtype(sum(to_dtype(logical_not(nan), dt.int64), d, keepdim=True), x.dtype)
    any_nan = sum(to_dtype(nan, dt.int64), d, keepdim=True) > 0
    outs = []
    for qv in qs:
        last = (count - 1) if ignore_nan else count * 0 + (n - 1)
        rank = last * qv
        rank = where(rank < 0, 0.0, rank)
        lo = rank.floor()
        hi = rank.ceil()
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = rank.round()
        lo_i = to_dtype(lo, dt.int64).clamp(0, n - 1)
        hi_i = to_dtype(hi, dt.int64).clamp(0, n - 1)
        a, b = gather(srt, d, lo_i), gather(srt, d, hi_i)
        if interpolation == "midpoint":
            val = a + (b - a) * 0.5
        elif interpolation == "linear":
            val = a + (b - a) * (rank - lo)
        else:
            val = a
        bad = (count == 0) if ignore_nan else any_nan
        val = where(bad, math.nan, val)
        outs.append(val if keepdim else val.squeeze(d))
    if dim is None and keepdim:
        outs = [o.reshape((1,) * input.ndim) for o in outs]
    return outs[0] if scalar_q or (isinstance(q, Tensor) and q.ndim == 0) else S.stack(outs, 0)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


_Mode = collections.namedtuple("return_types_mode", ["values", "indices"])


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along dim (the smallest among ties) and its last index."""
    from .creation import tensor
    d = _dim(dim, input.ndim) if input.ndim else 0
    if input.ndim == 0:
        return _Mode(input.clone(), input.new_zeros((), dtype=dt.int64))
    a = np.moveaxis(np.asarray(input._host()), d, -1)
    flat = a.reshape(-1, a.shape[-1])
    idx = np.zeros(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]          # np.unique sorts: the smallest among ties
        idx[r] = np.nonzero(row == best)[0][-1]
    index = tensor(idx.reshape(a.shape[:-1]), device=input.device).unsqueeze(d)
    values = gather(input, d, index)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return _Mode(values, index)


def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN values (NaN for an all-NaN slice)."""
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else (_dim(dim, x.ndim) if x.ndim else 0)
    if x.ndim == 0:
        x = x.reshape(1)
    srt = sort(x, d)
    nan = isnan(x) if x.dtype.category == dt.FLOAT else x != x
    count = sum(to_dtype(logical_not(nan), dt.int64), d, keepdim=True)
    k = ((count - 1).clamp(min=0)).div(2, rounding_mode="floor")
    values, indices = gather(srt.values, d, k), gather(srt.indices, d, k)
    if dim is None:
        return values.reshape(())
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return _Mode(values, indices)


def cov(input, *, correction=1, fweights=None, aweights=None):
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = float_input(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = to_dtype(fweights, x.dtype)
    if aweights is not None:
        w = to_dtype(aweights, x.dtype) if w is None else w * to_dtype(aweights, x.dtype)
    if w is None:
        avg = mean(x, 1, keepdim=True)
        w_sum = float(n)
        norm = w_sum - correction
    else:
        w_sum = sum(w)
        avg = sum(x * w, 1, keepdim=True) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * sum(w * to_dtype(aweights, x.dtype)) / w_sum
    xc = x - avg
    xw = xc if w is None else xc * w
    c = xw.matmul(xc.transpose(0, 1).conj() if hasattr(xc, "conj") else xc.transpose(0, 1))
    if isinstance(norm, Tensor):
        norm = where(norm < 0, 0.0, norm)
    else:
        norm = builtins.max(norm, 0)
    out = c / norm
    return out.squeeze() if input.ndim < 2 or x.shape[0] == 1 else out


def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    stddev = sqrt(d)
    c = c / stddev.unsqueeze(1)
    c = c / stddev.unsqueeze(0)
    return c.clamp(-1, 1)


def histc(input, bins=100, min=0, max=0):
    from .creation import tensor
    if input.dtype.category != dt.FLOAT:
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{dt.legacy_name(input.dtype)}'")
    a = np.asarray(input._host(), np.float64).reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    counts, _ = np.histogram(a[(a >= lo) & (a <= hi)], bins=bins, range=(lo, hi))
    return tensor(counts.astype(input.dtype.np), device=input.device)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return sum(y, d)
    mid = (S.narrow(y, d, 1, n - 1) + S.narrow(y, d, 0, n - 1)) * 0.5
    if x is None:
        return sum(mid, d) * (1.0 if dx is None else dx)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[d] = x.shape[0]
        x = x.reshape(tuple(shape))
    dxs = S.narrow(x, d, 1, n - 1) - S.narrow(x, d, 0, n - 1) if x.ndim else x
    return sum(mid * dxs, d)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y.clone()
    mid = (S.narrow(y, d, 1, n - 1) + S.narrow(y, d, 0, n - 1)) * 0.5
    if x is None:
        return cumsum(mid * (1.0 if dx is None else dx), d)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[d] = x.shape[0]
        x = x.reshape(tuple(shape))
    return cumsum(mid * (S.narrow(x, d, 1, n - 1) - S.narrow(x, d, 0, n - 1)), d)
