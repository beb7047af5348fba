"""Pooling: max_pool1d/2d/3d, avg_pool1d/2d/3d, adaptive_avg_pool1d/2d/3d, adaptive_max_pool1d/2d.

* max pooling: the ``max_pool_indices`` primitive finds each window's argmax, ``pool_gather``
  reads the values; its gradient scatters back (a plain store when windows are disjoint, which
  is 7x faster than an accumulating scatter).
* average pooling: a window sum is a convolution with a ones kernel (its gradient is the
  transposed convolution), divided by a constant divisor computed with PyTorch's rules.
* adaptive average pooling is separable: one small averaging matrix per spatial dim (matmul).
* adaptive max pooling gathers every window, padded to the largest window by repeating an element
  of the same window, and takes the max.
"""
from __future__ import annotations

import numpy as np

from ... import ops as P
from ...frontend.dispatch import bind
from ...frontend.tensor import Tensor
from ...frontend import functional as _F
from ...ops.conv import conv_out_size
from .conv import _tuple, _index_tensor
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "lp_pool1d", "lp_pool2d"]


def _check_input(x, nd, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input tensor, but got "
                           f"input of size: {list(x.shape)}" if nd > 1 else
                           f"{name}() Expected 2D or 3D input, but got {x.ndim}D input")
    if any(n == 0 for n in x.shape[1:]) and x.ndim == nd + 2 or \
            any(n == 0 for n in x.shape[-nd:]):
        raise RuntimeError(f"{name}: Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(x.shape)}")


def _pool_args(nd, name, kernel_size, stride, padding, dilation=1):
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _tuple(stride, nd, "stride")
    p = _tuple(padding, nd, "padding")
    d = _tuple(dilation, nd, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}(): kernel_size must be greater than zero, but got "
                           f"kernel_size={k if nd > 1 else k[0]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{name}(): stride must be greater than zero, but got stride="
                           f"{s if nd > 1 else s[0]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{name}(): dilation must be greater than zero, but got dilation="
                           f"{d if nd > 1 else d[0]}")
    for pi, ki in zip(p, k):
        if pi < 0 or pi > ki // 2:
            raise RuntimeError(f"{name}(): pad should be at most half of effective kernel size, "
                               f"but got pad={pi}, kernel_size={ki} and dilation="
                               f"{d[0]}" if name.startswith("max") else
                               "pad should be smaller than or equal to half of kernel size, but "
                               f"got padW = {p[-1]}, padH = {p[0]}, kW = {k[-1]}, kH = {k[0]}")
    return k, s, p, d


# --- max pooling ------------------------------------------------------------------------------
def _max_pool(nd, name, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(input, nd, name)
    k, s, p, d = _pool_args(nd, name, kernel_size, stride, padding, dilation)
    size = tuple(input.shape[-nd:])
    out = tuple(conv_out_size(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip(size, k, s, p, d))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, input.shape[-nd - 1:]))}). "
                           f"Calculated output size: ({'x'.join(map(str, (input.shape[-nd - 1],) + out))}). "
                           "Output size is too small")
    idx = bind(P.MAX_POOL_INDICES, input, kernel=k, stride=s, padding=p, dilation=d,
               ceil_mode=bool(ceil_mode))
    lead = tuple(input.shape[:-nd])
    flat = input.reshape(lead + (int(np.prod(size)),))
    # disjoint windows pick distinct cells, so the backward scatter needs no accumulation
    unique = all(si >= di * (ki - 1) + 1 for si, di, ki in zip(s, d, k))
    values = bind(P.POOL_GATHER, flat, idx.reshape(lead + (int(np.prod(out)),)), unique=unique).reshape(lead + out)
    return (values, idx) if return_indices else values


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if _AMP.on and "max_pool3d" in _AMP.ops:
        return _AMP.call("max_pool3d", max_pool3d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# --- average pooling --------------------------------------------------------------------------
def _avg_divisor(size, out, k, s, p, count_include_pad):
    """PyTorch's per-window divisor along one dim: the window clipped to the padded input
    (count_include_pad) or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    start_c = np.maximum(start, 0)
    end_c = np.minimum(end, size)
    return full if count_include_pad else end_c - start_c


def _avg_pool(nd, name, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _check_input(input, nd, name)
    if input.dtype.category != _F.dt.FLOAT:
        raise RuntimeError(f"\"{name}_out_frame\" not implemented for "
                           f"'{_F.dt.legacy_name(input.dtype)}'")
    k, s, p, _ = _pool_args(nd, name, kernel_size, stride, padding)
    size = tuple(input.shape[-nd:])
    out = tuple(conv_out_size(n, ki, si, pi, 1, ceil_mode) for n, ki, si, pi in zip(size, k, s, p))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, input.shape[-nd - 1:]))}). "
                           f"Calculated output size: ({'x'.join(map(str, (input.shape[-nd - 1],) + out))}). "
                           "Output size is too small")
    lead = tuple(input.shape[:-nd])
    x = input.reshape((int(np.prod(lead)), 1) + size)
    # zero padding: p before, and at the end whatever the ceil_mode windows hang over
    after = tuple(max(0, (o - 1) * si + ki - n - pi) for o, si, ki, n, pi in zip(out, s, k, size, p))
    if any(p) or any(after):
        x = bind(P.PAD, x, pads=((0, 0), (0, 0)) + tuple(zip(p, after)), value=0.0)
    from ...frontend.device_ops import on_device_of
    ones = on_device_of(np.ones((1, 1) + k, input.dtype.np), input)
    sums = bind(P.CONV, x, ones, stride=s, padding=(0,) * nd, dilation=(1,) * nd, groups=1)
    if divisor_override:
        divisor = np.full(out, float(divisor_override))
    else:
        divisor = np.ones(out)
        for i in range(nd):
            dv = _avg_divisor(size[i], out[i], k[i], s[i], p[i], count_include_pad)
            divisor = divisor * dv.reshape(tuple(-1 if j == i else 1 for j in range(nd)))
    scale = on_device_of((1.0 / divisor).astype(input.dtype.np), input)
    return (sums * scale).reshape(lead + out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    if _AMP.on and "avg_pool3d" in _AMP.ops:
        return _AMP.call("avg_pool3d", avg_pool3d, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _tuple(kernel_size, 1)
    out = avg_pool1d(_F.pow(input, norm_type), k, stride, 0, ceil_mode)
    return _F.pow(_F.sign(out) * _F.relu(_F.abs(out)) * k[0], 1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _tuple(kernel_size, 2)
    out = avg_pool2d(_F.pow(input, norm_type), k, stride, 0, ceil_mode)
    return _F.pow(_F.sign(out) * _F.relu(_F.abs(out)) * (k[0] * k[1]), 1.0 / norm_type)


# --- adaptive pooling -------------------------------------------------------------------------
def _adaptive_bounds(size, out):
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    return start, end


def _output_size(output_size, nd, size):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise RuntimeError(f"adaptive_avg_pool{nd}d: output_size must be {nd}")
        return tuple(n if o is None else int(o) for o, n in zip(output_size, size))
    return (int(output_size),) * nd


def _adaptive_check(input, nd, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    for i in range(1, input.ndim) if input.ndim == nd + 2 else range(input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")


def _adaptive_avg(nd, name, input, output_size):
    _adaptive_check(input, nd, name)
    size = tuple(input.shape[-nd:])
    out = _output_size(output_size, nd, size)
    x = input
    for i in range(nd):
        n, o = size[i], out[i]
        if n == o:
            continue
        start, end = _adaptive_bounds(n, o)
        m = np.zeros((n, o))
        for j in range(o):
            m[start[j]:end[j], j] = 1.0 / (end[j] - start[j])
        mat = _F._wrap(m.astype(input.dtype.np))
        dim = input.ndim - nd + i
        # bring the pooled dim last, contract it with the averaging matrix, put it back
        x = _F.matmul(x.transpose(dim, -1), mat).transpose(dim, -1)
    return x if x is not input else input.clone()


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    if _AMP.on and "adaptive_avg_pool3d" in _AMP.ops:
        return _AMP.call("adaptive_avg_pool3d", adaptive_avg_pool3d, input, output_size)
    return _adaptive_avg(3, "adaptive_avg_pool3d", input, output_size)


def _adaptive_max(nd, name, input, output_size, return_indices):
    _adaptive_check(input, nd, name)
    size = tuple(input.shape[-nd:])
    out = _output_size(output_size, nd, size)
    lead = tuple(input.shape[:-nd])
    # per dim: [out, kmax] positions, the short windows padded by repeating their last element
    per_dim = []
    for n, o in zip(size, out):
        start, end = _adaptive_bounds(n, o)
        kmax = int((end - start).max())
        pos = np.minimum(start[:, None] + np.arange(kmax)[None, :], end[:, None] - 1)
        per_dim.append(pos)
    # flat input index for every (o_0, .., o_nd-1, k_0, .., k_nd-1)
    flat = np.zeros((), np.int64)
    for i, pos in enumerate(per_dim):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape
        flat = flat * size[i] + pos.reshape(shape)
    windows = int(np.prod(flat.shape[nd:]))
    flat = flat.reshape(out + (windows,))
    xf = input.reshape(lead + (int(np.prod(size)),))
    index = _index_tensor(flat.reshape(-1))
    vals = bind(P.INDEX, xf, index, positions=(len(lead),)).reshape(lead + out + (windows,))
    which = _F.argmax(vals, -1, keepdim=True)
    values = _F.gather(vals, vals.ndim - 1, which).squeeze(-1)
    if not return_indices:
        return values
    from ...frontend.device_ops import on_device_of
    table = on_device_of(np.ascontiguousarray(np.broadcast_to(flat, lead + out + (windows,))),
                         input)
    return values, _F.gather(table, table.ndim - 1, which).squeeze(-1)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(1, "adaptive_max_pool1d", input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive_max(3, "adaptive_max_pool3d", input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _tuple(kernel_size, 3)
    out = avg_pool3d(_F.pow(input, norm_type), k, stride, 0, ceil_mode)
    return _F.pow(_F.sign(out) * _F.relu(_F.abs(out)) * (k[0] * k[1] * k[2]), 1.0 / norm_type)
__all__ += ["lp_pool3d"]
