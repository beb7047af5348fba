"""More elementwise primitives: inverse trigonometric and hyperbolic functions, the gamma family,
erfc/erfinv, and binary logaddexp, hypot, copysign, nextafter, gcd/lcm and shifts.

Defined with the ``unary``/``binary`` helpers of elementwise.py, so they follow the same rules
(shape- and dtype-strict, float-only unary math).  SciPy supplies the special functions.
"""
from __future__ import annotations

import math

import numpy as np

from .elementwise import binary, unary
from .registry import Meta, define, fail

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


# --- inverse trigonometric / hyperbolic -------------------------------------------------------
ASIN = unary("asin", _quiet(np.arcsin), lambda g, out, x: (g * (1 - x * x).rsqrt(),),
             "libdevice.asin({0})")
ACOS = unary("acos", _quiet(np.arccos), lambda g, out, x: (-(g * (1 - x * x).rsqrt()),),
             "libdevice.acos({0})")
ATAN = unary("atan", np.arctan, lambda g, out, x: (g / (x * x + 1),), "libdevice.atan({0})")
ASINH = unary("asinh", np.arcsinh, lambda g, out, x: (g * (x * x + 1).rsqrt(),),
              "libdevice.asinh({0})")
# torch's formula, (x - 1)(x + 1) rather than x*x - 1, keeps precision near 1
ACOSH = unary("acosh", _quiet(np.arccosh), lambda g, out, x: (g * ((x - 1) * (x + 1)).rsqrt(),),
              "libdevice.acosh({0})")
ATANH = unary("atanh", _quiet(np.arctanh), lambda g, out, x: (g / (1 - x * x),),
              "libdevice.atanh({0})")

# --- error and gamma functions ----------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
ERFC = unary("erfc", _scipy("erfc"),
             lambda g, out, x: (-(g * (x * x * -1).exp() * _TWO_OVER_SQRT_PI),),
             "libdevice.erfc({0})")
ERFINV = unary("erfinv", _scipy("erfinv"),
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
POLYGAMMA = define("polygamma", family="elementwise", infer=_infer_polygamma,
                   numpy=_polygamma_np, params=("n",),
                   vjp=lambda g, out, x, n: (g * POLYGAMMA(x, n=n + 1),),
                   triton="polygamma")
LGAMMA = unary("lgamma", _scipy("gammaln"), lambda g, out, x: (g * POLYGAMMA(x, n=0),),
               "libdevice.lgamma({0})")


# --- binary -----------------------------------------------------------------------------------
def _sigmoid_of(t):
    return t.sigmoid()


LOGADDEXP = binary("logaddexp", np.logaddexp,
                   lambda g, out, a, b: (g * _sigmoid_of(a - b), g * _sigmoid_of(b - a)),
                   "logaddexp")
_LN2 = math.log(2.0)
LOGADDEXP2 = binary("logaddexp2", np.logaddexp2,
                    lambda g, out, a, b: (g * _sigmoid_of((a - b) * _LN2),
                                          g * _sigmoid_of((b - a) * _LN2)),
                    "logaddexp2")
HYPOT = binary("hypot", np.hypot, lambda g, out, a, b: (g * a / out, g * b / out),
               "libdevice.hypot({0}, {1})", saves_output=True)


def _copysign_vjp(g, out, a, b):
    # d/da |a| sign(b) = out / a, 0 at a == 0 (torch's convention); b gets no gradient
    ratio = (out / a).where(a != 0, 0.0)
    return g * ratio, g.new_zeros(tuple(g.shape))


COPYSIGN = binary("copysign", np.copysign, _copysign_vjp, "libdevice.copysign({0}, {1})",
                  saves_output=True)
# the step to the next float is treated as a constant: gradient 1 for a, 0 for b (torch's rule)
NEXTAFTER = binary("nextafter", np.nextafter,
                   lambda g, out, a, b: (g, g.new_zeros(tuple(g.shape))),
                   "libdevice.nextafter({0}, {1})", saves_inputs=False)
GCD = binary("gcd", np.gcd, None, "gcd", differentiable=False)
LCM = binary("lcm", np.lcm, None, "lcm", differentiable=False)


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


BITWISE_LEFT_SHIFT = binary("bitwise_left_shift",
                            _shift(np.left_shift, lambda a: np.zeros_like(a)), None, "{0} << {1}",
                            differentiable=False)
BITWISE_RIGHT_SHIFT = binary("bitwise_right_shift",
                             _shift(np.right_shift, lambda a: np.where(a < 0, -1, 0)), None,
                             "{0} >> {1}", differentiable=False)


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
IGAMMA = binary("igamma", _scipy2("gammainc"), lambda g, out, a, x: (None, g * _igamma_dx(a, x)),
                "igamma")
IGAMMAC = binary("igammac", _scipy2("gammaincc"),
                 lambda g, out, a, x: (None, -(g * _igamma_dx(a, x))), "igammac")

