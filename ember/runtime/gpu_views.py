"""View primitives on device arrays: new (shape, strides, offset) over the same buffer, no kernel.

The eager GPU executor (``gpu_eager``) answers reshape/permute/expand/slice with a
``DeviceArray`` sharing the input's buffer, like NumPy answers them with a view.  Strides here are
in **bytes** (``DeviceArray.strides``, as NumPy's).  ``reshape_strides`` is torch's computeStride
(the same rule NumPy uses to decide whether ``reshape`` can be a view); when it answers None the
caller copies to a contiguous buffer first.

Pure Python on tuples, no sympy: this runs on every eager view of a CUDA tensor.
"""
from __future__ import annotations


def reshape_strides(shape, strides, new_shape, itemsize):
    """Byte strides of ``new_shape`` viewing a (shape, strides) layout, or None when the reshape
    needs a copy (a new dim spans two old dims that are not contiguous among themselves)."""
    new_shape = tuple(new_shape)
    numel = 1
    for n in shape:
        numel *= n
    if numel <= 1:
        return contiguous_strides(new_shape, itemsize)
    if not shape:
        return contiguous_strides(new_shape, itemsize)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[tensor_d]
        if tensor_d == 0 or (shape[tensor_d - 1] != 1 and
                             strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def contiguous_strides(shape, itemsize):
    strides, acc = [], itemsize
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def view_layout(name, shape, strides, params, itemsize):
    """(shape, byte strides, byte offset delta) of view primitive ``name`` applied to a layout, or
    None for a reshape that cannot be a view."""
    if name == "reshape":
        new_shape = tuple(params["shape"])
        st = reshape_strides(shape, strides, new_shape, itemsize)
        return None if st is None else (new_shape, st, 0)
    if name == "permute":
        dims = params["dims"]
        return tuple(shape[d] for d in dims), tuple(strides[d] for d in dims), 0
    if name == "expand":
        new_shape = tuple(params["shape"])
        return new_shape, tuple(st if have == want else 0
                                for have, want, st in zip(shape, new_shape, strides)), 0
    if name == "slice":
        starts, stops, steps = params["starts"], params["stops"], params["steps"]
        delta = sum(a * st for a, st, n in zip(starts, strides, shape) if a < n)
        new_shape = tuple(max(0, (b - a + c - 1) // c) for a, b, c in zip(starts, stops, steps))
        if 0 in new_shape:
            delta = 0
        return new_shape, tuple(st * c for st, c in zip(strides, steps)), delta
    raise NotImplementedError(f"ember: no device view rule for primitive {name!r}")
