"""Shapes: ints or sympy expressions, broadcasting, and the ShapeEnv that hands out symbolic dims
and records the guards traced code relies on."""
from __future__ import annotations

import math

import sympy


def prod(shape):
    out = 1
    for s in shape:
        out = out * s
    return out


def is_static(shape) -> bool:
    return all(isinstance(s, int) for s in shape)


def broadcast_shapes(*shapes):
    """NumPy/PyTorch broadcasting of shapes that may hold sympy dims; raises PyTorch's error."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        size = 1
        for s in shapes:
            if -i > len(s):
                continue
            d = s[i]
            if d == 1:
                continue
            if size == 1:
                size = d
            elif size != d:
                a, b = (s2 for s2 in shapes[:2])
                raise RuntimeError(
                    f"The size of tensor a ({a[i] if -i <= len(a) else 1}) must match the size of "
                    f"tensor b ({b[i] if -i <= len(b) else 1}) at non-singleton dimension {ndim + i}")
        out.append(size)
    return tuple(out)


def normalize_dim(dim, ndim, op="dim"):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def to_int_if_possible(d):
    if isinstance(d, sympy.Integer):
        return int(d)
    return d


class ShapeEnv:
    """Hands out symbolic sizes s0, s1, ... with a concrete hint each, and records the guards
    (relations between sizes) that traced code relied on."""

    def __init__(self):
        self.symbols: list[sympy.Symbol] = []
        self.hints: dict[sympy.Symbol, int] = {}
        self.guards: list = []

    def new_symbol(self, hint: int) -> sympy.Symbol:
        s = sympy.Symbol(f"s{len(self.symbols)}", integer=True, positive=True)
        self.symbols.append(s)
        self.hints[s] = hint
        return s

    def hint(self, expr) -> int:
        if isinstance(expr, int):
            return expr
        return int(sympy.sympify(expr).subs(self.hints))

    def guard(self, relation):
        if relation not in (True, sympy.true) and relation not in self.guards:
            self.guards.append(relation)


__all__ = ["prod", "broadcast_shapes", "normalize_dim", "ShapeEnv", "is_static", "math"]
