"""CUDA tensors in checkpoints: saved as host copies of their storage plus a "device" entry, and
loaded onto the saved device or wherever ``map_location`` says (PyTorch's rules: None keeps the
saved device; a device or string moves everything there; a dict maps saved device names; a
callable is called as ``fn(tensor_on_cpu, "cuda:0")`` and a Tensor it returns is used)."""
from __future__ import annotations

from ..frontend.dispatch import _new


def device_window(t, roots):
    """(host storage, offset, strides) in elements for a CUDA tensor: the host copy of its owner's
    whole buffer, made once per owner (``roots``: id(owner) -> host copy), so views of one owner
    share one saved storage, as CPU views do."""
    import numpy as np
    owner = t._base if t._base is not None else t
    data = t._data
    root = owner._data
    if root.buffer is not data.buffer or root.dtype != data.dtype or not root.is_c_contiguous():
        return None
    item = data.itemsize
    delta = data.offset - root.offset
    if delta % item or any(s % item for s in data.strides):
        return None
    host = roots.get(id(owner))
    if host is None:
        host = roots[id(owner)] = np.ascontiguousarray(root.to_host()).reshape(-1)
    strides = [s // item for s in data.strides]
    offset = delta // item
    if data.size:
        lo = offset + sum(min(0, s * (n - 1)) for s, n in zip(strides, data.shape))
        hi = offset + sum(max(0, s * (n - 1)) for s, n in zip(strides, data.shape))
        if lo < 0 or hi >= host.size:
            return None
    return host, offset, strides


def target(saved, map_location):
    """The device a tensor saved on ``saved`` (a string) loads onto, or a callable to apply."""
    from ..runtime.device import check_device
    if map_location is None:
        return check_device(saved)
    if callable(map_location) and not isinstance(map_location, (str, dict)) and \
            type(map_location).__name__ != "device":
        return map_location
    if isinstance(map_location, dict):
        return check_device(map_location.get(saved, saved))
    return check_device(map_location)


class DeviceOwners:
    """CUDA tensors over loaded host storages: each (storage, device) is copied to the device
    once, and every tensor of it is a DeviceArray view of that copy (views stay views)."""

    def __init__(self, uses):
        self.uses = uses
        self.owners = {}

    def tensor(self, key, storage, offset, shape, strides, device):
        from ..frontend.device_ops import to_device_array
        owner = self.owners.get((key, device.index))
        if owner is None:
            owner = self.owners[(key, device.index)] = _new(to_device_array(storage,
                                                                            device.index))
        array = owner._data.view(tuple(int(s) for s in shape), tuple(int(s) for s in strides),
                                 int(offset))
        t = _new(array)
        whole = offset == 0 and array.size == storage.size and array.is_c_contiguous()
        if not (self.uses.get(key, 1) == 1 and whole):
            t._base = owner
        return t


def apply_map_location(obj, map_location):
    """For formats without saved devices (PyTorch zips, safetensors: loaded on the CPU): move
    every tensor in ``obj`` where map_location sends "cpu"."""
    if map_location is None:
        return obj
    from ..frontend.tensor import Tensor
    dest = target("cpu", map_location)

    def walk(x):
        if isinstance(x, Tensor):
            if callable(dest) and not hasattr(dest, "type"):
                y = dest(x, "cpu")
                return y if isinstance(y, Tensor) else x
            return x if dest.type == "cpu" else _moved(x, dest)
        if isinstance(x, dict):
            for k in list(x):
                x[k] = walk(x[k])
            return x
        if isinstance(x, list):
            x[:] = [walk(v) for v in x]
            return x
        if isinstance(x, tuple) and not hasattr(x, "_fields"):
            return type(x)(walk(v) for v in x)
        return x
    return walk(obj)


def _moved(t, device):
    from ..frontend.device_ops import moved_data
    out = _new(moved_data(t._data, device))
    if getattr(t, "_is_param", False):
        from ..nn.parameter import Parameter
        return Parameter(out, t._requires_grad)
    out._requires_grad = t._requires_grad
    return out
