"""Movement primitives: reshape, permute, expand, slice (views), and the copying ones (slice_scatter,
pad, cat, flip).  View primitives return NumPy views so eager views share storage like PyTorch."""
from __future__ import annotations

import numpy as np

from .registry import Meta, define, fail
from ..shapes import prod


def _infer_reshape(x, shape):
    if prod(x.shape) != prod(shape):
        fail("reshape", f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size "
                        f"{prod(x.shape)}", x)
    return Meta(tuple(shape), x.dtype)


def _reshape_np(x, shape):
    return x.reshape(shape)  # a view where NumPy can make one; the frontend decides view vs copy


RESHAPE = define("reshape", family="movement", infer=_infer_reshape, numpy=_reshape_np,
                 vjp=lambda g, out, x, shape: (g.reshape(tuple(x.shape)),), triton="view",
                 is_view=True, saves_inputs=False, params=("shape",),
                 unview=lambda parent, new, shape: RESHAPE(new, shape=tuple(parent.shape)))


def _infer_permute(x, dims):
    if sorted(dims) != list(range(len(x.shape))):
        fail("permute", f"dims {tuple(dims)} are not a permutation of the {len(x.shape)} dims", x)
    return Meta(tuple(x.shape[d] for d in dims), x.dtype)


def _inverse(dims):
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return tuple(inverse)


def _permute_vjp(g, out, x, dims):
    return (g.permute(*_inverse(dims)),)


PERMUTE = define("permute", family="movement", infer=_infer_permute,
                 numpy=lambda x, dims: x.transpose(dims), vjp=_permute_vjp, triton="view",
                 is_view=True, saves_inputs=False, params=("dims",),
                 unview=lambda parent, new, dims: PERMUTE(new, dims=_inverse(dims)))


def _infer_expand(x, shape):
    if len(shape) != len(x.shape):
        fail("expand", f"target rank {len(shape)} differs from input rank (the frontend must "
                       "reshape first)", x)
    for have, want in zip(x.shape, shape):
        if have != want and have != 1:
            fail("expand", f"The expanded size of the tensor ({want}) must match the existing "
                           f"size ({have}) at a non-singleton dimension. Target sizes: "
                           f"[{', '.join(map(str, shape))}]", x)
    return Meta(tuple(shape), x.dtype)


def _expand_vjp(g, out, x, shape):
    dims = tuple(i for i, (a, b) in enumerate(zip(x.shape, shape)) if a != b)
    return (g.sum(dims, keepdim=True) if dims else g,)


EXPAND = define("expand", family="movement", infer=_infer_expand,
                numpy=lambda x, shape: np.broadcast_to(x, shape), vjp=_expand_vjp,
                triton="view", is_view=True, saves_inputs=False, params=("shape",))


def _slices(starts, stops, steps):
    return tuple(slice(a, b, c) for a, b, c in zip(starts, stops, steps))


def _slice_len(start, stop, step):
    return max(0, (stop - start + step - 1) // step)


def _infer_slice(x, starts, stops, steps):
    if not (len(starts) == len(stops) == len(steps) == len(x.shape)):
        fail("slice", "starts/stops/steps must have one entry per dim", x)
    shape = []
    for n, a, b, c in zip(x.shape, starts, stops, steps):
        if c <= 0:
            fail("slice", "step must be greater than zero", x)
        if not (0 <= a <= n and a <= b <= n) if isinstance(n, int) else False:
            fail("slice", f"bounds [{a}:{b}] out of range for a dim of size {n}", x)
        shape.append(_slice_len(a, b, c))
    return Meta(tuple(shape), x.dtype)


def _slice_vjp(g, out, x, starts, stops, steps):
    zeros = g.new_zeros(tuple(x.shape))
    return (SLICE_SCATTER(zeros, g, starts=starts, stops=stops, steps=steps),)


SLICE = define("slice", family="movement", infer=_infer_slice,
               numpy=lambda x, starts, stops, steps: x[_slices(starts, stops, steps)],
               vjp=_slice_vjp, triton="view", is_view=True, saves_inputs=False,
               params=("starts", "stops", "steps"),
               unview=lambda parent, new, **bounds: SLICE_SCATTER(parent, new, **bounds))


def _infer_slice_scatter(base, src, starts, stops, steps):
    expect = _infer_slice(base, starts, stops, steps)
    if tuple(src.shape) != expect.shape or src.dtype is not base.dtype:
        fail("slice_scatter", f"source must be {expect.dtype.short}{list(expect.shape)}", src)
    return Meta(tuple(base.shape), base.dtype)


def _slice_scatter_np(base, src, starts, stops, steps):
    out = base.copy()
    out[_slices(starts, stops, steps)] = src
    return out


def _slice_scatter_vjp(g, out, base, src, starts, stops, steps):
    hole = SLICE_SCATTER(g, src.new_zeros(tuple(src.shape)), starts=starts, stops=stops, steps=steps)
    return hole, SLICE(g, starts=starts, stops=stops, steps=steps)


SLICE_SCATTER = define("slice_scatter", family="movement", infer=_infer_slice_scatter,
                       numpy=_slice_scatter_np, vjp=_slice_scatter_vjp, triton="slice_scatter",
                       saves_inputs=False, params=("starts", "stops", "steps"))


def _infer_pad(x, pads, value):
    if len(pads) != len(x.shape):
        fail("pad", "pads must hold one (before, after) pair per dim", x)
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pads))
    if any(isinstance(s, int) and s < 0 for s in shape):
        fail("pad", f"negative output size {shape}", x)
    return Meta(shape, x.dtype)


def _pad_np(x, pads, value):
    if all(a >= 0 and b >= 0 for a, b in pads):
        return np.pad(x, pads, constant_values=value)
    # negative pads crop, like torch.nn.functional.pad
    grown = np.pad(x, [(max(a, 0), max(b, 0)) for a, b in pads], constant_values=value)
    crop = tuple(slice(-min(a, 0), n + min(b, 0)) for (a, b), n in zip(pads, grown.shape))
    return grown[crop].copy()


def _pad_vjp(g, out, x, pads, value):
    starts = tuple(a for a, b in pads)
    if any(a < 0 or b < 0 for a, b in pads):
        return (PAD(g, pads=tuple((-a, -b) for a, b in pads), value=0.0),)
    stops = tuple(a + n for a, n in zip(starts, x.shape))
    return (SLICE(g, starts=starts, stops=stops, steps=(1,) * len(pads)),)


PAD = define("pad", family="movement", infer=_infer_pad, numpy=_pad_np, vjp=_pad_vjp,
             triton="pad", saves_inputs=False, params=("pads", "value"))


def _infer_cat(*xs, dim):
    first = xs[0]
    for x in xs[1:]:
        if len(x.shape) != len(first.shape) or x.dtype is not first.dtype or any(
                a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != dim):
            fail("cat", f"Sizes of tensors must match except in dimension {dim}", first, x)
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in xs)
    return Meta(tuple(shape), first.dtype)


def _cat_vjp(g, out, *xs, dim):
    grads, start = [], 0
    nd = len(g.shape)
    for x in xs:
        stop = start + x.shape[dim]
        starts = tuple(start if i == dim else 0 for i in range(nd))
        stops = tuple(stop if i == dim else g.shape[i] for i in range(nd))
        grads.append(SLICE(g, starts=starts, stops=stops, steps=(1,) * nd))
        start = stop
    return tuple(grads)


CAT = define("cat", family="movement", infer=_infer_cat,
             numpy=lambda *xs, dim: np.concatenate(xs, axis=dim), vjp=_cat_vjp, triton="cat",
             saves_inputs=False, params=("dim",))

FLIP = define("flip", family="movement",
              infer=lambda x, dims: Meta(tuple(x.shape), x.dtype),
              numpy=lambda x, dims: np.flip(x, dims).copy(),
              vjp=lambda g, out, x, dims: (FLIP(g, dims=dims),), triton="flip",
              saves_inputs=False, params=("dims",))
