"""ember.special: torch.special on SciPy (the primitives of ember/ops/special.py) and on ember ops.

Integer inputs compute in the default float dtype, as PyTorch.  Functions PyTorch gives no
gradient (Bessel functions, orthogonal polynomials, zeta, airy_ai) give none here either.
"""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..frontend import functional as _F
from ..frontend.dispatch import bind as _bind
from ..frontend.tensor import Tensor as _Tensor
from ..ops import special as _S

# already ember functions: the torch.special names are aliases
erf = _F.erf
expit = _F.sigmoid
exp2 = _F.exp2
expm1 = _F.expm1
log1p = _F.log1p
round = _F.round
logsumexp = _F.logsumexp


def _unary(prim):
    op = _F._unary(prim)

    def fn(input, *, out=None):
        return op(input)
    fn.__name__ = prim.name
    fn.__doc__ = f"torch.special.{prim.name} (elementwise)."
    return fn


erfc = _unary(_S.ERFC)
erfinv = _unary(_S.ERFINV)
erfcx = _unary(_S.ERFCX)
ndtr = _unary(_S.NDTR)
ndtri = _unary(_S.NDTRI)
log_ndtr = _unary(_S.LOG_NDTR)
i0 = _unary(_S.I0)
i0e = _unary(_S.I0E)
i1 = _unary(_S.I1)
i1e = _unary(_S.I1E)
gammaln = _unary(_S.LGAMMA)
entr = _unary(_S.ENTR)
sinc = _unary(_S.SINC)
bessel_j0 = _unary(_S.BESSEL_J0)
bessel_j1 = _unary(_S.BESSEL_J1)
bessel_y0 = _unary(_S.BESSEL_Y0)
bessel_y1 = _unary(_S.BESSEL_Y1)
modified_bessel_i0 = i0
modified_bessel_i1 = i1
modified_bessel_k0 = _unary(_S.MODIFIED_BESSEL_K0)
modified_bessel_k1 = _unary(_S.MODIFIED_BESSEL_K1)
scaled_modified_bessel_k0 = _unary(_S.SCALED_MODIFIED_BESSEL_K0)
scaled_modified_bessel_k1 = _unary(_S.SCALED_MODIFIED_BESSEL_K1)
spherical_bessel_j0 = _unary(_S.SPHERICAL_BESSEL_J0)
airy_ai = _unary(_S.AIRY_AI)


def _float_pair(input, other):
    """Both operands as tensors of one float dtype, broadcast (PyTorch's promotion, with integer
    results promoted to the default float dtype)."""
    dtype = _dt.result_type(input, other)
    if dtype.category != _dt.FLOAT:
        dtype = _dt.get_default_dtype()
    a = _F.as_tensor_like(input, dtype)
    b = _F.as_tensor_like(other, dtype)
    from ..shapes import broadcast_shapes
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape))
    return _F.expand_to(a, shape), _F.expand_to(b, shape)


def _binary(prim, doc):
    def fn(input, other, *, out=None):
        if not isinstance(input, _Tensor) and not isinstance(other, _Tensor):
            raise TypeError(f"{prim.name}(): expected at least one Tensor argument")
        return _bind(prim, *_float_pair(input, other))
    fn.__name__ = prim.name
    fn.__doc__ = doc
    return fn


xlogy = _binary(_S.XLOGY, "x * log(y), 0 where x == 0.")
xlog1py = _binary(_S.XLOG1PY, "x * log1p(y), 0 where x == 0.")
zeta = _binary(_S.ZETA, "The Hurwitz zeta function zeta(x, q).")

for _name, _prim in _S.POLYNOMIALS.items():
    globals()[_name] = _binary(_prim, f"torch.special.{_name}(input, n): p_n(input); 0 for n < 0.")


def digamma(input, *, out=None):
    return polygamma(0, input)


psi = digamma


def polygamma(n, input, *, out=None):
    if not isinstance(n, int) or n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _bind(_S.POLYGAMMA, _F.float_input(input), n=n)


def multigammaln(input, p, *, out=None):
    """log of the multivariate gamma function of dimension p."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _F.float_input(input)
    if bool((x <= (p - 1) / 2).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2")
    total = x * 0 + p * (p - 1) / 4 * math.log(math.pi)
    for j in range(p):
        total = total + gammaln(x - j / 2)
    return total


def logit(input, eps=None, *, out=None):
    return _bind(_S.LOGIT, _F.float_input(input), eps=None if eps is None else float(eps))


def softmax(input, dim, *, dtype=None):
    from ..nn.functional import softmax as _softmax
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    from ..nn.functional import log_softmax as _log_softmax
    return _log_softmax(input, dim, dtype=dtype)


def gammainc(input, other, *, out=None):
    """Regularized lower incomplete gamma (no gradient, as PyTorch's for ``input``)."""
    return _scipy_binary("gammainc", input, other)


def gammaincc(input, other, *, out=None):
    return _scipy_binary("gammaincc", input, other)


def _scipy_binary(name, input, other):
    import scipy.special as sc
    from ..frontend.dispatch import wrap
    a, b = _float_pair(input, other)
    return wrap(getattr(sc, name)(a._data, b._data).astype(a.dtype.np))


lgamma = gammaln
