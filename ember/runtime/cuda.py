"""The CUDA runtime: devices, memory, streams, events, copies and device arrays, without torch.

Everything goes through a *runtime* object:

* ``DriverRuntime`` speaks to the NVIDIA driver through NVIDIA's ``cuda-bindings`` package
  (``from cuda.bindings import driver``; the optional extra ``pip install ember[cuda]``).  It is
  imported lazily, on the first question about CUDA, never when ember is imported;
* ``FakeRuntime`` is a device made of host memory (NumPy byte arrays, ``ctypes.memmove`` copies,
  wall-clock events).  Tests install it with ``install(FakeRuntime())`` to exercise ``ember.cuda``
  and device arrays on machines without a GPU; it is never chosen automatically.

``runtime()`` returns the active runtime or raises ``CudaUnavailableError`` with the reason (no
package, no driver, no device).  ``is_available()`` is False in those cases.

Device tensors: ``DeviceArray`` is what a ``Tensor`` with ``device='cuda'`` keeps in ``_data``
(where a CPU tensor keeps a NumPy array).  It has the ndarray metadata the frontend reads
(``shape``, ``strides`` in bytes, ``dtype`` a NumPy dtype, ``ndim``, ``size``, ``itemsize``,
``nbytes``) plus ``data_ptr()``, ``device`` and ``__cuda_array_interface__`` (version 3, which
Triton, CuPy and Numba accept).  Its memory is a ``DeviceBuffer``: a block of the device's
``CachingAllocator``, handed back to the cache when the last array viewing it is garbage collected.

Depends only on ember.dtypes' neighbours: the allocator and NumPy.
"""
from __future__ import annotations

import ctypes
import threading
import time
import weakref

import numpy as np

from ..shapes import prod
from .allocator import BackendOutOfMemory, CachingAllocator, FakeBackend, RawBackend


class CudaError(RuntimeError):
    """A CUDA driver call failed."""


class CudaUnavailableError(RuntimeError, AssertionError):
    """CUDA was asked for on a machine without it.  Also an AssertionError, because that is what
    a CPU-only PyTorch raises ("Torch not compiled with CUDA enabled") and code catches it."""


_lock = threading.RLock()
_active = None            # the runtime in use
_unavailable = None       # why the driver runtime could not start (cached, probed once)


def install(rt):
    """Make ``rt`` the CUDA runtime (tests install a FakeRuntime); returns the previous one."""
    global _active
    with _lock:
        prev, _active = _active, rt
        _TLS.__dict__.clear()
        return prev


def runtime():
    """The active CUDA runtime, started on first use; CudaUnavailableError if there is none."""
    global _active, _unavailable
    rt = _active
    if rt is not None:
        return rt
    with _lock:
        if _active is None:
            if _unavailable is None:
                try:
                    _active = DriverRuntime()
                except Exception as e:     # no package, no libcuda, no device, driver too old
                    _unavailable = (str(e) or type(e).__name__).rstrip(". ")
            if _active is None:
                raise CudaUnavailableError(
                    f"ember: CUDA is not available: {_unavailable}. ember.cuda.is_available() is "
                    f"False; use device='cpu'.")
        return _active


def is_available():
    try:
        return runtime().device_count() > 0
    except CudaUnavailableError:
        return False


def unavailable_reason():
    """Why CUDA is unavailable (None when it is available)."""
    try:
        runtime()
        return None
    except CudaUnavailableError as e:
        return str(e)


# --- the current device and stream (per thread, like PyTorch) --------------------------------------
_TLS = threading.local()


def current_device():
    return getattr(_TLS, "device", 0)


def set_current_device(index):
    rt = runtime()
    index = check_index(index)
    rt.activate(index)
    _TLS.device = index


def check_index(index):
    n = runtime().device_count()
    if index is None:
        return current_device()
    index = int(index)
    if not 0 <= index < n:
        raise RuntimeError(f"CUDA error: invalid device ordinal (device index {index}, "
                           f"{n} device{'s' if n != 1 else ''} available)")
    return index


def current_stream_handle(device):
    return getattr(_TLS, "streams", {}).get(device, 0)


def set_current_stream_handle(device, handle):
    if not hasattr(_TLS, "streams"):
        _TLS.streams = {}
    _TLS.streams[device] = handle


# --- the runtime interface -------------------------------------------------------------------------
class Runtime:
    """What ember.cuda and device arrays need from a CUDA implementation.  Streams and events are
    opaque integer handles; stream 0 is the default (legacy null) stream."""
    name = "abstract"

    def __init__(self):
        self._allocators = {}

    def allocator(self, device):
        a = self._allocators.get(device)
        if a is None:
            with _lock:
                a = self._allocators.get(device)
                if a is None:
                    a = self._allocators[device] = CachingAllocator(self.raw_backend(device), device)
        return a

    def has_allocator(self, device):
        return device in self._allocators

    # subclasses implement:
    def device_count(self): raise NotImplementedError
    def device_name(self, device): raise NotImplementedError
    def capability(self, device): raise NotImplementedError
    def total_memory(self, device): raise NotImplementedError
    def raw_backend(self, device): raise NotImplementedError
    def activate(self, device): pass
    def synchronize(self, device): raise NotImplementedError
    def stream_create(self, device, priority=0): raise NotImplementedError
    def stream_destroy(self, handle): raise NotImplementedError
    def stream_synchronize(self, handle): raise NotImplementedError
    def stream_query(self, handle): raise NotImplementedError
    def stream_wait_event(self, stream, event): raise NotImplementedError
    def event_create(self, timing, blocking, interprocess): raise NotImplementedError
    def event_destroy(self, handle): raise NotImplementedError
    def event_record(self, event, stream): raise NotImplementedError
    def event_synchronize(self, event): raise NotImplementedError
    def event_query(self, event): raise NotImplementedError
    def event_elapsed_ms(self, start, end): raise NotImplementedError
    def memcpy_htod(self, dst, src_host, nbytes, stream): raise NotImplementedError
    def memcpy_dtoh(self, dst_host, src, nbytes, stream): raise NotImplementedError
    def memcpy_dtod(self, dst, src, nbytes, stream): raise NotImplementedError
    def memset(self, dst, byte, nbytes, stream): raise NotImplementedError
    def host_alloc(self, nbytes): raise NotImplementedError       # page-locked host memory
    # CUDA graphs (ember.compile mode="reduce-overhead"; see runtime/gpu_graphs.py)
    def stream_begin_capture(self, stream): raise NotImplementedError
    def stream_end_capture(self, stream): raise NotImplementedError   # -> an instantiated graph
    def graph_launch(self, graph, stream): raise NotImplementedError
    def is_capturing(self, stream): return False
    def host_free(self, ptr): raise NotImplementedError


# --- NVIDIA driver through cuda-bindings -------------------------------------------------------------
def _import_driver():
    try:
        from cuda.bindings import driver           # cuda-bindings >= 12.6
    except ImportError:
        try:
            from cuda import cuda as driver         # older cuda-python 12.x layout
        except ImportError:
            raise ImportError("the NVIDIA 'cuda-bindings' package is not installed "
                              "(pip install 'ember[cuda]')") from None
    return driver


class _DriverBackend(RawBackend):
    name = "cuda-driver"

    def __init__(self, rt, device):
        self.rt = rt
        self.device = device

    def malloc(self, nbytes):
        d = self.rt.drv
        self.rt.activate(self.device)
        res = d.cuMemAlloc(nbytes)
        if res[0] == d.CUresult.CUDA_ERROR_OUT_OF_MEMORY:
            raise BackendOutOfMemory(nbytes)
        return int(self.rt.check(res))

    def free(self, ptr):
        self.rt.activate(self.device)
        self.rt.check(self.rt.drv.cuMemFree(self.rt.drv.CUdeviceptr(ptr)))

    def mem_get_info(self):
        self.rt.activate(self.device)
        free, total = self.rt.check(self.rt.drv.cuMemGetInfo())
        return int(free), int(total)


class DriverRuntime(Runtime):
    name = "cuda-driver"

    def __init__(self):
        super().__init__()
        d = self.drv = _import_driver()
        self.check(d.cuInit(0))
        self.count = int(self.check(d.cuDeviceGetCount()))
        if self.count == 0:
            raise RuntimeError("the NVIDIA driver reports no CUDA device")
        self.devices = [self.check(d.cuDeviceGet(i)) for i in range(self.count)]
        self.contexts = {}
        self._streams = {}
        self._events = {}
        self._host = {}

    def check(self, res):
        err = res[0]
        if err != self.drv.CUresult.CUDA_SUCCESS:
            _, text = self.drv.cuGetErrorString(err)
            name = getattr(err, "name", str(err))
            msg = text.decode() if isinstance(text, bytes) else str(text)
            raise CudaError(f"CUDA error: {msg} ({name})")
        if len(res) == 1:
            return None
        return res[1] if len(res) == 2 else res[1:]

    def activate(self, device):
        ctx = self.contexts.get(device)
        if ctx is None:
            ctx = self.contexts[device] = self.check(
                self.drv.cuDevicePrimaryCtxRetain(self.devices[device]))
        self.check(self.drv.cuCtxSetCurrent(ctx))

    def device_count(self):
        return self.count

    def device_name(self, device):
        name = self.check(self.drv.cuDeviceGetName(256, self.devices[device]))
        return name.split(b"\0", 1)[0].decode()

    def capability(self, device):
        a = self.drv.CUdevice_attribute
        get = self.drv.cuDeviceGetAttribute
        major = self.check(get(a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, self.devices[device]))
        minor = self.check(get(a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, self.devices[device]))
        return int(major), int(minor)

    def multiprocessor_count(self, device):
        a = self.drv.CUdevice_attribute
        return int(self.check(self.drv.cuDeviceGetAttribute(
            a.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, self.devices[device])))

    def total_memory(self, device):
        return int(self.check(self.drv.cuDeviceTotalMem(self.devices[device])))

    def raw_backend(self, device):
        return _DriverBackend(self, device)

    def synchronize(self, device):
        self.activate(device)
        self.check(self.drv.cuCtxSynchronize())

    def _stream(self, handle):
        return self._streams.get(handle) or self.drv.CUstream(handle)

    def stream_create(self, device, priority=0):
        self.activate(device)
        flags = self.drv.CUstream_flags.CU_STREAM_NON_BLOCKING
        s = self.check(self.drv.cuStreamCreateWithPriority(flags, priority))
        h = int(s)
        self._streams[h] = s
        return h

    def stream_destroy(self, handle):
        s = self._streams.pop(handle, None)
        if s is not None:
            self.check(self.drv.cuStreamDestroy(s))

    def stream_synchronize(self, handle):
        self.check(self.drv.cuStreamSynchronize(self._stream(handle)))

    def stream_query(self, handle):
        err = self.drv.cuStreamQuery(self._stream(handle))[0]
        if err == self.drv.CUresult.CUDA_ERROR_NOT_READY:
            return False
        self.check((err,))
        return True

    def stream_wait_event(self, stream, event):
        self.check(self.drv.cuStreamWaitEvent(self._stream(stream), self._events[event], 0))

    def event_create(self, timing, blocking, interprocess):
        f = self.drv.CUevent_flags
        flags = 0 if timing else int(f.CU_EVENT_DISABLE_TIMING)
        if blocking:
            flags |= int(f.CU_EVENT_BLOCKING_SYNC)
        if interprocess:
            flags |= int(f.CU_EVENT_INTERPROCESS) | int(f.CU_EVENT_DISABLE_TIMING)
        e = self.check(self.drv.cuEventCreate(flags))
        h = int(e)
        self._events[h] = e
        return h

    def event_destroy(self, handle):
        e = self._events.pop(handle, None)
        if e is not None:
            self.check(self.drv.cuEventDestroy(e))

    def event_record(self, event, stream):
        self.check(self.drv.cuEventRecord(self._events[event], self._stream(stream)))

    def event_synchronize(self, event):
        self.check(self.drv.cuEventSynchronize(self._events[event]))

    def event_query(self, event):
        err = self.drv.cuEventQuery(self._events[event])[0]
        if err == self.drv.CUresult.CUDA_ERROR_NOT_READY:
            return False
        self.check((err,))
        return True

    def event_elapsed_ms(self, start, end):
        fn = getattr(self.drv, "cuEventElapsedTime_v2", None) or self.drv.cuEventElapsedTime
        return float(self.check(fn(self._events[start], self._events[end])))

    def memcpy_htod(self, dst, src_host, nbytes, stream):
        self.check(self.drv.cuMemcpyHtoDAsync(self.drv.CUdeviceptr(dst), src_host, nbytes,
                                              self._stream(stream)))

    def memcpy_dtoh(self, dst_host, src, nbytes, stream):
        self.check(self.drv.cuMemcpyDtoHAsync(dst_host, self.drv.CUdeviceptr(src), nbytes,
                                              self._stream(stream)))

    def memcpy_dtod(self, dst, src, nbytes, stream):
        self.check(self.drv.cuMemcpyDtoDAsync(self.drv.CUdeviceptr(dst), self.drv.CUdeviceptr(src),
                                              nbytes, self._stream(stream)))

    def memset(self, dst, byte, nbytes, stream):
        self.check(self.drv.cuMemsetD8Async(self.drv.CUdeviceptr(dst), byte, nbytes,
                                            self._stream(stream)))

    # CUDA graphs: NOT validated on a GPU (written against the cuda-bindings 12/13 driver API)
    def stream_begin_capture(self, stream):
        # relaxed: the caching allocator may still take a new segment (cuMemAlloc) mid-capture
        mode = self.drv.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED
        self.check(self.drv.cuStreamBeginCapture(self._stream(stream), mode))

    def stream_end_capture(self, stream):
        graph = self.check(self.drv.cuStreamEndCapture(self._stream(stream)))
        return graph, self.check(self.drv.cuGraphInstantiate(graph, 0))

    def graph_launch(self, graph, stream):
        self.check(self.drv.cuGraphLaunch(graph[1], self._stream(stream)))

    def host_alloc(self, nbytes):
        self.activate(current_device())
        flags = 0x01   # CU_MEMHOSTALLOC_PORTABLE: pinned for every context
        return int(self.check(self.drv.cuMemHostAlloc(max(nbytes, 1), flags)))

    def host_free(self, ptr):
        self.check(self.drv.cuMemFreeHost(ptr))


# --- a device made of host memory, for tests -------------------------------------------------------
class FakeRuntime(Runtime):
    """``devices`` fake GPUs of ``capacity`` bytes each, backed by host memory.  Work is done at
    once (every stream is always idle); events record the wall clock."""
    name = "fake"

    def __init__(self, devices=1, capacity=1 << 30, name="ember fake GPU"):
        super().__init__()
        self.count = devices
        self.capacity = capacity
        self.gpu_name = name
        self.backends = [FakeBackend(capacity, host_memory=True) for _ in range(devices)]
        self._ids = iter(range(1, 1 << 62))
        self.streams = set()
        self.events = {}
        self.host = {}
        self.copies = []                    # (kind, nbytes, stream) of every copy, for tests
        self.captures = {}                  # capturing stream -> the work recorded so far
        self.graph_launches = 0

    def device_count(self):
        return self.count

    def device_name(self, device):
        return self.gpu_name

    def capability(self, device):
        return (9, 0)

    def multiprocessor_count(self, device):
        return 1

    def total_memory(self, device):
        return self.capacity

    def raw_backend(self, device):
        return self.backends[device]

    def synchronize(self, device):
        pass

    def stream_create(self, device, priority=0):
        h = next(self._ids)
        self.streams.add(h)
        return h

    def stream_destroy(self, handle):
        self.streams.discard(handle)

    def stream_synchronize(self, handle):
        pass

    def stream_query(self, handle):
        return True

    def stream_wait_event(self, stream, event):
        pass

    def event_create(self, timing, blocking, interprocess):
        h = next(self._ids)
        self.events[h] = None
        return h

    def event_destroy(self, handle):
        self.events.pop(handle, None)

    def event_record(self, event, stream):
        self.events[event] = time.perf_counter()

    def event_synchronize(self, event):
        pass

    def event_query(self, event):
        return True

    def event_elapsed_ms(self, start, end):
        return (self.events[end] - self.events[start]) * 1e3

    def memcpy_htod(self, dst, src_host, nbytes, stream):
        self.copies.append(("htod", nbytes, stream))
        self._do(stream, ctypes.memmove, dst, src_host, nbytes)

    def memcpy_dtoh(self, dst_host, src, nbytes, stream):
        self.copies.append(("dtoh", nbytes, stream))
        if stream in self.captures:
            raise CudaError("CUDA error: operation not permitted when stream is capturing "
                            "(a device-to-host copy)")
        ctypes.memmove(dst_host, src, nbytes)

    def memcpy_dtod(self, dst, src, nbytes, stream):
        self.copies.append(("dtod", nbytes, stream))
        self._do(stream, ctypes.memmove, dst, src, nbytes)

    def memset(self, dst, byte, nbytes, stream):
        self._do(stream, ctypes.memset, dst, byte, nbytes)

    # CUDA graphs: work queued on a capturing stream is recorded, not done; a launch replays it
    def _do(self, stream, fn, *args):
        if stream in self.captures:
            self.captures[stream].append(lambda: fn(*args))
        else:
            fn(*args)

    def is_capturing(self, stream):
        return stream in self.captures

    def record(self, stream, fn):
        """Queue ``fn`` (a kernel launch) on a capturing stream (gpu_buffers.launch)."""
        self.captures[stream].append(fn)

    def stream_begin_capture(self, stream):
        if stream == 0:
            raise CudaError("CUDA error: operation not supported on the legacy default stream "
                            "(capture on a side stream)")
        self.captures[stream] = []

    def stream_end_capture(self, stream):
        return tuple(self.captures.pop(stream))

    def graph_launch(self, graph, stream):
        self.graph_launches += 1
        for op in graph:
            op()

    def host_alloc(self, nbytes):
        arr = np.empty(max(nbytes, 1), np.uint8)
        self.host[arr.ctypes.data] = arr
        return arr.ctypes.data

    def host_free(self, ptr):
        del self.host[ptr]


# --- pinned (page-locked) host memory -------------------------------------------------------------
_pinned_ranges = {}       # start address -> end address of live pinned allocations


class _PinnedHolder:
    """Owns one page-locked allocation; NumPy arrays over it keep it alive through ``.base``."""

    def __init__(self, rt, nbytes):
        self.rt = rt
        self.ptr = rt.host_alloc(nbytes)
        self.nbytes = nbytes
        _pinned_ranges[self.ptr] = self.ptr + nbytes
        buf = (ctypes.c_uint8 * max(nbytes, 1)).from_address(self.ptr)
        self.__array_interface__ = {"data": (self.ptr, False), "shape": (nbytes,),
                                    "typestr": "|u1", "version": 3}
        self._buf = buf
        weakref.finalize(self, _free_pinned, rt, self.ptr)


def _free_pinned(rt, ptr):
    _pinned_ranges.pop(ptr, None)
    rt.host_free(ptr)


def pinned_empty(shape, dtype):
    """An uninitialised NumPy array in page-locked memory (host->device copies from it can be
    asynchronous)."""
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    holder = _PinnedHolder(runtime(), nbytes)
    return np.asarray(holder)[:nbytes].view(dtype).reshape(shape)


def is_pinned(array):
    """Does the NumPy array live in page-locked memory made by ember?"""
    if not isinstance(array, np.ndarray) or not _pinned_ranges:
        return False
    start = array.__array_interface__["data"][0]
    for s, e in _pinned_ranges.items():
        if s <= start < e:
            return True
    return False


def pin_memory(array):
    """The DataLoader/Tensor.pin_memory hook: a page-locked copy of a NumPy array (the array
    itself when it is already pinned).  Raises CudaUnavailableError without CUDA, as PyTorch."""
    if is_pinned(array):
        return array
    out = pinned_empty(array.shape, array.dtype)
    np.copyto(out, array)
    return out


# --- device memory and device arrays --------------------------------------------------------------
class DeviceBuffer:
    """``nbytes`` of device memory from the caching allocator of ``device``; returned to the cache
    when garbage collected (the last DeviceArray over it dropped).  ``__del__`` rather than
    ``weakref.finalize``: every eager CUDA op allocates an output, and finalize costs ~2 us."""
    __slots__ = ("device", "nbytes", "block", "stream", "_alloc", "__weakref__")

    def __init__(self, nbytes, device=None, stream=None):
        rt = runtime()
        self.device = check_index(device)
        self.nbytes = int(nbytes)
        self.stream = current_stream_handle(self.device) if stream is None else stream
        self._alloc = alloc = rt.allocator(self.device)
        self.block = alloc.malloc(self.nbytes, self.stream)

    @property
    def ptr(self):
        return self.block.ptr

    def free(self):
        """Give the memory back now (the buffer must not be used afterwards)."""
        block, self.block = getattr(self, "block", None), None
        if block is not None:
            self._alloc.free(block)

    def __del__(self):
        try:
            self.free()
        except Exception:      # interpreter shutdown: the allocator may be gone already
            pass


def _span(shape, strides, itemsize):
    """(lowest, highest+itemsize) byte offsets a strided layout touches, relative to element 0."""
    if 0 in shape:
        return 0, 0
    lo = sum(s * (n - 1) for n, s in zip(shape, strides) if s < 0)
    hi = sum(s * (n - 1) for n, s in zip(shape, strides) if s > 0)
    return lo, hi + itemsize


class DeviceArray:
    """A strided array in device memory: ``buffer`` + byte ``offset`` + ``shape`` + byte
    ``strides`` + NumPy ``dtype``, the same metadata an ndarray has."""
    __slots__ = ("buffer", "offset", "shape", "strides", "dtype", "__weakref__")
    device_type = "cuda"      # read by autocast to pick the CUDA op policy
    # NumPy must never read device memory as host memory: ufuncs refuse a DeviceArray (TypeError)
    # and so does np.asarray, which is how the eager frontend notices a CUDA input in a NumPy rule
    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"ember: a cuda:{self.device} DeviceArray is not a NumPy array; copy it "
                        "to the host first (to_host())")

    def __init__(self, buffer, shape, dtype, strides=None, offset=0):
        self.buffer = buffer
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        if strides is None:
            strides, acc = [], self.dtype.itemsize
            for n in reversed(self.shape):
                strides.append(acc)
                acc *= max(n, 1)
            strides = tuple(reversed(strides))
        self.strides = tuple(int(s) for s in strides)
        self.offset = int(offset)

    # ndarray-like metadata
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def device(self):
        return self.buffer.device

    def is_c_contiguous(self):
        expected = self.dtype.itemsize
        for n, s in zip(reversed(self.shape), reversed(self.strides)):
            if n != 1 and s != expected:
                return False
            expected *= n
        return True

    def data_ptr(self):
        return self.buffer.ptr + self.offset

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self.data_ptr() if self.size else 0, False),
                "strides": None if self.is_c_contiguous() else self.strides,
                "stream": None}

    def __repr__(self):
        return (f"DeviceArray(shape={self.shape}, dtype={self.dtype}, device=cuda:{self.device}, "
                f"ptr={self.data_ptr():#x})")

    # construction and copies
    @classmethod
    def empty(cls, shape, dtype, device=None):
        dtype = np.dtype(dtype)
        n = prod(int(s) for s in shape)
        return cls(DeviceBuffer(n * dtype.itemsize, device), shape, dtype)

    @classmethod
    def zeros(cls, shape, dtype, device=None):
        out = cls.empty(shape, dtype, device)
        if out.nbytes:
            runtime().memset(out.data_ptr(), 0, out.nbytes, current_stream_handle(out.device))
        return out

    @classmethod
    def from_host(cls, array, device=None, non_blocking=False):
        """Copy a NumPy array to the device.  The copy is asynchronous on the current stream only
        when ``non_blocking`` and the source is pinned (else the host buffer could change under a
        copy still in flight); the result is C-contiguous."""
        rt = runtime()
        src = np.require(array, requirements="C")   # (ascontiguousarray makes 0-d arrays 1-d)
        out = cls.empty(src.shape, src.dtype, device)
        if out.nbytes:
            stream = current_stream_handle(out.device)
            rt.memcpy_htod(out.data_ptr(), src.ctypes.data, out.nbytes, stream)
            if not (non_blocking and is_pinned(src)):
                rt.stream_synchronize(stream)
        return out

    def to_host(self, out=None, non_blocking=False):
        """The array's values as a NumPy array (a strided array copies its whole span and views it
        on the host).  ``non_blocking`` with a pinned ``out`` leaves the copy in flight."""
        rt = runtime()
        stream = current_stream_handle(self.device)
        if self.is_c_contiguous():
            host = out if out is not None else np.empty(self.shape, self.dtype)
            if self.nbytes:
                rt.memcpy_dtoh(host.ctypes.data, self.data_ptr(), self.nbytes, stream)
            if not (non_blocking and is_pinned(host)):
                rt.stream_synchronize(stream)
            return host
        lo, hi = _span(self.shape, self.strides, self.itemsize)
        raw = np.empty(hi - lo, np.uint8)
        rt.memcpy_dtoh(raw.ctypes.data, self.data_ptr() + lo, hi - lo, stream)
        rt.stream_synchronize(stream)
        view = np.lib.stride_tricks.as_strided(raw[-lo:].view(self.dtype) if lo else
                                               raw.view(self.dtype), self.shape, self.strides)
        if out is not None:
            np.copyto(out, view)
            return out
        return view.copy()

    def copy_from(self, other):
        """Copy a same-shape, same-dtype contiguous DeviceArray or NumPy array into this one."""
        if self.shape != tuple(other.shape) or self.dtype != other.dtype:
            raise RuntimeError(f"copy between {other.dtype}{list(other.shape)} and "
                               f"{self.dtype}{list(self.shape)}: shapes and dtypes must match")
        if not self.is_c_contiguous():
            raise NotImplementedError("ember: strided device writes need a copy kernel (Triton)")
        rt = runtime()
        stream = current_stream_handle(self.device)
        if isinstance(other, DeviceArray):
            if not other.is_c_contiguous():
                raise NotImplementedError("ember: strided device reads need a copy kernel (Triton)")
            if self.nbytes:
                rt.memcpy_dtod(self.data_ptr(), other.data_ptr(), self.nbytes, stream)
        else:
            src = np.ascontiguousarray(other)
            if self.nbytes:
                rt.memcpy_htod(self.data_ptr(), src.ctypes.data, self.nbytes, stream)
                rt.stream_synchronize(stream)
        return self

    def copy(self):
        out = DeviceArray.empty(self.shape, self.dtype, self.device)
        return out.copy_from(self)

    def view(self, shape, strides, offset_elements=0):
        """A strided view sharing this array's buffer (like torch.as_strided, in elements)."""
        item = self.itemsize
        return DeviceArray(self.buffer, shape, self.dtype, tuple(s * item for s in strides),
                           self.offset + offset_elements * item)

    def reinterpret(self, dtype):
        """The same bytes read as another dtype of the same itemsize (a bitcast view)."""
        dtype = np.dtype(dtype)
        if dtype.itemsize != self.itemsize:
            raise RuntimeError("ember: reinterpret needs dtypes of the same size")
        return DeviceArray(self.buffer, self.shape, dtype, self.strides, self.offset)
