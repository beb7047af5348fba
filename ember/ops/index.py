"""Indexing primitives: gather, scatter, scatter_add, advanced index / index_put, argsort."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..shapes import broadcast_shapes
from .registry import Meta, define, fail


def _check_index_dtype(op, index):
    if index.dtype is not dt.int64 and index.dtype is not dt.int32:
        fail(op, f"index must be int64, not {index.dtype.name}", index)


def _infer_gather(x, index, dim):
    _check_index_dtype("gather", index)
    if len(index.shape) != len(x.shape):
        fail("gather", "Index tensor must have the same number of dimensions as input tensor",
             x, index)
    for d, (n, m) in enumerate(zip(x.shape, index.shape)):
        if d != dim and isinstance(m, int) and isinstance(n, int) and m > n:
            fail("gather", f"Size does not match at dimension {d} expected index "
                           f"{list(index.shape)} to be smaller than self {list(x.shape)} apart "
                           f"from dimension {dim}", x, index)
    return Meta(tuple(index.shape), x.dtype)


def _crop_to(x, shape, dim):
    """x restricted to `shape` in every dim but `dim` (torch lets index be smaller there)."""
    key = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(shape))
    return x[key]


def _check_bounds(op, index, size):
    if index.size and (index.max() >= size or index.min() < -size):
        raise IndexError(f"{op}: index {int(index.max() if index.max() >= size else index.min())} "
                         f"is out of bounds for dimension with size {size}")


def _gather_np(x, index, dim):
    if x.ndim == 0:
        return x.copy()
    _check_bounds("gather", index, x.shape[dim])
    return np.take_along_axis(_crop_to(x, index.shape, dim), index, axis=dim)


def _gather_vjp(g, out, x, index, dim):
    return SCATTER_ADD(g.new_zeros(tuple(x.shape)), index, g, dim=dim), None


GATHER = define("gather", family="index", infer=_infer_gather, numpy=_gather_np, vjp=_gather_vjp,
                triton="gather", params=("dim",))


def _infer_scatter(op):
    def infer(x, index, src, dim):
        _check_index_dtype(op, index)
        if tuple(src.shape) != tuple(index.shape):
            fail(op, "src must have the index's shape (the frontend crops it)", index, src)
        if src.dtype is not x.dtype:
            fail(op, f"Expected self.dtype to be equal to src.dtype", x, src)
        if len(index.shape) != len(x.shape):
            fail(op, "Index tensor must have the same number of dimensions as self tensor",
                 x, index)
        return Meta(tuple(x.shape), x.dtype)
    return infer


def _full_index(index, dim):
    key = list(np.ogrid[tuple(slice(0, n) for n in index.shape)])
    key[dim] = index
    return tuple(key)


def _scatter_np(x, index, src, dim):
    out = x.copy()
    if out.ndim == 0:
        out[...] = src
        return out
    _check_bounds("scatter", index, x.shape[dim])
    out[_full_index(index, dim)] = src
    return out


def _scatter_add_np(x, index, src, dim):
    out = x.copy()
    if out.ndim == 0:
        return out + src
    _check_bounds("scatter_add", index, x.shape[dim])
    np.add.at(out, _full_index(index, dim), src)
    return out


def _scatter_vjp(g, out, x, index, src, dim):
    hole = SCATTER(g, index, g.new_zeros(tuple(index.shape)), dim=dim)
    return hole, None, GATHER(g, index, dim=dim)


def _scatter_add_vjp(g, out, x, index, src, dim):
    return g, None, GATHER(g, index, dim=dim)


SCATTER = define("scatter", family="index", infer=_infer_scatter("scatter"), numpy=_scatter_np,
                 vjp=_scatter_vjp, triton="scatter", params=("dim",))
SCATTER_ADD = define("scatter_add", family="index", infer=_infer_scatter("scatter_add"),
                     numpy=_scatter_add_np, vjp=_scatter_add_vjp, triton="scatter_add",
                     params=("dim",))


def advanced_index_shape(shape, index_shapes, positions):
    """NumPy's rule: the broadcast index shape replaces the indexed dims in place when they are
    adjacent, and goes first otherwise."""
    b = broadcast_shapes(*index_shapes)
    rest_before = [s for d, s in enumerate(shape) if d < positions[0] and d not in positions]
    rest_after = [s for d, s in enumerate(shape) if d > positions[0] and d not in positions]
    adjacent = list(positions) == list(range(positions[0], positions[0] + len(positions)))
    if adjacent:
        return tuple(rest_before) + tuple(b) + tuple(rest_after)
    return tuple(b) + tuple(rest_before) + tuple(rest_after)


def _key(ndim, indices, positions):
    key = [slice(None)] * ndim
    for p, i in zip(positions, indices):
        key[p] = i
    return tuple(key)


def _infer_index(x, *indices, positions):
    for i in indices:
        _check_index_dtype("index", i)
    if len(indices) != len(positions) or any(not 0 <= p < len(x.shape) for p in positions):
        fail("index", f"positions {positions} do not fit a tensor of rank {len(x.shape)}", x)
    shape = advanced_index_shape(tuple(x.shape), [tuple(i.shape) for i in indices], positions)
    return Meta(shape, x.dtype)


def _index_np(x, *indices, positions):
    for p, i in zip(positions, indices):
        _check_bounds("index", i, x.shape[p])
    return x[_key(x.ndim, indices, positions)]


def _index_vjp(g, out, x, *indices, positions):
    zeros = g.new_zeros(tuple(x.shape))
    return (INDEX_PUT(zeros, g, *indices, positions=positions, accumulate=True),) + \
        (None,) * len(indices)


INDEX = define("index", family="index", infer=_infer_index, numpy=_index_np, vjp=_index_vjp,
               triton="index", params=("positions",))


def _infer_index_put(x, values, *indices, positions, accumulate):
    expect = _infer_index(x, *indices, positions=positions)
    if tuple(values.shape) != expect.shape or values.dtype is not x.dtype:
        fail("index_put", f"values must be {x.dtype.short}{list(expect.shape)} (the frontend "
                          "expands and converts them)", values)
    return Meta(tuple(x.shape), x.dtype)


def _index_put_np(x, values, *indices, positions, accumulate):
    out = x.copy()
    for p, i in zip(positions, indices):
        _check_bounds("index_put", i, x.shape[p])
    key = _key(x.ndim, indices, positions)
    if accumulate:
        np.add.at(out, key, values)
    else:
        out[key] = values
    return out


def _index_put_vjp(g, out, x, values, *indices, positions, accumulate):
    gx = g if accumulate else INDEX_PUT(g, values.new_zeros(tuple(values.shape)), *indices,
                                        positions=positions, accumulate=False)
    return (gx, INDEX(g, *indices, positions=positions)) + (None,) * len(indices)


INDEX_PUT = define("index_put", family="index", infer=_infer_index_put, numpy=_index_put_np,
                   vjp=_index_put_vjp, triton="index_put", params=("positions", "accumulate"))


def _argsort_np(x, dim, descending):
    if x.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(x, axis=dim, kind="stable").astype(np.int64, copy=False)
    # stable descending: sort the flipped array, flip back, and mirror the indices
    n = x.shape[dim]
    idx = np.flip(np.argsort(np.flip(x, dim), axis=dim, kind="stable"), dim)
    return (n - 1 - idx).astype(np.int64)


ARGSORT = define("argsort", family="index", numpy=_argsort_np, triton="argsort",
                 infer=lambda x, dim, descending: Meta(tuple(x.shape), dt.int64),
                 differentiable=False, params=("dim", "descending"))
