"""Special functions (torch.special) on SciPy: elementwise primitives of the ``special`` family.

They are elementwise in meaning, but not in the ``elementwise`` family: that family is fused into
Triton kernels from each primitive's expression template, and most of these have no libdevice
counterpart.  The ``special`` family runs on the host in the Triton codegen (template ``host``).
Operands are float (the frontend converts integers to the default float dtype, as PyTorch);
results keep the operand's dtype.  Gradients are PyTorch's; where PyTorch has none (Bessel
functions, orthogonal polynomials, zeta, airy_ai) the primitive is not differentiable.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import HOST, Meta, define, fail

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _sc():
    import scipy.special  # scipy is slow to import: only on first use
    return scipy.special


def _infer_float(op):
    def infer(*xs, **params):
        for x in xs:
            if not x.dtype.is_floating_point:
                fail(op, f"expects floating-point operands, not {x.dtype.name}", x)
        if any(tuple(x.shape) != tuple(xs[0].shape) or x.dtype is not xs[0].dtype for x in xs):
            fail(op, "operand shapes or dtypes differ (the frontend must expand/convert)", *xs)
        return Meta(tuple(xs[0].shape), xs[0].dtype)
    return infer


def _on_scipy(name, *fixed):
    def f(*xs, **params):
        with np.errstate(all="ignore"):
            out = getattr(_sc(), name)(*fixed, *xs)
        return np.asarray(out).astype(xs[0].dtype, copy=False)
    f.__name__ = name
    return f


def special(name, np_fn, vjp=None, *, saves_output=False, params=()):
    # registered as special_<name>: top-level elementwise primitives of the same functions
    # (erfc, lgamma, xlogy, ...) may exist beside these without a name clash
    name = "special_" + name
    return define(name, family="special", infer=_infer_float(name), numpy=np_fn, vjp=vjp,
                  triton=HOST, differentiable=vjp is not None, saves_output=saves_output,
                  saves_inputs=vjp is not None, params=params)


# --- differentiable ------------------------------------------------------------------------------
# erfc, erfinv, lgamma and polygamma are elementwise primitives (ops/elementwise_extra.py, fusible);
# torch.special's names reach the same ones
from .elementwise_extra import ERFC, ERFINV, LGAMMA, POLYGAMMA  # noqa: E402,F401


def _gauss(x):
    return (x * x * -1).exp()


ERFCX = special("erfcx", _on_scipy("erfcx"),
                lambda g, out, x: (g * (x * out * 2 - 2 / _SQRT_PI),), saves_output=True)
NDTR = special("ndtr", _on_scipy("ndtr"),
               lambda g, out, x: (g * (x * x * -0.5).exp() * (1 / _SQRT_2PI),))
NDTRI = special("ndtri", _on_scipy("ndtri"),
                lambda g, out, x: (g * (out * out * 0.5).exp() * _SQRT_2PI,), saves_output=True)
LOG_NDTR = special("log_ndtr", _on_scipy("log_ndtr"),
                   lambda g, out, x: (g * (x * x * -0.5 - out).exp() * (1 / _SQRT_2PI),),
                   saves_output=True)
I1 = special("i1", _on_scipy("i1"),
             lambda g, out, x: (g * (I0(x) - (out / x).where(x != 0, 0.5)),), saves_output=True)
I0 = special("i0", _on_scipy("i0"), lambda g, out, x: (g * I1(x),))
I1E = special("i1e", _on_scipy("i1e"),
              lambda g, out, x: (g * (I0E(x) - out * x.sign() - (out / x).where(x != 0, 0.5)),),
              saves_output=True)
I0E = special("i0e", _on_scipy("i0e"), lambda g, out, x: (g * (I1E(x) - out * x.sign()),),
              saves_output=True)


ENTR = special("entr", _on_scipy("entr"), lambda g, out, x: (-(g * (x.log() + 1)),))


def _sinc_np(x):
    with np.errstate(all="ignore"):
        return np.sinc(x).astype(x.dtype, copy=False)


def _sinc_vjp(g, out, x):
    px = x * math.pi
    d = (px.cos() * math.pi - out * math.pi) / px
    return (g * d.where(x != 0, 0.0),)


SINC = special("sinc", _sinc_np, _sinc_vjp, saves_output=True)


def _logit_np(x, eps):
    if eps is not None:
        x = np.clip(x, eps, 1 - eps)
    with np.errstate(all="ignore"):
        return np.log(x / (1 - x)).astype(x.dtype, copy=False)


def _logit_vjp(g, out, x, eps):
    d = g / (x * (1 - x))
    if eps is None:
        return (d,)
    inside = (x >= eps) & (x <= 1 - eps)
    return (d.where(inside, 0.0),)


LOGIT = special("logit", _logit_np, _logit_vjp, params=("eps",))


def _xlogy_vjp(log_fn, shift):
    # PyTorch's rule: d/dx = log(y + shift), zeroed only where x == 0 and the log is undefined
    def vjp(g, out, x, y):
        undefined = (x == 0) & (y + shift <= 0)
        return log_fn(g, y).where(~undefined, 0.0), g * x / (y + shift)
    return vjp


XLOGY = special("xlogy", _on_scipy("xlogy"), _xlogy_vjp(lambda g, y: XLOGY(g, y), 0.0))
XLOG1PY = special("xlog1py", _on_scipy("xlog1py"), _xlogy_vjp(lambda g, y: XLOG1PY(g, y), 1.0))

# --- without gradients (as in PyTorch) ---------------------------------------------------------
BESSEL_J0 = special("bessel_j0", _on_scipy("j0"))
BESSEL_J1 = special("bessel_j1", _on_scipy("j1"))
BESSEL_Y0 = special("bessel_y0", _on_scipy("y0"))
BESSEL_Y1 = special("bessel_y1", _on_scipy("y1"))
MODIFIED_BESSEL_K0 = special("modified_bessel_k0", _on_scipy("k0"))
MODIFIED_BESSEL_K1 = special("modified_bessel_k1", _on_scipy("k1"))
SCALED_MODIFIED_BESSEL_K0 = special("scaled_modified_bessel_k0", _on_scipy("k0e"))
SCALED_MODIFIED_BESSEL_K1 = special("scaled_modified_bessel_k1", _on_scipy("k1e"))
SPHERICAL_BESSEL_J0 = special("spherical_bessel_j0", _on_scipy("spherical_jn", 0))
ZETA = special("zeta", _on_scipy("zeta"))


def _airy_ai_np(x):
    with np.errstate(all="ignore"):
        return _sc().airy(x)[0].astype(x.dtype, copy=False)


AIRY_AI = special("airy_ai", _airy_ai_np)


# --- orthogonal polynomials p_n(x) by their three-term recurrences ---------------------------------
# (p0(x), p1(x), step(k, x, p_k, p_{k-1}) -> p_{k+1}); x is already shifted for the shifted kinds
_RECURRENCES = {
    "chebyshev_polynomial_t": (lambda x: x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda k, x, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda k, x, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda k, x, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x, lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _polynomial_np(kind, shifted):
    p1_fn, step = _RECURRENCES[kind]

    def f(x, n):
        dtype = x.dtype
        xs = (2 * x - 1) if shifted else x
        xs = xs.astype(np.float64)
        with np.errstate(all="ignore"):
            order = np.trunc(np.where(np.isnan(n), -1, n)).astype(np.int64)  # PyTorch truncates n
            out = np.where(order < 0, 0.0, 1.0) * np.ones_like(xs)
            top = int(order.max()) if order.size else 0
            q, p = np.ones_like(xs), p1_fn(xs)
            out = np.where(order == 1, p, out)
            for k in range(1, top):
                q, p = p, step(k, xs, p, q)
                out = np.where(order == k + 1, p, out)
        return out.astype(dtype)
    return f


POLYNOMIALS = {}
for _kind in _RECURRENCES:
    for _shifted in ((False, True) if _kind.startswith("chebyshev") else (False,)):
        _name = ("shifted_" if _shifted else "") + _kind
        POLYNOMIALS[_name] = special(_name, _polynomial_np(_kind, _shifted))
