"""Activation functions and softmax family, written on the Tensor API (they trace into primitives
and need no gradient rules of their own).  softmax, log_softmax and gelu also have an eager fast
path (one NumPy forward, one recorded node with a NumPy backward: ``frontend/fused.py``); the
composites below remain their definition."""
from __future__ import annotations

import math
import warnings

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.fused import Fused
from ...frontend.inplace import write
from . import fused_math as M
from ...frontend.tensor import Tensor, _dim
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
           "celu", "celu_", "gelu", "silu", "mish", "hardtanh", "hardtanh_", "hardsigmoid",
           "hardswish", "sigmoid", "tanh", "softplus", "softsign", "softmin", "softmax",
           "log_softmax", "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "threshold",
           "threshold_", "prelu", "glu", "rrelu", "rrelu_"]


def _check(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _out(input, result, inplace):
    return write(input, result) if inplace else result


def relu(input, inplace=False):
    _check(input, "relu")
    return _out(input, F.relu(input), inplace)


def relu_(input):
    return relu(input, inplace=True)


def threshold(input, threshold, value, inplace=False):
    return _out(input, F.where(input > threshold, input, value), inplace)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check(input, "leaky_relu")
    return _out(input, F.where(input > 0, input, input * negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input, alpha=1.0, inplace=False):
    _check(input, "elu")
    # expm1 of the clamped value keeps the unused branch finite (no inf * 0 in the gradient)
    neg = F.expm1(F.clamp(input, max=0.0)) * alpha
    return _out(input, F.where(input > 0, input, neg), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    return _out(input, elu(input, _SELU_ALPHA) * _SELU_SCALE, inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    neg = F.expm1(F.clamp(input, max=0.0) / alpha) * alpha
    return _out(input, F.where(input > 0, input, neg), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def _gelu(input, approximate):
    if approximate == "none":
        return input * 0.5 * (1.0 + F.erf(input * (1.0 / math.sqrt(2.0))))
    inner = (input + 0.044715 * input * input * input) * math.sqrt(2.0 / math.pi)
    return 0.5 * input * (1.0 + F.tanh(inner))


_fused_gelu = Fused("Gelu", M.gelu_forward, M.gelu_backward, _gelu)


def gelu(input, approximate="none"):
    _check(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    return _fused_gelu(input, approximate=approximate)


def silu(input, inplace=False):
    _check(input, "silu")
    return _out(input, input * F.sigmoid(input), inplace)


def mish(input, inplace=False):
    return _out(input, input * F.tanh(softplus(input)), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    _check(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    out = F.clamp(input, min_val, max_val)
    if out.dtype is not input.dtype:  # integer input stays integer (bounds truncated), as torch
        out = F.to_dtype(out, input.dtype)
    return _out(input, out, inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def hardsigmoid(input, inplace=False):
    return _out(input, F.clamp(input / 6.0 + 0.5, 0.0, 1.0), inplace)


def hardswish(input, inplace=False):
    return _out(input, input * F.clamp(input + 3.0, 0.0, 6.0) / 6.0, inplace)


def sigmoid(input):
    return F.sigmoid(input)


def tanh(input):
    return F.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    if _AMP.on and "softplus" in _AMP.ops:
        return _AMP.call("softplus", softplus, input, beta, threshold)
    _check(input, "softplus")
    z = input * beta if beta != 1 else input
    # log1p(exp(-|z|)) + max(z, 0) is exact and never overflows
    soft = (F.log1p(F.exp(-F.abs(z))) + F.relu(z))
    soft = soft / beta if beta != 1 else soft
    return F.where(z > threshold, input, soft)


def softsign(input):
    return input / (1.0 + F.abs(input))


def logsigmoid(input):
    # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable for large |x|
    return F.clamp(input, max=0.0) - F.log1p(F.exp(-F.abs(input)))


def tanhshrink(input):
    return input - F.tanh(input)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return F.where(input > lambd, input - lambd, F.where(input < -lambd, input + lambd, input * 0))


def hardshrink(input, lambd=0.5):
    return F.where((input > lambd) | (input < -lambd), input, input * 0)


def prelu(input, weight):
    if _AMP.on and "prelu" in _AMP.ops:
        return _AMP.call("prelu", prelu, input, weight)
    if weight.numel() != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
        shape = [1] * input.ndim
        shape[1 if input.ndim >= 2 else 0] = channels
        weight = weight.reshape(shape)
    elif weight.ndim:
        weight = weight.reshape(())
    return F.where(input > 0, input, weight * input)


def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.ndim} is size {n}")
    a, b = F.chunk(input, 2, dim)
    return a * F.sigmoid(b)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if training:
        from ...frontend.creation import rand
        slope = rand(tuple(input.shape), dtype=input.dtype, device=input.device) * \
            (upper - lower) + lower
        return _out(input, F.where(input >= 0, input, input * slope), inplace)
    return leaky_relu(input, (lower + upper) / 2, inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


# --- softmax family ----------------------------------------------------------------------------
def _get_softmax_dim(name, ndim, stacklevel=3):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(input, dim, dtype, name):
    _check(input, name)
    if dim is None:
        dim = _get_softmax_dim(name, input.ndim, 4)
    if dtype is not None:
        input = F.to_dtype(input, dt.to_dtype(dtype))
    elif input.dtype.category != dt.FLOAT:
        raise RuntimeError(f"\"{name}_lastdim_kernel_impl\" not implemented for "
                           f"'{dt.legacy_name(input.dtype)}'")
    return input, dim


from ...frontend.math_extra import shifted as _shifted  # noqa: E402  (one definition)


def _softmax(x, dim):
    e = F.exp(_shifted(x, dim))
    return e / F.sum(e, dim, keepdim=True) if x.ndim else e / e


def _log_softmax(x, dim):
    z = _shifted(x, dim)
    if x.ndim == 0:
        return z - z  # log(1): a constant 0 (gradient 0), NaN for a NaN/inf input, as torch
    return z - F.log(F.sum(F.exp(z), dim, keepdim=True))


_fused_softmax = Fused("Softmax", M.softmax_forward, M.softmax_backward, _softmax,
                       saves_output=True)
_fused_log_softmax = Fused("LogSoftmax", M.log_softmax_forward, M.log_softmax_backward,
                           _log_softmax, saves_output=True)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if _AMP.on and "softmax" in _AMP.ops:
        return _AMP.call("softmax", softmax, input, dim, _stacklevel, dtype)
    x, dim = _prepare(input, dim, dtype, "softmax")
    if x.ndim == 0:
        return _softmax(x, dim)
    return _fused_softmax(x, dim=_dim(dim, x.ndim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if _AMP.on and "log_softmax" in _AMP.ops:
        return _AMP.call("log_softmax", log_softmax, input, dim, _stacklevel, dtype)
    x, dim = _prepare(input, dim, dtype, "log_softmax")
    if x.ndim == 0:
        return _log_softmax(x, dim)
    return _fused_log_softmax(x, dim=_dim(dim, x.ndim))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.ndim, _stacklevel)
    return softmax(-input if dtype is None else -F.to_dtype(input, dt.to_dtype(dtype)), dim)
