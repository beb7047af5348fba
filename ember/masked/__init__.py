"""ember.masked: torch.masked's reductions and normalizations on strided tensors.

Each function fills the masked-out elements with the identity of its reduction (0 for sums,
1 for products, -inf for maxima, ...) and calls the ordinary ember op, as torch.masked does; a
fully masked-out slice gives the identity (sum, amax) or nan (mean, var, median).  ``mask`` is
broadcast to the input and converted to bool; ``mask=None`` means every element counts.
"""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..frontend import functional as _F

__all__ = ["sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean",
           "median", "logsumexp", "logaddexp", "norm", "var", "std", "softmax", "log_softmax",
           "softmin", "normalize"]



def _dims(dim, ndim):
    """torch.masked's canonical dims: None or () mean all dims; a sorted tuple otherwise."""
    if dim is None or dim == () or ndim == 0:   # (a 0-d input reduces over nothing)
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = sorted({d % max(ndim, 1) for d in dim})
    if len(out) != len(dim):
        raise RuntimeError(f"dim={dim} appears multiple times in the list of dims")
    return tuple(out)


def _one_dim(dim, ndim):
    """The dim of a single-dim op (cumsum, softmax, median); 0-d inputs take dim 0 or -1."""
    d = dim[0] if isinstance(dim, (tuple, list)) else dim
    return d % max(ndim, 1)


def _mask(input, mask):
    if mask is None:
        return None
    if mask.ndim > input.ndim:
        raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality higher "
                         "than of the input)")
    return mask.to(_dt.bool_).expand(*input.shape)


def _identity(op, x, ord=2):
    d = x.dtype
    if op in ("sum", "cumsum"):
        return 0
    if op in ("prod", "cumprod"):
        return 1
    high = op in ("amin", "argmin") or (op == "norm" and ord == -math.inf)
    if op == "norm":
        return math.inf if high else 0
    if d.category == _dt.FLOAT:
        return math.inf if high else -math.inf
    import numpy as np
    info = np.iinfo(d.np)
    return int(info.max) if high else int(info.min)


def _fill(op, input, mask, *args):
    m = _mask(input, mask)
    if m is None:
        return input
    return _F.where(m, input, _F.scalar_tensor(_identity(op, input, *args), input.dtype))


def _cast(x, dtype):
    return x if dtype is None else x.to(_dt.to_dtype(dtype))


def _reduce_over(fn, x, dims, keepdim):
    return fn(x, dims, keepdim) if dims else x


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _fill("sum", input, mask)
    return _F.sum(x, _dims(dim, input.ndim), keepdim, dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _fill("prod", input, mask)
    if dtype is not None:
        x = _cast(x, dtype)
    for d in reversed(_dims(dim, input.ndim)):   # torch.prod reduces one dim at a time
        x = x.prod(d, keepdim=keepdim)
    return x


def cumsum(input, dim, *, dtype=None, mask=None):
    return _F.cumsum(_fill("sum", input, mask), _one_dim(dim, input.ndim), dtype=dtype)


def cumprod(input, dim, *, dtype=None, mask=None):
    return _F.cumprod(_fill("prod", input, mask), _one_dim(dim, input.ndim), dtype=dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _fill("amax", input, mask)
    return _cast(_F.amax(x, _dims(dim, input.ndim), keepdim), dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _fill("amin", input, mask)
    return _cast(_F.amin(x, _dims(dim, input.ndim), keepdim), dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    # (torch.masked returns the indices in the input's dtype unless told otherwise)
    dtype = input.dtype if dtype is None else dtype
    return _cast(_F.argmax(_fill("argmax", input, mask), dim, keepdim), dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else dtype
    return _cast(_F.argmin(_fill("argmin", input, mask), dim, keepdim), dtype)


def _count(input, mask, dims, keepdim):
    if mask is None:
        n = math.prod(input.shape[d] for d in dims) if dims else 1
        ones = _F.scalar_tensor(n, _dt.int64)
        shape = tuple(1 if i in dims else s for i, s in enumerate(input.shape))
        out = _F.expand_to(ones, shape)
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(input.shape)
                                                     if i not in dims))
    return _F.sum(_mask(input, mask), dims, keepdim)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    out_dtype = _dt.to_dtype(dtype) if dtype is not None else input.dtype
    if out_dtype.category != _dt.FLOAT:
        raise ValueError(f"mean(): Could not infer output dtype. Input dtype must be either a "
                         f"floating point or complex dtype. Got: {out_dtype}")
    dims = _dims(dim, input.ndim)
    total = sum(input, dims, keepdim=keepdim, dtype=out_dtype, mask=mask)
    return total / _count(input, mask, dims, keepdim)


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    is_float = input.dtype.category == _dt.FLOAT
    x = input if is_float else input.to(_dt.float32)
    m = _mask(x, mask)
    if m is not None:
        x = _F.where(m, x, _F.scalar_tensor(math.nan, x.dtype))
    d = _one_dim(dim, input.ndim)
    # nanmedian: the lower median of the non-nan values (sort puts nan last)
    values = x.sort(d).values if x.ndim else x
    if x.ndim == 0:
        out = values
    else:
        valid = _F.logical_not(_F.isnan(x)).to(_dt.int64).sum(d, keepdim=True)
        pick = _F.clamp((valid - 1) // 2, min=0)
        out = values.gather(d, pick)
        if not keepdim:
            out = out.squeeze(d)
    if is_float:
        return out
    if bool(_F.isnan(out).any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not floating "
                         "point")
    return out.to(_dt.to_dtype(dtype) if dtype is not None else input.dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    x = _fill("amax", input, mask)
    return _cast(_F.logsumexp(x, _dims(dim, input.ndim), keepdim), dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    a = _fill("amax", input, input_mask)
    b = _fill("amax", other, other_mask)
    hi = _F.maximum(a, b)
    finite_hi = _F.where(_F.isinf(hi), 0.0, hi)
    out = _F.log(_F.exp(a - finite_hi) + _F.exp(b - finite_hi)) + finite_hi
    return _cast(out, dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    from ..linalg import vector_norm
    x = _fill("norm", input, mask, ord)
    return vector_norm(x, ord, _dims(dim, input.ndim), keepdim, dtype=dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    if unbiased is not None and correction is not None:
        raise RuntimeError("Only one of unbiased and correction may be given")
    corr = 1.0
    if unbiased is not None:
        corr = 1.0 if unbiased else 0.0
    if correction is not None:
        corr = float(correction)
    out_dtype = _dt.to_dtype(dtype) if dtype is not None else input.dtype
    if out_dtype.category != _dt.FLOAT:
        out_dtype = _dt.float32
    dims = _dims(dim, input.ndim)
    count = _count(input, mask, dims, True)
    sample_mean = sum(input, dims, keepdim=True, dtype=out_dtype, mask=mask) / count
    x = input - sample_mean
    total = sum(x * x, dims, keepdim=keepdim, dtype=out_dtype, mask=mask)
    if not keepdim:
        count = count.reshape(tuple(total.shape))
    if corr != 0:
        count = _F.maximum(count.to(out_dtype) - corr, 0.0)
    out = (total / count).to(out_dtype)
    return _F.sqrt(out) if take_sqrt else out


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, True)


def _along(fn, x, dim, dtype):
    d = _one_dim(dim, x.ndim)
    if x.ndim and x.shape[d] == 0:   # nothing to normalize over: an empty result
        return _cast(x.clone(), dtype)
    return fn(x, d, dtype=dtype)


def _nnf():
    from ..nn import functional
    return functional


def softmax(input, dim, *, dtype=None, mask=None):
    return _along(_nnf().softmax, _fill("amax", input, mask), dim, dtype)


def log_softmax(input, dim, *, dtype=None, mask=None):
    return _along(_nnf().log_softmax, _fill("amax", input, mask), dim, dtype)


def softmin(input, dim, *, dtype=None, mask=None):
    return _along(_nnf().softmin, _fill("amin", input, mask), dim, dtype)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    x = _fill("sum", input, mask)
    nrm = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return x / _F.maximum(nrm, _F.scalar_tensor(eps, nrm.dtype))


