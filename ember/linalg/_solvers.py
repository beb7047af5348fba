"""Inverses and linear solvers: inv, solve, solve_triangular, lstsq, pinv, tensorinv, tensorsolve,
lu_solve (and the *_ex forms)."""
from __future__ import annotations

import math

from ..ops import linalg_decomp as D
from ._common import (InvExResult, LstsqResult, SolveExResult, bind, broadcast_batch,
                      check_float, check_matrix, check_tensor, mT, zero_info)


def inv(A):
    check_tensor("linalg.inv", A)
    return bind(D.INV, A)


def inv_ex(A, *, check_errors=False):
    return InvExResult(inv(A), zero_info(A))


def _is_vector_rhs(A, B):
    # PyTorch's rule: B is a batch of vectors when it is 1-d or has A's shape minus the last dim
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left=True):
    check_tensor("linalg.solve", A)
    check_matrix("linalg.solve", A, square=True)
    check_float("linalg.solve", A, B)
    if not left:   # X A = B  <=>  A^T X^T = B^T
        return mT(solve(mT(A), mT(B)))
    vector = _is_vector_rhs(A, B)
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    a, b = broadcast_batch(A, b)
    x = bind(D.SOLVE, a, b)
    return x.squeeze(-1) if vector else x


def solve_ex(A, B, *, left=True, check_errors=False):
    return SolveExResult(solve(A, B, left=left), zero_info(A))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    check_tensor("linalg.solve_triangular", A)
    check_matrix("linalg.solve_triangular", A, square=True)
    check_matrix("linalg.solve_triangular", B)
    check_float("linalg.solve_triangular", A, B)
    if not left:   # X A = B  <=>  A^T X^T = B^T, and A^T is triangular the other way
        return mT(solve_triangular(mT(A), mT(B), upper=not upper, left=True,
                                   unitriangular=unitriangular))
    a, b = broadcast_batch(A, B)
    return bind(D.SOLVE_TRIANGULAR, a, b, upper=bool(upper), unitriangular=bool(unitriangular))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """Solves A X = B from A's LU factorization (lu_factor): P L U X = B."""
    from ._decompositions import lu_unpack_parts
    P_, L, U = lu_unpack_parts(LU, pivots)
    if not left:   # X A = B  <=>  A^T X^T = B^T  (A^T = U^T L^T P^T)
        return mT(lu_solve(LU, pivots, mT(B), left=True, adjoint=not adjoint))
    if adjoint:    # A^T X = B: U^T L^T P^T X = B
        y = solve_triangular(mT(U), B, upper=False)
        y = solve_triangular(mT(L), y, upper=True, unitriangular=True)
        return P_ @ y
    y = solve_triangular(L, mT(P_) @ B, upper=False, unitriangular=True)
    return solve_triangular(U, y, upper=True)


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """Moore-Penrose inverse through the SVD (the eigendecomposition of the lower triangle when
    ``hermitian``); singular values at or below max(atol, rtol * s_max) are dropped (PyTorch's
    rule and default rtol; the legacy positional ``rcond`` is rtol)."""
    check_tensor("linalg.pinv", A)
    from ._decompositions import eigh, svd
    from ..frontend.functional import where
    check_float("linalg.pinv", A)
    if rcond is not None:
        rtol = rcond
    if hermitian:
        w, V = eigh(A)
        size = w.abs()
        tol = _tolerance(A, size.amax(-1, keepdim=True) if w.shape[-1] else size, atol, rtol)
        keep = size > tol
        w_inv = where(keep, 1 / where(keep, w, 1.0), 0.0)
        return V @ (w_inv.unsqueeze(-1) * mT(V))
    U, S, Vh = svd(A, full_matrices=False)
    tol = _tolerance(A, S, atol, rtol)
    keep = S > tol
    s_inv = where(keep, 1 / where(keep, S, 1.0), 0.0)
    return mT(Vh) @ (s_inv.unsqueeze(-1) * mT(U))


def _tolerance(A, S, atol, rtol):
    from ..frontend.functional import maximum
    from ..frontend.reductions import amax
    import numpy as np
    s_max = amax(S, -1, keepdim=True) if S.shape[-1] else S.new_zeros(tuple(S.shape[:-1]) + (1,))
    if rtol is None:
        eps = float(np.finfo(A.dtype.np).eps)
        rtol = max(A.shape[-2:]) * eps if (atol is None or _is_zero(atol)) else 0.0
    rel = s_max * rtol
    if atol is None:
        return rel
    atol_t = atol.unsqueeze(-1) if hasattr(atol, "unsqueeze") else atol
    return maximum(rel, atol_t * s_max.new_ones(()))


def _is_zero(x):
    return not hasattr(x, "shape") and x == 0


def lstsq(A, B, rcond=None, *, driver=None):
    """min ||A X - B||: solution, residuals (only for full-rank tall A with the gelsd/gelss/gels
    drivers), rank and singular values (gelsd/gelss) as PyTorch's CPU default driver 'gelsy'
    returns them: residuals empty, rank filled, singular values empty."""
    check_tensor("linalg.lstsq", A)
    check_matrix("linalg.lstsq", A)
    check_float("linalg.lstsq", A, B)
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of "
                           f"(gels, gelsy, gelsd, gelss), but got {driver}")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    a, b = broadcast_batch(A, b)
    x = pinv(a, rtol=rcond if rcond is not None and rcond > 0 else None) @ b
    if vector:
        x = x.squeeze(-1)
    from ._norms import matrix_rank
    from ._decompositions import svdvals
    import ember
    empty = a.new_zeros((0,))
    drv = driver or "gelsy"
    rank = matrix_rank(a).to(ember.int64) if drv != "gels" else empty.to(ember.int64)
    sv = svdvals(a) if drv in ("gelsd", "gelss") else empty
    m, n = a.shape[-2:]
    if m > n and drv != "gelsy" and not vector:
        resid = ((a @ x - b) ** 2).sum(-2)
        full = bool((rank == n).all()) if drv != "gels" else True
        if not full:
            resid = empty
    else:
        resid = empty
    return LstsqResult(x, resid, rank, sv)


def tensorinv(A, ind=2):
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape = tuple(A.shape[ind:]) + tuple(A.shape[:ind])
    rows = math.prod(A.shape[:ind])
    cols = math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return inv(A.reshape(rows, cols)).reshape(out_shape)


def tensorsolve(A, B, dims=None):
    if dims is not None:
        nd = A.ndim
        dims = [d % nd for d in dims]
        rest = [d for d in range(nd) if d not in dims]
        A = A.permute(*(rest + dims))
    out_shape = tuple(A.shape[B.ndim:])
    n = math.prod(out_shape)
    x = solve(A.reshape(-1, n), B.reshape(-1))
    return x.reshape(out_shape)


