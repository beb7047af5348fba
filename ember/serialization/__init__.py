"""ember.save / ember.load, in PyTorch's checkpoint format.

``ember.save(obj, f)`` writes PyTorch's zip format (pickle_writer.py; atomically when f is a path),
so torch.load reads it.  ``ember.load(f)`` reads that format (from either library; restricted
unpickler unless ``weights_only=False``), ember's earlier JSON format (ember_format.py) and
safetensors files.  docs/serialization.md is the reference.
"""
from __future__ import annotations

import io
import os
import zipfile

from . import ember_format, pickle_writer, safetensors_format, torch_format
from .atomic import atomic_write
from .errors import CheckpointError, WeightsOnlyError, describe
from .safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
           "WeightsOnlyError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save obj to a path (written atomically) or a binary file object in PyTorch's checkpoint
    format: tensors as storages, anything else pickled (whole modules too, classes by
    reference).  pickle_module/pickle_protocol are accepted for torch.save's signature; the
    format is protocol 2, as torch.save writes by default."""
    if _is_path(f):
        atomic_write(f, lambda out: pickle_writer.write(obj, out))
        return
    if not hasattr(f, "write"):
        raise TypeError(f"ember.save: f must be a path or a writable binary file object, not "
                        f"{type(f).__name__}")
    pickle_writer.write(obj, _SeekableWriter.wrap(f))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load a checkpoint written by ember.save or torch.save (PyTorch's zip format), by an
    earlier ember (its JSON format) or a safetensors file, from a path or a binary file object.

    weights_only (default True, as in PyTorch 2.6+): only tensors, containers, numbers, strings
    and allow-listed globals (add_safe_globals) load, and nothing in the file runs code.
    weights_only=False loads whole pickled objects (modules saved by either library), which runs
    the file's code: only for files you trust.

    map_location: None loads tensors back onto their saved device; a device or string ("cpu",
    "cuda:1") moves every tensor there; a dict maps saved device names ({"cuda:0": "cpu"}); a
    callable is called as fn(tensor, saved_location) and a Tensor it returns is used.

    Every problem with the file's contents raises CheckpointError naming it."""
    if weights_only is None:
        weights_only = True
    name = describe(f)
    data = _read_all(f)
    try:
        return _load_bytes(data, name, map_location, bool(weights_only))
    except CheckpointError:
        raise
    except Exception as e:   # anything a damaged file provokes is reported as what it is
        raise CheckpointError(f"ember.load: {name} is corrupted ({type(e).__name__}: {e})") \
            from None


def _load_bytes(data, name, map_location, weights_only):
    head = data[:16]
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC):
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as e:
            raise CheckpointError(f"ember.load: {name} is truncated or corrupted: not a complete "
                                  f"zip archive ({e})") from None
        try:
            with z:
                names = set(z.namelist())
                if ember_format.MANIFEST in names:
                    return ember_format.read(z, name, map_location)
                if torch_format.is_torch_zip(names):
                    return torch_format.read(z, name, map_location, weights_only)
                raise CheckpointError(f"ember.load: {name} is a zip archive but not a PyTorch "
                                      "checkpoint (no data.pkl) nor an ember one (no "
                                      f"{ember_format.MANIFEST})")
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
            # e.g. a CRC mismatch, a short entry, an unknown compression method
            raise CheckpointError(f"ember.load: {name} is corrupted: {e}") from None
    if safetensors_format.looks_like_safetensors(head):
        from .devices import apply_map_location
        return apply_map_location(safetensors_format.read(data, name), map_location)
    if len(data) == 0:
        raise CheckpointError(f"ember.load: {name} is empty")
    if data[:2] in (b"\x80\x02", b"\x80\x04", b"\x80\x05"):
        raise CheckpointError(f"ember.load: {name} looks like a bare pickle (PyTorch's legacy "
                              "format?); ember reads only zip-format checkpoints and safetensors")
    raise CheckpointError(f"ember.load: {name} is not a checkpoint: unrecognized file "
                          f"format (starts with {head[:8]!r})")


def get_unsafe_globals_in_checkpoint(f):
    """The globals in a PyTorch-format checkpoint that ``load(weights_only=True)`` would refuse
    (``"module.name"`` strings), found without unpickling anything."""
    name = describe(f)
    data = _read_all(f)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if not torch_format.is_torch_zip(set(z.namelist())):
                return []
            return torch_format.unsafe_globals(z, name)
    except CheckpointError:
        raise
    except Exception as e:
        raise CheckpointError(f"ember.load: {name} is corrupted ({type(e).__name__}: {e})") \
            from None


def save_safetensors(tensors, f, metadata=None):
    """Write a flat {name: tensor} dict as a safetensors file (atomically for a path)."""
    if _is_path(f):
        atomic_write(f, lambda out: safetensors_format.write(tensors, out, metadata))
    else:
        safetensors_format.write(tensors, f, metadata)


def load_safetensors(f):
    data = _read_all(f)
    return safetensors_format.read(data, describe(f))


def _read_all(f):
    if _is_path(f):
        with open(f, "rb") as fh:
            return fh.read()
    if not hasattr(f, "read"):
        raise TypeError(f"ember.load: f must be a path or a readable binary file object, not "
                        f"{type(f).__name__}")
    data = f.read()
    if isinstance(data, str):
        raise TypeError("ember.load: the file object must be opened in binary mode ('rb')")
    return bytes(data)


class _SeekableWriter:
    """zipfile needs tell(); unseekable streams (pipes, sockets) get a position counter."""

    @staticmethod
    def wrap(f):
        try:
            f.tell()
            return f
        except (AttributeError, OSError, io.UnsupportedOperation):
            return _SeekableWriter(f)

    def __init__(self, f):
        self._f, self._pos = f, 0

    def write(self, b):
        n = self._f.write(b)
        self._pos += len(b)
        return n

    def tell(self):
        return self._pos

    def flush(self):
        if hasattr(self._f, "flush"):
            self._f.flush()
