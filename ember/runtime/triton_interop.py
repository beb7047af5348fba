"""What generated Triton host code needs at run time: buffers, strided views and kernel arguments.

On the CPU the Triton interpreter (``TRITON_INTERPRET=1``) runs kernels.  It accepts any argument
object offering ``data_ptr()``, ``dtype``, ``untyped_storage()``, ``storage_offset()``, ``size()``,
``stride()``, ``new_empty()``, ``set_()`` and ``copy_()`` (see ``GridExecutor._init_args_hst`` in
``triton/runtime/interpreter.py``): it "copies" each storage to the host, runs the kernel on the host
copy and copies back.  ``KernelArg`` answers those calls over a NumPy array without copying: the host
"copy" is the array's own memory, so kernels read and write NumPy memory directly and the copy back
is a no-op.

On a GPU (the CUDA runtime issue) device buffers offer ``data_ptr()`` and ``dtype`` themselves.
This module depends only on ember.dtypes (and NumPy).
"""
from __future__ import annotations

import os

import numpy as np

from .. import dtypes as dt

def interpreting():
    """Whether kernels run in Triton's interpreter: read when asked, not at import, so a process
    that imported ember before setting TRITON_INTERPRET (a test session) still gets it."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

def _can_autotune():
    """Triton's benchmarker (``triton.testing.do_bench``) times through the device interface,
    which is torch.cuda: without torch the heuristic configs are used."""
    if interpreting() or os.environ.get("EMBER_TRITON_AUTOTUNE", "1") in ("", "0"):
        return False
    import importlib.util
    return importlib.util.find_spec("torch") is not None


AUTOTUNE = _can_autotune()
# compile every kernel for the device without running it (scripts/gpu_check.py)
COMPILE_ONLY = os.environ.get("EMBER_TRITON_COMPILE_ONLY", "0") not in ("", "0")


class _TypeName:
    """Triton reads a pointer's element type from ``str(arg.dtype)`` (the text after the last
    dot), as it does for torch dtypes."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return "ember." + self.name

    __repr__ = __str__


# One _TypeName per dtype for the life of the process: Triton's native argument specializer caches
# a pointer argument's type by the dtype object's identity, so a short-lived dtype object whose
# address is later reused by another dtype's object made kernels read float64 memory as float32
# (and write past buffers).
_TYPE_NAMES = {}


def _type_name(name):
    t = _TYPE_NAMES.get(name)
    if t is None:
        t = _TYPE_NAMES[name] = _TypeName(name)
    return t


class _Storage:
    __slots__ = ("base",)

    def __init__(self, base):
        self.base = base

    def data_ptr(self):
        return self.base.ctypes.data

    def cpu(self):  # already host memory: the interpreter's host copy is the storage itself
        return self

    def copy_(self, other):
        if other is not self and other.base is not self.base:
            np.copyto(self.base, other.base)
        return self


def _owner(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class KernelArg:
    """A NumPy array as a Triton kernel pointer argument (no copies)."""
    __slots__ = ("array", "dtype", "_storage", "_ptr")

    def __init__(self, array, storage=None, ptr=None):
        self.array = array
        self.dtype = _type_name(dt.from_numpy_dtype(array.dtype).name)
        self._storage = storage if storage is not None else _Storage(_owner(array))
        self._ptr = array.ctypes.data if ptr is None else ptr

    def data_ptr(self):
        return self._ptr

    def untyped_storage(self):
        return self._storage

    def storage_offset(self):
        return (self._ptr - self._storage.data_ptr()) // max(self.array.itemsize, 1)

    def size(self):
        return self.array.shape

    def stride(self):
        return tuple(s // max(self.array.itemsize, 1) for s in self.array.strides)

    def new_empty(self, *args, **kwargs):
        return KernelArg(self.array, self._storage, self._ptr)

    def set_(self, storage, offset, size, stride):
        self._storage = storage
        self._ptr = storage.data_ptr() + offset * self.array.itemsize
        return self

    def copy_(self, other):
        if other._ptr != self._ptr:
            raise RuntimeError("ember.runtime.triton_interop: unexpected copy between two buffers")
        return self


def launch(kernel, grid, *args, **kwargs):
    """``kernel[grid](*args, **kwargs)``; with EMBER_TRITON_COMPILE_ONLY=1 the kernel is only
    compiled for the device (``warmup``), which checks generated code on a GPU machine whose
    buffers are not device memory yet."""
    if COMPILE_ONLY:
        kernel.warmup(*args, grid=grid, **kwargs)
    else:
        kernel[grid](*args, **kwargs)


def arg(array):
    """The kernel argument for a buffer (a NumPy array on the CPU)."""
    return KernelArg(array)


def empty(nbytes_or_shape, dtype):
    """A fresh buffer; ``dtype`` is an ember dtype name."""
    return np.empty(nbytes_or_shape, dtype=dt.BY_NAME[dtype].np)


class _Window:
    """An __array_interface__ over memory another array owns (kept alive by ``owner``)."""

    def __init__(self, owner, ptr, shape, strides):
        self.owner = owner
        self.__array_interface__ = {"data": (ptr, True), "shape": shape, "strides": strides,
                                    "typestr": "|V%d" % owner.itemsize, "version": 3}


def view(buffer, offset, shape, strides):
    """The strided view (element offset and strides, relative to the buffer's first element) of a
    buffer, like torch.as_strided; read-only, sharing the buffer's memory."""
    item = buffer.itemsize
    shape = tuple(int(s) for s in shape)
    if 0 in shape:
        return np.empty(shape, buffer.dtype)
    window = _Window(buffer, buffer.ctypes.data + int(offset) * item, shape,
                     tuple(int(s) * item for s in strides))
    out = np.asarray(window).view(buffer.dtype)
    out.flags.writeable = False
    return out


def bytes_at(arena, offset, nbytes):
    """``nbytes`` of the arena from byte ``offset``: a planned buffer (see codegen.arena_layout)."""
    return arena[offset:offset + nbytes]


def typed(raw, dtype, shape):
    """A planned buffer (raw bytes) seen as an array of ``dtype`` (an ember dtype name)."""
    np_dtype = dt.BY_NAME[dtype].np
    n = 1
    for s in shape:
        n *= s
    return raw[:n * np_dtype.itemsize].view(np_dtype).reshape(shape)


def full(shape, value, dtype):
    """A constant buffer (a constant the program returns or reads from memory)."""
    np_dtype = dt.BY_NAME[dtype].np
    with np.errstate(over="ignore"):  # an integer constant wraps into its dtype like a cast
        fill = np.array(value).astype(np_dtype) if isinstance(value, int) else value
    return np.full(shape, fill, dtype=np_dtype)


def contiguous(array):
    """A host op's result as a C-contiguous buffer of the same dtype."""
    return np.ascontiguousarray(array)


# --- libdevice ------------------------------------------------------------------------------------
# Generated kernels call ``libdevice.<fn>`` (Triton 3.x: ``triton.language.extra.libdevice``).  The
# interpreter has no libdevice, so under TRITON_INTERPRET the kernels get a stand-in whose functions
# compute with NumPy on the interpreter's tensor handles: the kernel source stays the GPU source.
_NP_LIBDEVICE = {
    "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh, "trunc": np.trunc,
    "nearbyint": np.rint, "rint": np.rint, "floor": np.floor, "ceil": np.ceil,
    "rsqrt": lambda x: 1 / np.sqrt(x), "fmod": np.fmod, "atan2": np.arctan2, "pow": np.power,
    "erf": np.vectorize(__import__("math").erf, otypes=[np.float64]),
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "erfc": np.vectorize(__import__("math").erfc, otypes=[np.float64]),
    "lgamma": lambda x: __import__("scipy.special", fromlist=["gammaln"]).gammaln(x),
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh,
    "acosh": np.arccosh, "atanh": np.arctanh, "hypot": np.hypot, "copysign": np.copysign,
}


class _InterpretedLibdevice:
    def __getattr__(self, name):
        if name not in _NP_LIBDEVICE:
            raise AttributeError(f"libdevice.{name} has no interpreter stand-in in ember")
        fn = _NP_LIBDEVICE[name]

        def call(*args, _semantic=None, **kwargs):
            import triton.language as tl
            from triton.runtime.interpreter import TensorHandle
            first = next(a for a in args if isinstance(a, tl.core.tensor))
            data = [a.handle.data if isinstance(a, tl.core.tensor) else a for a in args]
            with np.errstate(all="ignore"):
                out = np.asarray(fn(*data)).astype(first.handle.data.dtype, copy=False)
            return tl.core.tensor(TensorHandle(out, first.dtype.scalar), first.type)
        return call


def libdevice():
    """The libdevice module for generated kernels (the NumPy stand-in under the interpreter)."""
    if interpreting():
        return _InterpretedLibdevice()
    from triton.language.extra import libdevice as real
    return real


class HostOps:
    """host[i]: the NumPy rule of node i (the nodes without a Triton kernel).  Subclasses say how
    an input reaches the host (``to_host``) and how the result goes back (``from_host``)."""

    def __init__(self, graph, seeds=None):
        self.nodes = graph.nodes
        self.seeds = seeds or {}

    @staticmethod
    def to_host(a):
        return np.asarray(a)

    @staticmethod
    def from_host(out):
        return out

    def __getitem__(self, i):
        n = self.nodes[i]
        params = dict(n.params)
        if i in self.seeds:
            params["seed"] = self.seeds[i]
        to_host, from_host = self.to_host, self.from_host

        def run(*arrays):
            out = n.prim.numpy(*[to_host(a) for a in arrays], **params)
            return from_host(np.asarray(out))
        return run
