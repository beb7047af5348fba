"""The eager GPU executor: one primitive on CUDA device arrays.

``run(prim, arrays, params, device=None) -> DeviceArray | tuple`` is the frontend's door to the
GPU (``dispatch.bind`` calls it when a tensor's ``_data`` is a ``DeviceArray``).  ``arrays`` are
the primitive's inputs, all ``DeviceArray``s on one device; ``params`` its keyword parameters;
``device`` names the device for source primitives (full, arange, random), which have no inputs.
Outputs are allocated from the device's caching allocator on the current stream.

* view primitives (reshape, permute, expand, slice) launch nothing: they return a
  ``DeviceArray`` over the input's buffer (``gpu_views``); a reshape NumPy would copy is a
  contiguous copy and then a view;
* every other primitive runs the reference fallback: inputs copied to the host, the primitive's
  NumPy rule, the result copied back.
"""
from __future__ import annotations

import numpy as np

from . import cuda as _cuda
from .gpu_views import view_layout

DeviceArray = _cuda.DeviceArray

STATS = {"host_fallback": 0, "views": 0}


def run(prim, arrays, params, device=None):
    if prim.is_view:
        return run_view(prim, arrays[0], params)
    return run_on_host(prim, arrays, params, device)


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
    """``x`` itself when C-contiguous, else a C-contiguous copy on its device."""
    if x.is_c_contiguous():
        return x
    return DeviceArray.from_host(x.to_host(), x.device)


def run_on_host(prim, arrays, params, device=None):
    """The reference fallback: host copies of the inputs, the NumPy rule, the result copied back
    to the inputs' device (or ``device`` for source primitives)."""
    if arrays:
        device = arrays[0].device
    elif device is None:
        device = _cuda.current_device()
    STATS["host_fallback"] += 1
    out = prim.numpy(*[a.to_host() for a in arrays], **params)
    if isinstance(out, tuple):
        return tuple(DeviceArray.from_host(np.asarray(o), device) for o in out)
    return DeviceArray.from_host(np.asarray(out), device)
