"""pad: constant (the pad primitive), reflect, replicate and circular (slices, flips and cat, so
they trace into movement primitives)."""
from __future__ import annotations

from ... import ops as P
from ...frontend import functional as F
from ...frontend.dispatch import bind

__all__ = ["pad"]

_SUPPORTED = ("Supported combinations for non-constant padding:\n"
              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pairs(input, pad):
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    # pad lists the last dim first: (left, right, top, bottom, ...)
    return {input.ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)}


def pad(input, pad, mode="constant", value=None):
    pairs = _pairs(input, pad)
    if mode == "constant":
        pads = tuple(pairs.get(d, (0, 0)) for d in range(input.ndim))
        return bind(P.PAD, input, pads=pads, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise AssertionError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    k = len(pairs)
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {2 * k} is not supported for {input.ndim}D input "
                                  f"tensor.\n{_SUPPORTED}")
    out = input
    for d in sorted(pairs):
        before, after = pairs[d]
        out = _pad_dim(out, d, before, after, mode, input)
    return out


def _pad_dim(x, d, before, after, mode, original):
    n = x.shape[d]
    # negative pads crop first
    if before < 0:
        x, n, before = x.narrow(d, -before, n + before), n + before, 0
    if after < 0:
        x, n, after = x.narrow(d, 0, n + after), n + after, 0
    if before == 0 and after == 0:
        return x
    parts = []
    if mode == "reflect":
        if before >= n or after >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before}, {after}) at "
                               f"dimension {d} of input {list(original.shape)}")
        if before:
            parts.append(x.narrow(d, 1, before).flip(d))
        parts.append(x)
        if after:
            parts.append(x.narrow(d, n - 1 - after, after).flip(d))
    elif mode == "replicate":
        if n == 0:
            raise RuntimeError(f"input tensor must not be empty to be padded with replicate")
        shape = list(x.shape)
        if before:
            shape[d] = before
            parts.append(x.narrow(d, 0, 1).expand(*shape))
        parts.append(x)
        if after:
            shape[d] = after
            parts.append(x.narrow(d, n - 1, 1).expand(*shape))
    else:
        if before > n or after > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if before:
            parts.append(x.narrow(d, n - before, before))
        parts.append(x)
        if after:
            parts.append(x.narrow(d, 0, after))
    return F.cat(parts, d)
