"""Elementwise primitives: unary math, binary arithmetic, comparisons, where, convert.

Operands of a binary primitive have equal shapes and dtypes (the frontend broadcasts and promotes).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from . import scalar as S
from .registry import Meta, define, fail


def _same_meta(op, x):
    return Meta(tuple(x.shape), x.dtype)


def _infer_float_unary(op):
    def infer(x):
        if not x.dtype.is_floating_point:
            fail(op, f"expects a floating-point tensor, not {x.dtype.name}", x)
        return Meta(tuple(x.shape), x.dtype)
    return infer


def _infer_binary(op, out_dtype=None):
    def infer(a, b):
        if tuple(a.shape) != tuple(b.shape):
            fail(op, "operand shapes differ (the frontend must expand first)", a, b)
        if a.dtype is not b.dtype:
            fail(op, "operand dtypes differ (the frontend must convert first)", a, b)
        return Meta(tuple(a.shape), out_dtype or a.dtype)
    return infer


def unary(name, np_fn, vjp, triton, float_only=True, differentiable=True, saves_output=False,
          saves_inputs=None, doc="", scalar=None):
    # a vjp that reads only the output (or nothing) keeps no input alive and, like PyTorch,
    # does not mind the input being modified in place afterwards
    if saves_inputs is None:
        saves_inputs = not saves_output
    return define(name, family="elementwise", numpy=np_fn, vjp=vjp, triton=triton,
                  infer=_infer_float_unary(name) if float_only else (lambda x: _same_meta(name, x)),
                  differentiable=differentiable, saves_output=saves_output,
                  saves_inputs=saves_inputs, doc=doc, scalar=scalar)


def binary(name, np_fn, vjp, triton, out_dtype=None, differentiable=True, saves_output=False,
           saves_inputs=True, doc="", scalar=None):
    return define(name, family="elementwise", numpy=np_fn, vjp=vjp, triton=triton,
                  infer=_infer_binary(name, out_dtype), differentiable=differentiable,
                  saves_output=saves_output, saves_inputs=saves_inputs, doc=doc, scalar=scalar)


# --- scalar rules shared by several primitives (ember/ops/scalar.py) ----------------------------
def _same_for_ints(fn):
    # rounding functions are the identity on integers and bools
    return lambda x: fn(x) if S.is_float(x) else x


def _bool_or(fn, bool_fn):
    return lambda a, b: bool_fn(a, b) if S.is_bool(a) else fn(a, b)


def _sigmoid(x):
    # exp(-logaddexp(0, -x)) never overflows, unlike 1 / (1 + exp(-x))
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)


def _rsqrt(x):
    with np.errstate(divide="ignore"):
        return np.reciprocal(np.sqrt(x))


def _np_log(fn):
    def f(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(x)
    return f


def _relu(x):
    return np.maximum(x, x.dtype.type(0))


def _round(x):
    return np.round(x)  # half to even, like torch.round


# --- unary ------------------------------------------------------------------------------------
NEG = unary("neg", np.negative, lambda g, out, x: (-g,), "-{0}", float_only=False,
            saves_inputs=False,
            scalar=lambda x: x if S.is_bool(x) else -x)
EXP = unary("exp", np.exp, lambda g, out, x: (g * out,), "tl.exp({0})", saves_output=True,
            scalar=S.exp)
LOG = unary("log", _np_log(np.log), lambda g, out, x: (g / x,), "tl.log({0})",
            scalar=S.log)
LOG1P = unary("log1p", _np_log(np.log1p), lambda g, out, x: (g / (x + 1),), "libdevice.log1p({0})",
              scalar=S.log1p)
EXPM1 = unary("expm1", np.expm1, lambda g, out, x: (g * (out + 1),), "libdevice.expm1({0})",
              saves_output=True,
              scalar=S.expm1)
SQRT = unary("sqrt", _np_log(np.sqrt), lambda g, out, x: (g / (out * 2),), "tl.sqrt({0})",
             saves_output=True,
             scalar=S.sqrt)
RSQRT = unary("rsqrt", _rsqrt, lambda g, out, x: (g * out * out * out * -0.5,),
              "libdevice.rsqrt({0})", saves_output=True,
              scalar=lambda x: 1 / S.sqrt(x))
SIN = unary("sin", np.sin, lambda g, out, x: (g * x.cos(),), "tl.sin({0})",
            scalar=S.sin)
COS = unary("cos", np.cos, lambda g, out, x: (-(g * x.sin()),), "tl.cos({0})",
            scalar=S.cos)
TANH = unary("tanh", np.tanh, lambda g, out, x: (g * (1 - out * out),), "libdevice.tanh({0})",
             saves_output=True,
             scalar=S.tanh)
SIGMOID = unary("sigmoid", _sigmoid, lambda g, out, x: (g * out * (1 - out),), "tl.sigmoid({0})",
                saves_output=True,
                scalar=lambda x: 1 / (1 + S.exp(-x)))
def _erf(x):
    from scipy.special import erf  # scipy is slow to import; only erf needs it
    return erf(x).astype(x.dtype, copy=False)


ERF = unary("erf", _erf,
            lambda g, out, x: (g * (x * x * -1).exp() * 1.1283791670955126,), "libdevice.erf({0})",
            scalar=S.erf)
RECIPROCAL = unary("reciprocal", _np_log(np.reciprocal), lambda g, out, x: (-(g * out * out),),
                   "1.0 / {0}", saves_output=True,
                   scalar=lambda x: 1 / x)
ABS = unary("abs", np.abs, lambda g, out, x: (g * x.sign(),), "tl.abs({0})", float_only=False,
            scalar=lambda x: x if S.is_bool(x) else S.abs_(x))
RELU = unary("relu", _relu, lambda g, out, x: (g * (out > 0).to(g.dtype),),
             "tl.maximum({0}, 0)", float_only=False, saves_output=True,
             scalar=lambda x: S.or_(x, x) if S.is_bool(x) else S.maximum(x, 0))


def _zero_vjp(g, out, x):
    # piecewise constant: PyTorch records these and gives a zero gradient (not "no grad_fn")
    return (g.new_zeros(tuple(g.shape)),)


def _sign(x):
    out = np.sign(x)
    if out.dtype.kind == "f" or out.dtype == dt.bfloat16.np:
        out = np.where(np.isnan(out), 0, out) + out.dtype.type(0)  # NaN -> 0, -0 -> 0, as torch
    return out


def _sign_rule(x):
    if S.is_bool(x):
        return x
    zero = S.const(0, x.dtype)      # NaN -> 0 and -0 -> 0, as torch.sign
    return S.where(S.gt(x, zero), 1, S.where(S.lt(x, zero), -1, zero))


SIGN = unary("sign", _sign, _zero_vjp, "tl.where({0} > 0, 1, tl.where({0} < 0, -1, 0))",
             float_only=False, saves_inputs=False,
             scalar=_sign_rule)
FLOOR = unary("floor", np.floor, _zero_vjp, "tl.floor({0})", float_only=False, saves_inputs=False,
              scalar=_same_for_ints(S.floor))
CEIL = unary("ceil", np.ceil, _zero_vjp, "tl.ceil({0})", float_only=False, saves_inputs=False,
             scalar=_same_for_ints(S.ceil))
ROUND = unary("round", _round, _zero_vjp, "libdevice.nearbyint({0})", float_only=False,
              saves_inputs=False,
              scalar=_same_for_ints(S.rint))
TRUNC = unary("trunc", np.trunc, _zero_vjp, "libdevice.trunc({0})", float_only=False,
              saves_inputs=False,
              scalar=_same_for_ints(S.trunc))
LOGICAL_NOT = define("logical_not", family="elementwise", numpy=np.logical_not, vjp=None,
                     triton="{0} == 0", differentiable=False,
                     infer=lambda x: Meta(tuple(x.shape), dt.bool_),
                     scalar=lambda x: S.not_(x) if S.is_bool(x) else S.eq(x, 0))
BITWISE_NOT = unary("bitwise_not", np.invert, None, "~{0}", float_only=False, differentiable=False,
                    scalar=lambda x: S.not_(x) if S.is_bool(x) else S.invert(x))
ISNAN = define("isnan", family="elementwise", numpy=np.isnan, vjp=None, triton="{0} != {0}",
               differentiable=False, infer=lambda x: Meta(tuple(x.shape), dt.bool_),
               scalar=lambda x: S.ne(x, x))

# --- binary -----------------------------------------------------------------------------------
ADD = binary("add", np.add, lambda g, out, a, b: (g, g), "{0} + {1}", saves_inputs=False,
             scalar=_bool_or(lambda a, b: a + b, S.or_))
SUB = binary("sub", np.subtract, lambda g, out, a, b: (g, -g), "{0} - {1}", saves_inputs=False,
             scalar=_bool_or(lambda a, b: a - b, S.xor))
MUL = binary("mul", np.multiply, lambda g, out, a, b: (g * b, g * a), "{0} * {1}",
             scalar=_bool_or(lambda a, b: a * b, S.and_))
MUL.needs_input = lambda i, requires: requires[1 - i]  # a is read only for b's gradient


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b)


def _div_rule(a, b):
    if S.is_float(a):
        return a / b
    return S.cast(a, dt.float64) / S.cast(b, dt.float64)   # true division of integers


DIV = binary("div", _div, lambda g, out, a, b: (g / b, -(g * a) / (b * b)), "{0} / {1}",
             scalar=_div_rule)
DIV.needs_input = lambda i, requires: i == 1 or requires[1]


def _pow(a, b):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind in "iu" and (b < 0).any():
            # integer semantics of a negative power, like PyTorch: 1 -> 1, -1 -> +-1, else 0
            neg = b < 0
            out = np.power(a, np.where(neg, 0, b))
            odd = (b % 2) != 0
            alt = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
            return np.where(neg, alt.astype(out.dtype), out)
        return np.power(a, b)


def _pow_vjp(g, out, a, b):
    ga = g * b * a.pow(b - 1)
    # d/db a^b = a^b log a; where a == 0 the limit is 0 (PyTorch's convention)
    gb = g * (out * a.log()).where(a != 0, 0.0)
    return ga, gb


POW = binary("pow", _pow, _pow_vjp, "libdevice.pow({0}, {1})", saves_output=True,
             scalar=lambda a, b: S.pow_(a, b) if S.is_float(a) else S.ipow(a, b))


def _maxmin_vjp(pick):
    def vjp(g, out, a, b):
        # ties split the gradient in half, like PyTorch's maximum/minimum
        wa = (a == out).to(g.dtype)
        wb = (b == out).to(g.dtype)
        share = wa + wb
        return g * wa / share, g * wb / share
    return vjp


MAXIMUM = binary("maximum", np.maximum, _maxmin_vjp(np.maximum), "tl.maximum({0}, {1})",
                 saves_output=True,
                 scalar=_bool_or(S.maximum, S.or_))
MINIMUM = binary("minimum", np.minimum, _maxmin_vjp(np.minimum), "tl.minimum({0}, {1})",
                 saves_output=True,
                 scalar=_bool_or(S.minimum, S.and_))


def _floor_divide(a, b):
    if a.dtype.kind in "iu" and (b == 0).any():
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(a, b)


def _remainder(a, b):
    if a.dtype.kind in "iu" and (b == 0).any():
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.remainder(a, b)


def _fmod(a, b):
    if a.dtype.kind in "iu" and (b == 0).any():
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(a, b)


FLOOR_DIVIDE = binary("floor_divide", _floor_divide, None, "{0} // {1}", differentiable=False,
                      scalar=S.floordiv)
REMAINDER = binary("remainder", _remainder, lambda g, out, a, b: (g, -(g * (a / b).floor())),
                   "{0} % {1}",
                   scalar=S.mod)
FMOD = binary("fmod", _fmod, lambda g, out, a, b: (g, -(g * (a / b).trunc())),
              "libdevice.fmod({0}, {1})",
              scalar=S.fmod)
ATAN2 = binary("atan2", np.arctan2,
               lambda g, out, a, b: (g * b / (a * a + b * b), -(g * a) / (a * a + b * b)),
               "libdevice.atan2({0}, {1})",
               scalar=S.atan2)

EQ = binary("eq", np.equal, None, "{0} == {1}", dt.bool_, differentiable=False,
            scalar=S.eq)
NE = binary("ne", np.not_equal, None, "{0} != {1}", dt.bool_, differentiable=False,
            scalar=S.ne)
LT = binary("lt", np.less, None, "{0} < {1}", dt.bool_, differentiable=False,
            scalar=S.lt)
LE = binary("le", np.less_equal, None, "{0} <= {1}", dt.bool_, differentiable=False,
            scalar=S.le)
GT = binary("gt", np.greater, None, "{0} > {1}", dt.bool_, differentiable=False,
            scalar=S.gt)
GE = binary("ge", np.greater_equal, None, "{0} >= {1}", dt.bool_, differentiable=False,
            scalar=S.ge)
LOGICAL_AND = binary("logical_and", np.logical_and, None, "({0} != 0) & ({1} != 0)", dt.bool_,
                     differentiable=False,
                     scalar=lambda a, b: S.and_(S.ne(a, 0), S.ne(b, 0)))
LOGICAL_OR = binary("logical_or", np.logical_or, None, "({0} != 0) | ({1} != 0)", dt.bool_,
                    differentiable=False,
                    scalar=lambda a, b: S.or_(S.ne(a, 0), S.ne(b, 0)))
LOGICAL_XOR = binary("logical_xor", np.logical_xor, None, "({0} != 0) ^ ({1} != 0)", dt.bool_,
                     differentiable=False,
                     scalar=lambda a, b: S.xor(S.ne(a, 0), S.ne(b, 0)))
BITWISE_AND = binary("bitwise_and", np.bitwise_and, None, "{0} & {1}", differentiable=False,
                     scalar=S.and_)
BITWISE_OR = binary("bitwise_or", np.bitwise_or, None, "{0} | {1}", differentiable=False,
                    scalar=S.or_)
BITWISE_XOR = binary("bitwise_xor", np.bitwise_xor, None, "{0} ^ {1}", differentiable=False,
                     scalar=S.xor)


# --- where, convert ---------------------------------------------------------------------------
def _infer_where(c, a, b):
    if not (tuple(c.shape) == tuple(a.shape) == tuple(b.shape)):
        fail("where", "condition and operand shapes differ (the frontend must expand first)", c, a, b)
    if c.dtype is not dt.bool_:
        fail("where", f"condition must be bool, not {c.dtype.name}", c)
    if a.dtype is not b.dtype:
        fail("where", "operand dtypes differ", a, b)
    return Meta(tuple(a.shape), a.dtype)


def _where_vjp(g, out, c, a, b):
    zero = g.new_zeros(())
    return None, g.where(c, zero), zero.where(c, g)


WHERE = define("where", family="elementwise", infer=_infer_where, numpy=np.where, vjp=_where_vjp,
               triton="tl.where({0}, {1}, {2})",
               scalar=S.where)


def _convert_np(x, dtype):
    return x.astype(dtype.np, copy=False) if x.dtype != dtype.np else x.copy()


def _convert_vjp(g, out, x, dtype):
    return (g.to(x.dtype),) if x.dtype.is_floating_point else (None,)


def _convert_rule(x, dtype):
    return S.ne(x, 0) if dtype is dt.bool_ else S.cast(x, dtype)


CONVERT = define("convert", family="elementwise", numpy=_convert_np, vjp=_convert_vjp,
                 triton="{0}.to({dtype})", saves_inputs=False,
                 infer=lambda x, dtype: Meta(tuple(x.shape), dtype), params=("dtype",),
                 scalar=_convert_rule)
