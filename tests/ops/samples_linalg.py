"""Sample-table rows for the primitives of ember/ops/linalg_decomp.py (one or more per primitive),
appended to SAMPLES by samples.py.  Decompositions whose factors are unique only up to signs are
sampled through sign-invariant functions of them."""
from __future__ import annotations

import numpy as np

from tests.ops.samples import Sample as S

_rng = np.random.RandomState(4321)


def _wellcond(*shape):
    q1 = np.linalg.qr(_rng.standard_normal(shape))[0]
    q2 = np.linalg.qr(_rng.standard_normal(shape))[0]
    return (q1 * _rng.uniform(1, 2, shape[:-1])[..., None, :]) @ q2


def _m(*shape):
    return _rng.standard_normal(shape)


def _spd(n):
    a = _rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _sym(a):
    return (a + a.transpose(-1, -2)) * 0.5


ROWS = [
    S("linalg.inv", lambda a, lib: lib.linalg.inv(a), (_wellcond(2, 3, 3),),
      dtypes=("float32", "float64")),
    S("linalg.solve", lambda a, b, lib: lib.linalg.solve(a, b), (_wellcond(3, 3), _m(3, 2)),
      layout=("T", None)),
    S("linalg.solve_triangular", lambda a, b, lib: lib.linalg.solve_triangular(a, b, upper=True),
      (_wellcond(3, 3) + 3 * np.eye(3), _m(3, 2))),
    S("linalg.cholesky", lambda a, lib: lib.linalg.cholesky(_sym(a)), (_spd(3),)),
    S("linalg.eigh", lambda a, lib: (lambda r: (r[0], r[1].abs()))(lib.linalg.eigh(_sym(a))),
      (_m(3, 3),), gg=False, gpu=False),   # (second order through |V|: torch's abs' at 0 differs)
    S("linalg.svd", lambda a, lib: (lambda r: (r.S, r.U.abs(), r.Vh.abs()))(
        lib.linalg.svd(a, full_matrices=False)), (_m(4, 3),), gg=False, gpu=False),
    S("linalg.svdvals", lambda a, lib: lib.linalg.svdvals(a), (_m(2, 3),), gpu=False),
    S("linalg.qr", lambda a, lib: lib.linalg.qr(a), (_m(4, 3),), gpu=False),
    S("linalg.slogdet", lambda a, lib: lib.linalg.slogdet(a), (_m(3, 3),)),
    S("linalg.det", lambda a, lib: lib.linalg.det(a), (_m(2, 3, 3),)),
    S("linalg.lu_factor", lambda a, lib: lib.linalg.lu_factor(a), (_m(3, 3),), gpu=False),
    S("linalg.lu", lambda a, lib: lib.linalg.lu(a)[1:], (_m(3, 4),), gpu=False),
    S("linalg.vector_norm", lambda a, lib: (lib.linalg.vector_norm(a), lib.linalg.vector_norm(
        a, 1, -1), lib.linalg.vector_norm(a, float("inf"), 0)), (_m(3, 4),)),
    S("linalg.vector_norm_p", lambda a, lib: lib.linalg.vector_norm(a, 3, (0, 1), keepdim=True),
      (_m(2, 3),)),
    S("linalg.matrix_norm", lambda a, lib: lib.linalg.matrix_norm(a, "nuc"), (_m(3, 4),), gpu=False),
]
