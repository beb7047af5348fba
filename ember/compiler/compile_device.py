"""``ember.compile`` on CUDA tensors: which device a variant runs on, and its array handling.

A function traced with CUDA tensors (arguments, captured parameters, buffers, optimizer state)
always compiles with the Triton backend, whatever ``backend=`` says (NumPy cannot read device
memory; torch.compile likewise picks Triton for CUDA).  The generated module then runs on
``DeviceArray``s: its intermediates live in one arena per program (allocated at the first call,
reused after), outputs are fresh device arrays.  Host arrays a CUDA program still takes (0-d CPU
tensors such as an optimizer's step count, hyper-parameters read from ``param_groups``) are
copied to the device per call by ``TritonModule.run``, and written back when updated.

Everything here runs only for CUDA variants: CPU variants never enter this module.
"""
from __future__ import annotations

import numpy as np


def variant_device(arrays):
    """The CUDA device index these traced input arrays live on, None for CPU only.  Raises
    TraceError for tensors on two CUDA devices (one program runs on one device)."""
    devices = {a.device for a in arrays if getattr(a, "device_type", None) == "cuda"}
    if not devices:
        return None
    if len(devices) > 1:
        from ..frontend.trace import TraceError
        raise TraceError(f"a compiled function's tensors are on several CUDA devices "
                         f"({', '.join(f'cuda:{d}' for d in sorted(devices))})")
    return devices.pop()


def to_device(arrays, device):
    """The arrays with host ones (0-d CPU tensors, hyper-parameters) uploaded to ``device``."""
    from ..runtime.cuda import DeviceArray
    return [a if a.__class__ is not np.ndarray else DeviceArray.from_host(a, device)
            for a in arrays]


def fresh(o, inputs):
    """A device output safe to hand to a new tensor: copied when it shares memory with an input
    (an output that is a view of an argument), else as is (outputs are per-call buffers)."""
    if any(o.buffer is getattr(a, "buffer", None) for a in inputs):
        from .. import dtypes as dt
        from ..ops.registry import REGISTRY
        from ..codegen.triton import gpu_eager
        return gpu_eager.run(REGISTRY["convert"], [o], {"dtype": dt.from_numpy_dtype(o.dtype)})
    return o


def copy(a):
    """A device array's values at call time (what a backward program reads later)."""
    return fresh(a, [a])


def zeros(shape, dtype, device):
    from ..runtime.cuda import DeviceArray
    return DeviceArray.zeros(shape, dtype, device)


def contiguous(a):
    from ..codegen.triton import gpu_eager
    return gpu_eager.contiguous(a)
