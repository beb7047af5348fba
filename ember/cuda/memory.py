"""torch.cuda's memory functions over ember's caching allocator.  Without CUDA the counters are
0 and empty_cache does nothing (like a CPU-only PyTorch); summaries and device queries raise."""
from __future__ import annotations

from ..runtime import cuda as _rt


def _allocator(device, create=False):
    """The device's allocator, or None when CUDA is unavailable (or nothing was allocated and
    ``create`` is False)."""
    if not _rt.is_available():
        return None
    from . import _index
    idx = _index(device)
    rt = _rt.runtime()
    if not create and not rt.has_allocator(idx):
        return None
    return rt.allocator(idx)


def memory_allocated(device=None):
    a = _allocator(device)
    return a.memory_allocated() if a else 0


def max_memory_allocated(device=None):
    a = _allocator(device)
    return a.max_memory_allocated() if a else 0


def memory_reserved(device=None):
    a = _allocator(device)
    return a.memory_reserved() if a else 0


def max_memory_reserved(device=None):
    a = _allocator(device)
    return a.max_memory_reserved() if a else 0


memory_cached = memory_reserved            # deprecated names PyTorch still has
max_memory_cached = max_memory_reserved


def memory_stats(device=None):
    a = _allocator(device)
    return a.memory_stats() if a else {}


def memory_snapshot():
    if not _rt.is_available():
        return []
    rt = _rt.runtime()
    return [seg for i in range(rt.device_count()) if rt.has_allocator(i)
            for seg in rt.allocator(i).snapshot()]


def _need_device(device):
    _rt.runtime()                          # raises with the reason when CUDA is unavailable
    return _allocator(device, create=True)


def reset_peak_memory_stats(device=None):
    _need_device(device).reset_peak_memory_stats()


def reset_max_memory_allocated(device=None):
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None):
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None):
    _need_device(device).reset_accumulated_memory_stats()


def empty_cache():
    """Release every cached, unused block to the driver (does nothing without CUDA)."""
    if not _rt.is_available():
        return
    rt = _rt.runtime()
    for i in range(rt.device_count()):
        if rt.has_allocator(i):
            rt.allocator(i).empty_cache()


def memory_summary(device=None, abbreviated=False):
    return _need_device(device).memory_summary(abbreviated)


def mem_get_info(device=None):
    """(free, total) bytes of the device, as the driver reports them."""
    return _need_device(device).backend.mem_get_info()
