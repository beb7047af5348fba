"""Renderers of scalar rules (ember/ops/scalar.py) for the CPU backends: one table per backend of
how each *vocabulary* op is spelled, never a table of primitives.

* ``numpy_expr``: a vectorized NumPy expression (ufunc calls; the root may take ``out=``), run by
  the generated NumPy module: the reference and the fallback of the CPU kernels.
* ``kernel_expr``: a scalar expression inside a Numba-compiled loop (codegen/cpu_kernels.py).

Both read leaves through a callback (an operand's array name or loaded scalar).
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..ops.scalar import render

# NumPy: vocabulary op -> ufunc (every entry takes out=)
NUMPY_UFUNC = {
    "add": "np.add", "sub": "np.subtract", "mul": "np.multiply", "truediv": "np.true_divide",
    "neg": "np.negative", "floordiv": "np.floor_divide", "mod": "np.remainder",
    "fmod": "np.fmod", "pow": "np.power", "atan2": "np.arctan2", "maximum": "np.maximum",
    "minimum": "np.minimum", "exp": "np.exp", "log": "np.log", "log1p": "np.log1p",
    "expm1": "np.expm1", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos", "tanh": "np.tanh",
    "floor": "np.floor", "ceil": "np.ceil", "trunc": "np.trunc", "rint": "np.rint",
    "abs": "np.abs", "eq": "np.equal", "ne": "np.not_equal", "lt": "np.less",
    "le": "np.less_equal", "gt": "np.greater", "ge": "np.greater_equal",
    "and_": "np.bitwise_and", "or_": "np.bitwise_or", "xor": "np.bitwise_xor",
    "invert": "np.invert", "not_": "np.logical_not",
    "asin": "np.arcsin", "acos": "np.arccos", "atan": "np.arctan", "asinh": "np.arcsinh",
    "acosh": "np.arccosh", "atanh": "np.arctanh", "hypot": "np.hypot", "copysign": "np.copysign",
}
# NumPy: the rest of the vocabulary (helpers the generated module imports from here)
NUMPY_OTHER = {"where": "np.where({0}, {1}, {2})", "erf": "_erf({0})", "erfc": "_erfc({0})",
               "lgamma": "_lgamma({0})",
               "ipow": "_ipow({0}, {1})", "cast": "np.asarray({0}, dtype={dtype})"}
NUMPY_PRELUDE = "from ember.codegen.scalar_render import np_erf as _erf, np_ipow as _ipow, " \
    "np_erfc as _erfc, np_lgamma as _lgamma"


def np_erf(x, out=None):
    from scipy.special import erf  # scipy is slow to import; only erf needs it
    return erf(x, out=out) if out is not None else erf(x)


def np_erfc(x, out=None):
    from scipy.special import erfc
    return erfc(x, out=out) if out is not None else erfc(x)


def np_lgamma(x, out=None):
    from scipy.special import gammaln
    return gammaln(x, out=out) if out is not None else gammaln(x)


def np_ipow(a, b):
    """Integer power with PyTorch's negative-exponent rule (1 -> 1, -1 -> +-1, else 0)."""
    a, b = np.asarray(a), np.asarray(b)
    neg = b < 0
    out = np.power(a, np.where(neg, 0, b))
    if neg.any():
        odd = (b % 2) != 0
        alt = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
        out = np.where(neg, alt.astype(out.dtype), out)
    return out


def _np_literal(value, d):
    if d is dt.bool_:
        return repr(bool(value))
    name = f"DT_{d.short}.np.type"
    if d.is_floating_point:
        v = float(value)
        text = "NAN" if math.isnan(v) else ("INF" if v > 0 else "(-INF)") if math.isinf(v) \
            else repr(v)
        return f"{name}({text})"
    return f"{name}({int(value)})"


def numpy_expr(expr, leaf, out=""):
    """NumPy source for `expr`; `leaf(i)` spells operand i; `out` (", out=B[3]") goes to the root
    when the root is a ufunc.  Returns (text, whether `out` was used)."""
    def spell(e, args, root=False):
        fn = NUMPY_UFUNC.get(e.op)
        if fn is not None:
            return f"{fn}({', '.join(args)}{out if root else ''})"
        if e.op == "cast":
            return NUMPY_OTHER["cast"].format(*args, dtype=f"DT_{e.dtype.short}.np")
        return NUMPY_OTHER[e.op].format(*args)

    def lf(e):
        return leaf(e.value) if e.op == "arg" else _np_literal(e.value, e.dtype)

    if expr.op in ("arg", "const"):
        return lf(expr), False
    args = [render(a, spell, lf) for a in expr.args]
    return spell(expr, args, root=True), bool(out) and expr.op in NUMPY_UFUNC


# --- Numba scalar code ------------------------------------------------------------------------
_KERNEL = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "truediv": "({0} / {1})",
    "neg": "(-{0})", "floordiv": "({0} // {1})", "mod": "({0} % {1})", "fmod": "np.fmod({0}, {1})",
    "pow": "({0} ** {1})", "ipow": "_ipow({0}, {1})", "atan2": "np.arctan2({0}, {1})",
    # NumPy's maximum/minimum: the first operand when it wins or is NaN, else the second
    "maximum": "_maximum({0}, {1})", "minimum": "_minimum({0}, {1})",
    "exp": "np.exp({0})", "log": "np.log({0})", "log1p": "np.log1p({0})",
    "expm1": "np.expm1({0})", "sqrt": "np.sqrt({0})", "sin": "np.sin({0})",
    "cos": "np.cos({0})", "tanh": "np.tanh({0})", "erf": "math.erf({0})",
    "erfc": "math.erfc({0})", "lgamma": "math.lgamma({0})", "asin": "np.arcsin({0})",
    "acos": "np.arccos({0})", "atan": "np.arctan({0})", "asinh": "np.arcsinh({0})",
    "acosh": "np.arccosh({0})", "atanh": "np.arctanh({0})", "hypot": "np.hypot({0}, {1})",
    "copysign": "np.copysign({0}, {1})",
    "floor": "np.floor({0})", "ceil": "np.ceil({0})", "trunc": "np.trunc({0})",
    "rint": "np.rint({0})", "abs": "abs({0})",
    "eq": "({0} == {1})", "ne": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})",
    "and_": "({0} & {1})", "or_": "({0} | {1})", "xor": "({0} ^ {1})", "invert": "(~{0})",
    "not_": "(not {0})", "where": "({1} if {0} else {2})",
}
# helpers every kernel module imports (ember/codegen/kernel_math.py)
KERNEL_PRELUDE = "from ember.codegen.kernel_math import maximum as _maximum, minimum as " \
    "_minimum, ipow as _ipow, exp32 as _exp32, erf32 as _erf32\n"
_NB_NAME = {"bool": "np.bool_"}


def nb_type(d):
    """The NumPy scalar constructor of ember dtype `d` inside a kernel."""
    return _NB_NAME.get(d.name, f"np.{d.np.name}")


def _kernel_literal(value, d):
    if d is dt.bool_:
        return repr(bool(value))
    if d.is_floating_point:
        v = float(value)
        text = "np.nan" if math.isnan(v) else ("np.inf" if v > 0 else "-np.inf") \
            if math.isinf(v) else repr(v)
        return f"{nb_type(d)}({text})"
    return f"{nb_type(d)}({int(value)})"


def kernel_expr(expr, leaf):
    """Scalar Numba source for `expr` (every result cast to its dtype, so float32 stays float32
    where Numba's typing would widen, e.g. math.erf)."""
    def spell(e, args):
        if e.op == "cast":
            return f"{nb_type(e.dtype)}({args[0]})" if e.dtype is not dt.bool_ else \
                f"({args[0]} != 0)"
        if e.op in ("exp", "erf") and e.dtype is dt.float32:
            return f"_{e.op}32({args[0]})"     # vectorizable float32 versions (kernel_math.py)
        text = _KERNEL[e.op].format(*args)
        if e.dtype.is_floating_point and e.op in ("erf", "erfc", "lgamma", "truediv", "pow", "atan2",
                                                      "fmod", "abs", "hypot", "copysign"):
            return f"{nb_type(e.dtype)}({text})"
        return text

    def lf(e):
        return leaf(e.value) if e.op == "arg" else _kernel_literal(e.value, e.dtype)
    return render(expr, spell, lf)


def missing(table_ops):
    """Vocabulary ops without a spelling in a renderer (the self-test's check)."""
    from ..ops.scalar import VOCAB
    return sorted(set(VOCAB) - set(table_ops))


NUMPY_VOCAB = set(NUMPY_UFUNC) | set(NUMPY_OTHER)
KERNEL_VOCAB = set(_KERNEL) | {"cast"}
