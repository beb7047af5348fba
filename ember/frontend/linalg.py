"""Linear algebra: matmul and its PyTorch spellings (mm, bmm, mv, dot, outer, addmm, baddbmm),
einsum, tensordot and trace.  The matmul primitive is shape-strict; 1-d operands and batch
broadcasting are handled here."""
from __future__ import annotations

import builtins

from .. import dtypes as dt
from .. import ops as P
from ..shapes import broadcast_shapes
from .dispatch import STATE, bind, wrap as _wrap
from .functional import expand_to, _AMP
from .tensor import Tensor
from .reductions import sum

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "inner", "outer", "ger", "addmm", "baddbmm",
           "einsum", "tensordot", "trace", "arange_index"]

def matmul(input, other):
    if _AMP.on and "matmul" in _AMP.ops:
        return _AMP.call("matmul", matmul, input, other)
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.dtype is not b.dtype:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{dt.legacy_name(a.dtype)} and {dt.legacy_name(b.dtype)}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAME[a.dtype.name]} != {_CPP_NAME[b.dtype.name]}")
    if a.dtype is dt.bool_:
        raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if STATE.tracer is None and not (STATE.grad_enabled and (a._requires_grad or b._requires_grad)):
        try:
            return _wrap(P.MATMUL.numpy(a._data, b._data))
        except (ValueError, TypeError):
            pass  # fall through to the recorded path (PyTorch's error message; CUDA tensors)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                               f"[{b.shape[0]}] to have the same number of elements, but got "
                               f"{a.shape[0]} and {b.shape[0]} elements respectively")
        return bind(P.MATMUL, a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    if a.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2]}x{a.shape[-1]} "
                           f"and {b.shape[-2]}x{b.shape[-1]})")
    if b.ndim == 2 and a.ndim > 2:
        # [..., m, k] @ [k, n]: one 2-D matmul over the flattened leading dims
        lead = tuple(a.shape[:-1])
        out = bind(P.MATMUL, a.reshape(-1, a.shape[-1]), b)
        return out.reshape(lead + (b.shape[-1],))
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    a = expand_to(a, batch + tuple(a.shape[-2:]))
    b = expand_to(b, batch + tuple(b.shape[-2:]))
    return bind(P.MATMUL, a, b)


_CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half",  # PyTorch's words
             "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
             "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
             "bool": "bool"}


def mm(input, mat2):
    if _AMP.on and "mm" in _AMP.ops:
        return _AMP.call("mm", mm, input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError("self must be a matrix" if input.ndim != 2 else "mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input, mat2):
    if _AMP.on and "bmm" in _AMP.ops:
        return _AMP.call("bmm", bmm, input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else
                           "batch2 must be a 3D tensor")
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"expected scalar type {dt.legacy_name(input.dtype)} but found "
                           f"{dt.legacy_name(mat2.dtype)}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, "
                           f"{mat2.shape[1]}].")
    return matmul(input, mat2)


def mv(input, vec):
    if _AMP.on and "mv" in _AMP.ops:
        return _AMP.call("mv", mv, input, vec)
    return matmul(input, vec)


def dot(input, other):
    if _AMP.on and "dot" in _AMP.ops:
        return _AMP.call("dot", dot, input, other)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return matmul(input, other)


def inner(input, other):
    """Sum over the last dims of both; a 0-d operand scales the other (torch.inner)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.ndim == 1 and other.ndim == 1:
        return dot(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def outer(input, vec2):
    return input.unsqueeze(-1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    if _AMP.on and "addmm" in _AMP.ops:
        return _AMP.call("addmm", addmm, input, mat1, mat2, beta=beta, alpha=alpha)
    prod_ = mm(mat1, mat2)
    if alpha != 1:
        prod_ = prod_ * alpha
    return prod_ + (input if beta == 1 else input * beta)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    if _AMP.on and "baddbmm" in _AMP.ops:
        return _AMP.call("baddbmm", baddbmm, input, batch1, batch2, beta=beta, alpha=alpha)
    prod_ = bmm(batch1, batch2)
    if alpha != 1:
        prod_ = prod_ * alpha
    return prod_ + (input if beta == 1 else input * beta)


def einsum(equation, *operands):
    if _AMP.on and "einsum" in _AMP.ops:
        return _AMP.call("einsum", einsum, equation, *operands)
    from .einsum import einsum as _einsum
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _einsum(equation, *operands)


def tensordot(a, b, dims=2):
    if _AMP.on and "tensordot" in _AMP.ops:
        return _AMP.call("tensordot", tensordot, a, b, dims)
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    am = a.permute(*(fa + da)).reshape(-1, k)
    bm = b.permute(*(db + fb)).reshape(k, -1)
    return matmul(am, bm).reshape(tuple(a.shape[d] for d in fa) + tuple(b.shape[d] for d in fb))


def trace(input):
    if _AMP.on and "trace" in _AMP.ops:
        return _AMP.call("trace", trace, input)
    n = builtins.min(input.shape)
    idx = arange_index(n, input)
    return sum(input[idx, idx])


def arange_index(n, like=None):
    """int64 0..n-1, on the device of tensor ``like`` (internal index tensors follow the data)."""
    if like is not None and STATE.tracer is None and like.is_cuda:
        from .device_ops import run_source
        return run_source(P.ARANGE, like.device, start=0, end=n, step=1, dtype=dt.int64)
    return bind(P.ARANGE, start=0, end=n, step=1, dtype=dt.int64)
