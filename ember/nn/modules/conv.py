"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with PyTorch's constructor options,
attribute names, default initialization and repr; Unfold and Fold."""
from __future__ import annotations

import math

from ...frontend.autograd import no_grad
from ...frontend.creation import empty
from .. import functional as F
from ..functional import conv as FC
from ..parameter import Parameter
from .module import Module
from . import _init_util as I

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "Unfold", "Fold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    _nd = 2
    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode", "output_padding",
                     "in_channels", "out_channels", "kernel_size"]

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for non-zero padding modes: last dim first, (before, after) each
        if isinstance(padding, str):
            pairs = []
            if padding == "same":
                for d, k in zip(dilation, kernel_size):
                    total = d * (k - 1)
                    pairs.append((total // 2, total - total // 2))
            else:
                pairs = [(0, 0)] * nd
        else:
            pairs = [(p, p) for p in padding]
        self._reversed_padding_repeated_twice = [v for pair in reversed(pairs) for v in pair]
        shape = ((in_channels, out_channels // groups) if transposed else
                 (out_channels, in_channels // groups)) + tuple(kernel_size)
        self.weight = Parameter(empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) and the matching bias bound: both U(-1/sqrt(fan_in), ..)
        fan_in = I.fan_in(self.weight)
        I.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None and fan_in != 0:
            bound = 1 / math.sqrt(fan_in)
            I.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(in_channels=self.in_channels, out_channels=self.out_channels,
                        kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, output_padding=self.output_padding,
                        groups=self.groups, padding_mode=self.padding_mode)


def _convnd(nd, fn_name):
    fn = getattr(FC, fn_name)

    class Conv(_ConvNd):
        _nd = nd

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                     dtype=None):
            kernel_size_ = FC._tuple(kernel_size, nd, "kernel_size")
            stride_ = FC._tuple(stride, nd, "stride")
            padding_ = padding if isinstance(padding, str) else FC._tuple(padding, nd, "padding")
            dilation_ = FC._tuple(dilation, nd, "dilation")
            super().__init__(in_channels, out_channels, kernel_size_, stride_, padding_,
                             dilation_, False, (0,) * nd, groups, bias, padding_mode, device,
                             dtype)

        def _conv_forward(self, input, weight, bias):
            if self.padding_mode != "zeros":
                return fn(F.pad(input, self._reversed_padding_repeated_twice,
                                mode=self.padding_mode), weight, bias, self.stride, (0,) * nd,
                          self.dilation, self.groups)
            return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

        def forward(self, input):
            return self._conv_forward(input, self.weight, self.bias)

    return Conv


class Conv1d(_convnd(1, "conv1d")):
    """Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None)"""


class Conv2d(_convnd(2, "conv2d")):
    """Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None)"""


class Conv3d(_convnd(3, "conv3d")):
    """Conv3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None)"""


class _ConvTransposeNd(_ConvNd):
    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None):
        if output_size is None:
            return tuple(self.output_padding)
        has_batch = input.ndim == num_spatial_dims + 2
        output_size = list(output_size)
        if len(output_size) in (num_spatial_dims + 1, num_spatial_dims + 2):
            output_size = output_size[-num_spatial_dims:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"ConvTranspose{num_spatial_dims}D: for {input.ndim}D input, "
                             f"output_size must have {num_spatial_dims} or "
                             f"{num_spatial_dims + (2 if has_batch else 1)} elements (got "
                             f"{len(output_size)})")
        dilation = dilation or (1,) * num_spatial_dims
        spatial = input.shape[-num_spatial_dims:]
        mins, maxs = [], []
        for d in range(num_spatial_dims):
            lo = ((spatial[d] - 1) * stride[d] - 2 * padding[d] +
                  dilation[d] * (kernel_size[d] - 1) + 1)
            mins.append(lo)
            maxs.append(lo + stride[d] - 1)
        for d in range(num_spatial_dims):
            if not mins[d] <= output_size[d] <= maxs[d]:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {mins} to {maxs} (for an input of "
                                 f"{list(spatial)})")
        return tuple(o - m for o, m in zip(output_size, mins))


def _conv_transpose_nd(nd, fn_name):
    fn = getattr(FC, fn_name)

    class ConvTranspose(_ConvTransposeNd):
        _nd = nd

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                     device=None, dtype=None):
            if padding_mode != "zeros":
                raise ValueError(f'Only "zeros" padding mode is supported for '
                                 f'{type(self).__name__}')
            super().__init__(in_channels, out_channels, FC._tuple(kernel_size, nd),
                             FC._tuple(stride, nd), FC._tuple(padding, nd),
                             FC._tuple(dilation, nd), True, FC._tuple(output_padding, nd),
                             groups, bias, padding_mode, device, dtype)

        def forward(self, input, output_size=None):
            output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                                  self.kernel_size, nd, self.dilation)
            return fn(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                      self.groups, self.dilation)

    return ConvTranspose


class ConvTranspose1d(_conv_transpose_nd(1, "conv_transpose1d")):
    """ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')"""


class ConvTranspose2d(_conv_transpose_nd(2, "conv_transpose2d")):
    """ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')"""


class ConvTranspose3d(_conv_transpose_nd(3, "conv_transpose3d")):
    """ConvTranspose3d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')"""


class Unfold(Module):
    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input):
        return FC.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding="
                f"{self.padding}, stride={self.stride}")


class Fold(Module):
    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return FC.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                       self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation="
                f"{self.dilation}, padding={self.padding}, stride={self.stride}")
