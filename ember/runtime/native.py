"""Numba kernels for the few large eager ops where NumPy plus a Python thread pool is too slow.

Why: on a 2-core VM, waking a helper of cpu.py's pool costs ~60 us, and NumPy's float32 exp
costs ~0.45 ns/element against PyTorch's ~0.27.  Numba's parallel loops run on its OpenMP threads,
which spin briefly between regions (a prange round trip measured 1.4 us), and LLVM vectorizes the
loops below; together they reach PyTorch's speed on exp, sum and amax/amin of large float arrays.

Only cpu.py calls this module, and only for large C-contiguous float32/float64 arrays.  numba is
imported on first use (it costs ~130 ms, far too much for ``import ember``).  Every entry point
returns None when the native path cannot run (numba missing, a kernel failed to compile, a forked
child, another thread inside a kernel) and the caller then falls back to NumPy.

Kernels are compiled with cache=True (numba stores them next to this file, or in its user cache
directory when that is read-only), so a process compiles each signature at most once per machine.
"""
from __future__ import annotations

import os
import threading
from time import perf_counter

import numpy as np

_state = {"kernels": None, "failed": False}
# one launch at a time: numba's workqueue layer (used where neither OpenMP nor TBB loads) aborts
# the process on concurrent launches; with OpenMP they would only oversubscribe the cores
_busy = threading.Lock()
_forked = [False]
_numba = None              # the numba module, once kernels() has imported it


def _after_fork():
    # GNU OpenMP (numba's "omp" layer here) aborts a forked child that enters a parallel region
    # once the parent has used one: DataLoader workers are forked, so they stay on NumPy
    _forked[0] = True


os.register_at_fork(after_in_child=_after_fork)

ENABLED = os.environ.get("EMBER_NATIVE", "1") != "0"   # tests switch it to reach the NumPy path


def kernels():
    """The kernel module, or None when the native path is off (ENABLED false, EMBER_NATIVE=0),
    numba is unusable here, or this is a forked child."""
    if not ENABLED or _forked[0]:
        return None
    k = _state["kernels"]
    if k is not None or _state["failed"]:
        return k
    global _numba
    try:
        from . import native_kernels as k
    except Exception:  # numba missing or broken: NumPy path from now on
        _state["failed"] = True
        return None
    if k.numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1: the kernels would be Python loops
        _state["failed"] = True
        return None
    _numba = k.numba
    _state["kernels"] = k
    return k


# Work is cut into blocks that threads claim one at a time (OpenMP dynamic scheduling), for the
# reason cpu._run_chunks gives: with prange's default static halves, a helper thread that other
# jobs keep off its core makes the caller wait for its whole half (measured at load average 3:
# exp of 4M floats, median 8.8 ms with static halves, 1.1 ms with blocks).  A block is ~20-40 us
# of work.
BLOCK = 1 << 16            # elements of a full reduction or of exp
ROW_CHUNKS_PER_THREAD = 16


# Under heavy load two threads can be far slower than one: an OpenMP region ends in a barrier,
# so the caller waits until every team thread has been scheduled at least once (cpu.py's pool
# never waits for a helper that has not started).  Measured at load average 9 on the 2-core VM,
# medians of 4M-float ops: row sums 18 ms with 2 threads, 0.66 ms with 1 (NumPy + pool: 3.9 ms);
# exp 19.7 / 8.7 / 13 ms; amax rows 18.8 / 0.87 / 3.2 ms.  So each call is timed, and one that
# runs SLOW_FACTOR times slower per element than the fastest call of its kernel, dtype and thread
# count runs the following calls on one thread for a back-off time (doubling while multi-thread
# calls stay slow, from BACKOFF_S[0] up to BACKOFF_S[1]; reset by a fast one).
SLOW_FACTOR = 4.0
SLOW_MIN_S = 0.5e-3        # shorter calls are never judged slow (timer and wake-up noise)
BACKOFF_S = (0.05, 2.0)
_fastest = {}              # (kernel, dtype, threads) -> fastest seconds per element seen
_slow = {"until": 0.0, "span": BACKOFF_S[0]}


def _threads_now(threads):
    return 1 if threads > 1 and perf_counter() < _slow["until"] else threads


def _judge(key, size, seconds):
    per = seconds / size
    best = _fastest.get(key)
    if best is None or per < best:
        _fastest[key] = per       # (a kernel's first call includes its compile: never judged)
    if key[2] == 1:
        return
    if best is not None and seconds > SLOW_MIN_S and per > SLOW_FACTOR * best:
        _slow["until"] = perf_counter() + _slow["span"]
        _slow["span"] = min(2 * _slow["span"], BACKOFF_S[1])
    else:
        _slow["span"] = BACKOFF_S[0]


def _launch(fn, chunk, threads, *args):
    """fn(*args) on `threads` threads claiming `chunk` loop iterations at a time, under the
    one-launch-at-a-time lock; None if it cannot run now (or failed, which switches the native
    path off).  args[0] is the input array (its size and dtype key the timing)."""
    if _forked[0] or not _busy.acquire(blocking=False):
        return None
    try:
        threads = _threads_now(threads)
        if _numba.get_num_threads() != threads:
            _numba.set_num_threads(max(1, min(threads, _numba.config.NUMBA_NUM_THREADS)))
        old = _numba.set_parallel_chunksize(chunk)
        try:
            t0 = perf_counter()
            out = fn(*args)
            _judge((fn, args[0].dtype, threads), args[0].size, perf_counter() - t0)
            return out
        finally:
            _numba.set_parallel_chunksize(old)
    except Exception:
        # a compile failure (odd CPU, broken LLVM): never try the native path again
        _state["failed"] = True
        _state["kernels"] = None
        return None
    finally:
        _busy.release()


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def exp(x, threads):
    """np.exp(x) for a C-contiguous float32 array, or None."""
    if x.dtype != np.float32:
        return None
    k = kernels()
    if k is None:
        return None
    out = np.empty_like(x)
    if _launch(k.exp_f32, 1, threads, x.reshape(-1), out.reshape(-1), BLOCK) is None:
        return None
    return out


def full_reduce(kind, x, threads):
    """sum/max/min of all of a C-contiguous float array as a 0-d array, or None."""
    if x.dtype not in _FLOATS:
        return None
    k = kernels()
    if k is None:
        return None
    flat = x.reshape(-1)
    if kind == "sum":
        r = _launch(k.full_sum, 1, threads, flat, BLOCK, x.dtype.type(0))
    else:
        r = _launch(k.full_max if kind == "max" else k.full_min, 1, threads, flat, BLOCK)
    return None if r is None else np.asarray(r, x.dtype)


def row_reduce(kind, x2, threads):
    """sum/max/min along axis 1 of a C-contiguous 2-D float array, or None."""
    if x2.dtype not in _FLOATS or x2.shape[1] == 0:
        return None
    k = kernels()
    if k is None:
        return None
    out = np.empty(x2.shape[0], x2.dtype)
    chunk = max(1, x2.shape[0] // (threads * ROW_CHUNKS_PER_THREAD))
    if kind == "sum":
        done = _launch(k.row_sum, chunk, threads, x2, out, x2.dtype.type(0))
    else:
        done = _launch(k.row_max if kind == "max" else k.row_min, chunk, threads, x2, out)
    return None if done is None else out
