"""Multi-core execution of large NumPy operations.

NumPy runs one operation on one core; PyTorch splits large tensors across cores.  NumPy ufuncs
release the GIL, so splitting a big contiguous array into chunks and running them on this thread
and a small pool gives the same speed-up without any native code.  Small arrays stay serial: a pool
round trip costs ~10-60 us, so below PARALLEL_MIN elements it would only add latency.

A few large float ops (exp; sum/amax/amin over everything or over trailing dims) first try
native.py's numba kernels, which reach PyTorch's speed where NumPy plus this pool cannot (see that
module); whenever those cannot run (no numba, a forked child, EMBER_NATIVE=0, ...) the code here
does the op as before.

Large freed buffers are reused by glibc without new page faults (its mmap threshold rises to the
size of the largest freed block), so no allocator tuning is done here: measured 0 minor faults per
16 MB eager op in steady state.
"""
from __future__ import annotations

import itertools
import os
import threading
from time import perf_counter as _perf_counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np

PARALLEL_MIN = 1 << 18           # elements; below this an op runs serially
_ufunc = np.ufunc
_pool = None
_pool_lock = threading.Lock()
_pool_pid = None


def num_threads():
    n = os.environ.get("EMBER_NUM_THREADS")
    if n:
        return max(1, int(n))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_threads = num_threads()


def set_num_threads(n):
    global _threads, _pool
    _threads = max(1, int(n))
    _pool = None


def get_num_threads():
    return _threads


def _get_pool():
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:  # a forked worker must not reuse the parent's threads
        with _pool_lock:
            if _pool is None or _pool_pid != pid:
                _pool = ThreadPoolExecutor(_threads - 1 or 1, thread_name_prefix="ember-cpu")
                _pool_pid = pid
    return _pool


# Chunks per thread: more balance a late or preempted helper better (8 was ~10% faster than 4 at
# load average ~3), fewer mean fewer GIL hand-offs (2 was ~10% faster than 8 on a quiet machine).
CHUNKS_PER_THREAD = 4
CHUNK_MIN = 1 << 18            # elements per chunk: ~0.1 ms of work, so per-chunk cost is noise


def _bounds(n, parts):
    step = -(-n // parts)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _chunk_count(n, threads):
    """Several chunks per thread (not one): see _run_chunks."""
    return max(threads, min(CHUNKS_PER_THREAD * threads, n // CHUNK_MIN))


# Waiting for a helper's last chunk: a blocked thread whose core went idle takes ~60 us to wake on
# this VM (measured: submit -> helper running), ~15% of a 16 MB op.  So the caller first polls for
# up to _SPIN_MAX_S, each poll a ~5 us NumPy call that releases the GIL (the helper needs it to
# finish; a bare `while: sleep(0)` loop re-takes the GIL at once and starves the helper for the
# 5 ms switch interval), then blocks.  Measured: exp/add/amax of 4M floats 5-15% faster.
SPIN_WAIT = True
_SPIN_MAX_S = 0.002
_spin_buf = np.zeros(1 << 14, np.float32)
_spin_reduce = np.add.reduce


def _run_chunks(work, bounds):
    """[work(lo, hi) for (lo, hi) in bounds], run by this thread and the pool together.

    Chunks are claimed one at a time from a shared counter instead of being handed out one per
    thread.  Waking a sleeping pool thread takes 0.05-0.2 ms on a VM, and on a shared machine the
    pool thread may not be scheduled at all for a while; with a fixed split the caller would wait
    for that late thread's whole share.  Here the caller keeps claiming chunks, a late helper only
    takes what is left, and a helper that starts after everything is claimed returns at once
    (nobody waits for it).  Results stay in chunk order, so reductions are deterministic."""
    n = len(bounds)
    if n == 1:
        return [work(*bounds[0])]
    results = [None] * n
    claim = itertools.count().__next__      # atomic under the GIL
    left = [n]
    errors = []
    lock = threading.Lock()
    done = [None]

    def drain():
        while True:
            i = claim()
            if i >= n:
                return
            try:
                results[i] = work(*bounds[i])
            except BaseException as e:  # re-raised in the caller
                errors.append(e)
            with lock:
                left[0] -= 1
                if left[0] == 0 and done[0] is not None:
                    done[0].set()

    pool = _get_pool()
    for _ in range(min(_threads, n) - 1):
        pool.submit(drain)
    drain()
    if SPIN_WAIT and left[0]:
        deadline = _perf_counter() + _SPIN_MAX_S
        while left[0] and _perf_counter() < deadline:
            _spin_reduce(_spin_buf)
    if left[0]:
        with lock:  # the helper that finishes the last chunk sets it (under the same lock)
            finished = done[0] = threading.Event() if left[0] else None
        if finished is not None:
            finished.wait()
    if errors:
        raise errors[0]
    return results


_native = None
_np_exp = np.exp
_F32 = np.dtype(np.float32)
_NATIVE_REDUCERS = {np.add: "sum", np.maximum: "max", np.minimum: "min"}
_NATIVE_DTYPES = (_F32, np.dtype(np.float64))
NATIVE_ROW_MIN = 64      # shorter rows leave the kernels' SIMD loops too little to do


def _native_module():
    """ember.runtime.native, imported on the first large op (it is cheap; numba, which it
    imports on its own first use, is not)."""
    global _native
    if _native is None:
        from . import native
        _native = native
    return _native


def elementwise(fn, *arrays):
    """fn(*arrays) for same-shape arrays, split across cores when large and contiguous."""
    first = arrays[0]
    if (fn is _np_exp and first.dtype == _F32 and first.size >= PARALLEL_MIN
            and first.flags.c_contiguous):
        out = _native_module().exp(first, _threads)
        if out is not None:
            return out
    if (_threads < 2 or first.size < PARALLEL_MIN or fn.__class__ is not _ufunc
            or fn.nout != 1):
        return fn(*arrays)
    shape = first.shape
    for a in arrays:
        if a.shape != shape or not a.flags.c_contiguous:
            return fn(*arrays)
    flat = [a.reshape(-1) for a in arrays]
    out_dtype = fn(*(a[:1] for a in flat)).dtype
    out = np.empty(shape, out_dtype)
    out_flat = out.reshape(-1)

    def work(lo, hi):
        fn(*(a[lo:hi] for a in flat), out=out_flat[lo:hi])

    _run_chunks(work, _bounds(first.size, _chunk_count(first.size, _threads)))
    return out


_LANES = 4096
_EINSUM_ROW_MAX = 8192   # einsum adds a row in SIMD lanes, each lane sequentially: keep lanes short
_REDUCERS = {np.add, np.maximum, np.minimum, np.multiply, np.logical_or, np.logical_and}


def reduce(ufunc, x, dims, dtype=None):
    """ufunc.reduce(x, axis=dims, keepdims=True) split across cores when large and contiguous:
    a full reduction combines per-chunk partials; a reduction that keeps dim 0 splits along it."""
    if x.size < PARALLEL_MIN or not x.flags.c_contiguous or x.ndim == 0:
        return ufunc.reduce(x, axis=dims, keepdims=True, dtype=dtype)
    if ufunc in _NATIVE_REDUCERS and x.dtype in _NATIVE_DTYPES and (dtype is None
                                                                     or dtype == x.dtype):
        out = _native_reduce(_NATIVE_REDUCERS[ufunc], x, dims)
        if out is not None:
            return out
    if _threads < 2 or ufunc not in _REDUCERS:
        return ufunc.reduce(x, axis=dims, keepdims=True, dtype=dtype)
    if len(dims) == x.ndim:
        flat = x.reshape(-1)

        lanes = ufunc is np.add and flat.dtype.kind == "f"

        def part(lo, hi):
            chunk = flat[lo:hi]
            if lanes and chunk.size >= _LANES * 64:
                # adding whole rows of a (-1, 4096) view is SIMD-friendly; each lane still sums
                # only a few hundred values, so accuracy stays close to pairwise summation
                body = chunk.size - chunk.size % _LANES
                rows = ufunc.reduce(chunk[:body].reshape(-1, _LANES), axis=0, dtype=dtype)
                return ufunc.reduce(rows, dtype=dtype) + ufunc.reduce(chunk[body:], dtype=dtype)
            return ufunc.reduce(chunk, dtype=dtype)

        partials = _run_chunks(part, _bounds(flat.size, _chunk_count(flat.size, _threads)))
        total = ufunc.reduce(np.asarray(partials), dtype=dtype)
        return np.asarray(total).reshape((1,) * x.ndim)
    out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape))
    kept = x.ndim - len(dims)
    if sorted(dims) == list(range(kept, x.ndim)):
        # reducing the trailing dims of a C-contiguous array: independent contiguous rows
        rows2 = x.reshape(-1, x.size // max(1, int(np.prod(x.shape[:kept], dtype=np.int64))))
        if rows2.shape[0] >= _threads:
            return _row_reduce(ufunc, rows2, dtype).reshape(out_shape)
    if 0 not in dims and x.shape[0] >= _threads:
        out = np.empty(out_shape, dtype or x.dtype)

        def rows(lo, hi):
            ufunc.reduce(x[lo:hi], axis=dims, keepdims=True, dtype=dtype, out=out[lo:hi])

        _run_chunks(rows, _bounds(x.shape[0], min(x.shape[0], _chunk_count(x.size, _threads))))
        return out
    return ufunc.reduce(x, axis=dims, keepdims=True, dtype=dtype)


def _native_reduce(kind, x, dims):
    """The native kernels' result for a full or trailing-dims reduction, else None."""
    out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape))
    if len(dims) == x.ndim:
        out = _native_module().full_reduce(kind, x, _threads)
    else:
        kept = x.ndim - len(dims)
        if list(dims) != list(range(kept, x.ndim)):
            return None
        n_rows = int(np.prod(x.shape[:kept], dtype=np.int64))
        if n_rows == 0 or x.size // n_rows < NATIVE_ROW_MIN:
            return None
        out = _native_module().row_reduce(kind, x.reshape(n_rows, -1), _threads)
    return None if out is None else out.reshape(out_shape)


def _row_reduce(ufunc, x2, dtype):
    """ufunc.reduce(x2, axis=1) of a C-contiguous 2-D array, rows split across cores.  Float row
    sums go through einsum('ij->i'): ~20% faster than add.reduce's pairwise loop, and with rows of
    at most _EINSUM_ROW_MAX each SIMD lane adds at most a few hundred values.  (BLAS gemv with a
    ones vector is as fast as PyTorch on a quiet machine, because OpenBLAS's threads spin between
    calls, but on a loaded one it collapsed to 8 ms from 0.3 ms: not used.)"""
    n_rows, n_cols = x2.shape
    out = np.empty(n_rows, dtype or x2.dtype)
    if (ufunc is np.add and x2.dtype.kind == "f" and x2.dtype.itemsize >= 4 and out.dtype == x2.dtype
            and n_cols <= _EINSUM_ROW_MAX):
        def rows(lo, hi):
            np.einsum("ij->i", x2[lo:hi], out=out[lo:hi])
    else:
        def rows(lo, hi):
            ufunc.reduce(x2[lo:hi], axis=1, dtype=dtype, out=out[lo:hi])
    _run_chunks(rows, _bounds(n_rows, min(n_rows, _chunk_count(x2.size, _threads))))
    return out
