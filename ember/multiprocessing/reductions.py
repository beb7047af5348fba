"""Pickling ember tensors through shared memory for multiprocessing Queues, Pipes and Process args.

``multiprocessing`` pickles everything it sends with ``ForkingPickler``; registering a reducer for
the Tensor classes there makes every Queue/Pipe/Process argument carry a tensor as a handle to a
shared segment instead of a copy of its bytes (PyTorch's "file_descriptor" strategy).  As in
PyTorch, a tensor that is not yet shared is moved to shared memory in place first, so the sender
and the receiver then see the same memory.

The segment's file descriptor travels with ``multiprocessing.reduction.DupFd``: while a child is
being spawned it is duplicated straight into the child; otherwise the sender's resource sharer
keeps a duplicate until the receiver fetches it, so the sender may drop the tensor at once.
"""
from __future__ import annotations

from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from ..runtime import shared_memory as shared


def _rebuild_tensor(cls, dupfd, offset, shape, strides, dtype, requires_grad):
    buf = shared.attach_fd(dupfd.detach())
    array = np.ndarray(shape, dtype, buffer=buf, offset=offset, strides=strides)
    from ember.frontend import dispatch
    t = dispatch._new(array)
    if cls is not type(t):
        t = _as_subclass(cls, t, requires_grad)
    elif requires_grad:
        t.requires_grad_(True)
    return t


def _as_subclass(cls, t, requires_grad):
    try:  # nn.Parameter-style constructors take (data, requires_grad)
        return cls(t, requires_grad)
    except TypeError:
        sub = cls.__new__(cls)
        sub._data = t._data
        sub._requires_grad = requires_grad
        return sub


def reduce_tensor(t):
    if t._grad_fn is not None and t.requires_grad:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
            "does not support crossing process boundaries.  If you just want to transfer the "
            "data, call detach() on the tensor before serializing (e.g., putting it on the queue).")
    shared.share_memory_(t)
    arr = t._data
    buf = shared.shared_buffer_of(arr)
    offset = arr.__array_interface__["data"][0] - buf.address
    return (_rebuild_tensor, (type(t), DupFd(buf.fd), offset, arr.shape, arr.strides, arr.dtype,
                              bool(t.requires_grad)))


def _tensor_classes():
    from ember.frontend.tensor import Tensor
    try:  # make sure Parameter exists before the subclasses are walked
        import ember.nn.parameter  # noqa: F401
    except ImportError:
        pass
    todo, seen = [Tensor], []
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def init_reductions():
    """Register the shared-memory reducer for ember.Tensor and every subclass defined so far
    (ForkingPickler dispatches on the exact type).  Idempotent; call again after defining a new
    Tensor subclass."""
    for cls in _tensor_classes():
        ForkingPickler.register(cls, reduce_tensor)
