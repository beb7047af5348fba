"""Saved programs: a ``.ember`` file is a zip holding

* ``program.py``   the printed IR (the graph; parsed back with ``ast``, never executed),
* ``weights.safetensors``  the state tensors (parameters, buffers, constants),
* ``manifest.json``  format version, ember version, input specs, outputs structure, guards, size
  hints, and the SHA-256 of the other two members.

Saving is atomic (a temporary file in the same directory, then ``os.replace``).  Loading checks the
format version and the checksums and parses and verifies the graph, so a truncated, tampered or
newer-format file raises ProgramFormatError with a clear message.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from .. import dtypes as dt
from ..ir.meta import format_relation, format_type

FORMAT = "ember-program"
FORMAT_VERSION = 1
_GRAPH, _WEIGHTS, _MANIFEST = "program.py", "weights.safetensors", "manifest.json"


class ProgramFormatError(RuntimeError):
    """The file is not a loadable ember program (corrupt, tampered, truncated, or too new)."""


def _ember_version():
    from .. import __version__
    return __version__


def _encode_weights(state):
    from safetensors.numpy import save
    arrays, dtypes = {}, {}
    for k, t in state.items():
        a = np.asarray(t._data if hasattr(t, "_data") else t)
        if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
            a = a.copy()
        d = dt.BY_NP[a.dtype]
        dtypes[k] = d.name
        if d is dt.bfloat16:
            a = a.view(np.uint16)  # safetensors' NumPy API has no bfloat16: store the bits
        arrays[k] = a
    return (save(arrays) if arrays else b""), dtypes


def _decode_weights(blob, dtypes):
    from safetensors.numpy import load
    arrays = load(blob) if blob else {}
    out = {}
    for k, name in dtypes.items():
        if k not in arrays:
            raise ProgramFormatError(f"the weights lack {k!r}")
        a = arrays[k]
        d = dt.BY_NAME[name]
        if d is dt.bfloat16:
            a = a.view(d.np)
        out[k] = a if a.flags.writeable else a.copy()
    return out


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def save_program(program, path):
    from ..ir.printer import assign_names, print_graph
    g = program.graph
    text = print_graph(g).encode()
    names = assign_names(g)
    # the loaded graph knows inputs by their printed names: store constants under those
    state = {}
    for v in g.inputs:
        if v.kind == "const":
            state[names[v]] = program.state[v.name]
        elif v.kind in ("param", "buffer"):
            state[v.target] = program.state[v.target]
    blob, dtypes = _encode_weights(state)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ember_version": _ember_version(),
        "name": g.name,
        "inputs": [{"name": names[v], "kind": v.kind, "target": v.target,
                    "type": format_type(v.meta)} for v in g.inputs],
        "outputs": program.out_spec,
        "guards": [format_relation(r) for r in g.guards],
        "hints": dict(g.hints),
        "state": {k: {"dtype": dtypes[k], "shape": list(np.shape(state[k]._data))}
                  for k in state},
        "sha256": {_GRAPH: _sha(text), _WEIGHTS: _sha(blob)},
    }
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ember", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
                z.writestr(_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
                z.writestr(_GRAPH, text)
                z.writestr(_WEIGHTS, blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_manifest(path):
    return _open(path)[0]


def _open(path):
    path = os.fspath(path)
    try:
        z = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError) as e:
        raise ProgramFormatError(f"{path}: not an ember program, or the file is truncated or "
                                 f"corrupted ({e})") from None
    with z:
        try:
            manifest = json.loads(z.read(_MANIFEST))
        except KeyError:
            raise ProgramFormatError(f"{path}: not an ember program (no {_MANIFEST})") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ProgramFormatError(f"{path}: the manifest is unreadable ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ProgramFormatError(f"{path}: not an ember program (format "
                                     f"{manifest.get('format') if isinstance(manifest, dict) else '?'!r})")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ProgramFormatError(
                f"{path}: saved in program format version {version} by ember "
                f"{manifest.get('ember_version')}, but this ember ({_ember_version()}) reads "
                f"versions up to {FORMAT_VERSION}; upgrade ember to load it")
        members = {}
        for name in (_GRAPH, _WEIGHTS):
            try:
                members[name] = z.read(name)
            except KeyError:
                raise ProgramFormatError(f"{path}: the file lacks {name}") from None
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise ProgramFormatError(f"{path}: {name} is corrupted or truncated ({e})") from None
            want = manifest.get("sha256", {}).get(name)
            if want != _sha(members[name]):
                raise ProgramFormatError(f"{path}: {name} does not match its checksum in the "
                                         f"manifest (the file was modified after saving)")
    return manifest, members[_GRAPH].decode(), members[_WEIGHTS]


def load_program(path):
    """Load a saved Program; it runs without the Python code it was traced from."""
    from ..frontend import dispatch
    from ..ir.meta import IRSyntaxError
    from ..ir.parser import parse_graph
    from .program import Program
    from ..ir.verify import VerifyError, verify
    manifest, text, blob = _open(path)
    try:
        graph = verify(parse_graph(text))
    except (IRSyntaxError, VerifyError) as e:
        raise ProgramFormatError(f"{path}: the program text is invalid: {e}") from None
    specs = [(v.name, v.kind, v.target, format_type(v.meta)) for v in graph.inputs]
    listed = [(i.get("name"), i.get("kind"), i.get("target"), i.get("type"))
              for i in manifest.get("inputs", [])]
    if specs != listed:
        raise ProgramFormatError(f"{path}: the manifest's input specs do not match the program")
    graph.hints = {k: int(v) for k, v in manifest.get("hints", {}).items()}
    try:
        arrays = _decode_weights(blob, {k: s["dtype"] for k, s in manifest["state"].items()})
    except ProgramFormatError:
        raise
    except Exception as e:
        raise ProgramFormatError(f"{path}: the weights are unreadable ({e})") from None
    state = {k: dispatch._new(a) for k, a in arrays.items()}
    for v in graph.inputs:
        if v.kind == "input":
            continue
        key = v.target if v.kind in ("param", "buffer") else v.name
        if key not in state:
            raise ProgramFormatError(f"{path}: no stored value for {v.kind} {key!r}")
        a = state[key]._data
        if a.dtype != v.meta.dtype.np or tuple(a.shape) != tuple(v.meta.shape):
            raise ProgramFormatError(f"{path}: stored {key!r} does not match {format_type(v.meta)}")
    return Program(graph, state, manifest.get("outputs"), meta=manifest)
