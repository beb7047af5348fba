"""More elementwise primitives: inverse trigonometric and hyperbolic functions, the gamma family,
erfc/erfinv, and binary logaddexp, hypot, copysign, nextafter, gcd/lcm and shifts.

Defined with the ``unary``/``binary`` helpers of elementwise.py, so they follow the same rules
(shape- and dtype-strict, float-only unary math).  SciPy supplies the special functions.
"""
from __future__ import annotations

import math

import numpy as np

from . import scalar as S
from .elementwise import _infer_binary, _infer_float_unary, binary, unary
from .registry import HOST, Meta, define, fail

__all__ = ["ASIN", "ACOS", "ATAN", "ASINH", "ACOSH", "ATANH", "ERFC", "ERFINV", "POLYGAMMA",
           "LGAMMA", "LOGADDEXP", "LOGADDEXP2", "HYPOT", "COPYSIGN", "NEXTAFTER", "GCD", "LCM",
           "BITWISE_LEFT_SHIFT", "BITWISE_RIGHT_SHIFT", "IGAMMA", "IGAMMAC"]


def _quiet(fn):
    def f(*xs):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*xs)
    return f


def _scipy(name):
    def f(x):
        import scipy.special as sp  # slow to import: only when one of these runs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return getattr(sp, name)(x).astype(x.dtype, copy=False)
    return f


def _host_unary(name, np_fn, vjp, triton=None, saves_output=False):
    """A float unary primitive without a scalar rule (no Numba/Triton spelling of its math): family
    ``special``, so the kernel plan keeps it as one opaque node and the Triton host wrapper runs
    its NumPy rule."""
    return define(name, family="special", infer=_infer_float_unary(name), numpy=np_fn, vjp=vjp,
                  triton=HOST, saves_output=saves_output, saves_inputs=not saves_output)


def _host_binary(name, np_fn, vjp=None, saves_inputs=True):
    """A binary primitive without a scalar rule (see _host_unary); differentiable when it has a
    vjp."""
    return define(name, family="special", infer=_infer_binary(name), numpy=np_fn, vjp=vjp,
                  triton=HOST, differentiable=vjp is not None, saves_inputs=saves_inputs)


# --- inverse trigonometric / hyperbolic -------------------------------------------------------
ASIN = unary("asin", _quiet(np.arcsin), lambda g, out, x: (g * (1 - x * x).rsqrt(),),
             "libdevice.asin({0})", scalar=S.asin)
ACOS = unary("acos", _quiet(np.arccos), lambda g, out, x: (-(g * (1 - x * x).rsqrt()),),
             "libdevice.acos({0})", scalar=S.acos)
ATAN = unary("atan", np.arctan, lambda g, out, x: (g / (x * x + 1),), "libdevice.atan({0})",
             scalar=S.atan)
ASINH = unary("asinh", np.arcsinh, lambda g, out, x: (g * (x * x + 1).rsqrt(),),
              "libdevice.asinh({0})", scalar=S.asinh)
# torch's formula, (x - 1)(x + 1) rather than x*x - 1, keeps precision near 1
ACOSH = unary("acosh", _quiet(np.arccosh), lambda g, out, x: (g * ((x - 1) * (x + 1)).rsqrt(),),
              "libdevice.acosh({0})", scalar=S.acosh)
ATANH = unary("atanh", _quiet(np.arctanh), lambda g, out, x: (g / (1 - x * x),),
              "libdevice.atanh({0})", scalar=S.atanh)

# --- error and gamma functions ----------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
ERFC = unary("erfc", _scipy("erfc"),
             lambda g, out, x: (-(g * (x * x * -1).exp() * _TWO_OVER_SQRT_PI),),
             "libdevice.erfc({0})", scalar=S.erfc)
ERFINV = _host_unary("erfinv", _scipy("erfinv"),
               lambda g, out, x: (g * (out * out).exp() * (math.sqrt(math.pi) / 2),),
               "libdevice.erfinv({0})", saves_output=True)


def _polygamma_np(x, n):
    import scipy.special as sp
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = sp.digamma(x) if n == 0 else sp.polygamma(n, x)
    return np.asarray(out).astype(x.dtype, copy=False)


def _infer_polygamma(x, n):
    if not x.dtype.is_floating_point:
        fail("polygamma", f"expects a floating-point tensor, not {x.dtype.name}", x)
    if n < 0:
        fail("polygamma", f"polygamma(n, x) does not support negative n (got {n})", x)
    return Meta(tuple(x.shape), x.dtype)


# polygamma(n, x) = d^(n+1)/dx^(n+1) lgamma(x); n == 0 is digamma
POLYGAMMA = define("polygamma", family="special", infer=_infer_polygamma,
                   numpy=_polygamma_np, params=("n",),
                   vjp=lambda g, out, x, n: (g * POLYGAMMA(x, n=n + 1),),
                   triton="polygamma")
LGAMMA = unary("lgamma", _scipy("gammaln"), lambda g, out, x: (g * POLYGAMMA(x, n=0),),
               "libdevice.lgamma({0})", scalar=S.lgamma)


# --- binary -----------------------------------------------------------------------------------
def _sigmoid_of(t):
    return t.sigmoid()


def _logaddexp_rule(a, b, ln_base):
    # max + log_base(1 + base^-|a-b|); equal infinities make a - b NaN: the result is the max then
    m = S.maximum(a, b)
    d = S.abs_(a - b)
    return S.where(S.ne(d, d), m, m + S.log1p(S.exp(-(d * ln_base))) / ln_base)


LOGADDEXP = binary("logaddexp", np.logaddexp,
                   lambda g, out, a, b: (g * _sigmoid_of(a - b), g * _sigmoid_of(b - a)),
                   "logaddexp", scalar=lambda a, b: _logaddexp_rule(a, b, 1.0))
_LN2 = math.log(2.0)
LOGADDEXP2 = binary("logaddexp2", np.logaddexp2,
                    lambda g, out, a, b: (g * _sigmoid_of((a - b) * _LN2),
                                          g * _sigmoid_of((b - a) * _LN2)),
                    "logaddexp2", scalar=lambda a, b: _logaddexp_rule(a, b, _LN2))
HYPOT = binary("hypot", np.hypot, lambda g, out, a, b: (g * a / out, g * b / out),
               "libdevice.hypot({0}, {1})", saves_output=True, scalar=S.hypot)


def _copysign_vjp(g, out, a, b):
    # d/da |a| sign(b) = out / a, 0 at a == 0 (torch's convention); b gets no gradient
    ratio = (out / a).where(a != 0, 0.0)
    return g * ratio, g.new_zeros(tuple(g.shape))


COPYSIGN = binary("copysign", np.copysign, _copysign_vjp, "libdevice.copysign({0}, {1})",
                  saves_output=True, scalar=S.copysign)
# the step to the next float is treated as a constant: gradient 1 for a, 0 for b (torch's rule)
NEXTAFTER = _host_binary("nextafter", np.nextafter,
                         lambda g, out, a, b: (g, g.new_zeros(tuple(g.shape))), saves_inputs=False)
GCD = _host_binary("gcd", np.gcd)
LCM = _host_binary("lcm", np.lcm)


def _shift(fn, bits_ok):
    def f(a, b):
        # a shift by >= the bit width gives 0 (or -1 for a negative value shifted right), as in
        # torch, where NumPy's result is platform-defined
        width = a.dtype.itemsize * 8
        big = (b >= width) | (b < 0)
        safe = np.where(big, 0, b).astype(a.dtype)
        out = fn(a, safe)
        return np.where(big, bits_ok(a), out).astype(a.dtype, copy=False)
    return f


BITWISE_LEFT_SHIFT = _host_binary("bitwise_left_shift",
                                  _shift(np.left_shift, lambda a: np.zeros_like(a)))
BITWISE_RIGHT_SHIFT = _host_binary("bitwise_right_shift",
                                   _shift(np.right_shift, lambda a: np.where(a < 0, -1, 0)))


# --- regularized incomplete gamma functions ---------------------------------------------------
def _scipy2(name):
    def f(a, x):
        import scipy.special as sp
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(getattr(sp, name)(a, x)).astype(a.dtype, copy=False)
    return f


def _igamma_dx(a, x):
    # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a), in logs to stay finite
    return ((a - 1) * x.log() - x - LGAMMA(a)).exp()


# like torch, only x (the second operand) has a gradient; a's is not implemented (None)
IGAMMA = _host_binary("igamma", _scipy2("gammainc"),
                      lambda g, out, a, x: (None, g * _igamma_dx(a, x)))
IGAMMAC = _host_binary("igammac", _scipy2("gammaincc"),
                       lambda g, out, a, x: (None, -(g * _igamma_dx(a, x))))

