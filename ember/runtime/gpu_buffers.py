"""Buffer operations for generated Triton modules running on CUDA device arrays.

A generated module's host function is ``call(args, host, rt=triton_interop, arena=None)``: every
buffer it makes goes through ``rt`` (``empty``, ``bytes_at``, ``typed``, ``view``, ``full``,
``contiguous``, ``arg``, ``launch``).  ``triton_interop`` answers with NumPy arrays (CPU, through
the interpreter); this module answers with ``DeviceArray``s, so the *same* generated code runs on
a GPU, or on ``FakeRuntime`` device memory (host memory) through the interpreter.

* ``empty`` takes memory from the device's caching allocator on the current stream;
* ``bytes_at``/``typed``/``view`` are views over an existing buffer (no allocation);
* ``arg`` makes a kernel pointer argument over device memory: ``data_ptr()`` + ``dtype`` is what
  Triton's GPU launcher reads, and the storage methods are what the interpreter reads (it then
  works on the device memory directly, which under FakeRuntime is host memory);
* host ops (primitives without a kernel) copy their inputs to the host, run the NumPy rule and
  copy the result back (``DeviceHostOps``).

The device used by ``empty``/``full`` is the one of the arrays the call was given: the module
sets it with ``bind_device`` before running.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from . import cuda as _cuda
from . import triton_interop as _interop
from .triton_interop import AUTOTUNE, KernelArg  # noqa: F401  (part of the namespace)

DeviceArray = _cuda.DeviceArray
_BY_NAME = dt.BY_NAME
_UINT8 = np.dtype(np.uint8)
_device = [0]            # the device of the call in progress (one executor thread)


def bind_device(device):
    _device[0] = device


_hooked = [False]


def launch(kernel, grid, *args, **kwargs):
    """``kernel[grid](...)`` on ember's current device and stream.  Without torch, Triton's NVIDIA
    driver launches on the device's default stream (with torch: torch's current stream), so on
    a GPU its current-device/stream queries are pointed at ember's once.  NOT validated on a GPU
    (none was available); the interpreter ignores streams."""
    if not _hooked[0]:
        _hook_triton_streams()
    captures = getattr(_cuda._active, "captures", None)   # FakeRuntime capturing a CUDA graph
    if captures:
        stream = _cuda.current_stream_handle(_device[0])
        if stream in captures:
            captures[stream].append(lambda: _interop.launch(kernel, grid, *args, **kwargs))
            return
    _interop.launch(kernel, grid, *args, **kwargs)


def _hook_triton_streams():
    _hooked[0] = True
    if _interop.interpreting():
        return
    from triton.runtime import driver
    active = driver.active
    active.get_current_device = _cuda.current_device
    active.get_current_stream = _cuda.current_stream_handle


class _DeviceStorage:
    """The interpreter's view of a device buffer's storage: the memory itself (no host copy)."""
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr

    def data_ptr(self):
        return self.ptr

    def cpu(self):
        return self

    def copy_(self, other):
        return self


_new_arg = KernelArg.__new__
_arg_types = {}           # NumPy dtype -> the dtype object Triton reads (one per dtype: interop)


def arg(a):
    """A DeviceArray as a Triton pointer argument (KernelArg's fields, filled without its
    __init__: three of these per launch)."""
    k = _new_arg(KernelArg)
    k.array = a
    t = _arg_types.get(a.dtype)
    if t is None:
        t = _arg_types[a.dtype] = KernelArg(np.empty(0, a.dtype)).dtype
    k.dtype = t
    ptr = a.buffer.block.ptr
    k._storage = _DeviceStorage(ptr)
    k._ptr = ptr + a.offset
    return k


_new_array = DeviceArray.__new__
_contiguous = {}          # (shape, itemsize) -> byte strides, for typed()


def _array(buffer, shape, dtype, strides, offset):
    """A DeviceArray from already-normalized metadata (tuples of ints), skipping the checks of
    DeviceArray.__init__: this runs several times per eager launch."""
    a = _new_array(DeviceArray)
    a.buffer = buffer
    a.shape = shape
    a.dtype = dtype
    a.strides = strides
    a.offset = offset
    return a


def empty(nbytes, dtype):
    """``nbytes`` of fresh device memory (generated code only asks for 'uint8' buffers)."""
    if dtype != "uint8":
        return DeviceArray.empty(nbytes, _BY_NAME[dtype].np, _device[0])
    return _array(_cuda.DeviceBuffer(nbytes, _device[0]), (nbytes,), _UINT8, (1,), 0)


def bytes_at(arena, offset, nbytes):
    """``nbytes`` of the arena starting at byte ``offset`` (a planned buffer)."""
    return _array(arena.buffer, (nbytes,), _UINT8, (1,), arena.offset + offset)


def typed(raw, dtype, shape):
    np_dtype = _BY_NAME[dtype].np
    strides = _contiguous.get((shape, np_dtype.itemsize))
    if strides is None:
        from .gpu_views import contiguous_strides
        strides = _contiguous[(shape, np_dtype.itemsize)] = contiguous_strides(
            shape, np_dtype.itemsize)
    return _array(raw.buffer, shape, np_dtype, strides, raw.offset)


def view(buffer, offset, shape, strides):
    item = buffer.dtype.itemsize
    strides = tuple([s * item for s in strides])
    if not offset and shape == buffer.shape and strides == buffer.strides:
        return buffer
    return _array(buffer.buffer, shape, buffer.dtype, strides, buffer.offset + offset * item)


graph_constants = None    # a list while a CUDA graph is captured (runtime/gpu_graphs.py)


def full(shape, value, dtype):
    """A constant buffer.  While a CUDA graph is captured it is uploaded on the default stream
    (not captured: a graph cannot copy from pageable host memory) and kept by the graph."""
    from .triton_interop import full as host_full
    if graph_constants is None:
        return DeviceArray.from_host(host_full(shape, value, dtype), _device[0])
    device = _device[0]
    capturing = _cuda.current_stream_handle(device)
    _cuda.set_current_stream_handle(device, 0)
    try:
        out = DeviceArray.from_host(host_full(shape, value, dtype), device)
    finally:
        _cuda.set_current_stream_handle(device, capturing)
    graph_constants.append(out)
    return out


def contiguous(array):
    """A host op's result (already a fresh C-contiguous device array, see DeviceHostOps)."""
    return array


class DeviceHostOps(_interop.HostOps):
    """host[i]: node i's NumPy rule on host copies of its device inputs, the result copied back
    to the device (the primitives without a Triton kernel: argsort, conv, random, ...)."""

    @staticmethod
    def to_host(a):
        return a.to_host()

    @staticmethod
    def from_host(out):
        return DeviceArray.from_host(out, _device[0])
