"""Reading PyTorch checkpoints (``torch.save``'s zip format: ``<name>/data.pkl`` plus
``<name>/data/<key>`` storage blobs) without torch and without running code.

data.pkl is unpickled by a restricted unpickler: only the tensor-rebuild functions, storage type
markers, dtypes, torch.Size/device and OrderedDict resolve; any other global is refused, so a
malicious pickle cannot execute anything."""
from __future__ import annotations

import io
import pickle
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..frontend.tensor import Size
from .errors import CheckpointError
from .storage import StorageOwners, mark

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
_DTYPE_NAMES = {"float32": "float32", "float": "float32", "float64": "float64",
                "double": "float64", "float16": "float16", "half": "float16",
                "bfloat16": "bfloat16", "int64": "int64", "long": "int64", "int32": "int32",
                "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
                "uint8": "uint8", "bool": "bool"}


class _StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


class _Storage:
    """A loaded storage: a 1-D array plus the key it was stored under."""

    def __init__(self, key, array):
        self.key, self.array = key, array


def is_torch_zip(names):
    return any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)


def read(z, name):
    names = z.namelist()
    pkl = next(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
    prefix = pkl[: -len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in names:
        byteorder = z.read(prefix + "byteorder").decode("ascii", "replace").strip()
    storages = {}
    records = []  # (storage key, rebuild args) to count uses before building tensors

    def load_storage(pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"ember.load: {name} has an unsupported persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if key not in storages:
            if not isinstance(storage_type, _StorageType):
                raise CheckpointError(f"ember.load: {name}: untyped storages are not supported")
            dtype = dt.BY_NAME[storage_type.dtype]
            try:
                raw = z.read(f"{prefix}data/{key}")
            except KeyError:
                raise CheckpointError(f"ember.load: {name} is corrupted: missing storage "
                                      f"'{prefix}data/{key}'") from None
            np_dtype = dtype.np if dtype.np.kind != "V" else np.dtype("<u2")
            if byteorder == "big":
                np_dtype = np_dtype.newbyteorder(">")
            array = np.frombuffer(raw, dtype=np_dtype).copy()
            if byteorder == "big":
                array = array.astype(array.dtype.newbyteorder("="))
            if dtype.np.kind == "V":
                array = array.view(dtype.np)
            storages[key] = _Storage(key, array)
        return storages[key]

    pending = []

    def rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None):
        record = _Pending(storage, int(offset), tuple(size), tuple(stride), bool(requires_grad))
        pending.append(record)
        return record

    def rebuild_parameter(data, requires_grad=True, hooks=None, state=None):
        data.parameter = True
        data.requires_grad = bool(requires_grad)
        return data

    def rebuild_from_type(func, new_type, args, state):
        return func(*args)

    allowed = {
        ("collections", "OrderedDict"): OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type,
        ("torch", "Size"): Size,
        ("torch", "device"): _device,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
    }

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, attr):
            if (module, attr) in allowed:
                return allowed[(module, attr)]
            if module == "torch" and attr in _STORAGE_DTYPES:
                return _StorageType(_STORAGE_DTYPES[attr])
            if module == "torch" and attr in _DTYPE_NAMES:
                return dt.BY_NAME[_DTYPE_NAMES[attr]]
            raise pickle.UnpicklingError(
                f"ember.load: {name} refers to {module}.{attr}, which ember does not load: only "
                "tensors, parameters, containers, numbers and strings are allowed in a PyTorch "
                "checkpoint (anything else would run code on load)")

        def persistent_load(self, pid):
            return load_storage(pid)

    try:
        obj = Unpickler(io.BytesIO(z.read(pkl)), encoding="utf-8").load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as e:
        raise CheckpointError(f"ember.load: {name}: cannot read its PyTorch pickle ({e})") from None

    uses = {}
    for p in pending:
        uses[p.storage.key] = uses.get(p.storage.key, 0) + 1
    owners = StorageOwners(uses)
    built = {}
    for p in pending:
        t = owners.tensor(p.storage.key, p.storage.array, p.offset, p.size, p.stride)
        built[id(p)] = mark(t, p.requires_grad, p.parameter)
    return _replace(obj, built, {})


class _Pending:
    """A tensor seen while unpickling; turned into an ember tensor once all storages' uses are
    known (so tensors sharing a storage become views of one owner)."""
    parameter = False

    def __init__(self, storage, offset, size, stride, requires_grad):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad = requires_grad


def _device(*args):
    return str(args[0]) if args else "cpu"


def _replace(obj, built, memo):
    """Swap the _Pending placeholders in the unpickled tree for the ember tensors."""
    if isinstance(obj, _Pending):
        return built[id(obj)]
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, dict):
        out = type(obj)() if type(obj) in (dict, OrderedDict) else {}
        memo[id(obj)] = out
        for k, v in obj.items():
            out[_replace(k, built, memo)] = _replace(v, built, memo)
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, list):
        out = []
        memo[id(obj)] = out
        out.extend(_replace(v, built, memo) for v in obj)
        return out
    if isinstance(obj, tuple) and not isinstance(obj, Size):
        return tuple(_replace(v, built, memo) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return type(obj)(_replace(v, built, memo) for v in obj)
    return obj


