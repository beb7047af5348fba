"""batch_norm, instance_norm, layer_norm, group_norm, rms_norm, local_response_norm.

Statistics are computed with the biased variance (what normalization uses); batch_norm's running
variance is updated with the unbiased one, like PyTorch.
"""
from __future__ import annotations

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.autograd import no_grad
from ...frontend.fused import Fused
from ...frontend.inplace import write
from ...shapes import prod
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off
from . import fused_math as M

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
           "local_response_norm"]


def _channel_shape(x):
    shape = [1] * x.ndim
    shape[1] = x.shape[1]
    return tuple(shape)


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _moments(x, dims):
    mean = F.mean(x, dims, keepdim=True)
    d = x - mean
    var = F.mean(d * d, dims, keepdim=True)
    return mean, d, var


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or higher input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    shape = _channel_shape(input)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size torch.Size({list(input.shape)})")
        mean, d, var = _moments(input, dims)
        y = d * F.rsqrt(var + eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    m = F.to_dtype(mean.detach().reshape(c), running_mean.dtype)
                    write(running_mean, running_mean * (1 - momentum) + m * momentum)
                if running_var is not None:
                    v = F.to_dtype(var.detach().reshape(c), running_var.dtype) * (n / (n - 1))
                    write(running_var, running_var * (1 - momentum) + v * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        rm = F.to_dtype(running_mean, input.dtype).reshape(shape)
        rv = F.to_dtype(running_var, input.dtype).reshape(shape)
        y = (input - rm) * F.rsqrt(rv + eps)
    return _affine(y, weight, bias, shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher input to instance_norm (got {input.ndim}D input)")
    shape = _channel_shape(input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        mean, d, var = _moments(input, dims)
        y = d * F.rsqrt(var + eps)
        if running_mean is not None or running_var is not None:
            n = prod(input.shape[2:])
            with no_grad():
                c = input.shape[1]
                if running_mean is not None:
                    m = F.mean(mean.detach().reshape(-1, c), 0)
                    write(running_mean, running_mean * (1 - momentum) + m * momentum)
                if running_var is not None:
                    v = F.mean(var.detach().reshape(-1, c), 0) * (n / max(n - 1, 1))
                    write(running_var, running_var * (1 - momentum) + v * momentum)
    else:
        y = (input - running_mean.reshape(shape)) * F.rsqrt(running_var.reshape(shape) + eps)
    return _affine(y, weight, bias, shape)


def _norm_dims(input, normalized_shape, name="normalized_shape"):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0:
        raise RuntimeError(f"Expected normalized_shape to be at least 1-dimensional, i.e., "
                           f"containing at least one element, but got normalized_shape = "
                           f"{list(normalized_shape)}")
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of "
                           f"size{list(input.shape)}")
    return normalized_shape, tuple(range(input.ndim - k, input.ndim))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    if _AMP.on and "layer_norm" in _AMP.ops:
        return _AMP.call("layer_norm", layer_norm, input, normalized_shape, weight, bias, eps)
    normalized_shape, dims = _norm_dims(input, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(normalized_shape)}")
    return _fused_layer_norm(input, weight, bias, dims=dims, eps=eps)


def _layer_norm(input, weight, bias, dims, eps):
    mean, d, var = _moments(input, dims)
    y = d * F.rsqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# layer_norm's eager fast path: torch's name for the node is NativeLayerNormBackward0
_fused_layer_norm = Fused("NativeLayerNorm", M.layer_norm_forward, M.layer_norm_backward,
                          _layer_norm)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    if _AMP.on and "group_norm" in _AMP.ops:
        return _AMP.call("group_norm", group_norm, input, num_groups, weight, bias, eps)
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups="
                           f"{num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(input.shape)}")
    x = input.reshape(n, num_groups, -1)
    mean, d, var = _moments(x, (2,))
    y = (d * F.rsqrt(var + eps)).reshape(tuple(input.shape))
    return _affine(y, weight, bias, _channel_shape(input))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    normalized_shape, dims = _norm_dims(input, normalized_shape)
    if eps is None:
        import numpy as np
        eps = float(np.finfo(input.dtype.np).eps) if input.dtype is not dt.bfloat16 else 0.0078125
    y = input * F.rsqrt(F.mean(input * input, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def local_response_norm(input, size, alpha=0.0001, beta=0.75, k=1.0):
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    sq = (input * input).unsqueeze(1)
    # average of squares over a window of `size` channels (zero padded), like PyTorch
    pads = [(0, 0)] * sq.ndim
    pads[2] = (size // 2, (size - 1) // 2)
    from .padding import pad as _pad
    flat = []
    for a, b in reversed(pads):
        flat += [a, b]
    padded = _pad(sq, flat)
    c = input.shape[1]
    acc = padded.narrow(2, 0, c)
    for i in range(1, size):
        acc = acc + padded.narrow(2, i, c)
    div = (acc / size).squeeze(1)
    div = (div * alpha + k) ** beta
    return input / div
