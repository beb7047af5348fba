"""Elementwise lowering: one primitive applied to Triton expressions -> one Triton expression.

Values are held in a *compute dtype*: float16/bfloat16 compute in float32 (Triton's math functions
want fp32) and are rounded back to their own dtype after every node, so results match NumPy's
per-op rounding.  The registry's ``triton`` template is used where it already has NumPy's semantics;
the overrides below fix the ones that differ (integer floor division and remainder, NaN-propagating
maximum/minimum, sign of NaN, integer pow, conversions to bool).
"""
from __future__ import annotations

from ... import dtypes as dt

LOW_PRECISION = (dt.float16, dt.bfloat16)


def tl_dtype(d):
    return d.triton


def compute_dtype(d):
    return dt.float32 if d in LOW_PRECISION else d


# helper @triton.jit functions every generated module carries (they are small and only traced
# when a kernel calls them)
PRELUDE = '''
@triton.jit
def _floordiv_int(a, b):
    q = a // b
    return q - ((a % b != 0) & ((a < 0) != (b < 0))).to(q.dtype)


@triton.jit
def _remainder(a, b):
    r = a % b
    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)


@triton.jit
def _ipow(base, exp):
    # exponentiation by squaring over the 63 bits of a non-negative integer exponent
    result = tl.full(base.shape, 1, base.dtype) + base * 0
    for _ in tl.static_range(63):
        result = tl.where((exp & 1) != 0, result * base, result)
        base = base * base
        exp = exp >> 1
    return result


@triton.jit
def _round_bf16(x):
    # float32 -> the nearest bfloat16 (ties to even), kept in float32; done on the bits because
    # Triton's interpreter truncates in .to(tl.bfloat16) while GPUs round to nearest even
    bits = x.to(tl.uint32, bitcast=True)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return tl.where(x != x, x, bits.to(tl.float32, bitcast=True))


@triton.jit
def _round_half_even(x):
    r = tl.floor(x)
    d = x - r
    odd = r - 2.0 * tl.floor(r * 0.5)
    return tl.where(d > 0.5, r + 1.0, tl.where(d < 0.5, r, r + odd))
'''


def _is_float(d):
    return d.is_floating_point


def lower_elementwise(node, args):
    """The Triton expression for an elementwise node over argument expressions ``args``."""
    name = node.prim.name
    ind = node.inputs[0].dtype if node.inputs else None
    fl = ind is not None and _is_float(ind)
    a = args[0] if args else None
    b = args[1] if len(args) > 1 else None
    if name in ("floor", "ceil", "trunc", "round") and not fl:
        return a
    if name == "floor":
        return f"tl.floor({a})"
    if name == "ceil":
        return f"tl.ceil({a})"
    if name == "round":
        return f"_round_half_even({a})"
    if name == "sign" and ind is dt.bool_:
        return a
    if name == "abs" and ind is dt.bool_:
        return a
    if name == "relu":
        return f"tl.where({a} > 0, {a}, 0)" if fl else f"tl.maximum({a}, 0)"
    if name in ("maximum", "minimum"):
        fn = "tl.maximum" if name == "maximum" else "tl.minimum"
        if fl:
            return f"{fn}({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"
        if ind is dt.bool_:
            return f"({a} | {b})" if name == "maximum" else f"({a} & {b})"
        return f"{fn}({a}, {b})"
    if name == "floor_divide":
        return f"tl.floor({a} / {b})" if fl else f"_floordiv_int({a}, {b})"
    if name == "remainder":
        return f"_remainder({a}, {b})"
    if name == "fmod":
        return f"({a} % {b})"
    if name == "pow":
        return f"libdevice.pow({a}, {b})" if fl else f"_ipow({a}, {b})"
    if name == "neg" and ind is dt.bool_:
        return a
    if ind is dt.bool_ and name in ("add", "mul", "sub"):
        # NumPy's bool arithmetic is logical (True + True is True), not 1-bit wraparound
        return f"({a} | {b})" if name == "add" else f"({a} & {b})" if name == "mul" else \
            f"({a} ^ {b})"
    if name == "bitwise_not" and ind is dt.bool_:
        return f"({a} == 0)"
    if name == "convert":
        target = node.params["dtype"]
        if target is dt.bool_:
            return f"({a} != 0)"
        return f"{a}.to({compute_dtype(target).triton})"
    if name in ("div",) and not fl:
        return f"({a}.to(tl.float64) / {b}.to(tl.float64))"
    template = node.prim.triton
    if template is None:
        raise NotImplementedError(f"no Triton lowering for {name}")
    return "(" + template.format(*args) + ")"
