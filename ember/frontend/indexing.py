"""Indexing: x[key] and x[key] = value with PyTorch's semantics (basic indexing gives views;
integer/boolean tensor indexing gives copies), plus gather/scatter/index_select/sort/topk."""
from __future__ import annotations

import collections

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from .device_ops import host_fallback, on_cuda, on_device_of
from .dispatch import STATE, bind
from .tensor import Tensor, _dim

_INT = (int, np.integer)


def _as_index_tensor(obj):
    from .creation import tensor
    if isinstance(obj, Tensor):
        return obj
    return tensor(obj) if not isinstance(obj, np.ndarray) else tensor(obj)


def _parse(x, key):
    """Split a key into: slice bounds per input dim, dims selected by an int (dropped), the final
    basic shape (with None dims inserted), and the advanced indices with their dims in that shape."""
    if not isinstance(key, tuple):
        key = (key,)
    # expand a boolean tensor into its index tensors and lists into tensors
    items = []
    for k in key:
        if isinstance(k, Tensor) and k.ndim == 0 and k.dtype is not dt.uint8:
            # a 0-d integer tensor indexes like an int (a view), a 0-d bool one like True/False
            k = bool(k.item()) if k.dtype is dt.bool_ else int(k.item()) \
                if k.dtype.category == dt.INT else k
        if isinstance(k, (list, np.ndarray)) or (isinstance(k, Tensor)):
            t = _as_index_tensor(k)
            if t.dtype is dt.bool_ or t.dtype is dt.uint8:
                items.append(("mask", t))
            elif t.dtype.category == dt.INT:
                items.append(("index", t))
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif k is None:
            items.append(("none", None))
        elif k is Ellipsis:
            items.append(("ellipsis", None))
        elif isinstance(k, bool):
            items.append(("bool", k))
        elif isinstance(k, _INT):
            items.append(("int", int(k)))
        elif isinstance(k, slice):
            items.append(("slice", k))
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                             "Variables are valid indices (got " + type(k).__name__ + ")")
    consumed = sum(1 if kind in ("int", "slice", "index") else
                   (v.ndim if kind == "mask" else 0) for kind, v in items)
    if sum(1 for kind, _ in items if kind == "ellipsis") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        if x.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    expanded = []
    for kind, v in items:
        if kind == "ellipsis":
            expanded.extend([("slice", slice(None))] * (x.ndim - consumed))
        else:
            expanded.append((kind, v))
    if not any(kind == "ellipsis" for kind, _ in items):
        expanded.extend([("slice", slice(None))] * (x.ndim - consumed))

    starts, stops, steps = [], [], []
    basic_shape = []   # the shape after slicing, int dims dropped and None dims inserted
    advanced = []      # (dim in basic_shape, index tensor)
    d = 0
    for kind, v in expanded:
        if kind in ("none", "bool"):
            if kind == "bool":  # a 0-d mask: a new dim of size 1, kept (True) or emptied (False)
                from .creation import tensor
                advanced.append((len(basic_shape), tensor([0] if v else [], dtype=dt.int64)))
            basic_shape.append(1)
            continue
        if kind == "mask":
            for j in range(v.ndim):
                if v.shape[j] != x.shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(v.shape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {list(x.shape)} at "
                                     f"index {d + j}")
            for idx in nonzero(v, as_tuple=True):
                starts.append(0)
                stops.append(x.shape[d])
                steps.append(1)
                advanced.append((len(basic_shape), idx))
                basic_shape.append(x.shape[d])
                d += 1
            continue
        n = x.shape[d]
        if kind == "int":
            if not -n <= v < n:
                raise IndexError(f"index {v} is out of bounds for dimension {d} with size {n}")
            v %= n
            starts.append(v)
            stops.append(v + 1)
            steps.append(1)
        elif kind == "slice":
            if v.step is not None and v.step <= 0:
                raise ValueError("step must be greater than zero")
            a, b, c = v.indices(n) if isinstance(n, int) else _symbolic_indices(v, n)
            b = max(a, b)
            starts.append(a)
            stops.append(b)
            steps.append(c)
            basic_shape.append((b - a + c - 1) // c)
        else:  # index tensor
            starts.append(0)
            stops.append(n)
            steps.append(1)
            advanced.append((len(basic_shape), v))
            basic_shape.append(n)
        d += 1
    return tuple(starts), tuple(stops), tuple(steps), tuple(basic_shape), advanced


def _symbolic_indices(s, n):
    """slice.indices for a symbolic size n (tracing with dynamic shapes): the comparisons below
    record guards instead of fixing n to the traced size."""
    def clamp(v, default):
        if v is None:
            return default
        if not hasattr(v, "free_symbols"):
            v = int(v)
        if v < 0:
            v = v + n
            return 0 if v < 0 else v
        return n if v > n else v
    return clamp(s.start, 0), clamp(s.stop, n), 1 if s.step is None else int(s.step)


def _basic_view(x, starts, stops, steps, basic_shape):
    out = x
    if any(a != 0 or b != n or c != 1 for a, b, c, n in zip(starts, stops, steps, x.shape)):
        out = bind(P.SLICE, out, starts=starts, stops=stops, steps=steps)
    if tuple(out.shape) != basic_shape:
        out = bind(P.RESHAPE, out, shape=basic_shape)
    return out


def _to_int64(t):
    from .functional import to_dtype
    return to_dtype(t, dt.int64)


def getitem(x, key):
    if x._value is None and STATE.tracer is None and not (
            STATE.grad_enabled and x._requires_grad) and _simple_key(key):
        # plain eager basic indexing: NumPy gives the same view directly
        # a trailing Ellipsis makes NumPy return a (0-d) view even for all-int keys
        try:
            out = x._data[(key, Ellipsis) if not isinstance(key, tuple) else key + (Ellipsis,)]
        except IndexError:
            out = None  # the parsing below raises PyTorch's message
        except TypeError:
            if not on_cuda(x._data):
                raise
            out = None  # a CUDA tensor: views through bind below
        if out is not None:
            t = Tensor.__new__(Tensor)
            t._data = out
            t._base = x._base if x._base is not None else x
            return t
    starts, stops, steps, basic_shape, advanced = _parse(x, key)
    advanced = _on_device_of(advanced, x)
    out = _basic_view(x, starts, stops, steps, basic_shape)
    if advanced:
        positions = tuple(p for p, _ in advanced)
        out = bind(P.INDEX, out, *[_to_int64(i) for _, i in advanced], positions=positions)
    return out


def _on_device_of(advanced, x):
    """Index tensors of a CUDA tensor's advanced indexing on its device (PyTorch accepts CPU
    index tensors there)."""
    if not advanced or not on_cuda(x._data):
        return advanced
    dev = x.device
    return [(p, i if i.device == dev else i.to(dev)) for p, i in advanced]


def _simple_key(key):
    """Keys NumPy treats exactly as PyTorch does: ints and slices with positive steps."""
    if isinstance(key, (int, slice)) and not isinstance(key, bool):
        return not isinstance(key, slice) or key.step is None or key.step > 0
    if isinstance(key, tuple) and len(key) <= 4:
        if any(k is Ellipsis for k in key):  # `in` would compare tensors elementwise
            return False
        for k in key:
            if isinstance(k, bool) or not isinstance(k, (int, slice)) and k is not None \
                    and k is not Ellipsis:
                return False
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                return False
        return True
    return False


def setitem(x, key, value):
    from .functional import as_tensor_like, expand_to
    from .inplace import write
    starts, stops, steps, basic_shape, advanced = _parse(x, key)
    advanced = _on_device_of(advanced, x)
    target = _basic_view(x, starts, stops, steps, basic_shape)
    if isinstance(value, Tensor):
        if value.dtype is not x.dtype:
            value = as_tensor_like(value, x.dtype)
    elif isinstance(value, (list, tuple, np.ndarray)):
        from .creation import tensor
        value = tensor(value, dtype=x.dtype)
    else:
        value = as_tensor_like(value, x.dtype)
    if not advanced:
        write(target, value, op="index_put_")
        return
    if value.device != x.device:
        value = value.to(x.device)
    positions = tuple(p for p, _ in advanced)
    indices = [_to_int64(i) for _, i in advanced]
    idx_shape = P.index.advanced_index_shape(tuple(target.shape), [tuple(i.shape) for i in indices],
                                             positions)
    value = _fit_value(value, idx_shape)
    if STATE.grad_enabled and STATE.tracer is None and (target._requires_grad or
                                                        value._requires_grad):
        # the node must not see target's storage, which write() is about to overwrite
        from .inplace import snapshot
        target_in = snapshot(target)
    else:
        target_in = target
    new = bind(P.INDEX_PUT, target_in, value, *indices, positions=positions, accumulate=False)
    write(target, new, op="index_put_")


def _fit_value(value, shape):
    from .functional import expand_to
    vs = tuple(value.shape)
    while len(vs) > len(shape) and vs[0] == 1:
        value = value.reshape(vs[1:])
        vs = vs[1:]
    try:
        return expand_to(value, shape)
    except Exception:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to "
                           f"indexing result of shape {list(shape)}") from None


# --- gather / scatter / index_select -----------------------------------------------------------
def _check_index(op, index):
    """Returns the index as int64 (PyTorch also takes int32 indices)."""
    if not isinstance(index, Tensor) or index.dtype not in (dt.int64, dt.int32):
        got = index.dtype.name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got "
                           f"{got}")
    return _to_int64(index)


def gather(input, dim, index, *, sparse_grad=False):
    index = _check_index("gather", index)
    d = _dim(dim, input.ndim)
    if index.ndim != input.ndim and not (index.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if input.ndim == 0 or index.ndim == 0:
        # a 0-d input or index counts as one element; the result takes the index's shape
        flat = bind(P.GATHER, input.reshape(-1), index.reshape(-1), dim=0)
        return flat.reshape(tuple(index.shape))
    return bind(P.GATHER, input, index, dim=d)


def _crop(src, shape):
    if tuple(src.shape) == tuple(shape):
        return src
    starts = (0,) * len(shape)
    return bind(P.SLICE, src, starts=starts, stops=tuple(shape), steps=(1,) * len(shape))


def _scatter_src(input, index, src, value):
    from .functional import as_tensor_like, expand_to
    if src is None:
        src = value
    if isinstance(src, Tensor):
        src = as_tensor_like(src, input.dtype)
        if src.ndim != index.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        return _crop(src, tuple(index.shape))
    return expand_to(as_tensor_like(src, input.dtype), tuple(index.shape))


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    index = _check_index("scatter", index)
    d = _dim(dim, input.ndim)
    src = _scatter_src(input, index, src, value)
    if reduce == "add":
        return bind(P.SCATTER_ADD, input, index, src, dim=d)
    if reduce is not None:
        raise NotImplementedError(f"scatter reduce={reduce!r} is not supported; use 'add'")
    return bind(P.SCATTER, input, index, src, dim=d)


def scatter_add(input, dim, index, src):
    index = _check_index("scatter_add", index)
    d = _dim(dim, input.ndim)
    return bind(P.SCATTER_ADD, input, index, _scatter_src(input, index, src, None), dim=d)


def index_select(input, dim, index):
    if not isinstance(index, Tensor) or index.dtype.category != dt.INT:
        raise IndexError("index_select(): Expected dtype int32/int64 for index")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _dim(dim, input.ndim)
    idx = _to_int64(index.reshape(-1))
    if input.ndim == 0:
        return bind(P.INDEX, input.reshape(1), idx, positions=(0,)).reshape(())
    return bind(P.INDEX, input, idx, positions=(d,))


def index_put(input, indices, values, accumulate=False):
    """input with input[indices] = values (or += with accumulate); indices index the leading
    dims, bool masks expand to their nonzero positions, like torch.index_put."""
    from .functional import as_tensor_like
    if isinstance(values, Tensor) and values.dtype is not input.dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{dt.legacy_name(input.dtype)} for the destination and "
                           f"{dt.legacy_name(values.dtype)} for the source.")
    expanded = []
    for i in indices:
        if not isinstance(i, Tensor) or i.dtype.category == dt.FLOAT:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if i.dtype is dt.bool_ or i.dtype is dt.uint8:
            expanded.extend(_to_int64(k) for k in nonzero(i, as_tuple=True))
        else:
            expanded.append(_to_int64(i))
    if len(expanded) > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
    positions = tuple(range(len(expanded)))
    shape = P.index.advanced_index_shape(tuple(input.shape), [tuple(i.shape) for i in expanded],
                                         positions)
    values = _fit_value(as_tensor_like(values, input.dtype), shape)
    return bind(P.INDEX_PUT, input, values, *expanded, positions=positions,
                accumulate=bool(accumulate))


def index_add(input, dim, index, source, *, alpha=1):
    if input.ndim == 0:  # a 0-d input is one element along dim 0
        src = source.reshape(1) if isinstance(source, Tensor) else source
        return index_add(input.reshape(1), 0, index.reshape(-1), src, alpha=alpha).reshape(())
    d = _dim(dim, input.ndim)
    src = source * alpha if alpha != 1 else source
    from .functional import as_tensor_like
    src = as_tensor_like(src, input.dtype)
    perm = [d] + [i for i in range(input.ndim) if i != d]
    inv = np.argsort(perm).tolist()
    moved = input.permute(*perm)
    out = bind(P.INDEX_PUT, moved, src.permute(*perm), _to_int64(index), positions=(0,),
               accumulate=True)
    return out.permute(*inv)


def index_fill(input, dim, index, value):
    if input.ndim == 0:  # a 0-d input is one element along dim 0
        return index_fill(input.reshape(1), 0, index.reshape(-1), value).reshape(())
    d = _dim(dim, input.ndim)
    mask_shape = [1] * input.ndim
    mask_shape[d] = input.shape[d]
    from .creation import zeros
    from .functional import masked_fill
    mask = zeros(input.shape[d], dtype=dt.bool_, device=input.device)
    mask = bind(P.INDEX_PUT, mask, expand_to_bool(index), _to_int64(index), positions=(0,),
                accumulate=False)
    return masked_fill(input, mask.reshape(tuple(mask_shape)), value)


def expand_to_bool(index):
    from .functional import scalar_tensor, expand_to
    return expand_to(scalar_tensor(True, dt.bool_), tuple(index.shape))


def masked_select(input, mask):
    from .functional import broadcast_tensors
    x, m = broadcast_tensors(input, mask)
    return getitem(x, m)


def take(input, index):
    return getitem(input.reshape(-1), index)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    from .functional import broadcast_shapes
    d = _dim(dim, input.ndim)
    shape_i = list(input.shape)
    shape_x = list(indices.shape)
    shape_i[d] = shape_x[d] = 1
    b = broadcast_shapes(tuple(shape_i), tuple(shape_x))
    xi = list(b)
    xi[d] = input.shape[d]
    ii = list(b)
    ii[d] = indices.shape[d]
    return gather(input.expand(*xi), d, indices.expand(*ii))


@host_fallback
def nonzero(input, *, as_tuple=False):
    input._no_trace("nonzero() (its output shape depends on the data)")
    from .functional import _wrap
    idx = np.nonzero(input._data if input.ndim else input._data.reshape(1))
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in idx)
    if input.ndim == 0:  # one row per nonzero element, no coordinates: (1, 0) or (0, 0)
        return _wrap(np.zeros((len(idx[0]), 0), np.int64))
    return _wrap(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


def argwhere(input):
    return nonzero(input)


_Sort = collections.namedtuple("return_types_sort", ["values", "indices"])


def sort(input, dim=-1, descending=False, stable=False):
    if input.ndim == 0:
        from .functional import _wrap
        return _Sort(input.clone(), on_device_of(np.zeros((), np.int64), input))
    d = _dim(dim, input.ndim)
    idx = bind(P.ARGSORT, input, dim=d, descending=bool(descending))
    return _Sort(gather(input, d, idx), idx)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    d = _dim(dim, input.ndim) if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range")
    if input.ndim == 0:
        return sort(input)
    idx = bind(P.ARGSORT, input, dim=d, descending=bool(largest))
    from .shape_ops import narrow
    idx = narrow(idx, d, 0, k)
    return _Sort(gather(input, d, idx), idx)


def kthvalue(input, k, dim=-1, keepdim=False):
    d = _dim(dim, input.ndim)
    if input.ndim == 0:
        if k != 1:
            raise IndexError("kthvalue(): selected number k out of range for dimension 0")
        return _Sort(input.clone(), on_device_of(np.zeros((), np.int64), input))
    s = sort(input, d)
    from .shape_ops import narrow
    v, i = narrow(s.values, d, k - 1, 1), narrow(s.indices, d, k - 1, 1)
    return _Sort(v if keepdim else v.squeeze(d), i if keepdim else i.squeeze(d))


def median(input, dim=None, keepdim=False):
    if dim is None:
        flat = input.reshape(-1)
        return sort(flat).values[(flat.numel() - 1) // 2]
    d = _dim(dim, input.ndim)
    return kthvalue(input, (input.shape[d] + 1) // 2, d, keepdim)


@host_fallback
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    input._no_trace("unique() (its output shape depends on the data)")
    from .functional import _wrap
    res = np.unique(input._data if dim is None else input._data, return_inverse=return_inverse,
                    return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return _wrap(res)
    out = [_wrap(res[0])]
    if return_inverse:
        out.append(_wrap(res[1].reshape(input.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_wrap(res[-1].astype(np.int64)))
    return tuple(out)


@host_fallback
def bincount(input, weights=None, minlength=0):
    from .functional import _wrap
    return _wrap(np.bincount(input._data, None if weights is None else weights._data, minlength))


@host_fallback
def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    from .functional import _wrap
    side = side or ("right" if right else "left")
    itype = np.int32 if out_int32 else np.int64
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    seq = sorted_sequence._data
    if sorter is not None:  # sorted_sequence sorted by these indices along the last dim
        seq = np.take_along_axis(seq, sorter._data, -1)
    if seq.ndim == 1:
        return _wrap(np.asarray(np.searchsorted(seq, v, side=side)).astype(itype))
    out = np.stack([np.searchsorted(s, vv, side=side) for s, vv in
                    zip(seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1]))])
    return _wrap(out.reshape(v.shape).astype(itype))


@host_fallback
def bucketize(input, boundaries, *, out_int32=False, right=False):
    from .functional import _wrap
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    return _wrap(np.asarray(np.searchsorted(boundaries._data, data, side="left" if not right else
                                            "right")).astype(np.int32 if out_int32 else np.int64))
