"""More indexing ops, as composites: index_copy, scatter_reduce, put, masked_scatter, isin."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from .dispatch import bind
from .indexing import _check_index, _to_int64, index_put, nonzero, scatter_add
from .tensor import Tensor, _dim

__all__ = ["index_copy", "scatter_reduce", "put", "masked_scatter", "isin", "index_reduce"]


def index_copy(input, dim, index, source):
    from .functional import as_tensor_like
    if input.ndim == 0:
        return as_tensor_like(source, input.dtype).reshape(()).clone()
    d = _dim(dim, input.ndim)
    src = as_tensor_like(source, input.dtype)
    if src.ndim == 0:
        src = src.reshape(1)
    perm = [d] + [i for i in range(input.ndim) if i != d]
    inv = np.argsort(perm).tolist()
    out = bind(P.INDEX_PUT, input.permute(*perm), src.permute(*perm),
               _to_int64(index.reshape(-1)), positions=(0,), accumulate=False)
    return out.permute(*inv)


_UFUNC = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum,
          "mean": np.add}


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """input with src's values reduced into the positions index names along dim.

    The values come from NumPy's unbuffered ``ufunc.at``; the gradient is carried by a sum-scatter
    of weighted inputs whose value is subtracted out again (value exactly the reduction, gradient
    PyTorch's: amax/amin share it among the elements equal to the result, prod gives
    result / element, mean 1 / count)."""
    if reduce not in _UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    index = _check_index("scatter_reduce", index)
    d = _dim(dim, input.ndim) if input.ndim else 0
    if src.dtype is not input.dtype:
        raise RuntimeError(f"scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    if index.numel() == 0:
        return input.clone()
    from .creation import tensor
    a = np.array(input._host(), copy=True)
    idx = np.asarray(index._host(), np.int64)
    s = np.asarray(src._host())[tuple(slice(0, n) for n in idx.shape)]
    # the positions of a that each src element reduces into, as flat coordinates
    coords = list(np.indices(idx.shape, sparse=False))
    coords[d] = idx
    flat_target = np.ravel_multi_index(tuple(coords), a.shape) if a.ndim else np.zeros_like(idx)
    hit = np.zeros(a.size, bool)
    hit[flat_target.reshape(-1)] = True
    hit = hit.reshape(a.shape)
    count = np.zeros(a.size, np.int64)
    np.add.at(count, flat_target.reshape(-1), 1)
    count = count.reshape(a.shape)
    ufunc = _UFUNC[reduce]
    acc = a.reshape(-1).copy()
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if ident is None:  # amax/amin: the first src element starts the reduction
            first = np.full(a.size, False)
            order = flat_target.reshape(-1)
            for k, pos in enumerate(order):
                if not first[pos]:
                    acc[pos] = s.reshape(-1)[k]
                    first[pos] = True
        else:
            acc[hit.reshape(-1)] = ident
    ufunc.at(acc, flat_target.reshape(-1), s.reshape(-1))
    n = count + (1 if include_self else 0)
    if reduce == "mean":
        safe = np.where(n == 0, 1, n).reshape(-1)
        mean = acc / safe if a.dtype.kind == "f" else np.floor_divide(acc, safe)
        acc = np.where(hit.reshape(-1), mean, acc)
    value = tensor(acc.reshape(a.shape).astype(a.dtype), device=input.device)
    wants = (input.requires_grad or src.requires_grad) and a.dtype.kind == "f"
    if not wants:
        return value
    # weights: d(result)/d(input element) and d(result)/d(src element), as constants
    out_flat = acc.reshape(a.shape)
    s_target = out_flat.reshape(-1)[flat_target.reshape(-1)].reshape(idx.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        if reduce in ("sum",):
            w_in, w_src = np.ones_like(a), np.ones_like(s)
        elif reduce == "mean":
            w_in, w_src = 1.0 / np.where(n == 0, 1, n), None
            w_src = (1.0 / np.where(n == 0, 1, n)).reshape(-1)[flat_target.reshape(-1)].reshape(
                idx.shape)
        elif reduce == "prod":
            # d(prod)/dx = prod / x, or for a zero x the product of the others (0 if another
            # member of its group is zero too)
            tgt = flat_target.reshape(-1)
            nz = (np.where(hit, np.where(a == 0, 1, a), 1) if include_self else
                  np.ones_like(a)).reshape(-1).astype(np.float64)
            zc = ((a == 0) & hit).reshape(-1).astype(np.int64) if include_self else \
                np.zeros(a.size, np.int64)
            np.multiply.at(nz, tgt, np.where(s == 0, 1, s).reshape(-1))
            np.add.at(zc, tgt, (s == 0).reshape(-1).astype(np.int64))
            nz, zc = nz.reshape(a.shape), zc.reshape(a.shape)
            w_in = np.where(a == 0, np.where(zc == 1, nz, 0), out_flat / a)
            nz_s = nz.reshape(-1)[tgt].reshape(idx.shape)
            zc_s = zc.reshape(-1)[tgt].reshape(idx.shape)
            w_src = np.where(s == 0, np.where(zc_s == 1, nz_s, 0), s_target / s)
        else:
            ties = np.zeros(a.size)
            np.add.at(ties, flat_target.reshape(-1), (s == s_target).reshape(-1).astype(float))
            ties = ties.reshape(a.shape) + ((a == out_flat) if include_self else 0)
            safe = np.where(ties == 0, 1, ties)
            w_in = ((a == out_flat) / safe) if include_self else np.zeros_like(a)
            w_src = (s == s_target) / safe.reshape(-1)[flat_target.reshape(-1)].reshape(idx.shape)
    if not include_self:
        w_in = np.where(hit, 0, w_in)
    w_in = np.where(hit, w_in, 1.0).astype(a.dtype)
    w_src = np.asarray(w_src).astype(a.dtype)
    src_part = src[tuple(slice(0, k) for k in idx.shape)] if tuple(src.shape) != idx.shape \
        else src
    carrier = scatter_add(input * tensor(w_in, device=input.device), d, index,
                          src_part * tensor(w_src, device=input.device))
    return value + (carrier - carrier.detach())


def put(input, index, source, accumulate=False):
    flat = input.reshape(-1)
    idx = _to_int64(index.reshape(-1))
    n = flat.shape[0]
    idx = idx + (idx < 0).to(dt.int64) * n   # negative indices count from the end
    out = index_put(flat, (idx,), source.reshape(-1).to(input.dtype), accumulate)
    return out.reshape(tuple(input.shape))


def masked_scatter(input, mask, source):
    from .functional import expand_to
    from ..shapes import broadcast_shapes
    shape = broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    m = expand_to(mask, shape)
    input = expand_to(input, shape)
    where_ = nonzero(m, as_tuple=True)
    count = where_[0].shape[0] if where_ else 0
    if source.numel() < count:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as ones in mask")
    if input.ndim == 0:
        return source.reshape(-1)[0].to(input.dtype) if count else input.clone()
    return index_put(input, where_, source.reshape(-1)[:count].to(input.dtype))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    from .creation import tensor
    a = elements._host() if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._host() if isinstance(test_elements, Tensor) else np.asarray(
        test_elements)
    out = np.isin(a, b, invert=invert)
    dev = elements.device if isinstance(elements, Tensor) else test_elements.device
    return tensor(np.asarray(out), dtype=dt.bool_, device=dev)



def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """scatter_reduce with one index per slice of source along dim (torch.index_reduce)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if input.ndim == 0:
        return index_reduce(input.reshape(1), 0, index.reshape(-1), source.reshape(1), reduce,
                            include_self=include_self).reshape(())
    d = _dim(dim, input.ndim)
    shape = [1] * source.ndim
    shape[d] = -1
    idx = index.reshape(tuple(shape)).expand(tuple(source.shape))
    return scatter_reduce(input, d, idx, source, reduce, include_self=include_self)
