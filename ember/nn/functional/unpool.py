"""max_unpool1d/2d/3d: the inverse of max pooling with return_indices (zeros elsewhere)."""
from __future__ import annotations

from ...frontend.creation import zeros
from ...frontend.indexing import scatter

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _tuple(v, n):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    k = _tuple(kernel_size, nd)
    s = _tuple(stride if stride is not None else kernel_size, nd)
    p = _tuple(padding, nd)
    spatial = tuple(input.shape[-nd:])
    if output_size is None:
        out = tuple((i - 1) * st - 2 * pd + kk for i, st, pd, kk in zip(spatial, s, p, k))
    else:
        out = tuple(output_size)[-nd:]
    lead = tuple(input.shape[:-nd])
    flat_in = input.reshape(lead + (-1,))
    flat_idx = indices.reshape(lead + (-1,))
    n = 1
    for d in out:
        n *= d
    base = zeros(lead + (n,), dtype=input.dtype, device=input.device)
    return scatter(base, len(lead), flat_idx, flat_in).reshape(lead + out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
