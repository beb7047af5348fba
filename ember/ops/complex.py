"""Complex numbers: the primitives that cross between complex and real (conj, real, imag, angle,
complex, view_as_real, view_as_complex) and PyTorch's autograd convention for complex values.

The convention (PyTorch's, "conjugate Wirtinger"): for a real loss L of complex z = x + iy the
gradient is dL/dx + i dL/dy; a holomorphic f with upstream gradient G sends G * conj(f'(z)) to its
input.  The registry's vjp rules are written for real numbers (mul: g * b), so for a node that
touches complex values the autograd engine calls ``complex_vjp``: a primitive listed in
``NATIVE`` (its rule is already in this convention: the ones here and the FFTs) or overridden in
``OVERRIDES`` (non-holomorphic real primitives: abs, convert) runs its own rule; every other
primitive is holomorphic or real-linear, and conj(vjp(conj(G))) turns its real rule into
PyTorch's (mul: G * conj(b); matmul: G @ b^H; exp: G * conj(exp z)).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .registry import HOST, Meta, define, fail



def _need_complex(op, x):
    if not x.dtype.is_complex:
        fail(op, f"expects a complex tensor, not {x.dtype.name}", x)


def _to_real_meta(op):
    def infer(x):
        _need_complex(op, x)
        return Meta(tuple(x.shape), x.dtype.to_real())
    return infer


def _same(op):
    def infer(x):
        return Meta(tuple(x.shape), x.dtype)
    return infer


def _lift(g, dtype):
    """A real gradient as a complex tensor of `dtype` (imaginary part 0)."""
    return COMPLEX(g, g * 0) if g.dtype is not dtype else g


CONJ = define("conj", family="complex", infer=_same("conj"), numpy=np.conj,
              vjp=lambda g, out, x: (CONJ(g),), triton=HOST, saves_inputs=False)
REAL = define("real", family="complex", infer=_to_real_meta("real"),
              numpy=lambda x: np.ascontiguousarray(x.real),
              vjp=lambda g, out, x: (COMPLEX(g, g * 0),), triton=HOST, saves_inputs=False)
IMAG = define("imag", family="complex", infer=_to_real_meta("imag"),
              numpy=lambda x: np.ascontiguousarray(x.imag),
              vjp=lambda g, out, x: (COMPLEX(g * 0, g),), triton=HOST, saves_inputs=False)


def _angle_vjp(g, out, x):
    # theta = atan2(y, x): dtheta/dx = -y/|z|^2, dtheta/dy = x/|z|^2, so grad = g (-y + ix)/|z|^2
    re, im = REAL(x), IMAG(x)
    r2 = re * re + im * im
    safe = r2.where(r2 != 0, 1.0)
    return (COMPLEX(-(g * im) / safe, g * re / safe),)


ANGLE = define("angle", family="complex", infer=_to_real_meta("angle"),
               numpy=lambda x: np.angle(x).astype(x.real.dtype), vjp=_angle_vjp, triton=HOST)


def _infer_complex(re, im):
    if re.dtype not in (dt.float32, dt.float64) or re.dtype is not im.dtype:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{dt.legacy_name(re.dtype)} and {dt.legacy_name(im.dtype)}")
    if tuple(re.shape) != tuple(im.shape):
        fail("complex", "operand shapes differ (the frontend must expand first)", re, im)
    return Meta(tuple(re.shape), re.dtype.to_complex())


def _complex_np(re, im):
    out = np.empty(re.shape, np.result_type(re.dtype, np.complex64))
    out.real, out.imag = re, im
    return out


COMPLEX = define("complex", family="complex", infer=_infer_complex, numpy=_complex_np,
                 vjp=lambda g, out, re, im: (REAL(g), IMAG(g)), triton=HOST, saves_inputs=False)


def _view_as_real_infer(x):
    _need_complex("view_as_real", x)
    return Meta(tuple(x.shape) + (2,), x.dtype.to_real())


def _view_as_complex_infer(x):
    if len(x.shape) == 0 or x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if x.dtype not in (dt.float32, dt.float64):
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but "
                           f"got a tensor of scalar type: {dt.legacy_name(x.dtype)}")
    return Meta(tuple(x.shape[:-1]), x.dtype.to_complex())


VIEW_AS_REAL = define(
    "view_as_real", family="complex", infer=_view_as_real_infer,
    numpy=lambda x: np.ascontiguousarray(x).view(x.real.dtype).reshape(x.shape + (2,)),
    vjp=lambda g, out, x: (VIEW_AS_COMPLEX(g),), triton=HOST, saves_inputs=False)
VIEW_AS_COMPLEX = define(
    "view_as_complex", family="complex", infer=_view_as_complex_infer,
    numpy=lambda x: np.ascontiguousarray(x).view(np.result_type(x.dtype, np.complex64))
    .reshape(x.shape[:-1]),
    vjp=lambda g, out, x: (VIEW_AS_REAL(g),), triton=HOST, saves_inputs=False)


# --- the autograd convention --------------------------------------------------------------------
NATIVE = {"conj", "real", "imag", "angle", "complex", "view_as_real", "view_as_complex",
          "fft_c2c", "fft_r2c", "fft_c2r"}


def _abs_vjp(g, out, x):
    # |z|: grad = g z / |z| (0 at z = 0), PyTorch's sgn(z)
    if not x.dtype.is_complex:
        return (g * x.sign(),)
    r = x.abs()   # (abs keeps no output for backward)
    safe = r.where(r != 0, 1.0)
    return (COMPLEX(g * REAL(x) / safe, g * IMAG(x) / safe),)


def _convert_vjp(g, out, x, dtype):
    if x.dtype.is_complex:          # complex -> complex, or complex -> real (the real part)
        return (_lift(g, x.dtype) if not g.dtype.is_complex else g.to(x.dtype),)
    if x.dtype.is_floating_point:   # real -> complex: the real part of the gradient
        return (REAL(g).to(x.dtype) if g.dtype.is_complex else g.to(x.dtype),)
    return (None,)


OVERRIDES = {"abs": _abs_vjp, "convert": _convert_vjp}


def involves_complex(g, inputs):
    if g.dtype.category == dt.COMPLEX:
        return True
    for a in inputs:
        if a.dtype.category == dt.COMPLEX:
            return True
    return False


def complex_vjp(prim, g, out, inputs, params):
    """prim's input gradients in PyTorch's convention, for a node that touches complex values."""
    rule = OVERRIDES.get(prim.name)
    if rule is not None:
        return rule(g, out, *inputs, **params)
    if prim.name in NATIVE:
        return prim.vjp(g, out, *inputs, **params)
    gc = CONJ(g) if g.dtype.is_complex else g
    res = prim.vjp(gc, out, *inputs, **params)
    return tuple(None if r is None else (CONJ(r) if r.dtype.is_complex else r) for r in res)
