"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, trilinear, bicubic, area),
upsample*, pixel_shuffle / pixel_unshuffle.

Every mode is separable, so a spatial dim is resampled at a time by reading rows at source indices
(``index``) and mixing them with constant weights; the source positions follow PyTorch's formulas
(``area_pixel_compute_source_index``), computed in float64 on the host.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import ops as P
from ...frontend.dispatch import bind
from ...frontend.tensor import Tensor
from ...frontend import functional as _F
from .conv import _index_tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
           "pixel_unshuffle"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _per_dim(value, nd, cast, in_size, subject, got, spec):
    """A per-dim sequence of nd entries, or one value repeated nd times, cast to int or float."""
    if not isinstance(value, (list, tuple)):
        return (cast(value),) * nd
    if len(value) != nd:
        raise ValueError(f"Input and {subject} must have the same number of spatial dimensions, "
                         f"but got input with spatial dimensions of {list(in_size)} and {got} "
                         f"{list(value)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                         f"format and {spec} format.")
    return tuple(cast(v) for v in value)


def _sizes(x, nd, size, scale_factor, recompute_scale_factor):
    """(output sizes, scales used for the source index: None means in/out)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    in_size = tuple(x.shape[2:])
    if size is not None:
        out = _per_dim(size, nd, int, in_size, "output", "output size of",
                       "output size in (o1, o2, ...,oK)")
        return out, (None,) * nd
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = _per_dim(scale_factor, nd, float, in_size, "scale_factor", "scale_factor of shape",
                      "scale_factor in (s1, s2, ...,sK)")
    out = tuple(int(math.floor(n * s)) for n, s in zip(in_size, scales))
    if recompute_scale_factor:
        return out, (None,) * nd
    return out, scales


def _ratio(n, o, scale, align_corners):
    """PyTorch's area_pixel_compute_scale."""
    if align_corners:
        return (n - 1) / (o - 1) if o > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n / o


def _taps(mode, n, o, scale, align_corners, ftype):
    """[(index [o], weight [o])] for one dim; positions computed in `ftype` (PyTorch's opmath:
    float32 for float32 and lower, float64 for float64)."""
    dst = np.arange(o, dtype=ftype)
    if mode in ("nearest", "nearest-exact"):
        r = ftype(1.0 / scale if scale is not None and scale > 0 else n / o)
        src = np.floor((dst + (0.5 if mode == "nearest-exact" else 0.0)) * r)
        return [(np.minimum(src.astype(np.int64), n - 1), None)]
    r = ftype(_ratio(n, o, scale, align_corners))
    src = dst * r if align_corners else (dst + 0.5) * r - 0.5
    if mode == "bicubic":
        i0 = np.floor(src)
        t = src - i0
        a = -0.75

        def near(x):  # |x| <= 1
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def far(x):   # 1 < |x| < 2
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        ws = [far(t + 1), near(t), near(1 - t), far(2 - t)]
        return [(np.clip(i0.astype(np.int64) + k - 1, 0, n - 1), w) for k, w in enumerate(ws)]
    if not align_corners:
        src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = src - i0
    return [(i0, 1.0 - lam), (i1, lam)]


def _resample_dim(x, dim, taps):
    out = None
    shape = [1] * x.ndim
    shape[dim] = -1
    for idx, w in taps:
        rows = bind(P.INDEX, x, _index_tensor(idx), positions=(dim,))
        if w is not None:
            rows = rows * _F._wrap(w.astype(x.dtype.np).reshape(shape))
        out = rows if out is None else out + rows
    return out


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    nd = input.ndim - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif mode in _LINEAR:
        if align_corners is None:
            align_corners = False
    else:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | "
                                  f"bicubic | trilinear | area | nearest-exact (got {mode})")
    if mode in _LINEAR and _LINEAR[mode] != nd or nd not in (1, 2, 3):
        need = {1: "3D", 2: "4D", 3: "5D"}.get(_LINEAR.get(mode, nd), "3D, 4D or 5D")
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need} input")
    if antialias:
        raise NotImplementedError("ember: antialias=True is not supported")
    out, scales = _sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(map(str, input.shape[2:]))}) and output "
                           f"({', '.join(map(str, out))})")
    if mode == "area":
        from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, out)
    x = input
    if x.dtype.category != _F.dt.FLOAT and mode != "nearest" and mode != "nearest-exact":
        raise RuntimeError(f"\"upsample_{mode}_out_frame\" not implemented for "
                           f"'{_F.dt.legacy_name(x.dtype)}'")
    for i in range(nd):
        n, o = x.shape[2 + i], out[i]
        if n == o and mode in ("nearest", "nearest-exact") and scales[i] in (None, 1.0):
            continue
        ftype = np.float64 if x.dtype is _F.dt.float64 else np.float32
        x = _resample_dim(x, 2 + i, _taps(mode, n, o, scales[i], align_corners, ftype))
    return x if x is not input else input.clone()


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nl = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}" if h % r else
                           f"pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    nl = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))
