"""Reading and writing safetensors files (8-byte little-endian header size, a JSON header, then
the raw tensor bytes) with NumPy only."""
from __future__ import annotations

import json
import struct
from collections import OrderedDict

import numpy as np

from .. import dtypes as dt
from ..frontend.dispatch import _new
from .errors import CheckpointError

_CODES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
          "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
          "BOOL": "bool"}
_NAMES = {v: k for k, v in _CODES.items()}


def looks_like_safetensors(head):
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n < (1 << 32) and head[8:9] == b"{"


def read(data, name):
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise CheckpointError(f"ember.load: {name} is truncated: its safetensors header says "
                              f"{n} bytes but the file has {len(data) - 8}")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"ember.load: {name} is corrupted: bad safetensors header ({e})") \
            from None
    body = memoryview(data)[8 + n:]
    out = OrderedDict()
    for key in sorted(header):  # safetensors lists tensors by name, not by position in the file
        info = header[key]
        if key == "__metadata__":
            continue
        try:
            dtype = dt.BY_NAME[_CODES[info["dtype"]]]
            start, end = info["data_offsets"]
            shape = tuple(info["shape"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"ember.load: {name} is corrupted: bad safetensors entry for "
                                  f"{key!r}: {info!r}") from None
        if end > len(body) or start > end:
            raise CheckpointError(f"ember.load: {name} is truncated: tensor {key!r} needs bytes "
                                  f"{start}..{end} of {len(body)}")
        raw_dtype = dtype.np if dtype.np.kind != "V" else np.dtype("<u2")
        array = np.frombuffer(body[start:end], dtype=raw_dtype).copy()
        if dtype.np.kind == "V":
            array = array.view(dtype.np)
        expected = int(np.prod(shape)) if shape else 1
        if array.size != expected:
            raise CheckpointError(f"ember.load: {name} is corrupted: tensor {key!r} has "
                                  f"{array.size} elements for shape {list(shape)}")
        out[key] = _new(array.reshape(shape))
    return out


def write(tensors, f, metadata=None):
    """Write a flat {name: tensor} mapping as safetensors (what ember.serialization
    .save_safetensors uses)."""
    header, blobs, offset = OrderedDict(), [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for key, t in tensors.items():
        array = np.ascontiguousarray(t._host())   # (a CUDA tensor: its host copy)
        if array.dtype.kind == "V":
            array = array.view(np.dtype(f"<u{array.itemsize}"))
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[key] = {"dtype": _NAMES[t.dtype.name], "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for raw in blobs:
        f.write(raw)
