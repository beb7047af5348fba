"""torch.device-like device objects.  "cpu" tensors hold NumPy arrays; "cuda" tensors hold
``runtime.cuda.DeviceArray``s (see docs/cuda.md).  Without a CUDA runtime, asking for "cuda" raises
the reason (no package, no driver, no device)."""
from __future__ import annotations


class device:
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device "
                               f"string: {type}")
        self.type, self.index = type, index

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None
                                              else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


def cuda_unavailable():
    """Raise the reason CUDA cannot be used (CudaUnavailableError, naming the missing
    package/driver/GPU); return the runtime when it can."""
    from . import cuda as _cuda   # lazy: cuda-bindings is only looked for when CUDA is asked for
    return _cuda.runtime()


def check_device(d):
    """Normalise a device argument to a ``device``: None and "cpu" give CPU; "cuda" gives
    ``cuda:<current device>`` and "cuda:N" is checked against the device count (PyTorch's
    "invalid device ordinal", naming how many devices exist).  Without CUDA, asking for it raises
    the reason."""
    if d is None:
        return CPU
    if d.__class__ is not device:
        if isinstance(d, int) and not isinstance(d, bool):   # torch: a bare int is a CUDA index
            d = device("cuda", d)
        else:
            d = device(d)
    if d.type == "cpu":
        return CPU
    if d.type == "cuda":
        cuda_unavailable()
        from . import cuda as _cuda
        if d.index is not None and d.index < 0:
            raise RuntimeError(f"Device index must not be negative (got {d.index})")
        return _cuda_device(_cuda.check_index(d.index))
    raise NotImplementedError("ember has no meta device yet; use ember.jit.trace for shapes")


_CUDA_DEVICES = {}


def _cuda_device(index):
    """The (cached) ``device('cuda', index)``: Tensor.device is read often."""
    d = _CUDA_DEVICES.get(index)
    if d is None:
        d = _CUDA_DEVICES[index] = device("cuda", index)
    return d
