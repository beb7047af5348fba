"""Discrete Fourier transforms on ``scipy.fft`` (pocketfft; keeps single precision): complex to
complex, real to complex (one-sided) and complex (one-sided) to real, over the given dims, with
PyTorch's ``norm`` modes.  The frontend (``ember/fft``) resizes inputs to ``n``/``s`` first.

Gradients are in PyTorch's complex convention (these primitives are in ``complex.NATIVE``): the
adjoint of a transform with norm mode m is the opposite transform with the dual mode
(backward <-> forward, ortho <-> ortho); real-to-complex and complex-to-real add PyTorch's
zero-padding / conjugate-symmetry doubling (its fft_r2c_backward / fft_c2r_backward).
"""
from __future__ import annotations

from .. import dtypes as dt
from .movement import PAD
from .registry import HOST, Meta, define, fail
from .source import ARANGE

DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _sfft():
    import scipy.fft
    return scipy.fft


def _check_dims(op, x, dims):
    for d in dims:
        if not 0 <= d < len(x.shape):
            fail(op, f"dim {d} out of range", x)


def _c2c_infer(x, dims, norm, inverse):
    _check_dims("fft_c2c", x, dims)
    if not x.dtype.is_complex:
        fail("fft_c2c", "expects a complex input (the frontend converts)", x)
    return Meta(tuple(x.shape), x.dtype)


def _c2c_np(x, dims, norm, inverse):
    f = _sfft().ifftn if inverse else _sfft().fftn
    return f(x, axes=dims, norm=norm).astype(x.dtype, copy=False)


def _c2c_vjp(g, out, x, dims, norm, inverse):
    return (FFT_C2C(g, dims=dims, norm=DUAL[norm], inverse=not inverse),)


FFT_C2C = define("fft_c2c", family="fft", infer=_c2c_infer, numpy=_c2c_np, vjp=_c2c_vjp,
                 triton=HOST, saves_inputs=False, params=("dims", "norm", "inverse"))


def _r2c_infer(x, dims, norm):
    _check_dims("fft_r2c", x, dims)
    if x.dtype not in (dt.float32, dt.float64):
        fail("fft_r2c", "expects a float32/float64 input", x)
    shape = list(x.shape)
    shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return Meta(tuple(shape), x.dtype.to_complex())


def _r2c_np(x, dims, norm):
    return _sfft().rfftn(x, axes=dims, norm=norm).astype(
        dt.BY_NP[x.dtype].to_complex().np, copy=False)


def _r2c_vjp(g, out, x, dims, norm):
    # zero-pad the one-sided gradient to the full spectrum, adjoint c2c, keep the real part
    from .complex import REAL
    last = dims[-1]
    n, m = x.shape[last], g.shape[last]
    pads = tuple((0, n - m) if d == last else (0, 0) for d in range(g.ndim))
    full = PAD(g, pads=pads, value=0.0)
    return (REAL(FFT_C2C(full, dims=dims, norm=DUAL[norm], inverse=True)),)


FFT_R2C = define("fft_r2c", family="fft", infer=_r2c_infer, numpy=_r2c_np, vjp=_r2c_vjp,
                 triton=HOST, saves_inputs=False, params=("dims", "norm"))


def _c2r_infer(x, dims, norm, last_dim_size):
    _check_dims("fft_c2r", x, dims)
    if not x.dtype.is_complex:
        fail("fft_c2r", "expects a complex input (the frontend converts)", x)
    if x.shape[dims[-1]] != last_dim_size // 2 + 1:
        fail("fft_c2r", f"last transformed dim must hold {last_dim_size // 2 + 1} values", x)
    shape = list(x.shape)
    shape[dims[-1]] = last_dim_size
    return Meta(tuple(shape), x.dtype.to_real())


def _c2r_np(x, dims, norm, last_dim_size):
    shape = [x.shape[d] for d in dims[:-1]] + [last_dim_size]
    return _sfft().irfftn(x, s=shape, axes=dims, norm=norm).astype(
        dt.BY_NP[x.dtype].to_real().np, copy=False)


def _c2r_vjp(g, out, x, dims, norm, last_dim_size):
    # the one-sided input stands for itself and its conjugate mirror: bins 1 .. n - m count twice
    gi = FFT_R2C(g, dims=dims, norm=DUAL[norm])
    last = dims[-1]
    m = gi.shape[last]
    idx = ARANGE(start=0, end=m, step=1, dtype=dt.int64)
    doubled = (idx >= 1) & (idx <= last_dim_size - m)
    weight = doubled.to(g.dtype) + 1
    weight = weight.reshape((m,) + (1,) * (gi.ndim - 1 - last))
    return (gi * weight,)


FFT_C2R = define("fft_c2r", family="fft", infer=_c2r_infer, numpy=_c2r_np, vjp=_c2r_vjp,
                 triton=HOST, saves_inputs=False, params=("dims", "norm", "last_dim_size"))
