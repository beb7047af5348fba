"""Shape functions: views (view, reshape, permute, transpose, squeeze, expand, narrow, ...) and
joins/splits (cat, stack, split, chunk, ...).  Views share storage exactly like PyTorch's."""
from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from ..shapes import prod as _prod
from .autograd import torch_named
from . import dispatch
from .device_ops import on_cuda
from .dispatch import STATE, bind
from .tensor import Tensor, _dim
from .autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["view", "view_as", "reshape", "reshape_as", "permute", "transpose", "swapaxes",
           "swapdims", "t", "unsqueeze", "squeeze", "flatten", "unflatten", "expand", "expand_as",
           "broadcast_to", "narrow", "contiguous", "clone", "repeat", "tile", "flip", "fliplr",
           "flipud", "roll", "movedim", "moveaxis", "split", "chunk", "unbind", "cat", "concat",
           "concatenate", "stack", "hstack", "vstack", "tril", "triu", "diagonal", "diag",
           "select", "broadcast_tensors", "atleast_1d", "atleast_2d", "ravel", "_sizes",
           "diag_embed", "meshgrid", "tensor_split", "dstack", "column_stack"]


def _sizes(args):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) or f(torch.Size)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.item()
        if not isinstance(a, (int, np.integer)) and not hasattr(a, "free_symbols"):
            raise TypeError(f"sizes must be ints, got {type(a).__name__}")
        out.append(a if hasattr(a, "free_symbols") else int(a))
    return tuple(out)


def _infer_minus_one(shape, numel, from_shape):
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = _prod([s for s in shape if s != -1])
        if known == 0 or numel % known != 0:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of "
                               f"size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    for s in shape:
        if isinstance(s, int) and s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
    if _prod(shape) != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size "
                           f"{numel}")
    return shape


def _can_view(x, shape):
    if STATE.tracer is not None:
        return True
    d = x._data
    try:
        np.reshape(d, shape, copy=False)
        return True
    except (ValueError, AttributeError):
        return False
    except TypeError:
        if not on_cuda(d):
            raise
        from ..runtime.gpu_views import reshape_strides   # torch's computeStride, byte strides
        return reshape_strides(d.shape, d.strides, tuple(shape), d.itemsize) is not None


def view(input, *shape):
    if len(shape) == 1 and (isinstance(shape[0], dt.dtype) or not isinstance(shape[0], (
            int, tuple, list, np.integer)) and not hasattr(shape[0], "free_symbols")):
        return _view_dtype(input, dt.to_dtype(shape[0]))
    shape = _infer_minus_one(_sizes(shape), _prod(input.shape), input.shape)
    if tuple(input.shape) == shape and STATE.tracer is None:
        return bind(P.RESHAPE, input, shape=shape)
    if not _can_view(input, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    out = bind(P.RESHAPE, input, shape=shape)
    return torch_named(out, "ViewBackward0") if out._grad_fn is not None else out


def _view_dtype(input, dtype):
    if dtype.itemsize != input.dtype.itemsize:
        raise RuntimeError("view(dtype) with a different element size is not supported")
    from .functional import _wrap
    d = input._data
    t = _wrap(d.view(dtype.np)) if not on_cuda(d) else dispatch._new(d.reinterpret(dtype.np))
    t._base = input._base if input._base is not None else input
    return t


def view_as(input, other):
    return view(input, tuple(other.shape))


def reshape(input, *shape):
    shape = _infer_minus_one(_sizes(shape), _prod(input.shape), input.shape)
    if not _can_view(input, shape):
        input = clone(input)
    return bind(P.RESHAPE, input, shape=shape)


def reshape_as(input, other):
    return reshape(input, tuple(other.shape))


def ravel(input):
    return reshape(input, -1)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = _dim(start_dim, nd), _dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(input.shape)
    return reshape(input, shape[:s] + (_prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input, dim, sizes):
    d = _dim(dim, input.ndim)
    sizes = tuple(sizes)
    if -1 in sizes:
        sizes = _infer_minus_one(sizes, input.shape[d], None)
    shape = tuple(input.shape)
    return view(input, shape[:d] + sizes + shape[d + 1:])


def permute(input, *dims):
    dims = _sizes(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim() "
                           f"= {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return bind(P.PERMUTE, input, dims=dims)


def transpose(input, dim0, dim1):
    nd = input.ndim
    if nd == 0:
        return bind(P.PERMUTE, input, dims=())
    d0, d1 = _dim(dim0, nd), _dim(dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return bind(P.PERMUTE, input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else bind(P.PERMUTE, input,
                                                               dims=tuple(range(input.ndim)))


def unsqueeze(input, dim):
    nd = input.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd - 1}, {nd}], "
                         f"but got {dim})")
    d = dim % (nd + 1)
    shape = tuple(input.shape)
    return bind(P.RESHAPE, input, shape=shape[:d] + (1,) + shape[d:])


def squeeze(input, dim=None):
    shape = tuple(input.shape)
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_dim(d, input.ndim) for d in dims} if input.ndim else set()
        dims = {d for d in dims if shape[d] == 1}
    if not dims:
        return bind(P.RESHAPE, input, shape=shape)
    return bind(P.RESHAPE, input, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


def expand(input, *sizes):
    sizes = _sizes(sizes)
    shape = tuple(input.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.{dt.legacy_name(input.dtype)}Tensor{{{list(shape)}}}, "
                           f"size={list(sizes)}): the number of sizes provided ({len(sizes)}) "
                           "must be greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(sizes) - len(shape)
    target = tuple(s if s != -1 else (shape[i - lead] if i >= lead else -1)
                   for i, s in enumerate(sizes))
    if any(s == -1 for s in target[:lead]):
        raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, "
                           "non-existing dimension")
    x = input
    if lead:
        x = bind(P.RESHAPE, x, shape=(1,) * lead + shape)
    for have, want in zip(x.shape, target):
        if have != want and have != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing "
                               f"size ({have}) at non-singleton dimension "
                               f"{list(x.shape).index(have)}.  Target sizes: {list(sizes)}.  "
                               f"Tensor sizes: {list(shape)}")
    return bind(P.EXPAND, x, shape=target)


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def broadcast_to(input, size):
    return expand(input, tuple(size))


def broadcast_tensors(*tensors):
    from ..shapes import broadcast_shapes
    shape = broadcast_shapes(*(tuple(x.shape) for x in tensors))
    return tuple(expand(x, shape) for x in tensors)


def _slice_dim(x, d, start, stop, step=1):
    nd = x.ndim
    starts = tuple(start if i == d else 0 for i in range(nd))
    stops = tuple(stop if i == d else x.shape[i] for i in range(nd))
    steps = tuple(step if i == d else 1 for i in range(nd))
    return bind(P.SLICE, x, starts=starts, stops=stops, steps=steps)


def narrow(input, dim, start, length):
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(start, Tensor):
        start = start.item()
    if start < 0:
        start += n
    if not (0 <= start <= n) or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _slice_dim(input, d, start, start + length)


def select(input, dim, index):
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    index %= n
    return squeeze(_slice_dim(input, d, index, index + 1), d)


def contiguous(input, memory_format=None):
    if STATE.tracer is None and input.is_contiguous():
        return input
    return clone(input)


def clone(input, *, memory_format=None):
    return bind(P.CONVERT, input, dtype=input.dtype)


def repeat(input, *sizes):
    reps = _sizes(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    x = reshape(input, tuple(v for s in shape for v in (1, s)))
    x = expand(x, tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shape)))


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def flip(input, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(sorted({_dim(d, input.ndim) for d in dims}))
    return bind(P.FLIP, input, dims=dims)


def fliplr(input):
    return flip(input, (1,))


def flipud(input):
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    if dims is None:
        return roll(flatten(input), shifts, 0).view(tuple(input.shape))
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    x = input
    for s, d in zip(shifts, dims):
        d = _dim(d, x.ndim)
        n = x.shape[d]
        if n == 0:
            continue
        s %= n
        if s:
            x = cat([_slice_dim(x, d, n - s, n), _slice_dim(x, d, 0, n - s)], d)
    # a result, never the input itself (writes through it must not reach the caller's tensor)
    return clone(x) if x is input else x


def movedim(input, source, destination):
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    nd = input.ndim
    src = [_dim(s, nd) for s in src]
    dst = [_dim(s, nd) for s in dst]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, *order)


moveaxis = movedim


def split(tensor, split_size_or_sections, dim=0):
    d = _dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={size}")
        sizes = [builtins.min(size, n - i) for i in range(0, n, size)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                               f"tensor's size at dimension {d}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(_slice_dim(tensor, d, start, start + s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input.shape[_dim(dim, input.ndim)]
    size = -(-n // chunks) if n else 1
    return split(input, builtins.max(size, 1), dim) if n else (input,)


def tensor_split(input, indices_or_sections, dim=0):
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        base, extra = divmod(n, k)
        sizes = [base + (1 if i < extra else 0) for i in range(k)]
        return split(input, sizes, d)
    bounds = [0] + [builtins.min(builtins.max(i, 0), n) for i in indices_or_sections] + [n]
    return tuple(_slice_dim(input, d, a, builtins.max(a, b)) for a, b in zip(bounds, bounds[1:]))


def unbind(input, dim=0):
    d = _dim(dim, input.ndim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def cat(tensors, dim=0, *, out=None):
    if _AMP.on and "cat" in _AMP.ops:
        return _AMP.call("cat", cat, tensors, dim, out=out)
    from .functional import to_dtype
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for x in tensors:
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element in argument 0, but got "
                            f"{type(x).__name__}")
    # legacy: 1-d empty tensors are skipped, as PyTorch does
    nonempty = [x for x in tensors if not (x.ndim == 1 and x.shape[0] == 0)] or tensors[:1]
    ref = nonempty[0]
    d = _dim(dim, ref.ndim)
    dtype = tensors[0].dtype
    for x in tensors[1:]:
        dtype = dt.promote_types(dtype, x.dtype)
    for i, x in enumerate(nonempty):
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{x.ndim}")
        for k in range(ref.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref.shape[k]} but got size {x.shape[k]} for tensor "
                                   f"number {i} in the list.")
    nonempty = [to_dtype(x, dtype) for x in nonempty]
    if len(nonempty) == 1:
        return clone(nonempty[0])
    return bind(P.CAT, *nonempty, dim=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    if _AMP.on and "stack" in _AMP.ops:
        return _AMP.call("stack", stack, tensors, dim, out=out)
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tuple(tensors[0].shape)
    for i, x in enumerate(tensors):
        if tuple(x.shape) != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(x.shape)} at entry {i}")
    d = dim % (len(shape) + 1) if -len(shape) - 1 <= dim <= len(shape) else None
    if d is None:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-len(shape) - 1}, {len(shape)}], but got {dim})")
    return cat([unsqueeze(x, d) for x in tensors], d)


def hstack(tensors):
    tensors = [atleast_1d(x) for x in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(x) for x in tensors], 0)


def dstack(tensors):
    ts = []
    for x in tensors:
        x = atleast_2d(x)
        ts.append(unsqueeze(x, -1) if x.ndim == 2 else x)
    return cat(ts, 2)


def column_stack(tensors):
    return hstack([x.reshape(-1, 1) if x.ndim <= 1 else x for x in tensors])


def _each(fn, tensors):
    """atleast_*d(x), atleast_*d(x, y), atleast_*d([x, y]): a tuple for several tensors."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    return fn(tensors[0]) if len(tensors) == 1 else tuple(fn(t) for t in tensors)


def atleast_1d(*tensors):
    return _each(lambda x: reshape(x, 1) if x.ndim == 0 else x, tensors)


def atleast_2d(*tensors):
    return _each(lambda x: reshape(x, 1, -1) if x.ndim < 2 else x, tensors)


def _tri_mask(x, diagonal, upper):
    from .functional import arange_index
    n, m = x.shape[-2], x.shape[-1]
    rows = arange_index(n, x).unsqueeze(1)
    cols = arange_index(m, x).unsqueeze(0)
    return (cols - rows >= diagonal) if upper else (cols - rows <= diagonal)


def tril(input, diagonal=0):
    from .functional import where
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return where(_tri_mask(input, diagonal, False), input, _zero_of(input))


def triu(input, diagonal=0):
    from .functional import where
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return where(_tri_mask(input, diagonal, True), input, _zero_of(input))


def _zero_of(x):
    """A 0-d zero of x's dtype (a Python 0 would promote a bool tensor to int64)."""
    from .functional import scalar_tensor
    return scalar_tensor(0, x.dtype)


def diagonal(input, offset=0, dim1=0, dim2=1):
    from .functional import arange_index
    nd = input.ndim
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    rest = [d for d in range(nd) if d not in (d1, d2)]
    x = permute(input, *(rest + [d1, d2]))
    n, m = x.shape[-2], x.shape[-1]
    length = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else
                          builtins.min(n + offset, m))
    r = arange_index(length, input) + builtins.max(-offset, 0)
    c = arange_index(length, input) + builtins.max(offset, 0)
    return bind(P.INDEX, x, r, c, positions=(nd - 2, nd - 1))


def diag(input, diagonal_=0):
    from .functional import arange_index
    from .creation import zeros
    if input.ndim == 1:
        n = input.shape[0] + builtins.abs(diagonal_)
        out = zeros(n, n, dtype=input.dtype, device=input.device)
        r = arange_index(input.shape[0], input) + builtins.max(-diagonal_, 0)
        c = arange_index(input.shape[0], input) + builtins.max(diagonal_, 0)
        return bind(P.INDEX_PUT, out, input, r, c, positions=(0, 1), accumulate=False)
    return diagonal(input, diagonal_)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """The last dim of input becomes the `offset` diagonal of planes spanning (dim1, dim2) of a
    result with one more dim (each of those dims has size n + |offset|)."""
    n = input.shape[-1]
    nd = input.ndim + 1
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    from .creation import eye
    planes = input.unsqueeze(-1) * eye(n, dtype=input.dtype, device=input.device)
    k = builtins.abs(offset)
    if k:  # row i of the n x n block sits at (i, i + offset) of an (n+k) x (n+k) plane
        rows, cols = ((0, k), (k, 0)) if offset > 0 else ((k, 0), (0, k))
        pads = ((0, 0),) * (nd - 2) + (rows, cols)
        planes = bind(P.PAD, planes, pads=pads, value=0)
    # the planes' row dim goes to min(d1, d2)'s position: swap when dim1 > dim2
    src = (nd - 2, nd - 1) if d1 < d2 else (nd - 1, nd - 2)
    return movedim(planes, src, (builtins.min(d1, d2), builtins.max(d1, d2)))


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = tuple(x.numel() for x in tensors)
    if indexing == "xy" and len(tensors) >= 2:
        shape = (shape[1], shape[0]) + shape[2:]
    out = []
    for i, x in enumerate(tensors):
        pos = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            pos = 1 - i
        view_shape = [1] * len(shape)
        view_shape[pos] = x.numel()
        out.append(expand(reshape(x, tuple(view_shape)), shape))
    return tuple(out)
