"""ember.linalg against torch.linalg: values, gradients vs torch autograd, and central differences
in float64 (tests/oracle.py).  Inputs are well conditioned so float32 agrees to its tolerance."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.oracle import check

rng = np.random.RandomState(7)


def mat(*shape):
    return rng.standard_normal(shape)


def wellcond(*shape):
    """Batches of square matrices with singular values in [1, 2]."""
    n = shape[-1]
    q1 = np.linalg.qr(rng.standard_normal(shape))[0]
    q2 = np.linalg.qr(rng.standard_normal(shape))[0]
    s = rng.uniform(1, 2, shape[:-1])
    return (q1 * s[..., None, :]) @ q2


def spd(*shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(a, lib):
    return (a + a.transpose(-1, -2)) / 2


CASES = {
    "inv": (lambda lib, a: lib.linalg.inv(a), [wellcond(2, 3, 3)]),
    "inv_ex": (lambda lib, a: lib.linalg.inv_ex(a)[0], [wellcond(3, 3)]),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), [wellcond(2, 3, 3), mat(2, 3, 2)]),
    "solve_vector": (lambda lib, a, b: lib.linalg.solve(a, b), [wellcond(2, 3, 3), mat(2, 3)]),
    "solve_broadcast": (lambda lib, a, b: lib.linalg.solve(a, b), [wellcond(3, 3), mat(2, 3, 4)]),
    "solve_right": (lambda lib, a, b: lib.linalg.solve(a, b, left=False),
                    [wellcond(3, 3), mat(2, 3)]),
    "solve_tri_lower": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False),
                        [wellcond(2, 3, 3) + 3 * np.eye(3), mat(2, 3, 2)]),
    "solve_tri_upper_unit_right": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True, left=False,
                                                      unitriangular=True),
        [wellcond(3, 3), mat(2, 3)]),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(sym(a, lib)), [spd(2, 3, 3)]),
    "cholesky_upper": (lambda lib, a: lib.linalg.cholesky(sym(a, lib), upper=True), [spd(3, 3)]),
    "cholesky_ex": (lambda lib, a: lib.linalg.cholesky_ex(sym(a, lib)).L, [spd(3, 3)]),
    "eigh": (lambda lib, a: (lambda r: (r[0], r[1].abs()))(lib.linalg.eigh(sym(a, lib))),
             [mat(2, 4, 4)]),
    "eigh_upper": (lambda lib, a: lib.linalg.eigh(sym(a, lib), UPLO="U")[0], [mat(3, 3)]),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(sym(a, lib)), [mat(4, 4)]),
    "svd_tall": (lambda lib, a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(
        lib.linalg.svd(a, full_matrices=False)), [mat(2, 5, 3)]),
    "svd_wide": (lambda lib, a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(
        lib.linalg.svd(a, full_matrices=False)), [mat(3, 5)]),
    "svd_full_uv": (lambda lib, a: (lambda r: (r.U @ r.S.diag_embed() @ r.Vh[..., :3, :]))(
        lib.linalg.svd(a)), [mat(3, 4)]),
    "svdvals": (lambda lib, a: lib.linalg.svdvals(a), [mat(2, 4, 3)]),
    "qr_tall": (lambda lib, a: lib.linalg.qr(a), [mat(2, 5, 3)]),
    "qr_wide": (lambda lib, a: lib.linalg.qr(a), [mat(3, 5)]),
    "qr_complete_square": (lambda lib, a: lib.linalg.qr(a, mode="complete"), [mat(4, 4)]),
    "qr_r": (lambda lib, a: lib.linalg.qr(a, mode="r")[1], [mat(4, 3)], {"grad": False}),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a), [mat(2, 3, 3)]),
    "det": (lambda lib, a: lib.linalg.det(a), [mat(2, 3, 3)]),
    "lu_factor": (lambda lib, a: lib.linalg.lu_factor(a), [mat(2, 4, 4)]),
    "lu_factor_wide": (lambda lib, a: lib.linalg.lu_factor(a), [mat(3, 5)]),
    "lu_factor_tall": (lambda lib, a: lib.linalg.lu_factor(a), [mat(5, 3)]),
    "lu": (lambda lib, a: lib.linalg.lu(a), [mat(2, 4, 3)]),
    "lu_solve": (lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b),
                 [wellcond(2, 3, 3), mat(2, 3, 2)]),
    "lu_solve_adjoint_right": (
        lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b, left=False,
                                              adjoint=True), [wellcond(3, 3), mat(2, 3)]),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), [mat(2, 4, 3)]),
    "pinv_hermitian": (lambda lib, a: lib.linalg.pinv(sym(a, lib), hermitian=True), [mat(3, 3)]),
    "lstsq": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution, [mat(2, 5, 3), mat(2, 5, 2)]),
    "vector_norm": (lambda lib, a: [lib.linalg.vector_norm(a, o) for o in
                                    (2, 1, 3, 0.5, float("inf"), -float("inf"), 0)], [mat(3, 4)]),
    "vector_norm_dims": (lambda lib, a: lib.linalg.vector_norm(a, 2, (0, 2), keepdim=True),
                         [mat(2, 3, 4)]),
    "vector_norm_zero": (lambda lib, a: lib.linalg.vector_norm(a * 0, 2, -1), [mat(2, 3)]),
    "matrix_norm": (lambda lib, a: [lib.linalg.matrix_norm(a, o) for o in
                                    ("fro", "nuc", 2, -2, 1, -1, float("inf"), -float("inf"))],
                    [mat(2, 3, 4)]),
    "matrix_norm_dims_keep": (lambda lib, a: lib.linalg.matrix_norm(a, 1, (0, 2), keepdim=True),
                              [mat(3, 2, 4)]),
    "norm": (lambda lib, a: [lib.linalg.norm(a), lib.linalg.norm(a, dim=1),
                             lib.linalg.norm(a[0], 2), lib.linalg.norm(a[0, 0], 3)],
             [mat(2, 3, 4)]),
    "cond": (lambda lib, a: [lib.linalg.cond(a), lib.linalg.cond(a, -2)], [wellcond(2, 3, 3)]),
    # (torch's backward of cond(A, p) through inv trips over its own in-place inv_ex: values only)
    "cond_via_inv": (lambda lib, a: [lib.linalg.cond(a, p) for p in ("fro", "nuc", 1, float("inf"))],
                     [wellcond(2, 3, 3)], {"grad": False}),
    "matrix_power": (lambda lib, a: [lib.linalg.matrix_power(a, k) for k in (0, 1, 2, 5, -3)],
                     [wellcond(2, 3, 3) * 0.8]),
    "multi_dot": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
                  [mat(3), mat(3, 4), mat(4, 2)]),
    "cross": (lambda lib, a, b: lib.linalg.cross(a, b), [mat(2, 3), mat(1, 3)]),
    "cross_dim": (lambda lib, a, b: lib.linalg.cross(a, b, dim=0), [mat(3, 2), mat(3, 2)]),
    "vecdot": (lambda lib, a, b: lib.linalg.vecdot(a, b), [mat(2, 3), mat(2, 3)]),
    "vander": (lambda lib, a: lib.linalg.vander(a), [mat(2, 4)]),
    "vander_N": (lambda lib, a: lib.linalg.vander(a, N=3), [np.array([0.0, 1.5, -2.0])]),
    "diagonal": (lambda lib, a: lib.linalg.diagonal(a, offset=1), [mat(2, 3, 4)]),
    "tensorinv": (lambda lib, a: lib.linalg.tensorinv(a, ind=1),
                  [wellcond(6, 6).reshape(6, 2, 3)]),
    "tensorsolve": (lambda lib, a, b: lib.linalg.tensorsolve(a, b),
                    [wellcond(6, 6).reshape(2, 3, 6), mat(2, 3)]),
    "householder_product": (lambda lib, a, t: lib.linalg.householder_product(a, t),
                            [mat(2, 4, 3), rng.uniform(0.5, 1.5, (2, 2))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    fn, arrays, *opts = CASES[name]
    check(fn, *arrays, **(opts[0] if opts else {}))


def test_matrix_rank_and_lstsq_extras():
    torch = pytest.importorskip("torch")
    a = mat(3, 5, 4)
    a[1, :, 3] = a[1, :, 0]            # rank 3 in batch 1
    for kw in ({}, {"hermitian": False}, {"atol": 0.5}, {"rtol": 0.3}):
        e = ember.linalg.matrix_rank(ember.tensor(a), **kw)
        t = torch.linalg.matrix_rank(torch.tensor(a), **kw)
        assert e.dtype is ember.int64 and e.tolist() == t.tolist()
    s = a[0] @ a[0].T
    assert ember.linalg.matrix_rank(ember.tensor(s), hermitian=True).item() == 4
    for driver in ("gelsy", "gelsd", "gelss", "gels"):
        e = ember.linalg.lstsq(ember.tensor(a[0]), ember.tensor(a[0, :, :2]), driver=driver)
        t = torch.linalg.lstsq(torch.tensor(a[0]), torch.tensor(a[0, :, :2]), driver=driver)
        for x, y in zip(e, t):
            assert tuple(x.shape) == tuple(y.shape), (driver, x.shape, y.shape)
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-8)


def test_errors_in_pytorch_words():
    with pytest.raises(RuntimeError, match="square matrices"):
        ember.linalg.inv(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="Expected a floating point"):
        ember.linalg.inv(ember.ones(2, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="singular"):
        ember.linalg.inv(ember.zeros(2, 2))
    with pytest.raises(RuntimeError, match="positive-definite"):
        ember.linalg.cholesky(-ember.eye(2))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        ember.linalg.svd(ember.ones(3))
    L, info = ember.linalg.cholesky_ex(ember.tensor([[1.0, 0.0], [0.0, -1.0]]))
    assert info.item() == 2
    with pytest.raises(RuntimeError, match="mode='r'"):
        a = ember.ones(3, 3, requires_grad=True)
        ember.linalg.qr(a, mode="r").R.sum().backward()


def test_empty_and_batched_empty():
    torch = pytest.importorskip("torch")
    for fn in (lambda lib, a: lib.linalg.inv(a), lambda lib, a: lib.linalg.det(a),
               lambda lib, a: lib.linalg.svdvals(a), lambda lib, a: lib.linalg.qr(a).R):
        for shape in ((0, 0), (2, 0, 0), (0, 3, 3)):
            e = fn(ember, ember.zeros(*shape))
            t = fn(torch, torch.zeros(*shape))
            assert tuple(e.shape) == tuple(t.shape)
            np.testing.assert_allclose(e.numpy(), t.numpy())
