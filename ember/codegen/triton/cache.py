"""The on-disk kernel cache.

Triton compiles from source files, so every generated module is a file named by the SHA-256 of
its text (``<dir>/<hash>.py``; identical code is stored once).  ``index/<key>`` maps a compile key
(graph text + input signature + options + codegen version) to that file, so a second process
finds its module without scheduling or generating anything, and Triton's own cache (keyed by the
kernel source) then skips compilation on a GPU.  The directory is ``$EMBER_TRITON_CACHE`` or
``~/.cache/ember/triton``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile

STATS = {"generated": 0, "index_hits": 0, "loaded": 0}
_modules = {}


def cache_dir():
    d = os.environ.get("EMBER_TRITON_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "ember", "triton")
    os.makedirs(os.path.join(d, "index"), exist_ok=True)
    return d


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _atomic_write(path, text):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def lookup(key):
    """The module file recorded for a compile key, or None."""
    idx = os.path.join(cache_dir(), "index", key)
    try:
        with open(idx, encoding="utf-8") as f:
            path = os.path.join(cache_dir(), f.read().strip())
    except OSError:
        return None
    if not os.path.exists(path):
        return None
    STATS["index_hits"] += 1
    return path


def store(key, source):
    d = cache_dir()
    name = "m" + digest(source) + ".py"
    path = os.path.join(d, name)
    if not os.path.exists(path):
        _atomic_write(path, source)
    _atomic_write(os.path.join(d, "index", key), name)
    STATS["generated"] += 1
    return path


def load_module(path):
    """Import a cached module (once per process); returns (module, source)."""
    got = _modules.get(path)
    if got is not None:
        return got
    name = "ember_triton_" + os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Triton looks kernels' globals up through their module
    spec.loader.exec_module(module)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    STATS["loaded"] += 1
    _modules[path] = (module, source)
    return module, source
