"""ReduceOp (torch.distributed.ReduceOp) and how each maps onto MPI for a given dtype."""
from __future__ import annotations

import enum

import numpy as np


class ReduceOp(enum.Enum):
    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self):
        return f"<ReduceOp.{self.name}: {list(ReduceOp).index(self)}>"


# torch.distributed.reduce_op (deprecated alias) and the ReduceOp.RedOpType spelling
RedOpType = ReduceOp

_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
# bool tensors reduce logically, as in torch: SUM/MAX are "or", PRODUCT/MIN are "and"
_BOOL_AS = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN, ReduceOp.MIN: ReduceOp.MIN,
            ReduceOp.MAX: ReduceOp.MAX, ReduceOp.BAND: ReduceOp.BAND, ReduceOp.BOR: ReduceOp.BOR,
            ReduceOp.BXOR: ReduceOp.BXOR}


def normalize(op, np_dtype):
    """The op MPI should apply to a buffer of np_dtype (AVG becomes SUM; the caller divides), with
    torch's errors for combinations that have no meaning."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a ReduceOp, got {op!r}")
    kind = np.dtype(np_dtype).kind
    if kind == "b":
        if op is ReduceOp.AVG:
            raise ValueError("ReduceOp.AVG is not supported for bool tensors")
        return _BOOL_AS[op]
    if op in _BITWISE and (kind == "f" or np.dtype(np_dtype).name == "bfloat16"):
        raise ValueError(f"ReduceOp.{op.name} is only supported for integer and bool tensors, "
                         f"got {np_dtype}")
    if op is ReduceOp.AVG:
        if kind in "iu":
            raise ValueError(f"ReduceOp.AVG is only supported for floating-point tensors, got "
                             f"{np_dtype}")
        return ReduceOp.SUM
    return op


_NUMPY = {ReduceOp.SUM: np.add, ReduceOp.PRODUCT: np.multiply, ReduceOp.MIN: np.minimum,
          ReduceOp.MAX: np.maximum, ReduceOp.BAND: np.bitwise_and, ReduceOp.BOR: np.bitwise_or,
          ReduceOp.BXOR: np.bitwise_xor}


def numpy_ufunc(op):
    """The NumPy ufunc of a normalized op (the custom MPI op of float16/bfloat16 applies it)."""
    return _NUMPY[op]
