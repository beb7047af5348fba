"""ember's checkpoint format (version 1): a zip archive holding

* ``ember/manifest.json`` — the object tree as JSON (every node tagged with its type) and the
  list of tensors (storage, dtype, shape, strides, offset, flags) and storages;
* ``ember/storages/<n>.npy`` — one NumPy ``.npy`` file per storage (read back with
  ``allow_pickle=False``).

Nothing is unpickled, so loading never runs code.  docs/serialization.md is the reference."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..frontend.tensor import Size, Tensor
from .errors import CheckpointError
from .devices import DeviceOwners, device_window, target
from .storage import StorageOwners, mark, window

FORMAT = "ember.save"
VERSION = 1
MANIFEST = "ember/manifest.json"
STORAGE_DIR = "ember/storages/"


# --- saving ----------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.tensors = []            # manifest entries
        self.tensor_index = {}       # id(tensor) -> index (the same object saved once)
        self.storages = []           # arrays to write
        self.storage_index = {}      # id(storage owner array) -> index
        self.keep = []               # keeps encoded objects alive so ids stay unique
        self.device_roots = {}       # id(CUDA owner tensor) -> its host copy (saved once)

    def node(self, obj, where):
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, Tensor):
            return {"type": "tensor", "index": self.tensor(obj, where)}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind == "O":
                raise TypeError(f"ember.save: cannot save a NumPy array of Python objects at "
                                f"{where}")
            if obj.dtype not in dt.BY_NP:
                raise TypeError(f"ember.save: cannot save a NumPy array of dtype {obj.dtype} at "
                                f"{where} (ember has no such dtype)")
            from ..frontend.dispatch import _new
            return {"type": "ndarray", "index": self.tensor(_new(obj), where)}
        if isinstance(obj, np.generic):
            obj = obj.item()
            if isinstance(obj, bool):
                return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": obj}
        if isinstance(obj, float):
            return {"type": "float", "value": repr(obj)}  # repr keeps nan/inf and every bit
        if isinstance(obj, complex):
            return {"type": "complex", "value": [repr(obj.real), repr(obj.imag)]}
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, bytes):
            return {"type": "bytes", "value": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, dt.dtype):
            return {"type": "dtype", "value": obj.name}
        if isinstance(obj, Size):
            return {"type": "size", "value": [int(s) for s in obj]}
        if type(obj).__name__ == "device" and hasattr(obj, "type"):
            return {"type": "device", "value": str(obj)}
        if isinstance(obj, (dict, OrderedDict)) and type(obj) in (dict, OrderedDict) or \
                _is_defaultdict(obj):
            kind = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {"type": kind, "items": [[self.node(k, f"{where} (a key)"),
                                             self.node(v, f"{where}[{k!r}]")]
                                            for k, v in obj.items()]}
        if type(obj) in (list, tuple, set, frozenset):
            return {"type": type(obj).__name__,
                    "items": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"ember.save: cannot save an object of type {type(obj).__qualname__} at "
                        f"{where}; ember's format stores tensors, NumPy arrays, numbers, strings, "
                        "bytes, None, dtypes and dict/list/tuple/set/OrderedDict containers of "
                        "them (no arbitrary objects, so loading never runs code)")

    def tensor(self, t, where):
        if t._value is not None:
            raise RuntimeError(f"ember.save: cannot save a traced tensor at {where}")
        key = id(t)
        if key in self.tensor_index:
            return self.tensor_index[key]
        self.keep.append(t)
        on_cuda = t.is_cuda
        win = window(t) if not on_cuda else device_window(t, self.device_roots)
        if win is None:  # not a window into a contiguous owner: save its values on their own
            array = np.ascontiguousarray(t._host()).reshape(-1)
            storage = self._storage(array, id(array))
            self.keep.append(array)
            offset, strides = 0, _contiguous_strides(t._data.shape)
        else:
            array, offset, strides = win
            storage = self._storage(array, _address_key(array))
        entry = {"storage": storage, "dtype": t.dtype.name, "shape": list(t._data.shape),
                 "strides": strides, "offset": offset}
        if on_cuda:
            entry["device"] = str(t.device)
        if t._requires_grad:
            entry["requires_grad"] = True
        if getattr(t, "_is_param", False):
            entry["parameter"] = True
        self.tensors.append(entry)
        self.tensor_index[key] = len(self.tensors) - 1
        return self.tensor_index[key]

    def _storage(self, array, key):
        if key not in self.storage_index:
            self.storage_index[key] = len(self.storages)
            self.storages.append(array)
        return self.storage_index[key]


def _address_key(array):
    # storages are identified by memory (start, size, dtype): two owners never share memory
    return (array.__array_interface__["data"][0], array.size, array.dtype.str)


def _is_defaultdict(obj):
    from collections import defaultdict
    return type(obj) is defaultdict


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return list(reversed(strides))


def _npy_array(array):
    """The array as written to .npy: extension dtypes (bfloat16) as same-size unsigned ints."""
    if array.dtype.kind == "V":
        return array.view(np.dtype(f"<u{array.itemsize}"))
    return array


def write(obj, f):
    """Write obj to the binary file object f in ember's format."""
    enc = _Encoder()
    root = enc.node(obj, "obj")
    storages = [{"file": f"{STORAGE_DIR}{i}.npy", "dtype": dt.BY_NP[a.dtype].name,
                 "numel": int(a.size)} for i, a in enumerate(enc.storages)]
    manifest = {"format": FORMAT, "version": VERSION, "byteorder": "little",
                "root": root, "tensors": enc.tensors, "storages": storages}
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(MANIFEST, json.dumps(manifest, separators=(",", ":")))
        for entry, array in zip(storages, enc.storages):
            with z.open(entry["file"], "w", force_zip64=array.nbytes > 2 ** 31) as out:
                np.lib.format.write_array(out, _npy_array(array), allow_pickle=False)


# --- loading ---------------------------------------------------------------------------------------
def read(z, name, map_location=None):
    """Load the object tree from an open ZipFile holding ember's format."""
    try:
        manifest = json.loads(z.read(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"ember.load: {name} is corrupted: its manifest is not valid JSON "
                              f"({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"ember.load: {name} is not an ember checkpoint (its manifest does "
                              f"not say format {FORMAT!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"ember.load: {name} is corrupted: bad format version {version!r}")
    if version > VERSION:
        raise CheckpointError(f"ember.load: {name} was written by a newer ember (format version "
                              f"{version}); this ember reads format version {VERSION} and older. "
                              "Upgrade ember to load it.")
    try:
        return _Decoder(z, manifest, name, map_location).node(manifest["root"])
    except CheckpointError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise CheckpointError(f"ember.load: {name} is corrupted: inconsistent manifest "
                              f"({type(e).__name__}: {e})") from None


class _Decoder:
    def __init__(self, z, manifest, name, map_location=None):
        self.z, self.name = z, name
        self.map_location = map_location
        self.storage_entries = manifest["storages"]
        self.tensor_entries = manifest["tensors"]
        self.storages = {}
        self.tensors = {}
        uses = {}
        for e in self.tensor_entries:
            uses[e["storage"]] = uses.get(e["storage"], 0) + 1
        self.owners = StorageOwners(uses)
        self.device_owners = DeviceOwners(uses)

    def storage(self, i):
        if i not in self.storages:
            entry = self.storage_entries[i]
            dtype = dt.BY_NAME[entry["dtype"]]
            try:
                data = self.z.read(entry["file"])
            except KeyError:
                raise CheckpointError(f"ember.load: {self.name} is corrupted: missing entry "
                                      f"{entry['file']!r}") from None
            try:
                array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            except ValueError as e:
                raise CheckpointError(f"ember.load: {self.name} is corrupted: storage "
                                      f"{entry['file']!r} is not a valid .npy array ({e})") from None
            array = array.reshape(-1)
            if array.dtype != dtype.np:
                array = array.view(dtype.np) if array.dtype.kind == "u" and dtype.np.kind == "V" \
                    else array.astype(dtype.np)
            if array.size != entry["numel"]:
                raise CheckpointError(f"ember.load: {self.name} is corrupted: storage "
                                      f"{entry['file']!r} has {array.size} elements, the manifest "
                                      f"says {entry['numel']}")
            if not array.flags.writeable:
                array = array.copy()
            self.storages[i] = array
        return self.storages[i]

    def tensor(self, i):
        if i not in self.tensors:
            e = self.tensor_entries[i]
            storage = self.storage(e["storage"])
            if dt.BY_NAME[e["dtype"]].np != storage.dtype:
                raise CheckpointError(f"ember.load: {self.name} is corrupted: tensor {i} has dtype "
                                      f"{e['dtype']} but its storage holds {storage.dtype}")
            saved = e.get("device", "cpu")
            dest = target(saved, self.map_location)
            if callable(dest) and not hasattr(dest, "type"):   # map_location(tensor, location)
                t = self.owners.tensor(e["storage"], storage, e["offset"], e["shape"],
                                       e["strides"])
                moved = dest(t, saved)
                t = moved if isinstance(moved, Tensor) else t
            elif dest.type == "cuda":
                t = self.device_owners.tensor(e["storage"], storage, e["offset"], e["shape"],
                                              e["strides"], dest)
            else:
                t = self.owners.tensor(e["storage"], storage, e["offset"], e["shape"],
                                       e["strides"])
            self.tensors[i] = mark(t, e.get("requires_grad", False), e.get("parameter", False))
        return self.tensors[i]

    def node(self, n):
        kind = n["type"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            return n["value"]
        if kind == "float":
            return float(n["value"])
        if kind == "complex":
            return complex(float(n["value"][0]), float(n["value"][1]))
        if kind == "bytes":
            return base64.b64decode(n["value"])
        if kind == "tensor":
            return self.tensor(n["index"])
        if kind == "ndarray":
            return self.tensor(n["index"])._host()   # a NumPy array stays one (map_location)
        if kind == "dtype":
            return dt.BY_NAME[n["value"]]
        if kind == "size":
            return Size(n["value"])
        if kind == "device":
            from ..runtime.device import device
            return device(n["value"])
        if kind in ("dict", "odict"):
            out = OrderedDict() if kind == "odict" else {}
            for k, v in n["items"]:
                out[self.node(k)] = self.node(v)
            return out
        if kind in ("list", "tuple", "set", "frozenset"):
            items = [self.node(v) for v in n["items"]]
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
        raise CheckpointError(f"ember.load: {self.name} contains an unknown node type {kind!r} "
                              "(written by a newer ember?)")

