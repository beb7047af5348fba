"""pin_memory: page-locked host buffers so host->GPU copies can be asynchronous.

On a CPU-only machine it is a no-op (the DataLoader warns once, like PyTorch).  When ember's CUDA
runtime is present, ``Tensor.pin_memory()`` does the real work and this walks batches with it.
"""
from __future__ import annotations

import collections.abc


def accelerator_available() -> bool:
    try:
        import ember.cuda
        return bool(ember.cuda.is_available())
    except Exception:
        return False


def pin_memory(data, device=None):
    if hasattr(data, "pin_memory") and not isinstance(data, (str, bytes, type)):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: pin_memory(v, device) for k, v in data.items()})
        except TypeError:
            return {k: pin_memory(v, device) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(pin_memory(v, device) for v in data))
    if isinstance(data, tuple):
        return [pin_memory(v, device) for v in data]  # backwards compatibility, as PyTorch
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([pin_memory(v, device) for v in data])
        except TypeError:
            return [pin_memory(v, device) for v in data]
    return data
