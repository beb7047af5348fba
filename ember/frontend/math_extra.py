"""More torch-level math: inverse trigonometric/hyperbolic functions, the gamma family, erfc/erfinv,
logaddexp, hypot, copysign, xlogy, logit, sinc, heaviside, softmax/log_softmax and friends.

New primitives live in ops/elementwise_extra.py; the rest are composites of existing ops (they
trace and differentiate with no rule of their own).
"""
from __future__ import annotations

import math

from .. import dtypes as dt
from .. import ops as P
from .functional import (_FLOAT_RESULT, _no_bool, _unary, abs, amax, binary, exp, float_input,
                         isinf, isnan, log, log1p, logical_not, scalar_tensor, sin, sum,
                         to_dtype, where, zero_grad_link)
from .tensor import Tensor, _dim

__all__ = ["asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan",
           "arcsinh", "arccosh", "arctanh", "erfc", "erfinv", "lgamma", "digamma", "polygamma",
           "mvlgamma", "logaddexp", "logaddexp2", "hypot", "copysign", "nextafter", "gcd", "lcm",
           "bitwise_left_shift", "bitwise_right_shift", "xlogy", "logit", "sinc", "deg2rad",
           "rad2deg", "heaviside", "signbit", "isposinf", "isneginf", "isreal", "ldexp", "rsub",
           "softmax", "log_softmax", "real", "conj", "conj_physical", "resolve_conj",
           "resolve_neg", "angle", "i0", "igamma", "igammac"]

asin = arcsin = _unary(P.ASIN)
acos = arccos = _unary(P.ACOS)
atan = arctan = _unary(P.ATAN)
asinh = arcsinh = _unary(P.ASINH)
acosh = arccosh = _unary(P.ACOSH)
atanh = arctanh = _unary(P.ATANH)
erfc = _unary(P.ERFC)
erfinv = _unary(P.ERFINV)
lgamma = _unary(P.LGAMMA)


def digamma(input):
    return P.POLYGAMMA(float_input(input), n=0)


def polygamma(n, input):
    return P.POLYGAMMA(float_input(input), n=int(n))


def mvlgamma(input, p):
    """The multivariate log-gamma of dimension p: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)."""
    x = float_input(input)
    out = lgamma(x) + p * (p - 1) / 4 * math.log(math.pi)
    for i in range(1, p):
        out = out + lgamma(x - i / 2)
    return out


_FLOAT_RESULT.update({P.LOGADDEXP, P.LOGADDEXP2, P.HYPOT, P.COPYSIGN, P.NEXTAFTER, P.IGAMMA,
                      P.IGAMMAC})


def igamma(input, other):
    """The regularized lower incomplete gamma function P(input, other)."""
    return binary(P.IGAMMA, input, other)


def igammac(input, other):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P."""
    return binary(P.IGAMMAC, input, other)


def logaddexp(input, other):
    return binary(P.LOGADDEXP, input, other)


def logaddexp2(input, other):
    return binary(P.LOGADDEXP2, input, other)


def hypot(input, other):
    return binary(P.HYPOT, input, other)


def copysign(input, other):
    return binary(P.COPYSIGN, input, other)


def nextafter(input, other):
    return binary(P.NEXTAFTER, input, other)


def _int_only(prim, kernel):
    def op(input, other):
        for x in (input, other):
            if isinstance(x, Tensor) and x.dtype.category == dt.FLOAT:
                raise RuntimeError(f"\"{kernel}\" not implemented for "
                                   f"'{dt.legacy_name(x.dtype)}'")
        return binary(prim, input, other)
    op.__name__ = prim.name
    return op


gcd = _int_only(P.GCD, "gcd_cpu")
lcm = _int_only(P.LCM, "lcm_cpu")
bitwise_left_shift = _int_only(P.BITWISE_LEFT_SHIFT, "lshift_cpu")
bitwise_right_shift = _int_only(P.BITWISE_RIGHT_SHIFT, "rshift_cpu")


def xlogy(input, other):
    """x * log(y), 0 where x == 0 (unless y is NaN)."""
    if not isinstance(input, Tensor):
        input = scalar_tensor(input, other.dtype if other.dtype.category == dt.FLOAT
                              else dt.get_default_dtype())
    if not isinstance(other, Tensor):
        other = scalar_tensor(other, input.dtype if input.dtype.category == dt.FLOAT
                              else dt.get_default_dtype())
    dtype = dt.result_type(input, other)
    if dtype.category != dt.FLOAT:
        dtype = dt.get_default_dtype()
    x, y = to_dtype(input, dtype), to_dtype(other, dtype)
    zero = (x == 0) & logical_not(isnan(y))
    safe_y = where(zero, 1.0, y)   # the unused branch must not put 0 * inf into the gradient
    return where(zero, 0.0, x * log(safe_y))


def logit(input, eps=None):
    x = float_input(input)
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return log(x / (1 - x))


def sinc(input):
    x = float_input(input)
    zero = x == 0
    px = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(px) / px)


def deg2rad(input):
    return float_input(input) * (math.pi / 180.0)


def rad2deg(input):
    return float_input(input) * (180.0 / math.pi)


def heaviside(input, values):
    if isinstance(values, Tensor) and values.dtype is not input.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes")
    one = scalar_tensor(1, input.dtype)
    zero = scalar_tensor(0, input.dtype)
    out = where(input == 0, values, where(input > 0, one, zero))
    return to_dtype(out, input.dtype)


def signbit(input):
    if input.dtype.category != dt.FLOAT:
        return input < 0
    return copysign(scalar_tensor(1.0, input.dtype), input) < 0


def isposinf(input):
    return input == math.inf if input.dtype.category == dt.FLOAT else input != input


def isneginf(input):
    return input == -math.inf if input.dtype.category == dt.FLOAT else input != input


def isreal(input):
    return input == input if input.dtype.category != dt.FLOAT else (input == input) | isnan(input)


def ldexp(input, other):
    return input * binary(P.POW, 2.0, to_dtype(other, dt.result_type(input, 2.0))
                          if isinstance(other, Tensor) else other)


def rsub(input, other, *, alpha=1):
    from .functional import sub
    return sub(other, input, alpha=alpha)


# --- softmax (torch.softmax / Tensor.softmax; nn.functional adds the implicit-dim warning) -----
def _softmax_input(input, dim, dtype, name):
    if dtype is not None:
        input = to_dtype(input, dt.to_dtype(dtype))
    elif input.dtype.category != dt.FLOAT:
        raise RuntimeError(f"\"{name}_lastdim_kernel_impl\" not implemented for "
                           f"'{dt.legacy_name(input.dtype)}'")
    if dim is None:
        raise TypeError(f"{name}() missing required argument 'dim'")
    return input, _dim(dim, input.ndim) if input.ndim else 0


def shifted(x, dim):
    """x minus its (detached) max along dim: softmax is shift invariant, so the gradient is exact
    and exp never overflows."""
    if x.ndim == 0:
        return x - x.detach()
    m = amax(x, dim, keepdim=True).detach()
    m = where(isinf(m), 0.0, m)   # rows of all -inf stay -inf (NaN like PyTorch)
    return x - m


def softmax(input, dim=None, dtype=None, *, _stacklevel=None):
    x, dim = _softmax_input(input, dim, dtype, "softmax")
    e = exp(shifted(x, dim))
    return e / sum(e, dim, keepdim=True) if x.ndim else e / e


def log_softmax(input, dim=None, dtype=None, *, _stacklevel=None):
    x, dim = _softmax_input(input, dim, dtype, "log_softmax")
    z = shifted(x, dim)
    if x.ndim == 0:
        return z - z  # log(1): a constant 0 (gradient 0), NaN for a NaN/inf input, as torch
    return z - log(sum(exp(z), dim, keepdim=True))


# --- complex-number views of real tensors (until complex dtypes exist) --------------------------
def real(input):
    return input


def conj(input):
    return input


conj_physical = conj


def resolve_conj(input):
    return input


def resolve_neg(input):
    return input


def angle(input):
    """0 for x >= 0, pi for x < 0, NaN for NaN; a zero gradient (piecewise constant)."""
    x = float_input(input)
    out = where(x < 0, math.pi, 0.0)
    out = where(isnan(x), x, out)
    return out + zero_grad_link(x) if x.requires_grad else out


def i0(input):
    """The modified Bessel function of order 0, as its power series (converges for all x)."""
    x = float_input(input)
    q = x * x / 4
    term = q * 0 + 1
    out = term
    for k in range(1, 60):
        term = term * q / (k * k)
        out = out + term
    return out
