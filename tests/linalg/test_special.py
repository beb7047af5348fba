"""ember.special against torch.special: values (float32/float64, integer inputs), gradients vs
torch autograd and by central differences in float64 where PyTorch has gradients."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.oracle import check

rng = np.random.RandomState(3)
X = rng.uniform(-3, 3, (3, 4))
POS = rng.uniform(0.3, 3, (3, 4))
UNIT = rng.uniform(0.05, 0.95, (3, 4))
SMALL = rng.uniform(-0.9, 0.9, (3, 4))

DIFFERENTIABLE = {
    "erfc": X, "erfinv": SMALL, "erfcx": X, "ndtr": X, "ndtri": UNIT, "log_ndtr": X,
    "i0": X, "i0e": X, "i1": X, "i1e": X, "gammaln": POS, "digamma": POS, "entr": POS,
    "sinc": X, "expit": X, "erf": X, "logit": UNIT, "log1p": POS, "expm1": X, "exp2": X,
}
NO_GRAD = {
    "bessel_j0": X, "bessel_j1": X, "bessel_y0": POS, "bessel_y1": POS,
    "modified_bessel_i0": X, "modified_bessel_i1": X, "modified_bessel_k0": POS,
    "modified_bessel_k1": POS, "scaled_modified_bessel_k0": POS,
    "scaled_modified_bessel_k1": POS, "spherical_bessel_j0": X, "airy_ai": X,
}
POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_unary_with_grad(name):
    check(lambda lib, x: getattr(lib.special, name)(x), DIFFERENTIABLE[name])


@pytest.mark.parametrize("name", sorted(NO_GRAD))
def test_unary_without_grad(name):
    # torch's float64 Bessel kernels are single-precision accurate near the roots
    check(lambda lib, x: getattr(lib.special, name)(x), NO_GRAD[name], grad=False,
          tol=(1e-5, 1e-5))
    check(lambda lib, x: getattr(lib.special, name)(x), np.arange(1, 5), grad=False,
          dtypes=("float32",))  # int64 inputs


@pytest.mark.parametrize("name", POLYS)
def test_polynomials(name):
    x = rng.uniform(-1.2, 1.2, (2, 9))
    n = np.array([-1, 0, 1, 2, 3, 5, 7, 8, 12]) * np.ones((2, 1))
    check(lambda lib, x, n: getattr(lib.special, name)(x, n), x, n, grad=False)
    check(lambda lib, x: getattr(lib.special, name)(x, 4), x, grad=False)


def test_binary_and_parametrized():
    check(lambda lib, x, y: lib.special.xlogy(x, y), X * (X > 0), POS)
    check(lambda lib, x, y: lib.special.xlog1py(x, y), X * (X > 0), POS)
    check(lambda lib, x, q: lib.special.zeta(x, q), POS + 1.5, POS, grad=False)
    for n in (1, 2, 3):
        check(lambda lib, x: lib.special.polygamma(n, x), POS)
    check(lambda lib, x: lib.special.multigammaln(x, 3), POS + 2)
    check(lambda lib, x: lib.special.logit(x, eps=0.2), UNIT)
    check(lambda lib, x: [lib.special.softmax(x, 1), lib.special.log_softmax(x, 0),
                          lib.special.logsumexp(x, 1)], X)
    check(lambda lib, x, y: [lib.special.gammainc(x, y), lib.special.gammaincc(x, y)], POS, POS,
          grad=False)
    check(lambda lib, x: lib.special.round(x), X, grad=False)


def test_integer_inputs_compute_in_float():
    assert ember.special.erfc(ember.tensor([0, 1])).dtype is ember.float32
    assert ember.special.xlogy(ember.tensor([1, 2]), 3).dtype is ember.float32
