"""ember.cuda: torch.cuda's API over ember's CUDA runtime (``ember.runtime.cuda``).

On a machine without CUDA (no ``cuda-bindings`` package, no driver, or no GPU) it behaves like
torch.cuda in a CPU-only PyTorch: ``is_available()`` is False, ``device_count()`` is 0, memory
counters read 0, seeding and ``empty_cache`` do nothing, and anything that needs a device raises
``CudaUnavailableError`` (a RuntimeError, and an AssertionError like PyTorch's) saying why.
"""
from __future__ import annotations

from ..runtime import cuda as _rt
from ..runtime.allocator import OutOfMemoryError  # noqa: F401
from ..runtime.cuda import CudaError, CudaUnavailableError  # noqa: F401
from .memory import (memory_allocated, max_memory_allocated, memory_reserved,  # noqa: F401
                     max_memory_reserved, memory_cached, max_memory_cached,
                     reset_peak_memory_stats, reset_max_memory_allocated,
                     reset_max_memory_cached, reset_accumulated_memory_stats, empty_cache,
                     memory_stats, memory_summary, memory_snapshot, mem_get_info)
from .random import (manual_seed, manual_seed_all, seed, seed_all, initial_seed,  # noqa: F401
                     get_rng_state, set_rng_state)
from .streams import (Stream, Event, StreamContext, stream, current_stream,  # noqa: F401
                      default_stream, set_stream)


def is_available():
    """True when ember's CUDA runtime found a driver and at least one GPU."""
    return _rt.is_available()


def device_count():
    return _rt.runtime().device_count() if _rt.is_available() else 0


def is_initialized():
    return _rt._active is not None


def init():
    _rt.runtime()


def _index(device=None):
    """A device argument (None, int, 'cuda', 'cuda:1', ember.device) as an index; raises when
    CUDA is unavailable or the index is out of range."""
    _rt.runtime()
    if device is None:
        return _rt.current_device()
    if isinstance(device, int):
        return _rt.check_index(device)
    from ..runtime.device import device as _device
    d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return _rt.check_index(d.index)


def current_device():
    return _index(None)


def set_device(device):
    idx = _index(device)
    _rt.set_current_device(idx)


class device:
    """Context manager that changes the current device (torch.cuda.device)."""

    def __init__(self, device):
        self.idx = -1 if device is None else device
        self.prev = -1

    def __enter__(self):
        if self.idx != -1:
            self.prev = current_device()
            set_device(self.idx)

    def __exit__(self, *exc):
        if self.prev != -1:
            set_device(self.prev)
        return False


def synchronize(device=None):
    """Wait for all work on the device."""
    idx = _index(device)
    _rt.runtime().synchronize(idx)


def get_device_name(device=None):
    return _rt.runtime().device_name(_index(device))


def get_device_capability(device=None):
    return _rt.runtime().capability(_index(device))


class _DeviceProperties:
    def __init__(self, idx):
        rt = _rt.runtime()
        self.name = rt.device_name(idx)
        self.major, self.minor = rt.capability(idx)
        self.total_memory = rt.total_memory(idx)
        self.multi_processor_count = rt.multiprocessor_count(idx)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1 << 20)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    return _DeviceProperties(_index(device))


def is_bf16_supported(including_emulation=True):
    if not is_available():
        return False
    return get_device_capability()[0] >= 8 or including_emulation


def get_arch_list():
    return []


def __getattr__(name):
    if name == "amp":
        import importlib
        return importlib.import_module("ember.cuda.amp")
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
