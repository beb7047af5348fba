"""The one door every primitive goes through: ``bind(prim, *tensors, **params)``.

* tracing (a tracer is installed): the tracer appends a node and returns a traced Tensor;
* eager CPU: the primitive's NumPy rule runs on the tensors' arrays;
* eager CUDA: NumPy refuses a CUDA tensor's DeviceArray, and the failure path hands the primitive
  to the eager GPU executor (``device_ops.bind_on_device``), so CPU ops pay nothing for CUDA;
* with grad mode on and an input that requires grad, a node is recorded for backward.

The eager path is kept short on purpose: a small op's whole Python budget is well under a
microsecond, so nothing here runs the infer rule unless NumPy already failed (then infer explains
the failure in the user's terms).
"""
from __future__ import annotations

import threading

import numpy as np

from ..ops.registry import FRONTEND, ShapeError
from ..runtime import cpu as _cpu

_ndarray = np.ndarray
_ufunc = np.ufunc
_PARALLEL_MIN = _cpu.PARALLEL_MIN


def _eager_kernel(prim, arrays, params):
    from . import eager_kernels    # imported on the first large op (it loads codegen)
    return eager_kernels.run(prim, arrays, params)


class _KERNELS:
    # EMBER_NATIVE=0 keeps eager ops on NumPy (read once: bind is hot)
    import os as _os
    on = _os.environ.get("EMBER_NATIVE", "1") not in ("0", "")


_KERNEL_MIN = 1 << 18


def try_eager_kernel(prim, arrays, params=None):
    """A large pointwise op's result from its cached one-op CPU kernel, or None (small, kernels
    off, or not compiled yet: the caller computes it its own way)."""
    if _KERNELS.on and arrays[0].size >= _KERNEL_MIN and prim.scalar is not None:
        return _eager_kernel(prim, arrays, params or {})
    return None


def large_elementwise(prim, *arrays):
    """A large elementwise op's result: its one-op CPU kernel once compiled, else NumPy over
    runtime/cpu.py's threads (the frontend's fast paths call this above PARALLEL_MIN)."""
    out = try_eager_kernel(prim, arrays)
    return out if out is not None else _cpu.elementwise(prim.numpy, *arrays)
_asarray = np.asarray


class _State(threading.local):
    """Mode switches read on every op, one set per thread (like PyTorch's grad mode): a thread
    that traces or turns grad off leaves the others' ops alone.  A new thread starts with grad
    on and no tracer."""
    grad_enabled = True
    tracer = None          # the frontend.trace Tracer while this thread traces, else None
    record_hook = None     # a callable(prim) used by tests to see which primitives an op binds
    profiler = None        # the active ember.profiler.profile (it sets record_hook to record)


STATE = _State()

# set by tensor.py (the Tensor class) and autograd.py (node recording) to break the import cycle
_Tensor = None
_record = None


def _new(data):
    """A Tensor over `data` as is (an array, or a traced tensor's metadata stand-in)."""
    t = _Tensor.__new__(_Tensor)
    t._data = data
    return t


def wrap(a):
    """A Tensor over NumPy's result `a` (NumPy hands back scalars for 0-d results)."""
    t = _Tensor.__new__(_Tensor)
    t._data = a if a.__class__ is _ndarray else _asarray(a)
    return t


def bind(prim, *args, **params):
    if STATE.tracer is not None:
        return STATE.tracer.bind(prim, args, params)
    if STATE.record_hook is not None:   # (one check on every op when nothing observes)
        STATE.record_hook(prim)
        if STATE.profiler is not None:
            return STATE.profiler.op(prim, args, params)
    try:
        fn = prim.numpy
        out = None
        if prim.scalar is not None and args[0]._data.size >= _KERNEL_MIN and _KERNELS.on:
            # a large pointwise op: its cached one-op CPU kernel (frontend/eager_kernels.py)
            out = _eager_kernel(prim, [a._data for a in args], params)
        if out is not None:
            pass
        elif fn.__class__ is _ufunc and args[0]._data.size >= _PARALLEL_MIN:
            out = _cpu.elementwise(fn, *[a._data for a in args])
        else:
            out = fn(*[a._data for a in args], **params)
        if out.__class__ is not _ndarray:
            out = _asarray(out)   # (inside the try: a CUDA array refuses NumPy with a TypeError)
    except (ShapeError, IndexError):
        raise
    except Exception as e:
        # a CUDA input makes NumPy fail: only here, off the CPU path, is the device looked at
        from .device_ops import bind_on_device
        t = bind_on_device(prim, args, params)
        if t is not None:
            return t
        explain(prim, args, params, e)
        raise
    # the same tail as finish(), inlined: a call costs ~50 ns on every CPU op
    t = _Tensor.__new__(_Tensor)
    t._data = out
    if prim.is_view:
        src = args[0]
        t._base = src._base if src._base is not None else src
        t._view_src = (src, prim, params)
    if STATE.grad_enabled and prim.differentiable:
        for a in args:
            if a._requires_grad:
                _record(prim, args, params, t)
                break
    return t


def _graph_vjp(graph):
    from .graph_vjp import GraphVJP   # loaded by the autodiff pass's first use
    return GraphVJP(graph)


FRONTEND.bind = bind
FRONTEND.graph_vjp = _graph_vjp


def finish(prim, args, params, out):
    """The tail of ``bind`` for a result computed elsewhere (the eager GPU executor): wrap it,
    link views to their base, record the node for autograd."""
    t = _Tensor.__new__(_Tensor)
    t._data = out
    if prim.is_view:
        src = args[0]
        t._base = src._base if src._base is not None else src
        t._view_src = (src, prim, params)
    if STATE.grad_enabled and prim.differentiable:
        for a in args:
            if a._requires_grad:
                _record(prim, args, params, t)
                break
    return t


def explain(prim, args, params, error):
    """NumPy failed: re-run the infer rule so the error names the op, shapes and dtypes.  Raises a
    ShapeError (a RuntimeError) from infer, or a RuntimeError wrapping NumPy's message."""
    try:
        prim.infer(*args, **params)
    except ShapeError:
        raise
    except Exception:
        pass
    if isinstance(error, (RuntimeError, ValueError, TypeError, IndexError)):
        shapes = ", ".join(f"{a.dtype.short}{list(a.shape)}" for a in args)
        raise RuntimeError(f"{prim.name}: {error} (inputs: {shapes})") from error
