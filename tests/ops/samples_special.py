"""Sample-table rows for the primitives of ember/ops/special.py (torch.special), appended to
SAMPLES by samples.py."""
from __future__ import annotations

import numpy as np

from tests.ops.samples import Sample as S

_rng = np.random.RandomState(99)
X = _rng.uniform(-2.5, 2.5, (2, 3))
POS = _rng.uniform(0.4, 2.5, (2, 3))
UNIT = _rng.uniform(0.1, 0.9, (2, 3))


def _f(name, *args):
    return lambda x, lib: getattr(lib.special, name)(x, *args)


_GRAD = [("erfc", X), ("erfinv", UNIT - 0.5), ("erfcx", X), ("ndtr", X), ("ndtri", UNIT),
         ("log_ndtr", X), ("i0", X), ("i0e", X), ("i1", X), ("i1e", X), ("gammaln", POS),
         ("entr", POS), ("sinc", X), ("logit", UNIT), ("digamma", POS)]
_NO_GRAD = [("bessel_j0", X), ("bessel_j1", X), ("bessel_y0", POS), ("bessel_y1", POS),
            ("modified_bessel_k0", POS), ("modified_bessel_k1", POS),
            ("scaled_modified_bessel_k0", POS), ("scaled_modified_bessel_k1", POS),
            ("spherical_bessel_j0", X), ("airy_ai", X)]
_POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
          "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
          "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
          "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
          "laguerre_polynomial_l", "legendre_polynomial_p"]

ROWS = (
    [S(f"special.{n}", _f(n), (x,), dtypes=("float32", "float64")) for n, x in _GRAD]
    + [S(f"special.{n}", _f(n), (x,), grad=False, tol=(1e-5, 1e-5)) for n, x in _NO_GRAD]
    + [S(f"special.{n}", lambda x, k, lib, n=n: getattr(lib.special, n)(x, k),
         (UNIT.reshape(6), np.array([0.0, 1, 2, 3, 4, 6])), grad=False) for n in _POLYS]
    + [S("special.polygamma", lambda x, lib: lib.special.polygamma(2, x), (POS,)),
       S("special.logit_eps", lambda x, lib: lib.special.logit(x, 0.25), (UNIT,)),
       S("special.xlogy", lambda x, y, lib: lib.special.xlogy(x, y), (X * (X > 0), POS)),
       S("special.xlog1py", lambda x, y, lib: lib.special.xlog1py(x, y), (X * (X > 0), POS)),
       S("special.zeta", lambda x, q, lib: lib.special.zeta(x, q), (POS + 1.5, POS), grad=False)]
)
