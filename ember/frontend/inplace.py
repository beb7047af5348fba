"""In-place ops: write a functional result back into a tensor's storage, visible through every
view, bump the version counter, and rebase autograd history (also of the viewed base tensor).

Every ``x.op_(...)`` is ``write(x, op(x, ...))``: the op itself is written once, functionally.
When autograd is involved, the op reads a snapshot of x's old value, so the recorded node keeps the
values its vjp needs even though x's memory is overwritten.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from .device_ops import copy_data, copy_into, on_cuda, overlapping
from .dispatch import STATE, bind
from .tensor import Tensor

_LEAF = ("a leaf Variable that requires grad is being used in an in-place operation.")


def check_leaf(x):
    if STATE.grad_enabled and x._requires_grad and STATE.tracer is None:
        if x._grad_fn is None:
            raise RuntimeError(_LEAF)
        base = x._base
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")


def write(target, result, op="copy_"):
    """Store `result` (broadcast to target's shape, cast to its dtype) into target in place."""
    from .functional import as_tensor_like, expand_to
    from ..shapes import broadcast_shapes
    check_leaf(target)
    if not isinstance(result, Tensor):
        result = as_tensor_like(result, target.dtype)
    if tuple(result.shape) != tuple(target.shape):
        try:
            shape = broadcast_shapes(tuple(target.shape), tuple(result.shape))
        except RuntimeError:
            shape = None
        if shape != tuple(target.shape):
            raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the broadcast "
                               f"shape {list(shape) if shape else list(result.shape)}")
        result = expand_to(result, tuple(target.shape))
    if result.dtype is not target.dtype:
        result = bind(P.CONVERT, result, dtype=target.dtype)
    if STATE.tracer is not None:
        STATE.tracer.write(target, result)
        return target
    dst = target._data
    dst_cuda = dst.__class__ is not np.ndarray and on_cuda(dst)   # (no call for an ndarray)
    if not (dst.flags.writeable if not dst_cuda else not overlapping(dst)):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    if result._data is not dst:
        if not dst_cuda and result._data.__class__ is np.ndarray:
            np.copyto(dst, result._data, casting="unsafe")
        else:   # a CUDA tensor (also a strided view of one), or a copy between devices
            copy_into(dst, result._data)
    target._bump_version()
    if not STATE.grad_enabled:
        return target
    had_history = target._requires_grad and target._grad_fn is not None
    if had_history and (not result._requires_grad or op in ("copy_", "fill_")):
        # a value that does not depend on the old one: like PyTorch the tensor stays in the graph
        # and the old value gets a zero gradient (also through the views it was made from)
        _rebase(target, _overwritten(target, result))
    elif result._requires_grad:
        if result._grad_fn is None:  # a leaf: target's history is a copy of it, not the leaf
            result = bind(P.CONVERT, result, dtype=result.dtype)
        _rebase(target, result)
    return target


def _overwritten(target, result):
    """A recorded `where(True, result, old)`: result's values, a zero gradient to target's old
    value.  The stand-in for the old value carries only its history (where's vjp reads no values),
    so later in-place changes of target do not trip the version check."""
    from .functional import expand_to, scalar_tensor
    old = Tensor.__new__(Tensor)
    old._data = target._data
    old._grad_fn, old._out_idx, old._requires_grad = target._grad_fn, target._out_idx, True
    keep = expand_to(scalar_tensor(True, dt.bool_), tuple(target.shape))
    return bind(P.WHERE, keep, result, old)


def _rebase(target, new):
    """target's value is now `new` (which has history); replay the change up through the views
    target was made from, so each base's history sees it too."""
    target._grad_fn, target._out_idx, target._requires_grad = new._grad_fn, new._out_idx, True
    child, child_new = target, new
    while child._base is not None:
        src = child._view_src
        if src is None:
            raise RuntimeError(
                "an in-place operation with autograd on a view whose base cannot be traced back: "
                "index the base tensor directly (x[i] = value) or clone() the view first")
        parent, prim, params = src
        parent_new = _unview(parent, prim, params, child_new)
        parent._grad_fn, parent._out_idx = parent_new._grad_fn, parent_new._out_idx
        parent._requires_grad = True
        child, child_new = parent, parent_new


def _unview(parent, prim, params, child_new):
    """The parent's new value, given the new value of a view `prim(parent, **params)`: the view
    primitive's own `unview` rule (the registry keeps it beside its vjp)."""
    if prim.unview is None:
        raise RuntimeError(f"in-place operation on an {prim.name} view is not supported with "
                           "autograd")
    return prim.unview(parent if parent._requires_grad else parent.detach(), child_new, **params)


def snapshot(x):
    """A copy of x's current value that keeps x's history (for ops that overwrite x)."""
    t = Tensor.__new__(Tensor)
    t._data = copy_data(x._data)
    t._grad_fn, t._out_idx, t._requires_grad = x._grad_fn, x._out_idx, x._requires_grad
    return t


def _involves_grad(x, args, kwargs):
    if not STATE.grad_enabled or STATE.tracer is not None:
        return False
    if x._requires_grad:
        return True
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    for a in kwargs.values():
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    return False


def make_inplace(fn, name):
    def method(self, *args, **kwargs):
        check_leaf(self)
        src = snapshot(self) if _involves_grad(self, args, kwargs) else self
        result = fn(src, *args, **kwargs)
        if isinstance(result, Tensor) and result.dtype.category > self.dtype.category:
            raise RuntimeError(f"result type {dt.legacy_name(result.dtype)} can't be cast to the "
                               f"desired output type {dt.legacy_name(self.dtype)}")
        return write(self, result, op=name)
    method.__name__ = name
    return method


def copy_(self, src, non_blocking=False):
    from .functional import as_tensor_like
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if STATE.tracer is None and src.device != self.device:
        from .device_ops import move   # a differentiable copy to self's device first
        src = move(src, self.device, non_blocking)
    return write(self, src if src.dtype is self.dtype else as_tensor_like(src, self.dtype),
                 op="copy_")


def zero_(self):
    return fill_(self, 0)


def fill_(self, value):
    from .functional import as_tensor_like
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    if STATE.tracer is None and not isinstance(value, Tensor) and not (
            STATE.grad_enabled and self._requires_grad):
        check_leaf(self)
        if on_cuda(self._data) or not self._data.flags.writeable:
            return write(self, as_tensor_like(value, self.dtype))
        self._data[...] = value
        self._bump_version()
        if self._grad_fn is not None:
            self._grad_fn, self._requires_grad = None, False
        return self
    return write(self, as_tensor_like(value, self.dtype), op="fill_")
