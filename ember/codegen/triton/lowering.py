"""Elementwise lowering: one primitive applied to Triton expressions -> one Triton expression.

Values are held in a *compute dtype*: float16/bfloat16 compute in float32 (Triton's math functions
want fp32) and are rounded back to their own dtype after every node, so results match NumPy's
per-op rounding.  Each node is its primitive's scalar rule (ember/ops/scalar.py) rendered through the
table of the scalar vocabulary below: no per-primitive table here.
"""
from __future__ import annotations

from ... import dtypes as dt
from ...ops.scalar import render, rule_expr

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


# the scalar vocabulary (ember/ops/scalar.py) in Triton; operands are in their compute dtype
_TRITON = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "truediv": "({0} / {1})",
    "neg": "(-{0})", "mod": "_remainder({0}, {1})", "fmod": "({0} % {1})",
    "pow": "libdevice.pow({0}, {1})", "ipow": "_ipow({0}, {1})",
    "atan2": "libdevice.atan2({0}, {1})", "exp": "tl.exp({0})", "log": "tl.log({0})",
    "log1p": "libdevice.log1p({0})", "expm1": "libdevice.expm1({0})", "sqrt": "tl.sqrt({0})",
    "sin": "tl.sin({0})", "cos": "tl.cos({0})", "tanh": "libdevice.tanh({0})",
    "erf": "libdevice.erf({0})", "erfc": "libdevice.erfc({0})", "lgamma": "libdevice.lgamma({0})",
    "asin": "libdevice.asin({0})", "acos": "libdevice.acos({0})", "atan": "libdevice.atan({0})",
    "asinh": "libdevice.asinh({0})", "acosh": "libdevice.acosh({0})",
    "atanh": "libdevice.atanh({0})", "hypot": "libdevice.hypot({0}, {1})",
    "copysign": "libdevice.copysign({0}, {1})", "floor": "tl.floor({0})", "ceil": "tl.ceil({0})",
    "trunc": "libdevice.trunc({0})", "rint": "_round_half_even({0})", "abs": "tl.abs({0})",
    "eq": "({0} == {1})", "ne": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "and_": "({0} & {1})", "or_": "({0} | {1})",
    "xor": "({0} ^ {1})", "invert": "(~{0})", "not_": "({0} == 0)",
    "where": "tl.where({0}, {1}, {2})",
}


def _spell(e, args):
    op = e.op
    fl = e.args[0].dtype.is_floating_point if e.args else False
    if op == "cast":
        return f"({args[0]} != 0)" if e.dtype is dt.bool_ else \
            f"{args[0]}.to({compute_dtype(e.dtype).triton})"
    if op == "floordiv":
        return f"tl.floor({args[0]} / {args[1]})" if fl else f"_floordiv_int({args[0]}, {args[1]})"
    if op in ("maximum", "minimum"):
        fn = "tl." + op
        return f"{fn}({args[0]}, {args[1]}, propagate_nan=tl.PropagateNan.ALL)" if fl else \
            f"{fn}({args[0]}, {args[1]})"
    return _TRITON[op].format(*args)


TRITON_VOCAB = set(_TRITON) | {"cast", "floordiv", "maximum", "minimum"}


def lower_elementwise(node, args):
    """The Triton expression for an elementwise node over argument expressions ``args``, rendered
    from the primitive's scalar rule."""
    from .kernels import _const
    expr = rule_expr(node.prim, [v.dtype for v in node.inputs], node.out.dtype, node.params)

    def leaf(e):
        return args[e.value] if e.op == "arg" else _const(e.value, compute_dtype(e.dtype))
    return "(" + render(expr, _spell, leaf) + ")"
