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
    raise RuntimeError("ember: CUDA is not available: no NVIDIA GPU or driver was found on this "
                       "machine (ember.cuda.is_available() is False). Use device='cpu'.")


def check_device(d):
    """Normalise a device argument; CUDA raises until the CUDA runtime is present."""
    if d is None:
        return CPU
    d = device(d) if not isinstance(d, device) else d
    if d.type == "cuda":
        cuda_unavailable()
    if d.type == "meta":
        raise NotImplementedError("ember has no meta device yet; use ember.jit.trace for shapes")
    return CPU
