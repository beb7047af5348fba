"""Writing into device arrays: ``copy_into(dst, src)`` for in-place ops, ``copy_`` and index
assignment on CUDA tensors (what ``np.copyto(dst, src, casting="unsafe")`` is on the CPU).

* a dtype change is the ``convert`` primitive through the eager executor first (the codegen's
  conversions: NumPy's rounding and bool rules);
* ``src`` broadcasts to ``dst``'s shape as a zero-stride view;
* two C-contiguous arrays of the same shape: one device-to-device memcpy;
* otherwise one strided copy kernel (``_strided_copy``): sizes and strides are runtime arguments,
  so one compiled kernel per element size serves every layout.  Elements are copied as same-size
  integers (a bit copy: no float semantics, bfloat16 included).

Imports triton on first use only.
"""
from __future__ import annotations

import numpy as np

from ... import dtypes as dt
from ...runtime import cuda as _cuda
from ...runtime.gpu_views import view_layout

MAX_DIMS = 8
_BITS = {1: np.dtype(np.int8), 2: np.dtype(np.int16), 4: np.dtype(np.int32), 8: np.dtype(np.int64)}
_kernel = None
STATS = {"memcpy": 0, "kernel": 0}


def copy_into(dst, src):
    """Write ``src`` (a DeviceArray broadcastable to ``dst``'s shape) into ``dst`` (any strides),
    casting to ``dst``'s dtype.  Returns ``dst``."""
    from . import gpu_eager
    from ...ops.registry import REGISTRY
    if src.dtype != dst.dtype:
        src = gpu_eager.run(REGISTRY["convert"], [src], {"dtype": dt.from_numpy_dtype(dst.dtype)})
    elif src.buffer is dst.buffer and _overlap(dst, src):   # x[1:] = x[:-1]: read first
        src = gpu_eager.run(REGISTRY["convert"], [src], {"dtype": dt.from_numpy_dtype(src.dtype)})
    if src.shape != dst.shape:
        src = _broadcast(src, dst.shape)
    if dst.size == 0:
        return dst
    if dst.is_c_contiguous() and src.is_c_contiguous():
        if dst.data_ptr() != src.data_ptr():
            STATS["memcpy"] += 1
            _cuda.runtime().memcpy_dtod(dst.data_ptr(), src.data_ptr(), dst.nbytes,
                                        _cuda.current_stream_handle(dst.device))
        return dst
    _strided(dst, src)
    return dst


def _overlap(a, b):
    """Do two views of one buffer touch common bytes (by their spans; exactly equal views are
    fine, each element is read before it is written)?"""
    if a.offset == b.offset and a.shape == b.shape and a.strides == b.strides:
        return False
    lo_a, hi_a = _cuda._span(a.shape, a.strides, a.itemsize)
    lo_b, hi_b = _cuda._span(b.shape, b.strides, b.itemsize)
    return a.offset + lo_a < b.offset + hi_b and b.offset + lo_b < a.offset + hi_a


def _broadcast(src, shape):
    if len(shape) < src.ndim:
        raise RuntimeError(f"ember: cannot copy a tensor of shape {list(src.shape)} into one of "
                           f"shape {list(shape)}")
    lead = len(shape) - src.ndim
    src = _cuda.DeviceArray(src.buffer, (1,) * lead + src.shape, src.dtype,
                            (0,) * lead + src.strides, src.offset)
    for have, want in zip(src.shape, shape):
        if have != want and have != 1:
            raise RuntimeError(f"ember: the source shape {list(src.shape[lead:])} does not "
                               f"broadcast to the destination shape {list(shape)}")
    new_shape, strides, _ = view_layout("expand", src.shape, src.strides, {"shape": shape},
                                        src.itemsize)
    return _cuda.DeviceArray(src.buffer, new_shape, src.dtype, strides, src.offset)


def _merge_dims(shape, dst_strides, src_strides):
    """Drop size-1 dims and merge neighbours contiguous in both layouts (fewer index ops, and a
    rank over MAX_DIMS usually fits afterwards)."""
    dims = [(n, a, b) for n, a, b in zip(shape, dst_strides, src_strides) if n != 1]
    merged = []
    for n, a, b in dims:
        if merged and merged[-1][1] == n * a and merged[-1][2] == n * b:
            m = merged[-1]
            merged[-1] = (m[0] * n, a, b)
        else:
            merged.append((n, a, b))
    return merged or [(1, 0, 0)]


def _strided(dst, src):
    item = dst.itemsize
    bits = _BITS[item]
    dims = _merge_dims(dst.shape, [s // item for s in dst.strides],
                       [s // item for s in src.strides])
    if len(dims) > MAX_DIMS:
        raise NotImplementedError(f"ember: a strided device copy over {len(dims)} dims (the copy "
                                  f"kernel handles {MAX_DIMS}) of shape {list(dst.shape)}")
    dims = [(1, 0, 0)] * (MAX_DIMS - len(dims)) + dims
    sizes = [n for n, _, _ in dims]
    d_st = [a for _, a, _ in dims]
    s_st = [b for _, _, b in dims]
    from ...runtime import gpu_buffers
    kernel = _copy_kernel()
    n = dst.size
    block = 1024 if n >= 1024 else max(16, 1 << (n - 1).bit_length())
    gpu_buffers.bind_device(dst.device)
    STATS["kernel"] += 1
    gpu_buffers.launch(kernel, (-(-n // block),), gpu_buffers.arg(dst.reinterpret(bits)),
           gpu_buffers.arg(src.reinterpret(bits)), n, *sizes, *d_st, *s_st, BLOCK=block)


def _copy_kernel():
    global _kernel
    if _kernel is None:
        import triton
        import triton.language as tl

        @triton.jit
        def _strided_copy(dst, src, n, n0, n1, n2, n3, n4, n5, n6, n7,
                          d0, d1, d2, d3, d4, d5, d6, d7, s0, s1, s2, s3, s4, s5, s6, s7,
                          BLOCK: tl.constexpr):
            x = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
            mask = x < n
            i7 = x % n7
            r = x // n7
            i6 = r % n6
            r = r // n6
            i5 = r % n5
            r = r // n5
            i4 = r % n4
            r = r // n4
            i3 = r % n3
            r = r // n3
            i2 = r % n2
            r = r // n2
            i1 = r % n1
            i0 = r // n1
            so = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4 + i5 * s5 + i6 * s6 + i7 * s7
            do = i0 * d0 + i1 * d1 + i2 * d2 + i3 * d3 + i4 * d4 + i5 * d5 + i6 * d6 + i7 * d7
            tl.store(dst + do, tl.load(src + so, mask), mask)

        _kernel = _strided_copy
    return _kernel
