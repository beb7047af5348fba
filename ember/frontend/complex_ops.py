"""torch's complex-number functions: real, imag, conj, angle, complex, polar, view_as_real,
view_as_complex, is_complex, and the Tensor properties .real / .imag (on the primitives of
ember/ops/complex.py).  ``real``/``imag``/``view_as_*`` return copies here (views in PyTorch:
writing through them does not reach the input)."""
from __future__ import annotations

from .. import dtypes as dt
from ..ops import complex as C
from ..shapes import broadcast_shapes
from .dispatch import bind
from .functional import expand_to
from .tensor import Tensor

__all__ = ["real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "angle",
           "complex", "polar", "view_as_real", "view_as_complex", "is_complex", "is_conj"]


def real(input):
    return bind(C.REAL, input) if input.dtype.is_complex else input


def imag(input):
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return bind(C.IMAG, input)


def conj(input):
    return bind(C.CONJ, input) if input.dtype.is_complex else input


conj_physical = conj


def resolve_conj(input):
    return input


resolve_neg = resolve_conj


def is_conj(input):
    return False


def angle(input):
    if input.dtype.is_complex:
        return bind(C.ANGLE, input)
    from .functional import float_input, where
    import math
    x = float_input(input)
    # real input: 0 for x >= 0, pi for x < 0, nan stays nan (no gradient, as PyTorch's zeros)
    return where(x < 0, math.pi, where(x != x, x, x * 0))


def complex(real, imag):
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {dt.legacy_name(real.dtype)} but got "
                           f"scalar type {dt.legacy_name(imag.dtype)} for second argument")
    shape = broadcast_shapes(tuple(real.shape), tuple(imag.shape))
    return bind(C.COMPLEX, expand_to(real, shape), expand_to(imag, shape))


def polar(abs, angle):
    return complex(abs * angle.cos(), abs * angle.sin())


def view_as_real(input):
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return bind(C.VIEW_AS_REAL, input)


def view_as_complex(input):
    return bind(C.VIEW_AS_COMPLEX, input)


def is_complex(input):
    return input.dtype.is_complex


# Tensor methods and properties
Tensor.real = property(real)
Tensor.imag = property(imag)
for _name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "angle", "is_conj",
              "is_complex"):
    setattr(Tensor, _name, globals()[_name])
