"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1d/2d/3d),
thin modules over ``F.pad`` with PyTorch's argument handling (an int pads every side)."""
from __future__ import annotations

from ..functional.padding import pad as _pad
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication",
                                          "Circular") for n in (1, 2, 3)]


def _ntuple(padding, n):
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n:
        raise ValueError(f"expected padding of length {2 * n}, got {len(padding)}")
    return padding


class _PadNd(Module):
    __constants__ = ["padding"]
    _n = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, self._n)

    def forward(self, input):
        return _pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return _pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input):
        if input.dim() not in (self._n + 1, self._n + 2):
            raise ValueError(f"expected {self._n + 1}D or {self._n + 2}D input (got "
                             f"{input.dim()}D input)")
        return super().forward(input)


def _make(kind, base, mode):
    for n in (1, 2, 3):
        name = f"{kind}Pad{n}d"
        globals()[name] = type(name, (base,), {"_n": n, "_mode": mode, "__module__": __name__,
                                               "__doc__": f"torch.nn.{name}"})


_make("Zero", _ZeroPadNd, "constant")
_make("Constant", _ConstantPadNd, "constant")
_make("Reflection", _PadNd, "reflect")
_make("Replication", _PadNd, "replicate")
_make("Circular", _CircularPadNd, "circular")
