"""The eager GPU executor: one primitive on CUDA device arrays.

``run(prim, arrays, params, device=None) -> DeviceArray`` is the frontend's door to the GPU
(``dispatch.bind`` calls it when a tensor's ``_data`` is a ``DeviceArray``).  ``arrays`` are the
primitive's inputs, all ``DeviceArray``s on one device; ``params`` its keyword parameters;
``device`` (an index) names the device for source primitives, which have no inputs.  Outputs are
allocated from the device's caching allocator on the current stream.

* **views** (reshape, permute, expand, slice) launch nothing: a ``DeviceArray`` over the input's
  buffer (``gpu_views``); a reshape that NumPy would copy is a copy kernel and then a view;
* **kernels**: the primitive as a one-node IR graph compiled by the Triton codegen
  (``ember.codegen.triton``), specialized to the inputs' dtypes, shapes and strides (strided
  inputs are read in place: the strides are folded into the kernel's index expressions).  The
  compiled module is cached per (primitive, params, input dtypes/shapes/strides); a second call
  with the same key only allocates the output and launches (``KernelCache``);
* **host fallback**: primitives without a Triton lowering (argsort, conv, pooling indices,
  accumulating scatters of small ints/bool/bfloat16, f16/bf16/bool cumsum, 0-d scatters) and the
  source primitives (full, arange, random: built on the host, one host-to-device copy; a zero
  ``full`` is a memset) copy inputs to the host, run the NumPy rule and copy the result back.

``copy_into(dst, src)`` writes ``src`` into a (possibly strided) ``dst`` with a cast, for in-place
ops and ``copy_``.
"""
from __future__ import annotations

import numpy as np

from ... import dtypes as dt
from ...ops.registry import REGISTRY
from ...runtime import cuda as _cuda
from .gpu_copy import copy_into  # noqa: F401  (part of the executor's interface)
from ...runtime.gpu_views import view_layout

DeviceArray = _cuda.DeviceArray
_CONVERT = REGISTRY["convert"]

# counters for tests and benchmarks: compiles (cache misses), kernel launches (hits included),
# host fallbacks, views
STATS = {"compiles": 0, "launches": 0, "host_fallback": 0, "views": 0, "memcpy": 0}
# (call, error) of every primitive whose kernel failed to generate or compile (it then runs on
# the host, with a warning); the op-sample test asserts this stays empty
FAILURES = []

# sources are built on the host: their params (value, start/end, seed) would be compile-time
# constants of a kernel, i.e. one compile per distinct value
_HOST_SOURCES = frozenset(("full", "arange", "rand_uniform", "rand_normal", "rand_int"))
# float params are keyed by repr: 0.0 == -0.0 and nan != nan would mislead a dict
_FLOAT_PARAMS = {"pad": "value"}


def run(prim, arrays, params, device=None):
    if prim.is_view:
        return run_view(prim, arrays[0], params)
    if prim is _CONVERT and arrays[0].dtype == params["dtype"].np and arrays[0].is_c_contiguous():
        return _clone(arrays[0])       # clone(): one device-to-device copy, no kernel
    try:
        key = (prim, *params.values(), *[(a.dtype, a.shape, a.strides) for a in arrays])
        entry = _CACHE[key]
    except KeyError:
        entry = _miss(prim, arrays, params, device)
    except TypeError:                                   # an unhashable param (a list)
        entry = _miss(prim, arrays, params, device)
    if entry is None:
        return run_on_host(prim, arrays, params, device)
    return entry(arrays)


class _Launch:
    """A cached one-node module: its host function, bound to device buffer ops and host ops."""
    __slots__ = ("call", "host", "compiled")

    def __init__(self, compiled, host):
        self.compiled = compiled
        self.call = compiled.module.call
        self.host = host

    def __call__(self, arrays):
        STATS["launches"] += 1
        device = arrays[0].buffer.device
        _buffers.bind_device(device)
        return self.call(arrays, self.host, _buffers, self.compiled.arena(device))[0]


_CACHE = {}
_buffers = None


def _key(prim, arrays, params):
    vals = []
    for k, v in params.items():
        if _FLOAT_PARAMS.get(prim.name) == k:
            v = (v.__class__, repr(v))
        vals.append(_freeze(v))
    return (prim, *vals, *[(a.dtype, a.shape, a.strides) for a in arrays])


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


def _miss(prim, arrays, params, device):
    """Compile ``prim`` for these inputs (or decide it runs on the host) and cache the answer.

    Entries are stored under ``_key``: for plain hashable params that is the fast key ``run``
    builds; a float param of ``_FLOAT_PARAMS`` (keyed by repr) or a list param (frozen to a tuple)
    make a key the fast lookup never matches, so those calls come here and look up ``_key``."""
    if prim.name in _HOST_SOURCES:
        return None
    key = _key(prim, arrays, params)
    entry = _CACHE.get(key, _MISSING)
    if entry is _MISSING:
        try:
            entry = _compile(prim, arrays, params)
        except Exception as e:       # a codegen gap must not break eager code: run on the host
            entry = None
            what = (f"{prim.name}({', '.join(f'{a.dtype}{list(a.shape)}' for a in arrays)}"
                    f"{', ' if params and arrays else ''}"
                    f"{', '.join(f'{k}={v!r}' for k, v in params.items())})")
            FAILURES.append((what, repr(e)))
            import warnings
            warnings.warn(f"ember: no Triton kernel for {what} ({type(e).__name__}: {e}); it runs "
                          f"on the host (copies both ways)", RuntimeWarning, stacklevel=4)
        _CACHE[key] = entry
    return entry


_MISSING = object()


def _compile(prim, arrays, params):
    global _buffers
    from .program import TritonProgram
    from ...ir.graph import Graph
    from ...ops.registry import Meta
    from ...runtime import gpu_buffers
    _buffers = gpu_buffers
    graph = Graph(prim.name)
    inputs = [graph.add_input(Meta(a.shape, dt.from_numpy_dtype(a.dtype)), f"x{i}")
              for i, a in enumerate(arrays)]
    graph.outputs = [graph.add_node(prim, inputs, dict(params))]
    compiled = TritonProgram(graph).specialize(arrays)
    STATS["compiles"] += 1
    if compiled.module.KERNELS == 0 and compiled.module.HOST_OPS:
        return None                     # no Triton lowering: the host fallback, without a module
    return _Launch(compiled, gpu_buffers.DeviceHostOps(compiled.graph))


def _clone(x):
    out = DeviceArray.empty(x.shape, x.dtype, x.device)
    if x.nbytes:
        STATS["memcpy"] += 1
        _cuda.runtime().memcpy_dtod(out.data_ptr(), x.data_ptr(), x.nbytes,
                                    _cuda.current_stream_handle(x.device))
    return out


def run_view(prim, x, params):
    """A view primitive as a DeviceArray over ``x``'s buffer (no kernel, no copy)."""
    layout = view_layout(prim.name, x.shape, x.strides, params, x.itemsize)
    if layout is None:                   # a reshape that cannot be a view: copy, then view
        x = contiguous(x)
        layout = view_layout(prim.name, x.shape, x.strides, params, x.itemsize)
    shape, strides, delta = layout
    STATS["views"] += 1
    return DeviceArray(x.buffer, shape, x.dtype, strides, x.offset + delta)


def contiguous(x):
    """``x`` itself when C-contiguous, else a C-contiguous copy on its device (a copy kernel)."""
    if x.is_c_contiguous():
        return x
    return run(_CONVERT, [x], {"dtype": dt.from_numpy_dtype(x.dtype)})


def run_on_host(prim, arrays, params, device=None):
    """The reference fallback: host copies of the inputs, the NumPy rule, the result copied back
    to the inputs' device (or ``device`` for source primitives)."""
    if arrays:
        device = arrays[0].device
    elif device is None:
        device = _cuda.current_device()
    STATS["host_fallback"] += 1
    if prim.name == "full" and not arrays and _is_zero(params["value"]):
        return DeviceArray.zeros(params["shape"], params["dtype"].np, device)
    out = prim.numpy(*[a.to_host() for a in arrays], **params)
    if isinstance(out, tuple):
        return tuple(DeviceArray.from_host(np.asarray(o), device) for o in out)
    return DeviceArray.from_host(np.asarray(out), device)


def _is_zero(value):
    """A fill value whose bytes are all zero in every dtype (not -0.0)."""
    return value == 0 and not (isinstance(value, float) and np.signbit(value))
