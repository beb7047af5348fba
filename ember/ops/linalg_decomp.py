"""Matrix decompositions, solvers and the vector norm: NumPy/SciPy LAPACK forwards with the standard
backward formulas (the ones PyTorch's autograd uses, real case).

All operands are batches of matrices ``[..., m, n]`` with equal batch dims (the frontend,
``ember/linalg``, broadcasts) and dtype float32 or float64 (LAPACK has no half precision; PyTorch
refuses it too).  A primitive has one output, so a decomposition with several results returns them
*packed* into one tensor, flattened along the last dim; ``unpack_*`` below (used by the vjps and by
the frontend alike) slices the parts out again, so an unused part simply receives a zero gradient.
None of these has a Triton lowering: the template is ``host`` (the Triton codegen runs any
primitive that is not elementwise, a reduction or matmul on the host).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .movement import CAT
from .registry import HOST, Meta, ShapeError, define
from .source import ARANGE

LAPACK_DTYPES = (dt.float32, dt.float64)


# --- checks (PyTorch's words) -----------------------------------------------------------------
def check_float(op, *metas):
    for m in metas:
        if m.dtype not in LAPACK_DTYPES:
            raise ShapeError(f"{op}: Expected a floating point or complex tensor as input. "
                               f"Got {dt.legacy_name(m.dtype)}")


def check_matrix(op, a, square=False):
    if len(a.shape) < 2:
        raise ShapeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def _square_infer(op):
    def infer(a, **params):
        check_matrix(op, a, square=True)
        check_float(op, a)
        return Meta(tuple(a.shape), a.dtype)
    return infer


# --- tensor helpers used by the vjps (Tensor methods only) ---------------------------------------
def _mT(x):
    return x.transpose(-1, -2)


def _eye_like(x, n):
    """The n x n identity in x's dtype (from the arange primitive: no frontend import)."""
    idx = ARANGE(start=0, end=n, step=1, dtype=dt.int64)
    return (idx.unsqueeze(-1) == idx).to(x.dtype)


def _cat(xs, dim):
    nd = xs[0].ndim
    return CAT(*xs, dim=dim % nd)


def _set_diag(x, d):
    """x with its diagonal replaced by d (both batched)."""
    n = x.shape[-1]
    eye = _eye_like(x, n)
    return x * (1 - eye) + d.unsqueeze(-1) * eye


# --- inv ----------------------------------------------------------------------------------------
def _inv_np(a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.inv: The diagonal element is zero, the inversion could not be "
                           "completed because the input matrix is singular.") from None


INV = define("linalg_inv", family="linalg", infer=_square_infer("linalg.inv"), numpy=_inv_np,
             vjp=lambda g, out, a: (-(_mT(out) @ g @ _mT(out)),), triton=HOST,
             saves_inputs=False, saves_output=True)


# --- solve: A X = B -------------------------------------------------------------------------------
def _infer_solve(a, b):
    check_matrix("linalg.solve", a, square=True)
    check_float("linalg.solve", a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {dt.legacy_name(a.dtype)} and B of type "
                           f"{dt.legacy_name(b.dtype)} instead")
    if len(b.shape) != len(a.shape) or tuple(b.shape[:-1]) != tuple(a.shape[:-1]):
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    return Meta(tuple(b.shape), b.dtype)


def _solve_np(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.solve: The solver failed because the input matrix is "
                           "singular.") from None


def _solve_vjp(g, out, a, b):
    gb = SOLVE(_mT(a), g)
    return -(gb @ _mT(out)), gb


SOLVE = define("linalg_solve", family="linalg", infer=_infer_solve, numpy=_solve_np,
               vjp=_solve_vjp, triton=HOST, saves_output=True)


# --- solve_triangular: A X = B with A triangular ----------------------------------------------
def _infer_solve_tri(a, b, upper, unitriangular):
    check_matrix("linalg.solve_triangular", a, square=True)
    check_float("linalg.solve_triangular", a, b)
    if tuple(b.shape[:-1]) != tuple(a.shape[:-1]) or a.dtype is not b.dtype:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the "
                           f"equation AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    return Meta(tuple(b.shape), b.dtype)


def _solve_tri_np(a, b, upper, unitriangular):
    from scipy.linalg import solve_triangular
    if a.size == 0 or b.size == 0:
        return np.zeros(b.shape, b.dtype)
    try:
        out = solve_triangular(a, b, lower=not upper, unit_diagonal=unitriangular,
                               check_finite=False)
    except np.linalg.LinAlgError:
        # a zero on the diagonal: PyTorch (LAPACK trsm) divides by it and returns inf/nan
        t = np.triu(a) if upper else np.tril(a)
        with np.errstate(all="ignore"):
            out = _substitute(t, b, upper, unitriangular)
    return out.astype(b.dtype, copy=False)


def _substitute(t, b, upper, unit):
    n = t.shape[-1]
    x = np.zeros(np.broadcast_shapes(b.shape), np.result_type(t, b))
    order = range(n - 1, -1, -1) if upper else range(n)
    for i in order:
        acc = b[..., i, :] - np.einsum("...j,...jk->...k", t[..., i, :], x)
        x[..., i, :] = acc if unit else acc / t[..., i, i][..., None]
    return x


def _tri_part(x, upper, strict):
    if upper:
        return x.triu(1 if strict else 0)
    return x.tril(-1 if strict else 0)


def _solve_tri_vjp(g, out, a, b, upper, unitriangular):
    gb = SOLVE_TRIANGULAR(_mT(a), g, upper=not upper, unitriangular=unitriangular)
    ga = _tri_part(-(gb @ _mT(out)), upper, unitriangular)
    return ga, gb


SOLVE_TRIANGULAR = define("linalg_solve_triangular", family="linalg", infer=_infer_solve_tri,
                          numpy=_solve_tri_np, vjp=_solve_tri_vjp, triton=HOST, saves_output=True,
                          params=("upper", "unitriangular"))


# --- cholesky ----------------------------------------------------------------------------------
def _cholesky_np(a, upper):
    try:
        return np.linalg.cholesky(a, upper=upper)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.cholesky: The factorization could not be completed because the "
                           "input is not positive-definite.") from None


def _cholesky_vjp(g, out, a, upper):
    # PyTorch's cholesky_backward: gA = L^-T Phi(L^T gL) L^-1, Phi = tril with half the diagonal
    lo = _mT(out) if upper else out
    gl = _mT(g) if upper else g
    ga = (_mT(lo) @ gl).tril()
    ga = (ga + _mT(ga.tril(-1))) * 0.5
    ga = SOLVE_TRIANGULAR(_mT(lo), ga, upper=True, unitriangular=False)
    ga = _mT(SOLVE_TRIANGULAR(_mT(lo), _mT(ga), upper=True, unitriangular=False))
    return (ga,)


CHOLESKY = define("linalg_cholesky", family="linalg", infer=_square_infer("linalg.cholesky"),
                  numpy=_cholesky_np, vjp=_cholesky_vjp, triton=HOST, saves_inputs=False,
                  saves_output=True, params=("upper",))


# --- eigh: packed [..., n + 1, n] = eigenvalues (row 0) over eigenvectors ------------------------
def unpack_eigh(p):
    return p[..., 0, :], p[..., 1:, :]


def _eigh_np(a, uplo):
    w, v = np.linalg.eigh(a, UPLO=uplo)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_infer(a, uplo):
    check_matrix("linalg.eigh", a, square=True)
    check_float("linalg.eigh", a)
    n = a.shape[-1]
    return Meta(tuple(a.shape[:-2]) + (n + 1, n), a.dtype)


def _eigh_vjp(g, out, a, uplo):
    lam, v = unpack_eigh(out)
    glam, gv = unpack_eigh(g)
    vtgv = _mT(v) @ gv
    vtgv = (vtgv - _mT(vtgv)) * 0.5           # onto the skew-symmetric tangent space
    e = lam.unsqueeze(-2) - lam.unsqueeze(-1)   # e[i, j] = lam_j - lam_i
    e = e + _eye_like(e, e.shape[-1])           # the diagonal of vtgv is 0: any non-zero will do
    inner = _set_diag(vtgv / e, glam)
    return (v @ inner @ _mT(v),)


EIGH = define("linalg_eigh", family="linalg", infer=_eigh_infer, numpy=_eigh_np, vjp=_eigh_vjp,
              triton=HOST, saves_inputs=False, saves_output=True, params=("uplo",))


# --- svd: packed flat [U (m x ku), S (k), Vh (kv x n)] ------------------------------------------
def _svd_sizes(m, n, full_matrices):
    k = min(m, n)
    ku, kv = (m, n) if full_matrices else (k, k)
    return k, ku, kv


def unpack_svd(p, m, n, full_matrices):
    k, ku, kv = _svd_sizes(m, n, full_matrices)
    lead = tuple(p.shape[:-1])
    u = p[..., :m * ku].reshape(lead + (m, ku))
    s = p[..., m * ku:m * ku + k]
    vh = p[..., m * ku + k:].reshape(lead + (kv, n))
    return u, s, vh


def _svd_np(a, full_matrices):
    m, n = a.shape[-2:]
    lead = a.shape[:-2]
    if a.size == 0:
        k, ku, kv = _svd_sizes(m, n, full_matrices)
        u = np.broadcast_to(np.eye(m, ku, dtype=a.dtype), lead + (m, ku))
        vh = np.broadcast_to(np.eye(kv, n, dtype=a.dtype), lead + (kv, n))
        s = np.zeros(lead + (k,), a.dtype)
    else:
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return np.concatenate([u.reshape(lead + (u.shape[-2] * u.shape[-1],)), s,
                           vh.reshape(lead + (vh.shape[-2] * vh.shape[-1],))], axis=-1)


def _svd_infer(a, full_matrices):
    check_matrix("linalg.svd", a)
    check_float("linalg.svd", a)
    m, n = a.shape[-2:]
    k, ku, kv = _svd_sizes(m, n, full_matrices)
    return Meta(tuple(a.shape[:-2]) + (m * ku + k + kv * n,), a.dtype)


def _svd_vjp(g, out, a, full_matrices):
    # PyTorch's svd_backward (real case), on the reduced factors
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, vh = unpack_svd(out, m, n, full_matrices)
    gu, gs, gvh = unpack_svd(g, m, n, full_matrices)
    if full_matrices:
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
    v, gv = _mT(vh), _mT(gvh)
    utgu = _mT(u) @ gu
    vtgv = _mT(v) @ gv
    s2 = s * s
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1)      # e[j, k] = s_k^2 - s_j^2
    # repeated singular values make e zero off the diagonal; without gU/gV terms (svdvals, norms)
    # the numerator is zero there too, and 0/1 keeps the gradient finite
    e = e.where(e != 0, 1.0)
    skew_u = utgu - _mT(utgu)
    skew_v = vtgv - _mT(vtgv)
    inner = (skew_u * s.unsqueeze(-2) + s.unsqueeze(-1) * skew_v) / e
    inner = _set_diag(inner, gs)
    ga = u @ inner @ vh
    if m > k:
        gus = gu / s.unsqueeze(-2)
        ga = ga + (gus - u @ (_mT(u) @ gus)) @ vh
    if n > k:
        gvs = gv / s.unsqueeze(-2)
        ga = ga + u @ _mT(gvs - v @ (_mT(v) @ gvs))
    return (ga,)


SVD = define("linalg_svd", family="linalg", infer=_svd_infer, numpy=_svd_np, vjp=_svd_vjp,
             triton=HOST, saves_inputs=True, saves_output=True, params=("full_matrices",))


# --- qr: packed flat [Q (m x kq), R (kr x n)] ---------------------------------------------------
def _qr_sizes(m, n, mode):
    k = min(m, n)
    if mode == "complete":
        return m, m
    if mode == "r":
        return 0, k
    return k, k


def unpack_qr(p, m, n, mode):
    kq, kr = _qr_sizes(m, n, mode)
    lead = tuple(p.shape[:-1])
    return p[..., :m * kq].reshape(lead + (m, kq)), p[..., m * kq:].reshape(lead + (kr, n))


def _qr_np(a, mode):
    m, n = a.shape[-2:]
    lead = a.shape[:-2]
    kq, kr = _qr_sizes(m, n, mode)
    if a.size == 0:
        q = np.broadcast_to(np.eye(m, kq, dtype=a.dtype), lead + (m, kq))
        r = np.zeros(lead + (kr, n), a.dtype)
    elif mode == "r":
        q, r = np.zeros(lead + (m, 0), a.dtype), np.linalg.qr(a, mode="r")
    else:
        q, r = np.linalg.qr(a, mode=mode)
    return np.concatenate([q.reshape(lead + (m * kq,)), r.reshape(lead + (kr * n,))], axis=-1)


def _qr_infer(a, mode):
    check_matrix("linalg.qr", a)
    check_float("linalg.qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    m, n = a.shape[-2:]
    kq, kr = _qr_sizes(m, n, mode)
    return Meta(tuple(a.shape[:-2]) + (m * kq + kr * n,), a.dtype)


def _qr_vjp(g, out, a, mode):
    # PyTorch's linalg_qr_backward (real case)
    m, n = a.shape[-2:]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                           "differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    q, r = unpack_qr(out, m, n, mode)
    gq, gr = unpack_qr(g, m, n, mode)
    mh = gr @ _mT(r) - _mT(q) @ gq
    if m >= n:
        t = mh.triu()
        sym = _set_diag(t + _mT(t), t.diagonal(0, -2, -1))   # t + t^T with the diagonal halved
        b = q @ sym + gq
        # gA = b R^-T:  R X^T = b^T
        return (_mT(SOLVE_TRIANGULAR(r, _mT(b), upper=True, unitriangular=False)),)
    x = -mh
    lower = (x - _mT(x)).tril()
    r1 = r[..., :, :m]
    lead = q @ lower
    lead = _mT(SOLVE_TRIANGULAR(r1, _mT(lead), upper=True, unitriangular=False))
    pad = lead.new_zeros(tuple(lead.shape[:-1]) + (n - m,))
    return (_cat([lead, pad], -1) + q @ gr,)


QR = define("linalg_qr", family="linalg", infer=_qr_infer, numpy=_qr_np, vjp=_qr_vjp,
            triton=HOST, saves_inputs=True, saves_output=True, params=("mode",))


# --- slogdet: packed [..., 2] = (sign, log|det|) ----------------------------------------------
def _slogdet_np(a):
    sign, logabs = np.linalg.slogdet(a)
    return np.stack([sign, logabs], axis=-1).astype(a.dtype, copy=False)


def _slogdet_infer(a):
    check_matrix("linalg.slogdet", a, square=True)
    check_float("linalg.slogdet", a)
    return Meta(tuple(a.shape[:-2]) + (2,), a.dtype)


def _slogdet_vjp(g, out, a):
    # d log|det A| = tr(A^-1 dA): gA = g * A^-T (the sign is piecewise constant)
    glog = g[..., 1].unsqueeze(-1).unsqueeze(-1)
    return (glog * _mT(INV(a)),)


SLOGDET = define("linalg_slogdet", family="linalg", infer=_slogdet_infer, numpy=_slogdet_np,
                 vjp=_slogdet_vjp, triton=HOST)


# --- LU: the packed LAPACK factor (differentiable), its pivots and permutation ------------------
def _lu_infer(a):
    check_matrix("linalg.lu_factor", a)
    check_float("linalg.lu_factor", a)
    return Meta(tuple(a.shape), a.dtype)


def _lu_np(a):
    from scipy.linalg import lu_factor
    if a.size == 0:
        return a.copy()
    with np.errstate(all="ignore"):
        return lu_factor(a, check_finite=False)[0].astype(a.dtype, copy=False)


def _lu_pivots_np(a):
    from scipy.linalg import lu_factor
    k = min(a.shape[-2:])
    if a.size == 0:
        return np.broadcast_to(np.arange(1, k + 1, dtype=np.int32), a.shape[:-2] + (k,)).copy()
    with np.errstate(all="ignore"):
        piv = lu_factor(a, check_finite=False)[1]
    return (piv[..., :k] + 1).astype(np.int32)   # LAPACK's 1-based pivots, as PyTorch


def pivots_to_perm(piv, m):
    """P (as row indices, int64 [..., m]) with A = P L U, from LAPACK's sequential row swaps."""
    perm = np.broadcast_to(np.arange(m), piv.shape[:-1] + (m,)).copy()
    if perm.size == 0 or piv.size == 0:
        return perm
    flat, pv = perm.reshape(-1, m), piv.reshape(-1, piv.shape[-1]) - 1
    for b in range(flat.shape[0]):
        for i, j in enumerate(pv[b]):
            flat[b, i], flat[b, j] = flat[b, j], flat[b, i]
    return perm


def _lu_perm_np(piv, m, dtype):
    perm = pivots_to_perm(piv, m)
    eye = np.eye(m, dtype=dtype.np)
    # row perm[i] of P^T A is row i of LU: so P[perm[i], i] = 1, i.e. P = eye[:, perm]^T...
    return np.swapaxes(eye[perm], -1, -2).copy()


def _lu_vjp(g, out, a):
    # PyTorch's linalg_lu_backward with L = tril(LU, -1) + I, U = triu(LU), and gL, gU the
    # matching parts of g (real case)
    m, n = a.shape[-2:]
    k = min(m, n)
    p = LU_PERMUTATION(LU_PIVOTS(a), m=m, dtype=a.dtype)
    lu_k = out[..., :, :k]
    low = lu_k.tril(-1) + _eye_rect(out, m, k)
    up = out[..., :k, :].triu()
    gl, gu = g[..., :, :k].tril(-1), g[..., :k, :].triu()
    if m <= n:   # wide (and square)
        ga = _mT(low) @ gl - gu @ _mT(up)
        ga = _mT(SOLVE_TRIANGULAR(up[..., :, :k], _mT(ga.tril(-1)), upper=True,
                                  unitriangular=False))
        ga = _cat([ga + gu[..., :, :k], gu[..., :, k:]], -1)
        ga = SOLVE_TRIANGULAR(_mT(low), ga, upper=True, unitriangular=True)
    else:        # tall
        ga = gu @ _mT(up) - _mT(low) @ gl
        ga = SOLVE_TRIANGULAR(_mT(low[..., :k, :]), ga.triu(), upper=True, unitriangular=True)
        ga = _cat([ga + gl[..., :k, :], gl[..., k:, :]], -2)
        ga = _mT(SOLVE_TRIANGULAR(up, _mT(ga), upper=True, unitriangular=False))
    return (p @ ga,)


def _eye_rect(x, m, k):
    eye = _eye_like(x, max(m, k))
    return eye[:m, :k]


LU_FACTOR = define("linalg_lu_factor", family="linalg", infer=_lu_infer, numpy=_lu_np,
                   vjp=_lu_vjp, triton=HOST, saves_output=True)
LU_PIVOTS = define("linalg_lu_pivots", family="linalg", numpy=_lu_pivots_np, triton=HOST,
                   differentiable=False,
                   infer=lambda a: Meta(tuple(a.shape[:-2]) + (min(a.shape[-2:]),), dt.int32))
LU_PERMUTATION = define("linalg_lu_permutation", family="linalg", numpy=_lu_perm_np, triton=HOST,
                        differentiable=False, params=("m", "dtype"),
                        infer=lambda piv, m, dtype: Meta(tuple(piv.shape[:-1]) + (m, m), dtype))


# --- vector norm --------------------------------------------------------------------------------
def _vnorm_np(x, ord, dims):
    a = np.abs(x)
    if ord == 2:
        out = np.sqrt(np.add.reduce(a * a, axis=dims, keepdims=True))
    elif ord == np.inf:
        out = np.max(a, axis=dims, keepdims=True, initial=0)
    elif ord == -np.inf:
        out = np.min(a, axis=dims, keepdims=True)
    elif ord == 0:
        out = np.add.reduce((a != 0).astype(x.dtype), axis=dims, keepdims=True)
    elif ord == 1:
        out = np.add.reduce(a, axis=dims, keepdims=True)
    else:
        with np.errstate(divide="ignore"):
            out = np.add.reduce(a ** ord, axis=dims, keepdims=True) ** (1.0 / ord)
    return out.astype(x.dtype, copy=False)


def _vnorm_infer(x, ord, dims):
    if x.dtype.category != dt.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dt.legacy_name(x.dtype)}")
    return Meta(tuple(1 if i in dims else s for i, s in enumerate(x.shape)), x.dtype)


def _vnorm_vjp(g, out, x, ord, dims):
    # PyTorch's norm_backward: subgradient 0 where the norm (or the element, for p < 2) is zero
    shape = tuple(x.shape)
    g, out = g.expand(shape), out.expand(shape)
    zero = x.new_zeros(())
    if ord == 0:
        return (x * 0,)
    if ord == 1:
        return (g * x.sign(),)
    if ord == 2:
        return ((g * x / out).where(out != 0, zero),)
    if ord in (np.inf, -np.inf):
        hit = (x.abs() == out).to(x.dtype)
        count = hit.sum(dims, keepdim=True).expand(shape)
        return (g * x.sign() * hit / count,)
    scaled = x * x.abs().pow(ord - 2)
    if ord < 2:
        scaled = scaled.where(x != 0, zero)
    return ((g * scaled / out.pow(ord - 1)).where(out != 0, zero),)


VECTOR_NORM = define("linalg_vector_norm", family="linalg", infer=_vnorm_infer, numpy=_vnorm_np,
                     vjp=_vnorm_vjp, triton=HOST, saves_output=True, params=("ord", "dims"))
