"""Shared pieces of ember.linalg: argument checks, batch broadcasting, PyTorch's result tuples."""
from __future__ import annotations

from collections import namedtuple

from .. import dtypes as dt

from ..frontend.dispatch import bind  # noqa: F401  (re-exported for the siblings)
from ..frontend.functional import expand_to
from ..frontend.tensor import Tensor
from ..ops.linalg_decomp import check_float, check_matrix  # noqa: F401
from ..shapes import broadcast_shapes


def _result(name, fields):
    return namedtuple(name, fields)


# the field names of torch.return_types.linalg_*
EighResult = _result("linalg_eigh", "eigenvalues eigenvectors")
SVDResult = _result("linalg_svd", "U S Vh")
QRResult = _result("linalg_qr", "Q R")
SlogdetResult = _result("linalg_slogdet", "sign logabsdet")
LUFactorResult = _result("linalg_lu_factor", "LU pivots")
LUFactorExResult = _result("linalg_lu_factor_ex", "LU pivots info")
LUResult = _result("linalg_lu", "P L U")
InvExResult = _result("linalg_inv_ex", "inverse info")
CholeskyExResult = _result("linalg_cholesky_ex", "L info")
SolveExResult = _result("linalg_solve_ex", "result info")
LstsqResult = _result("linalg_lstsq", "solution residuals rank singular_values")


def mT(x):
    return x.transpose(-1, -2)


def check_tensor(op, x, name="A"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def broadcast_batch(a, b):
    """a [..., m, n] and b [..., p, q] expanded to one broadcast batch shape."""
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    return (expand_to(a, batch + tuple(a.shape[-2:])),
            expand_to(b, batch + tuple(b.shape[-2:])))


def zero_info(a, dims=2):
    """The int32 info tensor of the *_ex functions (0: success) for a's batch."""
    return a.new_zeros(tuple(a.shape[:-dims])).to(dt.int32)
