"""Decompositions: cholesky, eigh/eigvalsh, svd/svdvals, qr, slogdet/det, lu_factor/lu/lu_unpack,
householder_product (and the *_ex forms)."""
from __future__ import annotations

from ..ops import linalg_decomp as D
from ._common import (CholeskyExResult, EighResult, LUFactorExResult, LUFactorResult, LUResult,
                      QRResult, SVDResult, SlogdetResult, bind, check_float, check_matrix,
                      check_tensor, zero_info)


def cholesky(A, *, upper=False):
    check_tensor("linalg.cholesky", A)
    return bind(D.CHOLESKY, A, upper=bool(upper))


def cholesky_ex(A, *, upper=False, check_errors=False):
    check_tensor("linalg.cholesky_ex", A)
    try:
        L = cholesky(A, upper=upper)
    except RuntimeError:
        if check_errors:
            raise
        import numpy as np
        from ..frontend.dispatch import wrap
        return CholeskyExResult(A.new_zeros(tuple(A.shape)), wrap(_cholesky_info(A._data)))
    return CholeskyExResult(L, zero_info(A))


def _cholesky_info(a):
    """LAPACK's info per matrix: the order of the first leading minor that is not positive."""
    import numpy as np
    flat = a.reshape((-1,) + a.shape[-2:])
    info = np.zeros(len(flat), np.int32)
    for i, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                info[i] = k
                break
    return info.reshape(a.shape[:-2])


def eigh(A, UPLO="L"):
    check_tensor("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    packed = bind(D.EIGH, A, uplo=UPLO)
    w, v = D.unpack_eigh(packed)
    return EighResult(w, v)


def eigvalsh(A, UPLO="L"):
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True, *, driver=None):
    check_tensor("linalg.svd", A)
    packed = bind(D.SVD, A, full_matrices=bool(full_matrices))
    m, n = A.shape[-2:]
    return SVDResult(*D.unpack_svd(packed, m, n, bool(full_matrices)))


def svdvals(A, *, driver=None):
    return svd(A, full_matrices=False).S


def qr(A, mode="reduced"):
    check_tensor("linalg.qr", A)
    packed = bind(D.QR, A, mode=mode)
    m, n = A.shape[-2:]
    Q, R = D.unpack_qr(packed, m, n, mode)
    if mode == "r":
        Q = A.new_zeros((0,))
    return QRResult(Q, R)


def slogdet(A):
    check_tensor("linalg.slogdet", A)
    packed = bind(D.SLOGDET, A)
    return SlogdetResult(packed[..., 0], packed[..., 1])


def det(A):
    check_tensor("linalg.det", A)
    check_matrix("linalg.det", A, square=True)
    check_float("linalg.det", A)
    sign, logabs = slogdet(A)
    return sign * logabs.exp()


def lu_factor(A, *, pivot=True):
    check_tensor("linalg.lu_factor", A)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return LUFactorResult(bind(D.LU_FACTOR, A), bind(D.LU_PIVOTS, A))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    LU, piv = lu_factor(A, pivot=pivot)
    return LUFactorExResult(LU, piv, zero_info(A))


def lu_unpack_parts(LU, pivots):
    """(P, L, U) from the packed factor and LAPACK pivots: L unit lower m x k, U upper k x n."""
    from ..frontend.creation import eye
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + eye(m, k, dtype=LU.dtype)
    U = LU[..., :k, :].triu()
    P_ = bind(D.LU_PERMUTATION, pivots, m=m, dtype=LU.dtype)
    return P_, L, U


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    P_, L, U = lu_unpack_parts(LU_data, LU_pivots)
    return LUResult(P_, L, U)


def lu(A, *, pivot=True):
    LU, piv = lu_factor(A, pivot=pivot)
    return LUResult(*lu_unpack_parts(LU, piv))


def householder_product(A, tau):
    """Q = H_1 ... H_k (first n columns), H_i = I - tau_i v_i v_i^T with v_i the i-th column of
    A below the diagonal and a unit on it (LAPACK's orgqr), as a composite of ember ops."""
    from ..frontend.creation import eye
    check_tensor("linalg.householder_product", A)
    check_matrix("linalg.householder_product", A)
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater "
                           "than or equal to input.shape[-1]")
    if k > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater "
                           "than or equal to tau.shape[-1]")
    V = A.tril(-1) + eye(m, n, dtype=A.dtype)
    Q = eye(m, n, dtype=A.dtype).expand(*(tuple(A.shape[:-2]) + (m, n)))
    for i in reversed(range(k)):   # Q = H_i Q, innermost reflector last
        v = V[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        Q = Q - (t * v) @ (v.transpose(-1, -2) @ Q)
    return Q


orgqr = householder_product
