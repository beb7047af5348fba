"""Tensors as (storage, offset, shape, strides): how views keep sharing memory across save/load.

A storage is the array of the tensor that owns the memory (``t._base`` or ``t`` itself).  A view is
saved as a window into its owner's storage, so the owner's memory is written once and the views
point into it again after loading."""
from __future__ import annotations

import numpy as np

from ..frontend.dispatch import _new
from ..shapes import prod


def _address(a):
    return a.__array_interface__["data"][0]


def window(t):
    """(storage array, offset, strides) in elements for tensor t, or None if t's memory is not a
    regular window into a contiguous owner (then it is saved as its own storage)."""
    owner = t._base if t._base is not None else t
    root, data = owner._data, t._data
    if not root.flags.c_contiguous or root.dtype != data.dtype:
        return None
    item = data.itemsize
    offset_bytes = _address(data) - _address(root)
    if offset_bytes % item or any(s % item for s in data.strides):
        return None
    offset = offset_bytes // item
    strides = [s // item for s in data.strides]
    if data.size:
        lo = offset + sum(min(0, s * (n - 1)) for s, n in zip(strides, data.shape))
        hi = offset + sum(max(0, s * (n - 1)) for s, n in zip(strides, data.shape))
        if lo < 0 or hi >= root.size:
            return None
    elif not 0 <= offset <= root.size:
        return None
    return root.reshape(-1), offset, strides


def view_of(storage, offset, shape, strides):
    """The array window described by (offset, shape, strides) into a 1-D storage array."""
    shape, strides = tuple(int(s) for s in shape), tuple(int(s) for s in strides)
    item = storage.itemsize
    size = prod(shape)
    if size:
        lo = offset + sum(min(0, s * (n - 1)) for s, n in zip(strides, shape))
        hi = offset + sum(max(0, s * (n - 1)) for s, n in zip(strides, shape))
        if offset < 0 or lo < 0 or hi >= storage.size:
            raise ValueError(f"a tensor of shape {list(shape)} at offset {offset} with strides "
                             f"{list(strides)} does not fit in its storage of {storage.size} "
                             "elements")
    else:
        offset = 0
    return np.ndarray(shape, storage.dtype, buffer=storage, offset=offset * item,
                      strides=tuple(s * item for s in strides))


class StorageOwners:
    """Builds ember tensors over loaded storages.  A storage used by exactly one tensor that spans
    it is owned by that tensor; otherwise a hidden owner tensor holds it and every tensor made
    from it is a view of that owner (shared memory and version counter, like PyTorch)."""

    def __init__(self, uses):
        self.uses = uses          # storage key -> number of tensors made from it
        self.owners = {}

    def tensor(self, key, storage, offset, shape, strides):
        array = view_of(storage, offset, shape, strides)
        whole = (offset == 0 and array.size == storage.size and array.flags.c_contiguous)
        if self.uses.get(key, 1) == 1 and whole:
            return _new(array)
        owner = self.owners.get(key)
        if owner is None:
            owner = self.owners[key] = _new(storage)
        t = _new(array)
        t._base = owner
        return t


def mark(t, requires_grad=False, parameter=False):
    """Restore the autograd flag and the Parameter type of a loaded tensor."""
    if parameter:
        try:
            from ..nn.parameter import Parameter
        except ImportError:  # ember.nn not available: a plain leaf tensor
            Parameter = None
        if Parameter is not None:
            p = Parameter(t, requires_grad)
            if t._base is not None:
                p._base = t._base
            return p
    if requires_grad:
        t._requires_grad = True
    return t
