"""Reading PyTorch's checkpoint format (``torch.save``'s zip: ``<name>/data.pkl`` plus
``<name>/data/<key>`` storage blobs), written by torch.save or ember.save.

``weights_only=True`` (the default, as in PyTorch 2.6+): data.pkl is read by a restricted
unpickler.  Only the tensor rebuild functions, storage type markers, dtypes, ``Size``, ``device``,
``OrderedDict``, a few builtins, non-object NumPy arrays/scalars and the user's ``safe_globals``
resolve; any other global raises ``WeightsOnlyError``.  ``BUILD`` (setting an object's state) is
allowed only on objects this load created of the types it reconstructs (an OrderedDict's
``_metadata``, a NumPy array's data, an allow-listed class's instance): never on a class, a dtype
or any other shared object, so a file cannot change anything outside what it returns.

``weights_only=False``: whole pickled objects (modules saved by either library): every
``torch.<path>`` global resolves to ``ember.<path>`` and other globals import normally, so the
file runs code, exactly like PyTorch's ``weights_only=False``.

The pure-Python unpickler is used because only it lets BUILD be intercepted; it is iterative,
so deeply nested files cannot overflow the C stack.  Every failure is a CheckpointError."""
from __future__ import annotations

import _codecs
import _compat_pickle
import importlib
import io
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..frontend.dispatch import _new
from ..frontend.tensor import Size, Tensor
from . import safe_globals as _safe
from .errors import CheckpointError, WeightsOnlyError
from .pickle_writer import STORAGE_NAMES
from .storage import view_of

_STORAGE_DTYPES = {storage: name for name, storage in STORAGE_NAMES.items()}
_DTYPE_NAMES = {"float32": "float32", "float": "float32", "float64": "float64",
                "double": "float64", "float16": "float16", "half": "float16",
                "bfloat16": "bfloat16", "int64": "int64", "long": "int64", "int32": "int32",
                "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
                "uint8": "uint8", "bool": "bool"}
# a compressed entry may expand at most this much (a zip bomb otherwise); PyTorch and ember
# store entries uncompressed, so only a re-zipped checkpoint is compressed at all
_MAX_EXPANSION = 100


class _StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


class _Storage:
    """A loaded storage: a 1-D array, where it was saved and the tensor owning its memory."""

    def __init__(self, array, location):
        self.array, self.location, self.owner = array, location, None


def is_torch_zip(names):
    return any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)


def read_entry(z, entry, name):
    """An entry's bytes, refusing ones whose compressed size hides a huge expansion."""
    try:
        info = z.getinfo(entry)
    except KeyError:
        raise CheckpointError(f"ember.load: {name} is corrupted: missing entry {entry!r}") from None
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > _MAX_EXPANSION * max(info.compress_size, 1) + (1 << 20):
        raise CheckpointError(f"ember.load: {name}: entry {entry!r} claims {info.file_size} bytes "
                              f"from {info.compress_size} compressed (refused: a zip bomb?)")
    return z.read(info)


def read(z, name, map_location=None, weights_only=True):
    try:
        return _Loader(z, name, map_location, weights_only).load()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as e:
        raise CheckpointError(f"ember.load: {name} is corrupted: {e}") from None
    except Exception as e:   # any failure of a file's contents is a bad checkpoint
        raise CheckpointError(f"ember.load: {name}: cannot read its PyTorch pickle "
                              f"({type(e).__name__}: {e})") from None


class _Loader:
    def __init__(self, z, name, map_location, weights_only):
        self.z, self.name = z, name
        self.map_location, self.weights_only = map_location, weights_only
        names = z.namelist()
        self.pkl = next(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
        self.prefix = self.pkl[: -len("data.pkl")]
        self.byteorder = "little"
        if self.prefix + "byteorder" in names:
            self.byteorder = read_entry(z, self.prefix + "byteorder", name).decode(
                "ascii", "replace").strip()
            if self.byteorder not in ("little", "big"):
                raise CheckpointError(f"ember.load: {name} is corrupted: byteorder record says "
                                      f"{self.byteorder!r}")
        self.storages = {}
        self.created = set()       # ids of the objects this load made (BUILD may target them)
        self.globals = self._globals()

    def load(self):
        data = read_entry(self.z, self.pkl, self.name)
        unpickler = _Unpickler(io.BytesIO(data), self)
        return unpickler.load()

    # --- globals ---------------------------------------------------------------------------
    def _globals(self):
        from ..nn.parameter import Parameter
        return {
            ("collections", "OrderedDict"): OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter,
            ("torch._tensor", "_rebuild_from_type_v2"): self.rebuild_from_type,
            ("torch", "Size"): Size,
            ("torch", "device"): _device,
            ("torch", "Tensor"): Tensor,
            ("torch._tensor", "Tensor"): Tensor,
            ("torch.nn.parameter", "Parameter"): Parameter,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "slice"): slice,
            ("builtins", "complex"): complex,
            ("builtins", "bytearray"): bytearray,
            ("_codecs", "encode"): _latin1_encode,
            ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
            ("numpy.core.multiarray", "scalar"): _np_scalar,
            ("numpy._core.multiarray", "scalar"): _np_scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): _np_dtype,
        }

    def find_class(self, module, attr):
        known = self.globals.get((module, attr))
        if known is not None:
            return known
        if module == "torch" and attr in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[attr])
        if module == "torch" and attr in _DTYPE_NAMES:
            return dt.BY_NAME[_DTYPE_NAMES[attr]]
        allowed = _safe.lookup(module, attr)
        if allowed is not None:
            return allowed
        if self.weights_only:
            raise WeightsOnlyError(
                f"ember.load: {self.name} refers to {module}.{attr}, which ember does not load "
                "with weights_only=True: only tensors, parameters, containers, numbers and strings "
                "are allowed (anything else would run code on load).  If you trust the file, "
                "load it with weights_only=False, or allow the class with "
                f"ember.serialization.add_safe_globals([{attr}]).")
        return _import(module, attr)

    # --- tensors -----------------------------------------------------------------------------
    def storage(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"ember.load: {self.name} has an unsupported persistent id "
                                  f"{pid!r:.100}")
        storage_type, key, location = pid[1], str(pid[2]), str(pid[3])
        if key in self.storages:
            return self.storages[key]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"ember.load: {self.name}: storage {key} has no dtype "
                                  f"({storage_type!r:.60}); untyped storages are not supported")
        dtype = dt.BY_NAME[storage_type.dtype]
        raw = read_entry(self.z, f"{self.prefix}data/{key}", self.name)
        np_dtype = dtype.np if dtype.np.kind != "V" else np.dtype("<u2")
        if len(raw) % np_dtype.itemsize:
            raise CheckpointError(f"ember.load: {self.name} is corrupted: storage {key} holds "
                                  f"{len(raw)} bytes, not a whole number of {dtype} elements")
        if self.byteorder == "big":
            np_dtype = np_dtype.newbyteorder(">")
        array = np.frombuffer(raw, dtype=np_dtype).copy()
        if self.byteorder == "big":
            array = array.astype(array.dtype.newbyteorder("="))
        if dtype.np.kind == "V":
            array = array.view(dtype.np)
        self.storages[key] = _Storage(array, location)
        return self.storages[key]

    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None):
        if not isinstance(storage, _Storage):
            raise CheckpointError(f"ember.load: {self.name}: a tensor's storage is "
                                  f"{type(storage).__name__}, not a storage")
        offset, size, stride = _ints(offset, "offset"), _int_tuple(size), _int_tuple(stride)
        if len(size) != len(stride):
            raise CheckpointError(f"ember.load: {self.name}: a tensor has size {list(size)} but "
                                  f"stride {list(stride)}")
        array = view_of(storage.array, offset, size, stride)
        whole = offset == 0 and array.size == storage.array.size and array.flags.c_contiguous
        if storage.owner is None and whole:
            t = storage.owner = _new(array)
        else:
            if storage.owner is None:
                storage.owner = _new(storage.array)
            t = _new(array)
            t._base = storage.owner
        if requires_grad:
            t._requires_grad = True
        return self._placed(t, storage.location)

    def _placed(self, t, location):
        if location == "cpu" and self.map_location is None:
            return t
        from .devices import _moved, target
        try:
            dest = target(location, self.map_location)
        except Exception as e:
            raise CheckpointError(
                f"ember.load: {self.name} holds tensors saved on {location!r}, which is not "
                f"available here ({e}); pass map_location='cpu' to load them on the CPU") from None
        if callable(dest) and not hasattr(dest, "type"):   # map_location(tensor, location)
            moved = dest(t, location)
            return moved if isinstance(moved, Tensor) else t
        return t if dest.type == "cpu" else _moved(t, dest)

    def rebuild_parameter(self, data, requires_grad=True, hooks=None, state=None):
        from ..nn.parameter import Parameter
        if not isinstance(data, Tensor):
            raise CheckpointError(f"ember.load: {self.name}: a Parameter's data is "
                                  f"{type(data).__name__}, not a tensor")
        p = Parameter(data, bool(requires_grad))
        if data._base is not None:
            p._base = data._base
        for s in self.storages.values():    # later views of this storage view the Parameter
            if s.owner is data:
                s.owner = p
        return p

    def rebuild_from_type(self, func, new_type, args, state):
        if func not in (self.rebuild_tensor, self.rebuild_parameter) or \
                not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
            raise CheckpointError(f"ember.load: {self.name}: unsupported tensor subclass "
                                  f"rebuild ({new_type!r:.60})")
        return func(*args)

    # --- BUILD --------------------------------------------------------------------------------
    def build(self, inst, state):
        """Set ``state`` on ``inst`` under weights_only: only on the types reconstructed here."""
        kind = type(inst)
        if kind is OrderedDict and isinstance(state, dict) and \
                all(isinstance(k, str) and not k.startswith("__") for k in state):
            inst.__dict__.update(state)     # a state dict's _metadata
            return
        if kind is np.ndarray and _safe_array_state(state):
            inst.__setstate__(state)
            return
        if isinstance(inst, np.dtype) and isinstance(state, tuple) and \
                state == inst.__reduce__()[2]:
            return                          # a dtype's state is its own: nothing to set
        if isinstance(inst, _safe.allowed_types()) and not isinstance(inst, type):
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            elif isinstance(state, dict):
                inst.__dict__.update(state)
            else:
                raise CheckpointError(f"ember.load: {self.name}: cannot set the state "
                                      f"{type(state).__name__} on a {kind.__name__}")
            return
        raise CheckpointError(f"ember.load: {self.name} tries to set the state of "
                              f"{_what(inst)}, which a weights-only load never does (the file is "
                              "damaged or hostile)")


class _Unpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, loader):
        super().__init__(file, encoding="utf-8")
        self.loader = loader

    def find_class(self, module, name):
        if self.proto < 3:
            module, name = _python3_name(module, name)
        return self.loader.find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.storage(pid)

    def load_build(self):
        if not self.loader.weights_only:
            return pickle._Unpickler.load_build(self)
        state = self.stack.pop()
        self.loader.build(self.stack[-1], state)

    dispatch[pickle.BUILD[0]] = load_build


def _python3_name(module, name):
    """Python 2 names (__builtin__.set) as pickle's fix_imports maps them for protocols < 3."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _what(obj):
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    return f"a {type(obj).__module__}.{type(obj).__qualname__} ({obj!r:.60})"


def _ints(x, what):
    if not isinstance(x, int) or isinstance(x, bool):
        raise CheckpointError(f"ember.load: a tensor's {what} is {type(x).__name__}, not an int")
    return x


def _int_tuple(x):
    if not isinstance(x, (tuple, list)) or len(x) > 64:
        raise CheckpointError(f"ember.load: a tensor's size/stride is {x!r:.60}")
    return tuple(_ints(v, "size/stride entry") for v in x)


def _device(*args):
    return str(args[0]) if args else "cpu"


def _latin1_encode(text, encoding="latin1"):
    # protocol-2 pickles store bytes as _codecs.encode(str, "latin1"); nothing else is allowed
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise CheckpointError("ember.load: refused a _codecs.encode call that is not the "
                              "latin1 bytes encoding")
    return _codecs.encode(text, "latin1")


def _np_dtype(code, align=False, copy=False):
    d = np.dtype(code)
    if d.hasobject:
        raise CheckpointError("ember.load: refused a NumPy object dtype")
    return d


def _np_reconstruct(cls, shape, dtype_code):
    if cls is not np.ndarray:
        raise CheckpointError(f"ember.load: refused NumPy array subclass {cls!r:.60}")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _np_scalar(dtype, data):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise CheckpointError("ember.load: refused a NumPy scalar of Python objects")
    return np.frombuffer(data, dtype, count=1)[0]


def _safe_array_state(state):
    return (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], np.dtype)
            and not state[2].hasobject and isinstance(state[4], (bytes, bytearray))
            and isinstance(state[1], tuple))


def _import(module, attr):
    """A global for weights_only=False: torch.<path> is ember.<path>; others import as usual."""
    if module == "torch" or module.startswith("torch."):
        module = "ember" + module[len("torch"):]
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise CheckpointError(f"ember.load: the checkpoint needs {module}.{attr}, which cannot be "
                              f"imported here ({e})") from None
    return obj


def unsafe_globals(z, name):
    """The ``module.name`` globals a PyTorch-format archive refers to that a weights-only load
    refuses (torch.serialization.get_unsafe_globals_in_checkpoint).  Reads opcodes only."""
    import pickletools
    pkl = next(n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
    loader = _Loader.__new__(_Loader)
    loader.name, loader.weights_only = name, True
    loader.globals = _Loader._globals(loader)
    found, strings, proto = [], [], 0
    for op, arg, _ in pickletools.genops(read_entry(z, pkl, name)):
        if op.name == "PROTO":
            proto = arg
        if op.name == "GLOBAL":
            module, attr = arg.split(" ", 1)
            if proto < 3:
                module, attr = _python3_name(module, attr)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            module, attr = strings[-2], strings[-1]
        else:
            if isinstance(arg, str):
                strings.append(arg)
            continue
        try:
            loader.find_class(module, attr)
        except WeightsOnlyError:
            if f"{module}.{attr}" not in found:
                found.append(f"{module}.{attr}")
    return found
