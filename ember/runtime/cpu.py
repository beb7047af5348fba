"""Multi-core execution of large NumPy operations.

NumPy runs one operation on one core; PyTorch splits large tensors across cores.  NumPy ufuncs
release the GIL, so splitting a big contiguous array into one chunk per core and running the chunks
on a thread pool gives the same speed-up without any native code.  Small arrays stay serial: a pool
round trip costs ~20 us, so below PARALLEL_MIN elements it would only add latency.
"""
from __future__ import annotations

import os
import threading
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


def _bounds(n, parts):
    step = -(-n // parts)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _run_chunks(work, bounds):
    """Run work(lo, hi) for each chunk: the first in this thread, the rest on the pool."""
    pool = _get_pool()
    futures = [pool.submit(work, lo, hi) for lo, hi in bounds[1:]]
    results = [work(*bounds[0])]
    results.extend(f.result() for f in futures)
    return results


def elementwise(fn, *arrays):
    """fn(*arrays) for same-shape arrays, split across cores when large and contiguous."""
    first = arrays[0]
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

    _run_chunks(work, _bounds(first.size, _threads))
    return out


_LANES = 4096
_REDUCERS = {np.add, np.maximum, np.minimum, np.multiply, np.logical_or, np.logical_and}


def reduce(ufunc, x, dims, dtype=None):
    """ufunc.reduce(x, axis=dims, keepdims=True) split across cores when large and contiguous:
    a full reduction combines per-chunk partials; a reduction that keeps dim 0 splits along it."""
    if (_threads < 2 or x.size < PARALLEL_MIN or ufunc not in _REDUCERS
            or not x.flags.c_contiguous or x.ndim == 0):
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

        partials = _run_chunks(part, _bounds(flat.size, _threads))
        total = ufunc.reduce(np.asarray(partials), dtype=dtype)
        return np.asarray(total).reshape((1,) * x.ndim)
    if 0 not in dims and x.shape[0] >= _threads:
        out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape))
        out = np.empty(out_shape, dtype or x.dtype)

        def rows(lo, hi):
            ufunc.reduce(x[lo:hi], axis=dims, keepdims=True, dtype=dtype, out=out[lo:hi])

        _run_chunks(rows, _bounds(x.shape[0], _threads))
        return out
    return ufunc.reduce(x, axis=dims, keepdims=True, dtype=dtype)
