"""Convolution primitives, for any number of spatial dims (1-d, 2-d, 3-d):

* ``conv(x, w)``: cross-correlation, x ``[N, C, *S]``, w ``[O, C/groups, *K]``, symmetric zero
  padding (the frontend pads explicitly for 'same' with even kernels and for other padding modes);
* ``conv_transpose(x, w)``: its adjoint with respect to the input, w ``[C_in, C_out/groups, *K]``;
* ``conv_weight(x, g)``: its adjoint with respect to the weight (the weight gradient);
* ``max_pool_indices(x)``: flat argmax positions of each pooling window (values come from
  ``gather``, so max pooling needs no gradient rule of its own).

The three convolution primitives are bilinear and adjoint to one another, so each one's vjp is
written with the other two, and higher-order gradients come free.

The NumPy rules build im2col columns from a strided window view in the layout
``[groups, C/groups * prod(K), N * prod(out)]``, so each group is one large matmul: many small
GEMMs are slow, above all when BLAS threads share a busy machine.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes as dt
from .registry import Meta, define, fail

_CONV_PARAMS = ("stride", "padding", "dilation", "groups")


def conv_out_size(size, k, stride, pad, dilation, ceil_mode=False):
    span = size + 2 * pad - dilation * (k - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad:  # the last window must start inside input or left pad
            out -= 1
        return out
    return span // stride + 1


def _check_conv(op, x, w, groups, in_dim):
    nd = len(x.shape)
    if nd < 3 or len(w.shape) != nd:
        fail(op, f"input and weight must both have rank 2 + spatial dims", x, w)
    if x.dtype is not w.dtype:
        raise RuntimeError(f"Input type ({x.dtype.name}) and weight type ({w.dtype.name}) should "
                           "be the same")
    if x.shape[1] != w.shape[in_dim] * (groups if in_dim == 1 else 1):
        fail(op, f"channels of input ({x.shape[1]}) do not match the weight for groups={groups}",
             x, w)


def _infer_conv(x, w, stride, padding, dilation, groups):
    _check_conv("conv", x, w, groups, 1)
    out = tuple(conv_out_size(n, k, s, p, d)
                for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation))
    if any(isinstance(o, int) and o <= 0 for o in out):
        fail("conv", f"output size {out} is too small", x, w)
    return Meta((x.shape[0], w.shape[0]) + out, x.dtype)


def _pad_spatial(x, padding):
    if not any(padding):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))


def _batches(n, item_bytes, budget=1 << 22):
    """Split a batch of n into runs whose im2col columns stay about `budget` bytes: the columns
    are then still in cache when the GEMM reads them (and big fresh buffers are avoided)."""
    step = max(1, min(n, budget // max(item_bytes, 1)))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def _columns(xp, kernel, out, stride, dilation, groups):
    """im2col: [G, C/G * prod(K), N * prod(out)] from a padded xp [N, C, *S] (one copy)."""
    nd = len(kernel)
    n, c = xp.shape[:2]
    st = xp.strides
    # window view laid out [C, *K, N, *out]: the copy's inner loop runs along a row of the image
    shape = (c,) + tuple(kernel) + (n,) + tuple(out)
    strides = (st[1],) + tuple(st[2 + i] * dilation[i] for i in range(nd)) + (st[0],) + \
        tuple(st[2 + i] * stride[i] for i in range(nd))
    win = as_strided(xp, shape, strides, writeable=False)
    k = int(np.prod(kernel))
    p = int(np.prod(out))
    return win.reshape(groups, (c // groups) * k, n * p)


def _gemm(a, b):
    """[G, m, k] @ [G, k, n] as one 2-D BLAS call per group: NumPy's stacked matmul can miss BLAS
    for transposed operands (100x slower), 2-D dot never does."""
    if a.shape[0] == 1:
        return np.dot(a[0], b[0])[None]
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), np.result_type(a, b))
    for i in range(a.shape[0]):
        np.dot(a[i], b[i], out=out[i])
    return out


def _conv_np(x, w, stride, padding, dilation, groups, out=None):
    res = out       # out= (a planned buffer); the name `out` is the output size below
    kernel = tuple(w.shape[2:])
    out = tuple(conv_out_size(n, k, s, p, d)
                for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    xp = _pad_spatial(x, padding)
    n, c = x.shape[:2]
    o = w.shape[0]
    p = int(np.prod(out))
    wm = w.reshape(groups, o // groups, -1)
    # a planned buffer is C-contiguous with the result's shape and dtype
    y = np.empty((n, o, p), np.result_type(x, w)) if res is None else res.reshape(n, o, p)
    for a, b in _batches(n, c * int(np.prod(kernel)) * p * x.itemsize):
        cols = _columns(xp[a:b], kernel, out, stride, dilation, groups)
        # a few large GEMMs: many small ones are slow when BLAS threads are oversubscribed
        y[a:b] = _gemm(wm, cols).reshape(o, b - a, p).transpose(1, 0, 2)
    return y.reshape((n, o) + out)


def _conv_vjp(g, out, x, w, stride, padding, dilation, groups, needs=(True, True)):
    # needs (Primitive.vjp_needs): an input nobody wants a gradient for (a network's input
    # images) is skipped; for a first conv layer it costs as much as the weight's gradient
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    gx = CONV_TRANSPOSE(g, w, output_padding=_output_padding(x.shape[2:], g.shape[2:], w.shape[2:],
                                                             stride, padding, dilation),
                        **params) if needs[0] else None
    gw = CONV_WEIGHT(x, g, kernel=tuple(w.shape[2:]), **params) if needs[1] else None
    return gx, gw


def _output_padding(in_size, out_size, kernel, stride, padding, dilation):
    """The output_padding that makes conv_transpose return exactly `in_size`."""
    return tuple(n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
                 for n, o, k, s, p, d in zip(in_size, out_size, kernel, stride, padding, dilation))


CONV = define("conv", family="conv", infer=_infer_conv, numpy=_conv_np, vjp=_conv_vjp,
              triton="conv", params=_CONV_PARAMS,
              doc="N-d cross-correlation with symmetric zero padding, stride, dilation, groups")
CONV.vjp_needs = True


def transpose_out_size(size, k, stride, pad, dilation, output_padding):
    return (size - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1


def _infer_conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    _check_conv("conv_transpose", x, w, groups, 0)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding: {op_}, stride: {s}, dilation: {d}")
    out = tuple(transpose_out_size(n, k, s, p, d, o) for n, k, s, p, d, o in
                zip(x.shape[2:], w.shape[2:], stride, padding, dilation, output_padding))
    if any(isinstance(o, int) and o <= 0 for o in out):
        fail("conv_transpose", f"output size {out} is too small", x, w)
    return Meta((x.shape[0], w.shape[1] * groups) + out, x.dtype)


def _col2im(img, cols, kernel, out, stride, dilation):
    """The adjoint of _columns: add columns [C, *K, N, *out] into a padded image view
    [C, N, *full]."""
    nd = len(kernel)
    for kpos in np.ndindex(*kernel):
        key = (slice(None), slice(None)) + tuple(
            slice(kpos[i] * dilation[i], kpos[i] * dilation[i] + (out[i] - 1) * stride[i] + 1,
                  stride[i]) for i in range(nd))
        img[key] += cols[(slice(None),) + kpos]


def _conv_transpose_np(x, w, stride, padding, output_padding, dilation, groups, out=None):
    kernel = tuple(w.shape[2:])
    nd = len(kernel)
    n, cin = x.shape[:2]
    cout = w.shape[1] * groups
    inp = tuple(x.shape[2:])
    size = tuple(transpose_out_size(i, k, s, p, d, o) for i, k, s, p, d, o in
                 zip(inp, kernel, stride, padding, dilation, output_padding))
    # the padded image holds every window and the output_padding cells (which get no input)
    full = tuple(max((i - 1) * s + d * (k - 1) + 1, p + o_)
                 for i, k, s, d, p, o_ in zip(inp, kernel, stride, dilation, padding, size))
    img = np.zeros((n, cout) + full, np.result_type(x, w))
    wm = w.reshape(groups, cin // groups, -1).transpose(0, 2, 1)   # [G, C_out/G * K, C_in/G]
    p = int(np.prod(inp))
    k = int(np.prod(kernel))
    for a, b in _batches(n, cout * k * p * x.itemsize):
        xm = x[a:b].reshape(b - a, cin, p).transpose(1, 0, 2).reshape(groups, cin // groups, -1)
        cols = _gemm(wm, xm).reshape((cout,) + kernel + (b - a,) + inp)
        _col2im(img[a:b].transpose((1, 0) + tuple(range(2, 2 + nd))), cols, kernel, inp, stride,
                dilation)
    if full != size or any(padding):
        crop = img[(slice(None), slice(None)) + tuple(
            slice(p_, p_ + o_) for p_, o_ in zip(padding, size))]
        if out is not None:
            np.copyto(out, crop)
            return out
        img = np.ascontiguousarray(crop)
    if out is not None:
        np.copyto(out, img)
        return out
    return img


def _conv_transpose_vjp(g, out, x, w, stride, padding, output_padding, dilation, groups):
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    gx = CONV(g, w, **params)
    gw = CONV_WEIGHT(g, x, kernel=tuple(w.shape[2:]), **params)
    return gx, gw


CONV_TRANSPOSE = define("conv_transpose", family="conv", infer=_infer_conv_transpose,
                        numpy=_conv_transpose_np, vjp=_conv_transpose_vjp,
                        triton="conv_transpose",
                        params=("stride", "padding", "output_padding", "dilation", "groups"),
                        doc="the adjoint of conv with respect to its input")


def _infer_conv_weight(x, g, kernel, stride, padding, dilation, groups):
    if x.dtype is not g.dtype or len(x.shape) != len(g.shape):
        fail("conv_weight", "input and output gradient must have the same rank and dtype", x, g)
    return Meta((g.shape[1], x.shape[1] // groups) + tuple(kernel), x.dtype)


def _conv_weight_np(x, g, kernel, stride, padding, dilation, groups):
    kernel = tuple(kernel)
    out = tuple(g.shape[2:])
    xp = _pad_spatial(x, padding)
    n, o = g.shape[:2]
    c = x.shape[1]
    p = int(np.prod(out))
    k = int(np.prod(kernel))
    gw = np.zeros((groups, o // groups, (c // groups) * k), np.result_type(x, g))
    for a, b in _batches(n, c * k * p * x.itemsize):
        cols = _columns(xp[a:b], kernel, out, stride, dilation, groups)          # [G, CK, nb*P]
        gm = g[a:b].reshape(b - a, o, p).transpose(1, 0, 2).reshape(groups, o // groups, -1)
        gw += _gemm(gm, cols.transpose(0, 2, 1))                                 # [G, O/G, CK]
    return gw.reshape((o, c // groups) + kernel)


def _conv_weight_vjp(gg, out, x, g, kernel, stride, padding, dilation, groups):
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    gx = CONV_TRANSPOSE(g, gg, output_padding=_output_padding(x.shape[2:], g.shape[2:], kernel,
                                                              stride, padding, dilation), **params)
    return gx, CONV(x, gg, **params)


CONV_WEIGHT = define("conv_weight", family="conv", infer=_infer_conv_weight,
                     numpy=_conv_weight_np, vjp=_conv_weight_vjp, triton="conv_weight",
                     params=("kernel",) + _CONV_PARAMS,
                     doc="the adjoint of conv with respect to its weight (the weight gradient)")


def _infer_max_pool_indices(x, kernel, stride, padding, dilation, ceil_mode):
    nd = len(kernel)
    if len(x.shape) < nd + 1:
        fail("max_pool_indices", f"expected at least {nd + 1} dims", x)
    out = tuple(conv_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(x.shape[-nd:], kernel, stride, padding, dilation))
    return Meta(tuple(x.shape[:-nd]) + out, dt.int64)


def _max_pool_indices_np(x, kernel, stride, padding, dilation, ceil_mode, out=None):
    res = out       # out= (a planned buffer); the name `out` is the output size below
    nd = len(kernel)
    lead = x.shape[:-nd]
    size = x.shape[-nd:]
    out = tuple(conv_out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(size, kernel, stride, padding, dilation))
    # pad with the lowest value; grow at the end so ceil_mode windows stay in bounds
    need = tuple((o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(out, stride, dilation, kernel))
    after = tuple(max(0, nd_ - n - p) for nd_, n, p in zip(need, size, padding))
    kind = x.dtype.kind
    low = np.iinfo(x.dtype).min if kind in "iu" else False if kind == "b" else -np.inf
    flat = x.reshape((-1,) + size)
    xp = np.pad(flat, ((0, 0),) + tuple(zip(padding, after)), constant_values=low) \
        if any(padding) or any(after) else flat
    # running argmax over the kernel offsets, each a strided view (no window copy); a small
    # integer arg keeps the passes over memory cheap
    views = []
    for kpos in np.ndindex(*kernel):
        views.append(xp[(slice(None),) + tuple(
            slice(kpos[i] * dilation[i], kpos[i] * dilation[i] + (out[i] - 1) * stride[i] + 1,
                  stride[i]) for i in range(nd))])
    arg_type = np.int8 if len(views) < 128 else np.int64
    best = views[0].copy()
    arg = np.zeros(best.shape, arg_type)
    take = np.empty(best.shape, bool)
    step = np.empty(best.shape, arg_type)
    for j, v in enumerate(views[1:], 1):
        np.greater(v, best, out=take)
        np.maximum(best, v, out=best)    # propagates NaN, which the check below looks for
        # branchless update: j only grows, so max(arg, take * j) keeps the latest strict winner
        np.multiply(take, arg_type(j), out=step)
        np.maximum(arg, step, out=arg)
    if kind not in "iub" and np.isnan(best).any():
        # NaN never compares greater: redo with the first NaN winning, like PyTorch
        best = views[0].copy()
        arg = np.zeros(best.shape, arg_type)
        for j, v in enumerate(views[1:], 1):
            take = (v > best) | (np.isnan(v) & ~np.isnan(best))
            best = np.where(take, v, best)
            arg = np.where(take, arg_type(j), arg)
    # flat input index = window origin's (base) + the kernel offset's (off), both small tables
    place = [int(np.prod(size[i + 1:])) for i in range(nd)]
    off = np.array([sum(k[i] * dilation[i] * place[i] for i in range(nd))
                    for k in np.ndindex(*kernel)], np.int64)
    base = np.zeros(out, np.int64)
    for i in range(nd):
        grid = (np.arange(out[i]) * stride[i] - padding[i]) * place[i]
        base = base + grid.reshape(tuple(-1 if j == i else 1 for j in range(nd)))
    if res is not None:
        np.add(np.take(off, arg), base, out=res.reshape(arg.shape))
        return res
    return (np.take(off, arg) + base).reshape(lead + out)


MAX_POOL_INDICES = define("max_pool_indices", family="conv", infer=_infer_max_pool_indices,
                          numpy=_max_pool_indices_np, triton="max_pool_indices",
                          differentiable=False,
                          params=("kernel", "stride", "padding", "dilation", "ceil_mode"),
                          doc="flat input index of each max-pooling window's maximum")


def _infer_pool_gather(x, index, unique):
    if index.dtype is not dt.int64 or tuple(index.shape[:-1]) != tuple(x.shape[:-1]):
        fail("pool_gather", "index must be int64 with the input's leading dims", x, index)
    return Meta(tuple(index.shape), x.dtype)


def _pool_gather_vjp(g, out, x, index, unique):
    return POOL_SCATTER(g, index, size=x.shape[-1], unique=unique), None


def _flat_index(index, size):
    """Per-row indices into the last dim -> indices into the flattened array."""
    rows = index.size // index.shape[-1] if index.shape[-1] else 0
    return (index.reshape(rows, -1) + (np.arange(rows, dtype=np.int64) * size)[:, None]).ravel()


def _pool_gather_np(x, index, unique, out=None):
    if x.ndim == 1 or index.size == 0:
        res = np.take_along_axis(x, index, -1)
        if out is not None:
            np.copyto(out, res)
            return out
        return res
    flat = _flat_index(index, x.shape[-1])
    if out is not None:
        # mode="clip" is unbuffered (indices come from max_pool_indices: always in range)
        np.take(x.reshape(-1), flat, out=out.reshape(-1), mode="clip")
        return out
    return np.take(x.reshape(-1), flat).reshape(index.shape)


POOL_GATHER = define("pool_gather", family="conv", infer=_infer_pool_gather,
                     numpy=_pool_gather_np,
                     vjp=_pool_gather_vjp, triton="gather", params=("unique",),
                     doc="x[..., index] along the last (flattened spatial) dim: pooled values")


def _infer_pool_scatter(g, index, size, unique):
    if index.dtype is not dt.int64 or tuple(index.shape) != tuple(g.shape):
        fail("pool_scatter", "index must be int64 with the gradient's shape", g, index)
    return Meta(tuple(g.shape[:-1]) + (size,), g.dtype)


def _pool_scatter_np(g, index, size, unique, out=None):
    lead = g.shape[:-1]
    if out is None:
        out = np.zeros(int(np.prod(lead)) * size, g.dtype)
    else:
        out = out.reshape(-1)
        out.fill(0)
    if g.size == 0:
        return out.reshape(lead + (size,))
    flat = _flat_index(index, size)
    if unique:
        out[flat] = g.ravel()      # disjoint windows: each input cell wins at most once
    else:
        np.add.at(out, flat, g.ravel())
    return out.reshape(lead + (size,))


POOL_SCATTER = define("pool_scatter", family="conv", infer=_infer_pool_scatter,
                      numpy=_pool_scatter_np, saves_inputs=True,
                      vjp=lambda gg, out, g, index, size, unique: (
                          POOL_GATHER(gg, index, unique=unique), None),
                      triton="scatter_add", params=("size", "unique"),
                      doc="the adjoint of pool_gather: zeros with g added at index")
