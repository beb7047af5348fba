"""Shapes: ints or sympy expressions, broadcasting, and the ShapeEnv that hands out symbolic dims
and records the guards traced code relies on."""
from __future__ import annotations

import logging
import math
import sys as _sys



class _LazySympy:
    """sympy costs ~200 ms to import and only symbolic shapes need it: import on first use."""

    def __getattr__(self, name):
        import sympy as real
        globals()["sympy"] = real
        return getattr(real, name)


sympy = _LazySympy()


def is_sym(x) -> bool:
    """x is a sympy object.  Nothing can be one before sympy is imported, so static shapes never
    pay for the import (ember.compile's first call of a static program stays sympy-free)."""
    m = _sys.modules.get("sympy")
    return m is not None and isinstance(x, m.Basic)


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
        if _dynamic_log.isEnabledFor(logging.INFO):
            _dynamic_log.info("new symbolic size %s (traced with %d)%s", s, hint, _site())
        return s

    def hint(self, expr) -> int:
        if isinstance(expr, int):
            return expr
        return int(sympy.sympify(expr).subs(self.hints))

    def guard(self, relation):
        if relation not in (True, sympy.true) and relation not in self.guards:
            self.guards.append(relation)
            if _dynamic_log.isEnabledFor(logging.DEBUG):
                _dynamic_log.debug("guard %s recorded%s", relation, _site())

    def decide(self, rel):
        """Answer the relation `rel` from the hints; record it (or its negation) as a guard unless
        it holds for every size >= 2 anyway."""
        cache = self.__dict__.setdefault("_implied", {})
        known = cache.get(rel)
        if known is None:
            known = cache[rel] = implied(rel)
        if known is not None:
            return known
        value = bool(rel.subs(self.hints))
        self.guard(rel if value else rel.negated)
        return value

    def specialize(self, expr):
        """Python needs a concrete int for `expr`: use the hint and guard that it stays so."""
        value = self.hint(expr)
        if getattr(expr, "free_symbols", None):
            if _dynamic_log.isEnabledFor(logging.INFO):
                _dynamic_log.info("specialized %s to %d: Python needed a concrete int%s", expr,
                                  value, _site())
            self.guard(sympy.Eq(expr, value))
        return value


# the `dynamic` topic of EMBER_LOGS (ember/_logging.py configures the ember.* loggers; emitting
# needs only the standard logger, so this base module imports nothing above it)
_dynamic_log = logging.getLogger("ember.dynamic")


def _site():
    """' at file:line' of the user code that made a shape decision (the first frame outside
    ember, NumPy and sympy), for the dynamic log."""
    f = _sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if not any(part in name for part in ("/ember/", "/numpy/", "/sympy/", "<frozen")):
            return f" at {name}:{f.f_lineno}"
        f = f.f_back
    return ""


__all__ = ["prod", "broadcast_shapes", "normalize_dim", "ShapeEnv", "is_static", "math", "SymDim",
           "sym", "as_expr", "implied"]


# --- symbolic sizes while tracing --------------------------------------------------------------
# A traced tensor's shape holds SymDim objects for dynamic dims.  Every decision Python code makes
# on one (==, <, bool, int()) is answered from the size seen at trace time (the hint) and recorded
# as a guard, so the traced program is valid exactly for inputs whose sizes satisfy the guards.
# Symbols stand for sizes >= 2 (sizes 0 and 1 are specialized, as in PyTorch's dynamic shapes), so
# checks like "is this dim 1?" (broadcasting) need no guard.

_SHIFT = {}   # symbol -> (u + 2) with u >= 0, to ask sympy whether a relation follows from s >= 2


def _shifted(sym):
    r = _SHIFT.get(sym)
    if r is None:
        r = _SHIFT[sym] = sympy.Symbol(f"_u_{sym.name}", integer=True, nonnegative=True) + 2
    return r


def implied(rel):
    """True/False when `rel` holds/fails for every assignment of sizes >= 2, else None."""
    if rel in (True, sympy.true):
        return True
    if rel in (False, sympy.false):
        return False
    r = rel.subs({s: _shifted(s) for s in rel.free_symbols})
    if r in (True, sympy.true):
        return True
    if r in (False, sympy.false):
        return False
    return None


def sym(name):
    """The size symbol called `name` (s0, s1, ...); the same object for the same name."""
    return sympy.Symbol(name, integer=True, positive=True)


class _NotASize(TypeError):
    pass


def as_expr(d):
    """A dim (int, SymDim or sympy expression) as an int or a sympy expression."""
    if d.__class__ is int:
        return d
    if isinstance(d, SymDim):
        return d.expr
    if isinstance(d, sympy.Basic):
        return int(d) if d.is_Integer else d
    if isinstance(d, (bool, float)) or not hasattr(d, "__index__") or hasattr(d, "_value"):
        raise _NotASize(d)
    return int(d)


class SymDim:
    """A symbolic size seen by Python code while tracing (like PyTorch's SymInt)."""
    __slots__ = ("expr", "env")

    def __init__(self, expr, env):
        self.expr = expr
        self.env = env

    @property
    def free_symbols(self):
        return self.expr.free_symbols

    def _sympy_(self):
        return self.expr

    def _new(self, e):
        e = sympy.sympify(e)
        return int(e) if e.is_Integer else SymDim(e, self.env)

    # arithmetic stays symbolic (with a tensor, the tensor's reflected operator takes over)
    def _arith(fn):
        def op(self, o):
            try:
                other = as_expr(o)
            except _NotASize:
                return NotImplemented
            return self._new(fn(self.expr, other))
        return op

    __add__ = _arith(lambda a, b: a + b)
    __radd__ = _arith(lambda a, b: b + a)
    __sub__ = _arith(lambda a, b: a - b)
    __rsub__ = _arith(lambda a, b: b - a)
    __mul__ = _arith(lambda a, b: a * b)
    __rmul__ = _arith(lambda a, b: b * a)
    __floordiv__ = _arith(lambda a, b: sympy.floor(a / b))
    __rfloordiv__ = _arith(lambda a, b: sympy.floor(b / a))
    __mod__ = _arith(lambda a, b: sympy.Mod(a, b))
    __rmod__ = _arith(lambda a, b: sympy.Mod(b, a))
    del _arith

    def __neg__(self): return self._new(-self.expr)
    def __pos__(self): return self

    def __truediv__(self, o):  # a float result has no symbolic form: specialize
        return int(self) / (int(o) if isinstance(o, SymDim) else o)

    def __rtruediv__(self, o):
        return o / int(self)

    # decisions are guarded
    def _decide(self, rel_type, o):
        return self.env.decide(rel_type(self.expr, as_expr(o)))

    def __eq__(self, o):
        if not isinstance(o, (int, SymDim, sympy.Basic)) or isinstance(o, bool):
            return NotImplemented
        return self._decide(sympy.Eq, o)

    def __ne__(self, o):
        r = self.__eq__(o)
        return r if r is NotImplemented else not r

    def __lt__(self, o): return self._decide(sympy.Lt, o)
    def __le__(self, o): return self._decide(sympy.Le, o)
    def __gt__(self, o): return self._decide(sympy.Gt, o)
    def __ge__(self, o): return self._decide(sympy.Ge, o)

    def __bool__(self):
        return self != 0

    def __index__(self):  # Python needs a concrete int (range(), slice.indices): specialize
        return self.env.specialize(self.expr)

    __int__ = __index__

    def __float__(self):
        return float(int(self))

    def __hash__(self):
        return hash(self.expr)

    def __repr__(self):
        return str(self.expr)

    __str__ = __repr__
