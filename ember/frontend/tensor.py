"""ember.Tensor: an eager tensor over a NumPy array, with PyTorch's view and autograd semantics.

Only what a tensor *is* lives here (data, metadata, autograd state, Python protocols).  The ops a
tensor offers as methods are the functions of ``functional.py``, attached at import time, so each
op is written once for ``ember.add(x, y)`` and ``x.add(y)``.

Per-tensor state is kept in the instance dict with class-level defaults: making a tensor only sets
``_data``, which keeps the eager path for small ops short.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from . import dispatch
from .dispatch import STATE, bind
from ..runtime.device import CPU


class Size(tuple):
    """torch.Size: a tuple of ints."""

    def __repr__(self):
        return f"ember.Size([{', '.join(map(str, self))}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    # class-level defaults; an instance only stores what differs
    _base = None            # the tensor whose storage this view shares (None: owns its storage)
    _view_src = None        # (parent, view primitive, params) for views, to replay in-place updates
    _ver = 0                # version counter of a storage owner, bumped by in-place ops
    _requires_grad = False
    _grad_fn = None
    _out_idx = 0
    _hooks = None
    _post_accumulate_hooks = None
    _retains_grad = False
    _value = None           # the graph value of a traced tensor
    grad = None
    _is_param = False

    def __init__(self, *args, dtype=None, device=None):
        # legacy constructor: ember.Tensor([1, 2]) or ember.Tensor(2, 3) (uninitialised floats)
        from .creation import tensor as _tensor
        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                self._data = src._data
                return
            self._data = _tensor(src, dtype=dtype or dt.get_default_dtype())._data
        else:
            self._data = np.zeros(args, (dtype or dt.get_default_dtype()).np)

    # --- metadata ------------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        return dt.BY_NP[self._data.dtype]

    @property
    def device(self):
        d = self._data
        if d.__class__ is np.ndarray:
            return CPU
        from .device_ops import device_of
        return device_of(d)

    @property
    def is_cuda(self):
        return getattr(self._data, "device_type", None) == "cuda"

    @property
    def is_cpu(self):
        return not self.is_cuda

    def get_device(self):
        """The CUDA device index, -1 for a CPU tensor (PyTorch's get_device)."""
        return self._data.device if self.is_cuda else -1

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def stride(self, dim=None):
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        if dim is None:
            return strides
        return strides[_dim(dim, self._data.ndim)]

    def storage_offset(self):
        if self.is_cuda:   # a DeviceArray view: byte offset into its buffer
            return self._data.offset // self._data.itemsize
        root = self._base._data if self._base is not None else self._data
        return (self._data.__array_interface__["data"][0] -
                root.__array_interface__["data"][0]) // self._data.itemsize if root.size else 0

    def data_ptr(self):
        if self.is_cuda:
            return self._data.data_ptr()
        return self._data.__array_interface__["data"][0]

    def is_contiguous(self, memory_format=None):
        d = self._data
        if getattr(d, "device_type", None) == "cuda":
            return d.is_c_contiguous()
        return d.flags.c_contiguous      # (an ndarray, or a traced tensor's stand-in)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return False

    @property
    def is_leaf(self):
        return self._grad_fn is None

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def layout(self):
        return "strided"

    @property
    def is_sparse(self):
        return False

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if self._grad_fn is not None:
            if not value:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                                   "you want to use a computed variable in a subgraph that doesn't "
                                   "require differentiation use var_no_grad = var.detach().")
            return
        if value and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        self._data = value._data

    @property
    def _version(self):
        root = self._base if self._base is not None else self
        return root._ver

    def _bump_version(self):
        root = self._base if self._base is not None else self
        root._ver += 1

    # --- autograd ------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        from .autograd import _HookHandle
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            handle = _HookHandle(self._hooks)
            self._hooks[handle.id] = hook
            return handle
        node = self._grad_fn
        if node.hooks is None:
            node.hooks = {}
        handle = _HookHandle(node.hooks)
        node.hooks[handle.id] = (self._out_idx, hook)
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        from .autograd import _HookHandle
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        handle = _HookHandle(self._post_accumulate_hooks)
        self._post_accumulate_hooks[handle.id] = hook
        from . import autograd
        autograd._POST_HOOKS[0] += 1   # backward now finishes such leaves as soon as they are ready
        return handle

    def retain_grad(self):
        import weakref
        if self._grad_fn is None:
            return
        if not self._retains_grad:
            node = self._grad_fn
            if node.retained is None:
                node.retained = []
            node.retained.append((self._out_idx, weakref.ref(self)))
            self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def detach(self):
        t = dispatch._new(self._data)
        t._base = self._base if self._base is not None else self
        if self._value is not None:  # traced: the same graph value, without history
            t._value = self._value
        return t

    def detach_(self):
        self._grad_fn = None
        self._requires_grad = False
        return self

    # --- conversion to Python / NumPy ----------------------------------------------------------
    def _no_trace(self, what):
        if self._value is not None:
            from .trace import data_dependent_error
            data_dependent_error(what)

    def item(self):
        self._no_trace("item()")
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "Scalar")
        return self._host().reshape(()).item()

    def tolist(self):
        self._no_trace("tolist()")
        return self._host().tolist()

    def _host(self):
        """The values as a NumPy array: the array itself on CPU, a host copy of a CUDA tensor."""
        d = self._data
        return d.to_host() if getattr(d, "device_type", None) == "cuda" else d

    def numpy(self, force=False):
        self._no_trace("numpy()")
        if self.is_cuda:
            if force:           # PyTorch: force=True copies a CUDA tensor to the host
                return self._host()
            from .device_ops import as_numpy_error
            raise as_numpy_error(self._data)
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        self._no_trace("numpy conversion")
        if self.is_cuda:
            from .device_ops import as_numpy_error
            raise as_numpy_error(self._data)
        return self._data if dtype is None else self._data.astype(dtype)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        self._no_trace("bool(tensor) (a Python `if` or `while` on a tensor)")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._host().reshape(()).item())

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __index__(self):
        if self.dtype.category != dt.INT and self.dtype is not dt.bool_ or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from .printing import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 and self._value is None:
            return self.item().__format__(spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        # a detached copy of the values; ember.multiprocessing registers a shared-memory reducer.
        # A CUDA tensor pickles its host values and the device, and is rebuilt on that device.
        if self.is_cuda:
            return (_rebuild, (np.asarray(self._host(), order="C"), self._requires_grad,
                               str(self.device)))
        # np.asarray(order="C") keeps a 0-d array 0-d (np.ascontiguousarray makes it 1-d)
        return (_rebuild, (np.asarray(self._data, order="C"), self._requires_grad))

    def __deepcopy__(self, memo):
        from .device_ops import copy_data
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.")
        t = self.__class__.__new__(self.__class__)
        t.__dict__.update({k: v for k, v in self.__dict__.items()
                           if k not in ("_data", "_base", "_view_src", "_ver", "grad", "_hooks")})
        t._data = copy_data(self._data)   # (a CUDA tensor copies on its device)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    # --- device / dtype moves ------------------------------------------------------------------
    def cpu(self, memory_format=None):
        if getattr(self._data, "device_type", None) != "cuda":
            return self
        from .device_ops import move
        return move(self, CPU)

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        from ..runtime.device import check_device, device as _device
        from .device_ops import move
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = _device("cuda", device)
        device = check_device(device)
        if device.type != "cuda":
            raise RuntimeError(f"Invalid device, must be cuda device (got {device})")
        return move(self, device, non_blocking)

    def share_memory_(self):
        if self.is_cuda:        # PyTorch: a no-op for CUDA tensors (shared through CUDA IPC)
            return self
        from ..runtime.shared_memory import share_memory_
        return share_memory_(self)

    def is_shared(self):
        if self.is_cuda:        # PyTorch: always True for CUDA tensors
            return True
        from ..runtime.shared_memory import is_shared
        return is_shared(self)

    def is_pinned(self):
        d = self._data
        if not isinstance(d, np.ndarray):
            return False
        from ..runtime import cuda as _cuda
        return _cuda.is_pinned(d)

    def pin_memory(self, device=None):
        """A copy in page-locked host memory (self when already pinned), from which
        ``.to("cuda", non_blocking=True)`` copies asynchronously.  Needs CUDA, like PyTorch."""
        if self.is_cuda:
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
        from ..runtime import cuda as _cuda
        pinned = _cuda.pin_memory(self._data)
        if pinned is self._data:
            return self
        t = dispatch._new(pinned)
        t._requires_grad = self._requires_grad
        return t

    def __dlpack__(self, stream=None):
        return self._data.__dlpack__()

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


def _rebuild(array, requires_grad, device=None):
    """Unpickling: a tensor over ``array`` (moved to ``device``); nn.Parameter has its own."""
    t = dispatch._new(array)
    if device is not None:
        from ..runtime.device import check_device
        t = dispatch._new(t.to(check_device(device))._data)
    t._requires_grad = requires_grad
    return t


def _dim(d, ndim):
    if d.__class__ is not int:
        d = d.__index__()      # a 0-d integer tensor (also a CUDA one) as a dim
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d % n


dispatch._Tensor = Tensor
