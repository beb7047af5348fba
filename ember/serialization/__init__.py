"""ember.save / ember.load: checkpoints of tensors and containers of them, without pickle.

``ember.save(obj, f)`` writes ember's zip format (see ember_format.py and docs/serialization.md)
atomically when f is a path.  ``ember.load(f)`` reads ember's format, PyTorch's zip checkpoints
(``torch.save``; restricted unpickler, no code runs) and safetensors files.
"""
from __future__ import annotations

import io
import os
import zipfile

from . import ember_format, safetensors_format, torch_format
from .atomic import atomic_write
from .devices import apply_map_location
from .errors import CheckpointError, describe

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
           "FORMAT_VERSION"]

FORMAT_VERSION = ember_format.VERSION
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save obj (tensors, numbers, strings, None and dict/list/tuple/OrderedDict containers of
    them) to a path (written atomically) or a binary file object.  The pickle arguments are
    accepted for compatibility with torch.save and ignored: ember never pickles."""
    if _is_path(f):
        atomic_write(f, lambda out: ember_format.write(obj, out))
        return
    if not hasattr(f, "write"):
        raise TypeError(f"ember.save: f must be a path or a writable binary file object, not "
                        f"{type(f).__name__}")
    ember_format.write(obj, _SeekableWriter.wrap(f))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load an object saved by ember.save, a PyTorch checkpoint saved by torch.save (zip format),
    or a safetensors file, from a path or a binary file object.

    map_location: None loads CUDA tensors back onto their saved device; a device or string
    ("cpu", "cuda:1") moves every tensor there; a dict maps saved device names ({"cuda:0":
    "cpu"}); a callable is called as fn(tensor, saved_location) and a Tensor it returns is used.
    PyTorch checkpoints and safetensors load on the CPU first.  weights_only is accepted and
    always effectively True: no format ember reads can run code."""
    name = describe(f)
    data = _read_all(f)
    head = data[:16]
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC):
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise CheckpointError(f"ember.load: {name} is truncated or corrupted: not a complete "
                                  f"zip archive ({e})") from None
        try:
            with z:
                names = set(z.namelist())
                if ember_format.MANIFEST in names:
                    return ember_format.read(z, name, map_location)
                if torch_format.is_torch_zip(names):
                    return apply_map_location(torch_format.read(z, name), map_location)
                raise CheckpointError(f"ember.load: {name} is a zip archive but not an ember "
                                      f"checkpoint (no {ember_format.MANIFEST}) nor a PyTorch one "
                                      "(no data.pkl)")
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            # e.g. a CRC mismatch or a short entry discovered while reading
            raise CheckpointError(f"ember.load: {name} is corrupted: {e}") from None
    if safetensors_format.looks_like_safetensors(head):
        return apply_map_location(safetensors_format.read(data, name), map_location)
    if len(data) == 0:
        raise CheckpointError(f"ember.load: {name} is empty")
    if data[:2] in (b"\x80\x02", b"\x80\x04", b"\x80\x05"):
        raise CheckpointError(f"ember.load: {name} looks like a bare pickle (PyTorch's legacy "
                              "format?); ember reads only zip-format checkpoints and safetensors")
    raise CheckpointError(f"ember.load: {name} is not an ember checkpoint: unrecognized file "
                          f"format (starts with {head[:8]!r})")


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
