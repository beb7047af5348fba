"""torch.device-like device objects.  ember runs on the CPU (NumPy); CUDA comes with the CUDA
runtime issue, and until then asking for it raises an error that says so."""
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
    """Raise the reason CUDA cannot be used: no runtime (CudaUnavailableError, naming the missing
    package/driver/GPU), or a runtime whose tensors the frontend cannot hold yet."""
    from . import cuda as _cuda   # lazy: cuda-bindings is only looked for when CUDA is asked for
    _cuda.runtime()
    raise NotImplementedError(
        "ember: a CUDA device is available, but CUDA tensors are not wired into the eager "
        "frontend yet (the runtime, allocator and ember.cuda work; see docs/cuda.md). "
        "Use device='cpu'.")


def check_device(d):
    """Normalise a device argument; CUDA raises (with the reason) until CUDA tensors exist."""
    if d is None:
        return CPU
    d = device(d) if not isinstance(d, device) else d
    if d.type == "cuda":
        cuda_unavailable()
    if d.type == "meta":
        raise NotImplementedError("ember has no meta device yet; use ember.jit.trace for shapes")
    return CPU
