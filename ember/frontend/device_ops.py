"""CUDA tensors in the eager frontend: where a CPU tensor's ``_data`` is a NumPy array, a CUDA
tensor's is a ``runtime.cuda.DeviceArray`` (same metadata: shape, byte strides, NumPy dtype).

The CPU path pays nothing for this: ``DeviceArray`` refuses NumPy (``__array_ufunc__ = None``,
``__array__`` raises TypeError), so a NumPy rule given a CUDA input fails, and only then does
``dispatch.bind`` ask ``bind_on_device`` to run the primitive with ``gpu_eager.run`` instead.

Device rules follow PyTorch: all tensor inputs of an op on one device, except that 0-d CPU tensors
(Python scalars made tensors) may join CUDA tensors; they are copied to the device.
"""
from __future__ import annotations

import numpy as np

from ..runtime.device import CPU, _cuda_device
from . import dispatch
from .autograd import Function

_DeviceArray = None


def device_array_class():
    global _DeviceArray
    if _DeviceArray is None:
        from ..runtime.cuda import DeviceArray
        _DeviceArray = DeviceArray
    return _DeviceArray


def on_cuda(data):
    """Is this tensor data a DeviceArray?  (NumPy arrays and traced stand-ins are not.)"""
    return getattr(data, "device_type", None) == "cuda"


def device_of(data):
    return _cuda_device(data.device) if on_cuda(data) else CPU


def mismatch(first, second):
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                        f"devices, {first} and {second}!")


def common_device(tensors):
    """The one CUDA device index of these tensors' data, or None when none is on CUDA.  Raises
    PyTorch's error for two CUDA devices, or a CPU tensor of more than 0 dims beside a CUDA one."""
    index = None
    cpu_seen = False
    for t in tensors:
        d = t._data
        if on_cuda(d):
            if index is None:
                index = d.device
            elif d.device != index:
                raise mismatch(f"cuda:{index}", f"cuda:{d.device}")
        elif d.ndim and not _one_value(d):
            cpu_seen = True
    if index is not None and cpu_seen:
        raise mismatch(f"cuda:{index}", "cpu")
    return index


def _one_value(data):
    """A CPU array holding at most one value: a 0-d CPU tensor (a Python scalar made a tensor)
    that the frontend reshaped or expanded to an op's shape before binding (``x + 1``).  Like
    PyTorch's 0-d CPU tensors, these may join CUDA tensors.  (So may a user's CPU tensor of one
    element, e.g. shape [1], which PyTorch refuses.)"""
    return isinstance(data, np.ndarray) and (data.size <= 1 or not any(data.strides))


def to_device_array(data, index, non_blocking=False):
    """``data`` (a NumPy array or DeviceArray) as a DeviceArray on CUDA device ``index``.  A
    broadcast scalar is copied once and broadcast on the device (zero strides)."""
    DA = device_array_class()
    if data.size > 1 and isinstance(data, np.ndarray) and not any(data.strides):
        one = DA.from_host(np.ascontiguousarray(data.reshape(-1)[:1]).reshape(()), index)
        return one.view(data.shape, (0,) * data.ndim)
    if data.__class__ is DA:
        if data.device == index:
            return data
        # between two devices: through the host (peer copies are not wired)
        data = data.to_host()
    return DA.from_host(data, index, non_blocking=non_blocking)


def to_host(data, non_blocking=False):
    """A NumPy array of ``data``'s values (``data`` itself when it already is one)."""
    if on_cuda(data):
        return data.to_host(non_blocking=non_blocking)
    return data


_CPU_INDICES_OK = ("index", "index_put")


def bind_on_device(prim, args, params):
    """Run ``prim`` on CUDA inputs through the eager GPU executor, or return None when no input is
    on CUDA (then the NumPy failure was a real one).  The result is wrapped, view-linked and
    recorded for autograd exactly as ``dispatch.bind`` does for CPU results."""
    # PyTorch accepts CPU index tensors for a CUDA tensor's advanced indexing
    index = common_device(args[:1] if prim.name in _CPU_INDICES_OK else args)
    if index is None:
        return None
    from ..codegen.triton import gpu_eager
    arrays = [to_device_array(a._data, index) for a in args]
    # the node records the device copies of CPU scalars, so the vjp's arithmetic stays on the
    # device (a scalar that requires grad keeps its own tensor, to keep its graph edge)
    args = [a if a._data is d or a._requires_grad else dispatch._new(d)
            for a, d in zip(args, arrays)]
    out = gpu_eager.run(prim, arrays, params)
    return dispatch.finish(prim, args, params, out)


def run_source(prim, device, **params):
    """A source primitive (full, arange, random) on a CUDA device; ``device`` is checked."""
    from ..codegen.triton import gpu_eager
    out = gpu_eager.run(prim, [], params, device=device.index)
    return dispatch._new(out)


def move(t, device, non_blocking=False):
    """``t``'s values on ``device`` (a checked ``device``): ``t`` itself when already there.  A
    differentiable copy: the gradient flows back to ``t``'s device."""
    data = t._data
    if device.type == "cpu":
        if not on_cuda(data):
            return t
    elif on_cuda(data) and data.device == device.index:
        return t
    if not (dispatch.STATE.grad_enabled and t._requires_grad):
        return dispatch._new(moved_data(data, device, non_blocking))
    return _Move.apply(t, device, non_blocking)


def moved_data(data, device, non_blocking=False):
    if device.type == "cpu":
        return data.to_host(non_blocking=non_blocking)
    return to_device_array(data, device.index, non_blocking)


class _Move(Function):
    """A copy between devices, differentiable: the gradient goes back to the source device
    (PyTorch's ToCopyBackward0)."""

    @staticmethod
    def forward(ctx, x, device, non_blocking):
        ctx.source = device_of(x._data)
        return dispatch._new(moved_data(x._data, device, non_blocking))

    @staticmethod
    def backward(ctx, grad):
        return move(grad, ctx.source), None, None


def as_numpy_error(data):
    return TypeError(f"can't convert cuda:{data.device} device type tensor to numpy. Use "
                     "Tensor.cpu() to copy the tensor to host memory first.")


def copy_into(dst, src):
    """Write ``src`` (same shape; a DeviceArray or NumPy array, any device) into the DeviceArray
    or NumPy array ``dst`` in place, casting to ``dst``'s dtype, also when ``dst`` is a strided
    view (the executor's copy kernel)."""
    if not on_cuda(dst):
        np.copyto(dst, to_host(src), casting="unsafe")
        return
    from ..codegen.triton import gpu_copy
    gpu_copy.copy_into(dst, to_device_array(src, dst.device))


def on_device_of(array, like):
    """A Tensor over the host NumPy ``array``, on the device of tensor ``like`` (for the small
    constants frontend code builds with NumPy: seed gradients, 0-d indices, optimizer state)."""
    data = like._data
    if on_cuda(data):
        return dispatch._new(to_device_array(array, data.device))
    return dispatch.wrap(array)


def copy_data(data):
    """A fresh copy of tensor data (NumPy or device), C-contiguous on the device."""
    if not on_cuda(data):
        return data.copy()
    if data.is_c_contiguous():
        return data.copy()
    from ..codegen.triton import gpu_eager
    return gpu_eager.contiguous(data)


def overlapping(data):
    """Does a DeviceArray view write several elements to one address (a broadcast view)?"""
    return any(s == 0 and n > 1 for n, s in zip(data.shape, data.strides))


def host_fallback(fn):
    """For frontend functions written with NumPy on ``_data`` whose results are not
    differentiable (nonzero, unique, bincount, searchsorted...): with a CUDA tensor argument,
    run ``fn`` on host copies and move the tensor results back to that device."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .tensor import Tensor
        index = None
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor) and on_cuda(a._data):
                index = a._data.device
                break
        if index is None:
            return fn(*args, **kwargs)
        down = lambda a: dispatch._new(a._data.to_host()) if isinstance(a, Tensor) and \
            on_cuda(a._data) else a
        out = fn(*[down(a) for a in args], **{k: down(v) for k, v in kwargs.items()})
        up = lambda t: dispatch._new(to_device_array(t._data, index)) if isinstance(t, Tensor) \
            else t
        if isinstance(out, tuple):
            return type(out)(*[up(o) for o in out]) if hasattr(out, "_fields") else \
                tuple(up(o) for o in out)
        return up(out)
    return wrapper
