"""ember.linalg: torch.linalg on NumPy/SciPy LAPACK (the primitives of ember/ops/linalg_decomp.py,
with the standard backward formulas) and composites of ember ops.  Real dtypes (float32/64)."""
from ..frontend.linalg import matmul  # noqa: F401
from ._decompositions import (cholesky, cholesky_ex, det, eigh, eigvalsh,  # noqa: F401
                              householder_product, lu, lu_factor, lu_factor_ex, lu_unpack, qr,
                              slogdet, svd, svdvals)
from ._norms import cond, matrix_norm, matrix_rank, norm, vector_norm  # noqa: F401
from ._products import cross, diagonal, matrix_power, multi_dot, vander, vecdot  # noqa: F401
from ._solvers import (inv, inv_ex, lstsq, lu_solve, pinv, solve, solve_ex,  # noqa: F401
                       solve_triangular, tensorinv, tensorsolve)
