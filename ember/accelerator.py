"""ember.accelerator: torch.accelerator over ember's CUDA runtime.  On a machine without a GPU
(ember.cuda.is_available() is False) it reports none, as a CPU-only PyTorch does."""
from __future__ import annotations

import contextlib

from . import cuda as _cuda

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "current_device_idx", "set_device_index", "set_device_idx", "current_stream",
           "set_stream", "synchronize", "device_index", "empty_cache", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_stats",
           "reset_peak_memory_stats"]


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """ember.device('cuda') when a GPU is there, else None."""
    if not _cuda.is_available():
        return None
    from .runtime.device import device
    return device("cuda")


def device_count():
    return _cuda.device_count()


def _require(what):
    if not _cuda.is_available():
        raise RuntimeError(f"ember.accelerator.{what}: no accelerator is available (ember found "
                           "no CUDA device)")


def current_device_index():
    _require("current_device_index")
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device):
    _require("set_device_index")
    _cuda.set_device(device)


set_device_idx = set_device_index


def current_stream(device=None):
    _require("current_stream")
    return _cuda.current_stream(device)


def set_stream(stream):
    _require("set_stream")
    _cuda.set_stream(stream)


def synchronize(device=None):
    _require("synchronize")
    _cuda.synchronize(device)


@contextlib.contextmanager
def device_index(device):
    """Make ``device`` current inside the block (None: no change)."""
    if device is None:
        yield
        return
    _require("device_index")
    previous = _cuda.current_device()
    _cuda.set_device(device)
    try:
        yield
    finally:
        _cuda.set_device(previous)


def empty_cache():
    _cuda.empty_cache()


def memory_allocated(device_index=None):
    return _cuda.memory_allocated(device_index) if _cuda.is_available() else 0


def max_memory_allocated(device_index=None):
    return _cuda.max_memory_allocated(device_index) if _cuda.is_available() else 0


def memory_reserved(device_index=None):
    return _cuda.memory_reserved(device_index) if _cuda.is_available() else 0


def max_memory_reserved(device_index=None):
    return _cuda.max_memory_reserved(device_index) if _cuda.is_available() else 0


def memory_stats(device_index=None):
    return _cuda.memory_stats(device_index) if _cuda.is_available() else {}


def reset_peak_memory_stats(device_index=None):
    if _cuda.is_available():
        _cuda.reset_peak_memory_stats(device_index)
