"""ember.fft: torch.fft on the fft_c2c / fft_r2c / fft_c2r primitives (ember/ops/fft.py).

Inputs are resized to ``n`` / ``s`` (zero-padded or trimmed, as PyTorch), integer inputs compute in
the default float dtype; ``norm`` is "backward" (default), "forward" or "ortho".  hfft/ihfft are
irfft/rfft of the conjugate with the dual norm, as PyTorch defines them.
"""
from __future__ import annotations


from .. import dtypes as _dt
from ..frontend import functional as _F
from ..frontend.creation import arange as _arange
from ..frontend.dispatch import bind as _bind
from ..frontend.shape_ops import roll as _roll
from ..ops import fft as _P
from ..ops.movement import PAD as _PAD
from ..ops.complex import CONJ as _CONJ

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _P.DUAL:
        raise ValueError(f"Invalid normalization mode: {norm}")
    return norm


def _float(x):
    return _F.float_input(x)


def _as_complex(x):
    x = _float(x)
    return x if x.dtype.is_complex else x.to(x.dtype.to_complex())


def _as_real(x, op):
    x = _float(x)
    if x.dtype.is_complex:
        raise RuntimeError(f"{op} expects a real input tensor, but got {_dt.legacy_name(x.dtype)}")
    return x


def _resize(x, dim, n):
    size = x.shape[dim]
    if n is None or n == size:
        return x
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    if n < size:
        return x.narrow(dim, 0, n)
    pads = tuple((0, n - size) if d == dim else (0, 0) for d in range(x.ndim))
    return _bind(_PAD, x, pads=pads, value=0.0)


def _dims_sizes(x, s, dim, default_all):
    """PyTorch's (dims, sizes) of an n-dim transform from s and dim."""
    if dim is None:
        dims = list(range(x.ndim)) if s is None else list(range(x.ndim - len(s), x.ndim))
    elif isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
    dims = [d % max(x.ndim, 1) for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    if s is not None and len(s) != len(dims):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    sizes = list(s) if s is not None else [None] * len(dims)
    sizes = [x.shape[d] if n in (None, -1) else n for d, n in zip(dims, sizes)]
    return dims, sizes


def _c2c(input, s, dim, norm, inverse):
    x = _as_complex(input)
    dims, sizes = _dims_sizes(x, s, dim, True)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    if not dims:
        return x.clone()
    return _bind(_P.FFT_C2C, x, dims=tuple(dims), norm=_norm(norm), inverse=inverse)


def _r2c(input, s, dim, norm, op):
    x = _as_real(input, op)
    dims, sizes = _dims_sizes(x, s, dim, True)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    return _bind(_P.FFT_R2C, x, dims=tuple(dims), norm=_norm(norm))


def _c2r(input, s, dim, norm):
    x = _as_complex(input)
    dims, sizes = _dims_sizes(x, s, dim, True)
    last = dims[-1]
    given = s is not None and s[-1] not in (None, -1)
    n_last = sizes[-1] if given else 2 * (x.shape[last] - 1)
    if n_last < 1:
        raise RuntimeError(f"Invalid number of data points ({n_last}) specified")
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _resize(x, d, n)
    x = _resize(x, last, n_last // 2 + 1)
    return _bind(_P.FFT_C2R, x, dims=tuple(dims), norm=_norm(norm), last_dim_size=n_last)


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2c(input, None if n is None else [n], dim, norm, False)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2c(input, None if n is None else [n], dim, norm, True)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c(input, s, dim, norm, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c(input, s, dim, norm, True)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c(input, s, dim, norm, False)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c(input, s, dim, norm, True)


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _r2c(input, None if n is None else [n], dim, norm, "rfft")


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c(input, s, dim, norm, "rfftn")


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c(input, s, dim, norm, "rfftn")


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _c2r(input, None if n is None else [n], dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r(input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r(input, s, dim, norm)


def _conj(x):
    x = _as_complex(x)
    return _bind(_CONJ, x)


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return irfft(_conj(input), n, dim, _P.DUAL[_norm(norm)])


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return irfftn(_conj(input), s, dim, _P.DUAL[_norm(norm)])


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return irfftn(_conj(input), s, dim, _P.DUAL[_norm(norm)])


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _bind(_CONJ, rfft(input, n, dim, _P.DUAL[_norm(norm)]))


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _bind(_CONJ, rfftn(input, s, dim, _P.DUAL[_norm(norm)]))


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _bind(_CONJ, rfftn(input, s, dim, _P.DUAL[_norm(norm)]))


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    dtype = _dt.to_dtype(dtype) or _dt.get_default_dtype()
    k = _arange(n, dtype=_dt.int64)
    k = _F.where(k >= (n + 1) // 2, k - n, k)
    out = (k.to(dtype) / (n * d)) if n else k.to(dtype)
    return out.requires_grad_(requires_grad) if requires_grad else out


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    dtype = _dt.to_dtype(dtype) or _dt.get_default_dtype()
    out = _arange(n // 2 + 1, dtype=_dt.int64).to(dtype) / (n * d)
    return out.requires_grad_(requires_grad) if requires_grad else out


def _shift(input, dim, sign):
    dims = list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else
                                                         list(dim))
    shifts = [sign * (input.shape[d] // 2) for d in dims]
    if not dims:
        return input.clone()
    return _roll(input, shifts, dims)


def fftshift(input, dim=None):
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    return _shift(input, dim, -1)


