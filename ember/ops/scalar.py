"""Scalar rules: what one element of a pointwise primitive is, once, for every backend.

A pointwise primitive's ``scalar`` rule is a Python function called on symbolic scalars
(``Expr``); it returns the ``Expr`` of one output element.  Every backend renders that tree
through its own table of the *vocabulary* below (NumPy: vectorized ufunc calls; the CPU kernels:
scalar code Numba compiles; Triton: ``tl``/``libdevice`` calls), so a backend keeps no table of
primitives, only of these few scalar operations.

Each ``Expr`` knows its dtype, so a rule states dtype-specific semantics itself (integer floor
division, bool arithmetic being logical, ...).  Half precision is handled here once, for every
rule: float16/bfloat16 operands are widened to float32, the rule is evaluated there, and the result
is rounded back to the output dtype (``rule_expr``), which is what NumPy's half-precision loops do.

Vocabulary (ops a renderer must spell; ``VOCAB`` maps each to its arity):

* arithmetic, operands and result of one dtype: add sub mul truediv neg floordiv (Python's, sign
  of the divisor) mod (Python's) fmod (C's) pow (float) ipow (integer, PyTorch's negative-exponent
  rule) atan2 maximum minimum (NaN-propagating, like NumPy's)
* float math: exp log log1p expm1 sqrt sin cos tanh erf erfc lgamma asin acos atan asinh acosh
  atanh hypot copysign floor ceil trunc rint (half to even) abs
* comparisons (result bool): eq ne lt le gt ge
* bool/bit logic: and_ or_ xor (bitwise, bool or int) invert (int) not_ (bool)
* where(cond, a, b); cast(x, dtype) (float to int truncates, like NumPy's astype)
* leaves: ``arg`` (operand i) and ``const`` (a literal of a dtype)
"""
from __future__ import annotations

from .. import dtypes as dt

VOCAB = {
    "add": 2, "sub": 2, "mul": 2, "truediv": 2, "neg": 1, "floordiv": 2, "mod": 2, "fmod": 2,
    "pow": 2, "ipow": 2, "atan2": 2, "maximum": 2, "minimum": 2,
    "exp": 1, "log": 1, "log1p": 1, "expm1": 1, "sqrt": 1, "sin": 1, "cos": 1, "tanh": 1,
    "erf": 1, "erfc": 1, "lgamma": 1, "asin": 1, "acos": 1, "atan": 1, "asinh": 1, "acosh": 1,
    "atanh": 1, "hypot": 2, "copysign": 2, "floor": 1, "ceil": 1, "trunc": 1, "rint": 1, "abs": 1,
    "eq": 2, "ne": 2, "lt": 2, "le": 2, "gt": 2, "ge": 2,
    "and_": 2, "or_": 2, "xor": 2, "invert": 1, "not_": 1,
    "where": 3, "cast": 1,
}
_COMPARE = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
LOW_PRECISION = (dt.float16, dt.bfloat16)


class Expr:
    """A node of a scalar expression: ``op`` (a VOCAB name, ``arg`` or ``const``), ``args``
    (Exprs), ``dtype`` (an ember dtype), ``value`` (const: the number; arg: the operand index)."""
    __slots__ = ("op", "args", "dtype", "value")

    def __init__(self, op, args, dtype, value=None):
        self.op, self.args, self.dtype, self.value = op, tuple(args), dtype, value

    def __repr__(self):
        if self.op == "arg":
            return f"x{self.value}"
        if self.op == "const":
            return repr(self.value)
        return f"{self.op}({', '.join(map(repr, self.args))})"

    # operators build trees; a Python number becomes a const of the other operand's dtype
    def __add__(self, o): return _bin("add", self, o)
    def __radd__(self, o): return _bin("add", o, self)
    def __sub__(self, o): return _bin("sub", self, o)
    def __rsub__(self, o): return _bin("sub", o, self)
    def __mul__(self, o): return _bin("mul", self, o)
    def __rmul__(self, o): return _bin("mul", o, self)
    def __truediv__(self, o): return _bin("truediv", self, o)
    def __rtruediv__(self, o): return _bin("truediv", o, self)
    def __neg__(self): return Expr("neg", (self,), self.dtype)


def const(value, dtype):
    if not dtype.is_floating_point and dtype is not dt.bool_:
        # an integer constant wraps into its dtype like a cast (-1 as uint8 is 255)
        bits = dtype.itemsize * 8
        value = int(value) % (1 << bits)
        if dtype.is_signed and value >= 1 << (bits - 1):
            value -= 1 << bits
    return Expr("const", (), dtype, value)


def _lift(x, like):
    return x if isinstance(x, Expr) else const(x, like.dtype)


def _bin(op, a, b):
    like = a if isinstance(a, Expr) else b
    a, b = _lift(a, like), _lift(b, like)
    if a.dtype is not b.dtype:
        raise TypeError(f"scalar rule: {op} of {a.dtype.name} and {b.dtype.name}")
    return Expr(op, (a, b), dt.bool_ if op in _COMPARE else a.dtype)


def _op(name):
    n = VOCAB[name]
    if n == 1:
        return lambda x: Expr(name, (x,), x.dtype)
    return lambda a, b: _bin(name, a, b)


exp, log, log1p, expm1, sqrt = (_op(k) for k in ("exp", "log", "log1p", "expm1", "sqrt"))
sin, cos, tanh, erf, abs_ = (_op(k) for k in ("sin", "cos", "tanh", "erf", "abs"))
floor, ceil, trunc, rint = (_op(k) for k in ("floor", "ceil", "trunc", "rint"))
erfc, lgamma = _op("erfc"), _op("lgamma")
asin, acos, atan, asinh, acosh, atanh = (_op(k) for k in ("asin", "acos", "atan", "asinh",
                                                          "acosh", "atanh"))
hypot, copysign = _op("hypot"), _op("copysign")
invert, not_ = _op("invert"), _op("not_")
floordiv, mod, fmod, pow_, ipow, atan2 = (_op(k) for k in ("floordiv", "mod", "fmod", "pow",
                                                          "ipow", "atan2"))
maximum, minimum = _op("maximum"), _op("minimum")
eq, ne, lt, le, gt, ge = (_op(k) for k in ("eq", "ne", "lt", "le", "gt", "ge"))
and_, or_, xor = _op("and_"), _op("or_"), _op("xor")


def where(c, a, b):
    like = a if isinstance(a, Expr) else b
    a, b = _lift(a, like), _lift(b, like)
    return Expr("where", (c, a, b), a.dtype)


def cast(x, dtype):
    return x if x.dtype is dtype else Expr("cast", (x,), dtype)


def is_float(x):
    return x.dtype.is_floating_point


def is_bool(x):
    return x.dtype is dt.bool_


def rule_expr(prim, in_dtypes, out_dtype, params=None):
    """The Expr of one output element of `prim` over operands of `in_dtypes` (``arg`` leaves),
    cast to `out_dtype`; half-precision operands computed in float32 and rounded back."""
    if prim.scalar is None:
        raise NotImplementedError(f"primitive {prim.name!r} has no scalar rule")
    args = []
    for i, d in enumerate(in_dtypes):
        x = Expr("arg", (), d, i)
        args.append(cast(x, dt.float32) if d in LOW_PRECISION else x)
    out = prim.scalar(*args, **(params or {}))
    return cast(out, out_dtype)


def render(expr, spell, leaf):
    """Source text of `expr`: ``leaf(e)`` spells arg/const leaves, ``spell(e, arg_texts)`` every
    vocabulary op (the renderer's table).  Shared subtrees are spelled once per use."""
    if expr.op in ("arg", "const"):
        return leaf(expr)
    return spell(expr, [render(a, spell, leaf) for a in expr.args])


def ops_used(expr, acc=None):
    """The vocabulary ops of `expr` with the dtypes they run at: {(op, dtype of first arg)}."""
    acc = set() if acc is None else acc
    if expr.op not in ("arg", "const"):
        acc.add((expr.op, expr.args[0].dtype))
        for a in expr.args:
            ops_used(a, acc)
    return acc
