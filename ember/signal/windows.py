"""torch.signal.windows on SciPy's window functions (``scipy.signal.windows``): the same
definitions, including ``sym=False`` (periodic: the first M points of an M + 1 window), with
PyTorch's argument checks.  Computed in float64 and cast to ``dtype``."""
from __future__ import annotations

from .. import dtypes as _dt
from ..frontend.creation import tensor as _tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _window(name, M, sym, dtype, requires_grad, device, **params):
    dtype = _dt.to_dtype(dtype) or _dt.get_default_dtype()
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if dtype not in (_dt.float32, _dt.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    import numpy as np
    from scipy.signal import windows as sw
    values = getattr(sw, name)(M, **params, sym=sym) if M > 0 else np.zeros(0)
    return _tensor(np.asarray(values, np.float64).astype(dtype.np), dtype=dtype, device=device,
                   requires_grad=requires_grad)


def _simple(name):
    def fn(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
        return _window(name, M, sym, dtype, requires_grad, device)
    fn.__name__ = name
    fn.__doc__ = f"torch.signal.windows.{name}(M, *, sym=True, dtype=None)."
    return fn


bartlett = _simple("bartlett")
blackman = _simple("blackman")
cosine = _simple("cosine")
hamming = _simple("hamming")
hann = _simple("hann")
nuttall = _simple("nuttall")


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None,
                requires_grad=False):
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    return _window("exponential", M, sym, dtype, requires_grad, device, center=center, tau=tau)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _window("gaussian", M, sym, dtype, requires_grad, device, std=std)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _window("kaiser", M, sym, dtype, requires_grad, device, beta=beta)


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if not isinstance(a, (list, tuple)):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    return _window("general_cosine", M, sym, dtype, requires_grad, device, a=list(a))


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None,
                    requires_grad=False):
    return _window("general_hamming", M, sym, dtype, requires_grad, device, alpha=alpha)
