"""The on-disk cache of generated code, keyed by content hash, so a second process that compiles
the same program loads the generated module instead of running the passes and codegen again.

Location: ``$EMBER_CACHE_DIR`` or ``~/.cache/ember/compiled``.  Entries are plain ``.py`` files
written atomically (temp file + rename); a corrupt or unreadable entry is a miss.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

CODEGEN_VERSION = "numpy-5"
# the files whose code decides what a generated module contains: their content is part of every
# key, so an edited ember never loads a module an older one generated
_CODEGEN_FILES = ("codegen/numpy_backend.py", "codegen/cpu_kernels.py", "codegen/scalar_render.py",
                  "codegen/kernel_math.py", "ops/scalar.py", "ops/elementwise.py",
                  "passes/fusion.py", "passes/memory_plan.py")
_version = []


def codegen_version():
    if not _version:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        h = hashlib.sha256(CODEGEN_VERSION.encode())
        for rel in _CODEGEN_FILES:
            try:
                with open(os.path.join(root, rel), "rb") as f:
                    h.update(f.read())
            except OSError:
                pass
        _version.append(h.hexdigest()[:16])
    return _version[0]


def cache_dir():
    d = os.environ.get("EMBER_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "ember", "compiled")
    return d


def enabled():
    return os.environ.get("EMBER_COMPILE_CACHE", "1") not in ("0", "")


def key_of(*parts):
    h = hashlib.sha256(codegen_version().encode())
    for p in parts:
        h.update(b"\0")
        h.update(p.encode() if isinstance(p, str) else p)
    return h.hexdigest()[:32]


def load(key):
    if not enabled():
        return None
    path = os.path.join(cache_dir(), key + ".py")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def store(key, source):
    if not enabled():
        return None
    d = cache_dir()
    try:
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        path = os.path.join(d, key + ".py")
        os.replace(tmp, path)
        return path
    except OSError:
        return None
