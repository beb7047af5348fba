"""Writing PyTorch's checkpoint format (what ``torch.save`` writes), so ``torch.load`` reads
ember's checkpoints and ember.load reads them back.

A zip archive (entries stored) with

* ``archive/data.pkl``: the object, pickled with protocol 2.  A tensor is a reduce call
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`` whose
  storage is a persistent id ``("storage", torch.FloatStorage, key, location, numel)``; a
  Parameter wraps one in ``torch._utils._rebuild_parameter``; dtypes, ``Size`` and ``device``
  are ``torch.float32``, ``torch.Size``, ``torch.device``;
* ``archive/data/<key>``: each storage's bytes, little-endian;
* ``archive/byteorder`` (``little``), ``archive/version`` and ``archive/.data/version`` (``3``).

Any other object is pickled as Python pickles it, classes and functions by reference; ember's
own (``ember.nn.modules.linear.Linear``, ``ember.nn.functional.relu``) are named at their PyTorch
paths (torch_paths.py), so a whole ember module loads in PyTorch as a torch module and back."""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..frontend.tensor import Size, Tensor
from .devices import device_window
from .storage import window

ARCHIVE = "archive"
FORMAT_VERSION = "3\n"

# ember dtype name -> PyTorch's storage class name
STORAGE_NAMES = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
                 "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
                 "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
                 "bool": "BoolStorage"}


class TorchName:
    """A global written under a PyTorch name (``torch._utils._rebuild_tensor_v2``)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):   # the pickler wants reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is a name written into checkpoints")


_REBUILD_TENSOR = TorchName("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = TorchName("torch._utils", "_rebuild_parameter")
_SIZE = TorchName("torch", "Size")
_DEVICE = TorchName("torch", "device")
_DTYPES = {d: TorchName("torch", name) for name, d in dt.BY_NAME.items()
           if name in STORAGE_NAMES}
_STORAGE_TYPES = {name: TorchName("torch", s) for name, s in STORAGE_NAMES.items()}


def torch_global_name(obj, name):
    """(module, qualname) PyTorch knows ``obj`` by: ember's modules map to torch's."""
    module = pickle.whichmodule(obj, name)
    if module == "ember" or module.startswith("ember."):
        if isinstance(obj, type):
            from ..nn.modules.torch_paths import torch_module_of
            return torch_module_of(obj), name
        return "torch" + module[len("ember"):], name
    return module, name


class _Storage:
    """A storage to write: its key, host array and location ("cpu", "cuda:0")."""

    def __init__(self, key, array, location):
        self.key, self.array, self.location = key, array, location


class _Plain:
    """A Parameter's data, pickled as a plain tensor inside _rebuild_parameter."""

    def __init__(self, t):
        self.t = t


class _Pickler(pickle._Pickler):
    # the pure-Python pickler: only it lets save_global write names that do not import here
    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.storages = []
        self._storage_keys = {}
        self._device_roots = {}
        self._keep = []

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _STORAGE_TYPES[dt.BY_NP[obj.array.dtype].name], obj.key,
                    obj.location, int(obj.array.size))
        return None

    def save_global(self, obj, name=None):
        if isinstance(obj, TorchName):
            module, name = obj.module, obj.name
        else:
            name = name or getattr(obj, "__qualname__", None) or obj.__name__
            module, name = torch_global_name(obj, name)
            if not module.startswith("torch"):   # not ember's: pickle checks it imports back
                return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("utf-8"))
        self.memoize(obj)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, TorchName):
            if id(obj) in self.memo:
                self.write(self.get(self.memo[id(obj)][0]))
            else:
                self.save_global(obj)
            return
        if isinstance(obj, dt.dtype):
            return self.save(_DTYPES[obj])
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
            # a NumPy scalar is saved as the Python number it holds (no NumPy globals to load)
            return super().save(obj.item(), save_persistent_id)
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if getattr(obj, "_is_param", False):
                return (_REBUILD_PARAMETER, (_Plain(obj), bool(obj._requires_grad), OrderedDict()))
            return self._tensor(obj)
        if isinstance(obj, _Plain):
            return self._tensor(obj.t, requires_grad=False)
        if isinstance(obj, Size):
            return (_SIZE, (tuple(int(s) for s in obj),))
        if type(obj).__name__ == "device" and type(obj).__module__ == "ember.runtime.device":
            return (_DEVICE, (str(obj),))
        return NotImplemented

    def _tensor(self, t, requires_grad=None):
        if t._value is not None:
            raise RuntimeError("ember.save: cannot save a traced tensor (one being recorded by "
                               "ember.compile or ember.jit.trace)")
        if t.dtype.name not in STORAGE_NAMES:
            raise TypeError(f"ember.save: tensors of dtype {t.dtype} have no PyTorch storage type")
        on_cuda = t.is_cuda
        win = device_window(t, self._device_roots) if on_cuda else window(t)
        if win is None:   # not a window into a contiguous owner: its values as their own storage
            array = np.asarray(t._host(), order="C").reshape(-1)
            self._keep.append(array)
            key_id = ("own", id(array))
            offset, strides = 0, _contiguous_strides(t.shape)
        else:
            array, offset, strides = win
            key_id = (array.__array_interface__["data"][0], array.size, array.dtype.str)
        storage = self._storage_keys.get(key_id)
        if storage is None:
            storage = _Storage(str(len(self.storages)), array,
                               str(t.device) if on_cuda else "cpu")
            self._storage_keys[key_id] = storage
            self.storages.append(storage)
        rg = bool(t._requires_grad) if requires_grad is None else requires_grad
        return (_REBUILD_TENSOR, (storage, int(offset), tuple(int(s) for s in t.shape),
                                  tuple(int(s) for s in strides), rg, OrderedDict()))


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(tuple(shape)):
        strides.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(strides))


def _storage_bytes(array):
    if array.dtype.kind == "V":           # bfloat16: its bits
        array = array.view(np.uint16)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array).tobytes()


def write(obj, f):
    """Write ``obj`` to the binary file object ``f`` in PyTorch's zip format."""
    data = io.BytesIO()
    pickler = _Pickler(data)
    pickler.dump(obj)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(f"{ARCHIVE}/data.pkl", data.getvalue())
        z.writestr(f"{ARCHIVE}/byteorder", "little")
        for s in pickler.storages:
            raw = _storage_bytes(s.array)
            with z.open(f"{ARCHIVE}/data/{s.key}", "w", force_zip64=len(raw) > 2 ** 31) as out:
                out.write(raw)
        z.writestr(f"{ARCHIVE}/version", FORMAT_VERSION)
        z.writestr(f"{ARCHIVE}/.data/version", FORMAT_VERSION)
