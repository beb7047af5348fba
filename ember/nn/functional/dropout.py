"""Dropout family.  Masks come from ember's default generator through the rand primitive (with an
explicit seed), so a traced model replays the same kind of draw."""
from __future__ import annotations

from ...frontend import functional as F
from ...frontend.creation import rand
from ...frontend.inplace import write

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, dtype, device=None):
    return F.to_dtype(rand(shape, dtype=dtype, device=device) >= p, dtype)


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = _keep_mask(tuple(input.shape), p, input.dtype, input.device)
        out = input * (keep * (1.0 / (1.0 - p)))
    return write(input, out) if inplace else out


def _feature_dropout(input, p, training, inplace, batched_ndim, name):
    _check_p(p)
    if not training or p == 0.0:
        return input
    nd = input.ndim
    if nd not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {nd}D input.")
    lead = 2 if nd == batched_ndim else 1
    shape = tuple(input.shape[:lead]) + (1,) * (nd - lead)
    if p == 1.0:
        out = input * 0.0
    else:
        out = input * (_keep_mask(shape, p, input.dtype, input.device) * (1.0 / (1.0 - p)))
    return write(input, out) if inplace else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    nd = input.ndim
    lead = 2 if nd == 4 else 1 if nd == 3 else 2
    shape = tuple(input.shape[:lead]) + (1,) * (nd - lead)
    out = input * 0.0 if p == 1.0 else \
        input * (_keep_mask(shape, p, input.dtype, input.device) * (1.0 / (1.0 - p)))
    return write(input, out) if inplace else out


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 5, "dropout3d")


_ALPHA_PRIME = -1.7580993408473766  # -selu_scale * selu_alpha


def _alpha(input, p, shape):
    keep = _keep_mask(shape, p, input.dtype, input.device)
    a = (1.0 / ((1 - p) * (1 + p * _ALPHA_PRIME ** 2))) ** 0.5
    b = -a * _ALPHA_PRIME * p
    return (input * keep + _ALPHA_PRIME * (1 - keep)) * a + b


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    out = input * 0.0 if p == 1.0 else _alpha(input, p, tuple(input.shape))
    return write(input, out) if inplace else out


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    out = input * 0.0 if p == 1.0 else _alpha(input, p, shape)
    return write(input, out) if inplace else out
