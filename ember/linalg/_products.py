"""Products and structured matrices: matrix_power, multi_dot, cross, vecdot, vander, diagonal."""
from __future__ import annotations

from ..frontend.linalg import matmul
from ._common import check_matrix, check_tensor


def matrix_power(A, n):
    check_tensor("linalg.matrix_power", A)
    check_matrix("linalg.matrix_power", A, square=True)
    if not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        from ..frontend.creation import eye
        # connected to A (a zero gradient), as PyTorch's
        return A * 0 + eye(A.shape[-1], dtype=A.dtype)
    if n < 0:
        from ._solvers import inv
        A, n = inv(A), -n
    result, base = None, A
    while n:   # binary powering: log2(n) products, as PyTorch
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def multi_dot(tensors):
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        if t.ndim not in ((1, 2) if i in (0, len(tensors) - 1) else (2,)):
            which = ("first" if i == 0 else "last") if i in (0, len(tensors) - 1) else None
            if which:
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                                   f"{t.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def cross(input, other, *, dim=-1):
    from ..frontend.functional import expand_to
    from ..frontend.shape_ops import stack
    from ..shapes import broadcast_shapes
    from .. import dtypes as dt
    shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
    d = dim % len(shape)
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    dtype = dt.promote_types(input.dtype, other.dtype)
    a = expand_to(input.to(dtype), shape)
    b = expand_to(other.to(dtype), shape)
    a0, a1, a2 = (a.select(d, i) for i in range(3))
    b0, b1, b2 = (b.select(d, i) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


def vander(x, *, N=None):
    from ..frontend.shape_ops import cat
    from ..frontend.reductions import cumprod
    if N is None and x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    x = x.long() if x.dtype.name == "bool" else x
    x = x.reshape(1) if x.ndim == 0 else x   # (PyTorch reads a 0-d x as one point)
    ones = x.new_ones(tuple(x.shape) + (1,))
    # cumulative products, not pow: their gradient at x = 0 is finite
    powers = cumprod(x.unsqueeze(-1).expand(*(tuple(x.shape) + (n - 1,))), -1)
    return cat([ones, powers], -1)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)
