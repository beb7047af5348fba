"""linear and bilinear."""
from __future__ import annotations

from ...frontend import functional as F
from ...frontend.fused import Fused
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off
from . import fused_math as M

__all__ = ["linear", "bilinear"]


def linear(input, weight, bias=None):
    if _AMP.on and "linear" in _AMP.ops:
        return _AMP.call("linear", linear, input, weight, bias)
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.ndim}D and {weight.ndim}D")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{input.dtype.name.capitalize()} and {weight.dtype.name.capitalize()}")
    w = weight.t() if weight.ndim == 2 else weight
    if input.shape[-1] != w.shape[0]:
        rows = input.shape[-2] if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({input.numel() // max(input.shape[-1], 1) if input.ndim > 1 else rows}"
                           f"x{input.shape[-1]} and {w.shape[0]}x{w.shape[-1] if w.ndim > 1 else 1})")
    if weight.ndim == 2 and (bias is None or bias.ndim == 1):
        return _fused_linear(input, weight, bias)
    return _linear(input, weight, bias)


def _linear(input, weight, bias):
    out = F.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out + bias if bias is not None else out


# eager fast path: one node (x @ W^T + b) instead of transpose, reshapes, matmul, bias expand, add
_fused_linear = Fused("Addmm", M.linear_forward, M.linear_backward, _linear)


def bilinear(input1, input2, weight, bias=None):
    if _AMP.on and "bilinear" in _AMP.ops:
        return _AMP.call("bilinear", bilinear, input1, input2, weight, bias)
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # x1 [N, i] @ W viewed as [i, o*j] -> [N, o, j], then contract j with x2
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    t = F.matmul(x1, w).reshape(-1, out_f, in2)
    out = F.sum(t * x2.unsqueeze(1), -1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_f,))
