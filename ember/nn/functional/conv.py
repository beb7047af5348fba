"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold (im2col) and fold (col2im).

The work is done by the ``conv`` / ``conv_transpose`` primitives (``ember/ops/conv.py``); this file
checks arguments in PyTorch's words, handles unbatched inputs, ``padding='same'`` (asymmetric for
even kernels: the extra cell goes at the end, like PyTorch) and the bias.
"""
from __future__ import annotations

import numpy as np

from ... import ops as P
from ...frontend.dispatch import bind
from ...frontend.tensor import Tensor
from ...frontend import functional as _F
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


def _tuple(value, n, name="argument"):
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and n > 1:
            return tuple(int(value[0]) for _ in range(n))
        if len(value) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got {name}="
                               f"{list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _batched(input, nd, name):
    """(input with a batch dim, whether one was added)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    if input.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    return input, False


def _check_float(x, w, name):
    if x.dtype is _F.dt.bool_:   # integer convolutions are allowed, like PyTorch on CPU
        raise RuntimeError(f"\"{'slow_conv2d_cpu' if name.startswith('conv') else name}\" not "
                           f"implemented for '{_F.dt.legacy_name(x.dtype)}'")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"Input type ({x.dtype.name}) and weight type ({w.dtype.name}) should "
                           "be the same or input should be a MKLDNN tensor and weight is a dense "
                           "tensor")


def _add_bias(y, bias, nd):
    if bias is None:
        return y
    if bias.ndim != 1 or bias.shape[0] != y.shape[1]:
        raise RuntimeError(f"Given weight of size {list(y.shape[:2])}, expected bias to be "
                           f"1-dimensional with {y.shape[1]} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    return y + bias.reshape((1, -1) + (1,) * nd)


def _batched_with_weight(input, weight, nd, name):
    """(input with a batch dim, whether one was added), after checking the weight's rank and the
    dtypes of both."""
    x, added = _batched(input, nd, name)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{list(x.shape)}, but got {weight.ndim}-dimensional weight of size "
                           f"{list(weight.shape)} instead")
    _check_float(x, weight, name)
    return x, added


def _conv(nd, name, input, weight, bias, stride, padding, dilation, groups):
    x, added = _batched_with_weight(input, weight, nd, name)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    out_ch, in_per_group = weight.shape[0], weight.shape[1]
    if out_ch % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != in_per_group * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {in_per_group * groups} channels, but "
                           f"got {x.shape[1]} channels instead")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            if any(t % 2 for t in total):
                # the odd cell goes at the end, as in PyTorch
                pads = [(t // 2, t - t // 2) for t in total]
                x = bind(P.PAD, x, pads=((0, 0), (0, 0)) + tuple(pads), value=0.0)
                padding = (0,) * nd
            else:
                padding = tuple(t // 2 for t in total)
        else:
            raise RuntimeError(f"Invalid padding string '{padding}'")
    else:
        padding = _tuple(padding, nd, "padding")
        if any(p < 0 for p in padding):
            raise RuntimeError("negative padding is not supported")
    padded = [n + 2 * p for n, p in zip(x.shape[2:], padding)]
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(a < b for a, b in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}"
                           f"). Kernel size: ({' x '.join(map(str, span))}). Kernel size can't be "
                           "greater than actual input size")
    y = bind(P.CONV, x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _add_bias(y, bias, nd)
    return y.squeeze(0) if added else y


def _autocast_or(impl, nd, public, *args):
    """``public(*args)`` under autocast when it covers the op, else ``impl(nd, name, *args)``."""
    name = public.__name__
    if _AMP.on and name in _AMP.ops:
        return _AMP.call(name, public, *args)
    return impl(nd, name, *args)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _autocast_or(_conv, 1, conv1d, input, weight, bias, stride, padding, dilation,
                        groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _autocast_or(_conv, 2, conv2d, input, weight, bias, stride, padding, dilation,
                        groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _autocast_or(_conv, 3, conv3d, input, weight, bias, stride, padding, dilation,
                        groups)


def _conv_transpose(nd, name, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    x, added = _batched_with_weight(input, weight, nd, name)
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[0]} channels, but got "
                           f"{x.shape[1]} channels instead")
    if weight.shape[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    y = bind(P.CONV_TRANSPOSE, x, weight, stride=stride, padding=padding,
             output_padding=output_padding, dilation=dilation, groups=groups)
    y = _add_bias(y, bias, nd)
    return y.squeeze(0) if added else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _autocast_or(_conv_transpose, 1, conv_transpose1d, input, weight, bias, stride,
                        padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _autocast_or(_conv_transpose, 2, conv_transpose2d, input, weight, bias, stride,
                        padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _autocast_or(_conv_transpose, 3, conv_transpose3d, input, weight, bias, stride,
                        padding, output_padding, groups, dilation)


# --- unfold / fold: im2col and its adjoint, exact (plain indexing, no multiply by one-hots) -----
def _window_index(size, k, d, p, s):
    """[k, out] positions (in the padded image) read by each kernel offset and window."""
    out = (size + 2 * p - d * (k - 1) - 1) // s + 1
    return np.arange(k)[:, None] * d + np.arange(max(out, 0))[None, :] * s, out


def _index_tensor(a):
    t = Tensor.__new__(Tensor)
    t._data = np.ascontiguousarray(a, dtype=np.int64)
    return t


def _window_args(kernel_size, dilation, padding, stride):
    """(k, d, p, s): the four window arguments as pairs."""
    return tuple(_tuple(v, 2, n) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                              (padding, "padding"), (stride, "stride")))


def _block_index(rows, cols, k, oh, ow):
    """Row and column index tensors, both [KH, KW, OH, OW], of every window cell."""
    shape = (k[0], k[1], oh, ow)
    return (_F.expand_to(_index_tensor(rows[:, None, :, None]), shape),
            _F.expand_to(_index_tensor(cols[None, :, None, :]), shape))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D)")
    x, added = (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)
    k, d, p, s = _window_args(kernel_size, dilation, padding, stride)
    n, c, h, w = x.shape
    rows, oh = _window_index(h, k[0], d[0], p[0], s[0])
    cols, ow = _window_index(w, k[1], d[1], p[1], s[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, "
                           f"{k[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), "
                           f"calculated shape of the array of sliding blocks as ({oh}, {ow}), "
                           "but its components must be at least one.")
    xp = bind(P.PAD, x, pads=((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), value=0.0) \
        if any(p) else x
    r, q = _block_index(rows, cols, k, oh, ow)
    blocks = bind(P.INDEX, xp, r, q, positions=(2, 3))      # [N, C, KH, KW, OH, OW]
    out = blocks.reshape(n, c * k[0] * k[1], oh * ow)
    return out.squeeze(0) if added else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {input.ndim}D)")
    x, added = (input.unsqueeze(0), True) if input.ndim == 2 else (input, False)
    size = _tuple(output_size, 2, "output_size")
    k, d, p, s = _window_args(kernel_size, dilation, padding, stride)
    n, ck, blocks = x.shape
    kk = k[0] * k[1]
    if ck % kk != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ck} and kernel_size=({k[0]}, "
                           f"{k[1]})")
    rows, oh = _window_index(size[0], k[0], d[0], p[0], s[0])
    cols, ow = _window_index(size[1], k[1], d[1], p[1], s[1])
    if oh * ow != blocks:
        raise RuntimeError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, "
                           f"{k[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), "
                           f"stride=({s[0]}, {s[1]}), expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {oh} * {ow} = "
                           f"{oh * ow}, but got input.size(2)={blocks}.")
    c = ck // kk
    vals = x.reshape(n, c, k[0], k[1], oh, ow)
    r, q = _block_index(rows, cols, k, oh, ow)
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    zeros = x.new_zeros((n, c, hp, wp))
    img = bind(P.INDEX_PUT, zeros, vals, r, q, positions=(2, 3), accumulate=True)
    if any(p):
        img = img[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return img.squeeze(0) if added else img
