"""More shape ops, all composites of existing ones: rot90, diff, kron, block_diag, cartesian_prod,
combinations, repeat_interleave, Tensor.unfold, splits, *_scatter, the *_copy variants, trace,
cross, tril/triu_indices, unravel_index, sum_to_size, atleast_3d, diagflat.
"""
from __future__ import annotations

import builtins
import itertools

import numpy as np

from .. import dtypes as dt
from . import shape_ops as S
from .functional import sum, to_dtype, where
from .tensor import Tensor, _dim

__all__ = ["rot90", "diff", "kron", "block_diag", "cartesian_prod", "combinations",
           "repeat_interleave", "unfold", "hsplit", "vsplit", "dsplit", "split_with_sizes",
           "unsafe_split", "unsafe_chunk", "select_scatter", "slice_scatter", "diagonal_scatter",
           "cross", "tril_indices", "triu_indices", "unravel_index", "sum_to_size",
           "atleast_3d", "diagflat", "expand_copy", "permute_copy", "view_copy", "t_copy",
           "transpose_copy", "unsqueeze_copy", "squeeze_copy", "diagonal_copy", "narrow_copy",
           "unbind_copy", "split_with_sizes_copy", "unfold_copy", "alias_copy", "slice",
           "fill", "swapaxes", "adjoint"]


def rot90(input, k=1, dims=(0, 1)):
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _dim(dims[0], input.ndim), _dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return S.flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return S.flip(input, (d0, d1))
    if k == 3:
        return S.flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


def diff(input, n=1, dim=-1, prepend=None, append=None):
    d = _dim(dim, input.ndim)
    x = input
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, x, append) if p is not None]
        x = S.cat([to_dtype(p, x.dtype) for p in parts], d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = S.narrow(x, d, 1, m - 1), S.narrow(x, d, 0, m - 1)
        x = (hi != lo) if x.dtype is dt.bool_ else hi - lo
    return x


def kron(input, other):
    nd = builtins.max(input.ndim, other.ndim)
    a = S.reshape(input, (1,) * (nd - input.ndim) + tuple(input.shape))
    b = S.reshape(other, (1,) * (nd - other.ndim) + tuple(other.shape))
    # a[i] * b[j] laid out as (a0, b0, a1, b1, ...), then each pair merged
    a_sh = [s for x in a.shape for s in (x, 1)]
    b_sh = [s for x in b.shape for s in (1, x)]
    out = S.reshape(a, tuple(a_sh)) * S.reshape(b, tuple(b_sh))
    return S.reshape(out, tuple(x * y for x, y in zip(a.shape, b.shape)))


def block_diag(*tensors):
    from .creation import zeros
    mats = [t.reshape(1, -1) if t.ndim < 2 and t.numel() else
            (t.reshape(1, 1) if t.ndim == 0 else (t.reshape(1, 0) if t.ndim == 1 else t))
            for t in tensors]
    if not mats:
        return zeros((1, 0))
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = dt.promote_types(dtype, m.dtype)
    cols = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        m = to_dtype(m, dtype)
        right = cols - left - m.shape[1]
        parts = []
        if left:
            parts.append(zeros((m.shape[0], left), dtype=dtype, device=m.device))
        parts.append(m)
        if right:
            parts.append(zeros((m.shape[0], right), dtype=dtype, device=m.device))
        rows.append(S.cat(parts, 1) if len(parts) > 1 else m)
        left += m.shape[1]
    return S.cat(rows, 0)


def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    grids = S.meshgrid(*tensors, indexing="ij")
    return S.stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = list(pick(range(n), r))
    if not idx:
        return input.new_empty((0,) if r == 0 else (0, r))
    from .creation import tensor
    index = tensor(np.array(idx, np.int64), device=input.device)
    return input[index]


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    from .creation import arange, tensor
    if repeats is None:  # repeat_interleave(repeats): arange(n) repeated repeats[i] times
        counts = input
        reps = np.asarray(counts._host(), np.int64)
        return tensor(np.repeat(np.arange(len(reps)), reps), device=counts.device)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if x.ndim == 0:
        x = x.reshape(1)
    if isinstance(repeats, Tensor):
        reps = np.asarray(repeats._host(), np.int64).reshape(-1)
        if reps.size == 1:
            reps = np.full(n, int(reps[0]))
    else:
        reps = np.full(n, int(repeats))
    if (reps < 0).any():
        raise RuntimeError("repeats can not be negative")
    if len(reps) != n:
        raise RuntimeError("repeats must have the same size as input along dim")
    index = tensor(np.repeat(np.arange(n), reps), device=x.device)
    return x.index_select(d, index)


def unfold(input, dimension, size, step):
    """Tensor.unfold: every `size`-long window along `dimension`, `step` apart, as a new last dim."""
    from .creation import tensor
    d = _dim(dimension, input.ndim) if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.ndim == 0:
        return input.reshape(1)
    count = (n - size) // step + 1
    idx = (np.arange(count)[:, None] * step + np.arange(size)[None, :]).reshape(-1)
    picked = input.index_select(d, tensor(idx, device=input.device))
    shape = tuple(input.shape[:d]) + (count, size) + tuple(input.shape[d + 1:])
    return S.movedim(picked.reshape(shape), d + 1, -1)


def _split_at(input, sections, dim, name):
    if input.ndim <= dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {dim + 1} dimension, "
                           f"but got a tensor with {input.ndim} dimensions!")
    if isinstance(sections, int):
        if input.shape[dim] % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {input.shape[dim]} is not divisible by the "
                               f"split_size {sections}!")
    return S.tensor_split(input, sections, dim)


def hsplit(input, sections):
    return _split_at(input, sections, 1 if input.ndim > 1 else 0, "hsplit")


def vsplit(input, sections):
    return _split_at(input, sections, 0, "vsplit")


def dsplit(input, sections):
    return _split_at(input, sections, 2, "dsplit")


def split_with_sizes(input, split_sizes, dim=0):
    return S.split(input, list(split_sizes), dim)


unsafe_split = S.split
unsafe_chunk = S.chunk


def _scatter_into(input, src, view_fn):
    """input with view_fn(input)'s elements replaced by src (a differentiable copy)."""
    from .inplace import write
    out = input.clone()
    write(view_fn(out), src)
    return out


def select_scatter(input, src, dim, index):
    return _scatter_into(input, src, lambda t: t.select(dim, index))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = _dim(dim, input.ndim)
    key = (builtins.slice(None),) * d + (builtins.slice(start, end, step),)
    return _scatter_into(input, src, lambda t: t[key])


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """input with its `offset` diagonal over (dim1, dim2) replaced by src (whose last dim runs
    along the diagonal), via index_put on the two dims moved to the front."""
    from .creation import arange
    from .indexing import index_put
    d1, d2 = _dim(dim1, input.ndim), _dim(dim2, input.ndim)
    moved = S.movedim(input, (d1, d2), (0, 1))
    n = src.shape[-1] if src.ndim else 0
    rows = arange(n, device=input.device) + builtins.max(-offset, 0)
    cols = arange(n, device=input.device) + builtins.max(offset, 0)
    out = index_put(moved, (rows, cols), S.movedim(to_dtype(src, input.dtype), -1, 0))
    return S.movedim(out, (0, 1), (d1, d2))


def cross(input, other, dim=None):
    if dim is None:
        dim = next((i for i, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    from ..shapes import broadcast_shapes
    shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
    a, b = input.expand(shape), other.expand(shape)
    d = _dim(dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    a0, a1, a2 = (a.select(d, i) for i in range(3))
    b0, b1, b2 = (b.select(d, i) for i in range(3))
    return S.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def _tri_indices(row, col, offset, upper, dtype, device):
    from .creation import tensor
    r, c = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64).reshape(2, -1), dtype=dtype or dt.int64,
                  device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype, device)


def unravel_index(indices, shape):
    if isinstance(shape, int):
        shape = (shape,)
    if indices.dtype.category == dt.FLOAT or indices.dtype is dt.bool_:
        raise TypeError("expected 'indices' to be integer dtype, but got "
                        f"{indices.dtype}")
    out, rest = [], to_dtype(indices, dt.int64)
    for s in reversed(tuple(shape)):
        out.append(rest.remainder(s))
        rest = rest.div(s, rounding_mode="floor")
    return tuple(reversed(out))


def sum_to_size(input, *size):
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (list, tuple)) else size
    lead = input.ndim - len(size)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(size)
                                if s == 1 and input.shape[lead + i] != 1]
    return sum(input, dims, keepdim=True).reshape(size)


def atleast_3d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_3d(t) for t in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_3d(t) for t in tensors)
    x = tensors[0]
    if x.ndim == 0:
        return x.reshape(1, 1, 1)
    if x.ndim == 1:
        return x.reshape(1, -1, 1)
    if x.ndim == 2:
        return x.unsqueeze(-1)
    return x


def diagflat(input, offset=0):
    return S.diag(input.reshape(-1), offset)


def _copying(fn):
    def op(input, *args, **kwargs):
        out = fn(input, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return type(out)(o.clone() for o in out)
        return out.clone()
    op.__name__ = fn.__name__ + "_copy"
    return op


expand_copy = _copying(S.expand)
permute_copy = _copying(S.permute)
view_copy = _copying(S.view)
t_copy = _copying(S.t)
transpose_copy = _copying(S.transpose)
unsqueeze_copy = _copying(S.unsqueeze)
squeeze_copy = _copying(S.squeeze)
diagonal_copy = _copying(S.diagonal)
narrow_copy = _copying(S.narrow)
unbind_copy = _copying(S.unbind)
split_with_sizes_copy = _copying(split_with_sizes)
unfold_copy = _copying(unfold)
alias_copy = _copying(lambda x: x)


def slice(input, dim=0, start=None, end=None, step=1):  # noqa: A001 (aten's name)
    d = _dim(dim, input.ndim)
    return input[(builtins.slice(None),) * d + (builtins.slice(start, end, step),)]


def fill(input, value):
    from .functional import scalar_tensor, zero_grad_link
    v = value if isinstance(value, Tensor) else scalar_tensor(value, input.dtype)
    out = S.expand(to_dtype(v, input.dtype), tuple(input.shape)).clone()
    return out + zero_grad_link(input) if input.requires_grad else out


swapaxes = S.transpose


def adjoint(input):
    return input.transpose(-2, -1)
