"""Index expressions: strided layouts, view algebra, and sympy expressions printed as Triton code.

A materialized value lives in a buffer under a ``Layout`` (shape, element strides, element offset),
exactly like a torch tensor's (storage, sizes, strides, storage_offset).  View primitives (permute,
expand, slice and stride-compatible reshapes) only change the layout, so broadcasting and
non-contiguous views cost no kernel: they are folded into the load's index expression.

Expressions are sympy integer expressions over the kernel's index symbols (``x`` for pointwise
kernels, ``r``/``c`` for row/column of reductions, ``bz``/``m``/``n`` for matmul) and over symbols
standing for runtime index values (``tmp7``, a gathered index).  ``FloorDiv`` and ``sympy.Mod``
unravel a flat index; sympy folds constants and cancels terms, and ``texpr`` prints the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ...shapes import prod


class FloorDiv(sympy.Function):
    """a // b for a >= 0, b > 0 (unravelling a flat index); printed as Python/Triton ``//``."""
    is_integer = True

    @classmethod
    def eval(cls, a, b):
        if b == 1:
            return a
        if a == 0:
            return sympy.Integer(0)
        if a.is_Integer and b.is_Integer:
            return sympy.Integer(int(a) // int(b))
        return None


def sym(name):
    return sympy.Symbol(name, integer=True, nonnegative=True)


def runtime_sym(name):
    """A symbol for a value computed in the kernel (may be negative)."""
    return sympy.Symbol(name, integer=True)


def texpr(e) -> str:
    """A sympy index expression as Triton source."""
    e = sympy.sympify(e)
    if e.is_Integer:
        return str(int(e))
    if e.is_Symbol:
        return e.name
    if isinstance(e, sympy.Add):
        terms = sorted(e.args, key=lambda t: (t.is_Number, sympy.default_sort_key(t)))
        return "(" + " + ".join(texpr(t) for t in terms) + ")"
    if isinstance(e, sympy.Mul):
        return "(" + " * ".join(texpr(t) for t in e.args) + ")"
    if isinstance(e, FloorDiv):
        return f"({texpr(e.args[0])} // {texpr(e.args[1])})"
    if isinstance(e, sympy.Mod):
        return f"({texpr(e.args[0])} % {texpr(e.args[1])})"
    if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp > 0:
        return "(" + " * ".join([texpr(e.base)] * int(e.exp)) + ")"
    raise NotImplementedError(f"cannot print index expression {e!r}")


def contiguous_strides(shape):
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Layout:
    shape: tuple
    strides: tuple
    offset: int = 0

    @staticmethod
    def contiguous(shape, offset=0):
        return Layout(tuple(shape), contiguous_strides(shape), offset)

    @property
    def numel(self):
        return prod(self.shape)

    def is_contiguous(self):
        return self.strides == contiguous_strides(self.shape) or self.numel <= 1

    # --- view algebra ----------------------------------------------------------------------
    def permute(self, dims):
        return Layout(tuple(self.shape[d] for d in dims), tuple(self.strides[d] for d in dims),
                      self.offset)

    def expand(self, shape):
        strides = tuple(st if have == want else 0
                        for have, want, st in zip(self.shape, shape, self.strides))
        return Layout(tuple(shape), strides, self.offset)

    def slice(self, starts, stops, steps):
        off = self.offset + sum(a * st for a, st in zip(starts, self.strides))
        shape = tuple(max(0, (b - a + c - 1) // c) for a, b, c in zip(starts, stops, steps))
        strides = tuple(st * c for st, c in zip(self.strides, steps))
        return Layout(shape, strides, off)

    def reshape(self, shape):
        """The reshaped layout when it is a view (torch's computeStride), else None."""
        shape = tuple(shape)
        if self.numel == 0 or self.numel == 1:
            return Layout.contiguous(shape, self.offset)
        # torch's computeStride: walk chunks of old dims that are contiguous among themselves
        old_shape, old_strides = self.shape, self.strides
        new_strides = [0] * len(shape)
        view_d = len(shape) - 1
        chunk_base_stride = old_strides[-1]
        tensor_numel = view_numel = 1
        for tensor_d in range(len(old_shape) - 1, -1, -1):
            tensor_numel *= old_shape[tensor_d]
            if tensor_d == 0 or (old_shape[tensor_d - 1] != 1 and
                                 old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
                while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                    new_strides[view_d] = view_numel * chunk_base_stride
                    view_numel *= shape[view_d]
                    view_d -= 1
                if view_numel != tensor_numel:
                    return None
                if tensor_d > 0:
                    chunk_base_stride = old_strides[tensor_d - 1]
                    tensor_numel = view_numel = 1
        if view_d != -1:
            return None
        return Layout(shape, tuple(new_strides), self.offset)

    # --- index expressions -----------------------------------------------------------------
    def offset_at(self, coords):
        """The element offset of the element at per-dim coordinates (sympy)."""
        return self.offset + sum((c * st for c, st in zip(coords, self.strides) if st != 0),
                                 sympy.Integer(0))

    def offset_flat(self, index, dims=None):
        """The element offset of flat (row-major) position ``index`` over ``dims`` of this layout
        (all dims by default), merging dims that are contiguous among themselves first."""
        dims = range(len(self.shape)) if dims is None else dims
        pairs = [(self.shape[d], self.strides[d]) for d in dims if self.shape[d] != 1]
        merged = []
        for size, st in pairs:
            if merged and merged[-1][1] == size * st:
                merged[-1] = (merged[-1][0] * size, st)
            else:
                merged.append((size, st))
        return self.offset + flat_offset(index, merged)

    def extent(self):
        """(lowest, highest) element offset reachable (for choosing 32- or 64-bit indexing)."""
        lo = hi = self.offset
        for s, st in zip(self.shape, self.strides):
            if s > 1:
                if st > 0:
                    hi += (s - 1) * st
                else:
                    lo += (s - 1) * st
        return lo, hi


def flat_offset(index, sizes_strides):
    """sum over dims of unravel(index)[d] * stride[d] for row-major (size, stride) pairs."""
    out = sympy.Integer(0)
    inner = 1
    for i in range(len(sizes_strides) - 1, -1, -1):
        size, st = sizes_strides[i]
        if size == 0:  # an empty tensor: every lane is masked off
            return sympy.Integer(0)
        coord = FloorDiv(index, inner) if inner != 1 else index
        if i != 0:  # the outermost coordinate needs no modulo (masked lanes may overflow)
            coord = sympy.Mod(coord, size)
        if st != 0:
            out = out + coord * st
        inner *= size
    return out


def unravel(index, shape):
    """Per-dim coordinates of a flat row-major index over ``shape``."""
    coords = [None] * len(shape)
    inner = 1
    for i in range(len(shape) - 1, -1, -1):
        size = shape[i]
        if size in (0, 1):  # size 0: every lane is masked off
            coords[i] = sympy.Integer(0)
            continue
        c = FloorDiv(index, inner) if inner != 1 else index
        if any(s != 1 for s in shape[:i]):
            c = sympy.Mod(c, size)
        coords[i] = c
        inner *= size
    return coords


def ravel(coords, shape):
    out = sympy.Integer(0)
    for c, st in zip(coords, contiguous_strides(shape)):
        out = out + c * st
    return out
