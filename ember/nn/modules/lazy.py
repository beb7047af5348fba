"""Lazy modules (nn.LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*):
the input feature size is read from the first input.

As in PyTorch, a lazy module is built as its concrete class with placeholder parameters
(``UninitializedParameter``; running statistics are ``UninitializedBuffer``).  A forward pre-hook
materializes them on the first call (same objects, now with their shape, in the dtype the module
was moved to in the meantime), runs ``reset_parameters()`` and turns the module into the concrete
class (``cls_to_become``): afterwards it is an ordinary ``Linear``/``Conv2d``/... .
"""
from __future__ import annotations

import numpy as np

from ...frontend.autograd import no_grad
from ...frontend.tensor import Tensor
from ..parameter import Parameter, UninitializedParameter
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,  # noqa: F401
                   ConvTranspose3d)
from .linear import Linear
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,
                            InstanceNorm2d, InstanceNorm3d)

__all__ = ["LazyModuleMixin", "UninitializedBuffer", "LazyLinear", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class UninitializedBuffer(Tensor):
    """A buffer of a lazy module before its shape is known."""


def _placeholder(like, cls):
    """An empty stand-in of `like`'s dtype (a later module.to(dtype) converts it too)."""
    t = Tensor.__new__(cls)
    t._data = np.empty((0,), like._data.dtype)
    if cls is UninitializedParameter:
        t._requires_grad = like._requires_grad
    return t


def _materialize(t, shape, become):
    t._data = np.empty(shape, t._data.dtype)
    t.__class__ = become


def _uninitialized(x):
    return isinstance(x, (UninitializedParameter, UninitializedBuffer))


class LazyModuleMixin:
    cls_to_become = None

    def _make_lazy(self, param_names, buffer_names=()):
        for name in param_names:
            p = self._parameters.get(name)
            if p is not None:
                self._parameters[name] = _placeholder(p, UninitializedParameter)
        for name in buffer_names:
            b = self._buffers.get(name)
            if b is not None:
                self._buffers[name] = _placeholder(b, UninitializedBuffer)
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self):
        return any(_uninitialized(v) for v in list(self._parameters.values()) +
                   list(self._buffers.values()))

    def initialize_parameters(self, input):
        raise NotImplementedError

    def _apply(self, fn, recurse=True):
        # .to()/.double() replace buffers by new tensors: keep the uninitialized ones marked
        lazy = [k for k, b in self._buffers.items() if isinstance(b, UninitializedBuffer)]
        out = super()._apply(fn, recurse)
        for k in lazy:
            self._buffers[k].__class__ = UninitializedBuffer
        return out

    def reset_parameters(self):
        if not self.has_uninitialized_params():
            super().reset_parameters()


def _infer_parameters(module, args):
    with no_grad():
        module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._lazy_hook.remove()
    del module._lazy_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


def _materialize_all(module, shapes):
    for name, shape in shapes.items():
        t = getattr(module, name, None)
        if _uninitialized(t):
            _materialize(t, shape, Parameter if isinstance(t, UninitializedParameter) else Tensor)
    module.reset_parameters()


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(1, out_features, bias, device=device, dtype=dtype)
        self.in_features = 0
        self._make_lazy(("weight", "bias"))

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            _materialize_all(self, {"weight": (self.out_features, self.in_features),
                                    "bias": (self.out_features,)})


class _LazyConvMixin(LazyModuleMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, *rest, **kwargs):
        groups = kwargs.get("groups", 1)
        super().__init__(groups, out_channels, kernel_size, stride, padding, *rest, **kwargs)
        self.in_channels = 0
        self._make_lazy(("weight", "bias"))

    def initialize_parameters(self, input):
        if not self.has_uninitialized_params():
            return
        nd = len(self.kernel_size)
        if input.dim() not in (nd + 1, nd + 2):
            raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                               f"{self._get_name()}, but got input of size: {list(input.shape)}")
        self.in_channels = input.shape[1] if input.dim() == nd + 2 else input.shape[0]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, self.in_channels // self.groups)
        _materialize_all(self, {"weight": shape + tuple(self.kernel_size),
                                "bias": (self.out_channels,)})


def _lazy_conv(base):
    return type("Lazy" + base.__name__, (_LazyConvMixin, base),
                {"cls_to_become": base, "__module__": __name__,
                 "__doc__": f"{base.__name__} with in_channels read from the first input."})


LazyConv1d = _lazy_conv(Conv1d)
LazyConv2d = _lazy_conv(Conv2d)
LazyConv3d = _lazy_conv(Conv3d)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d)


class _LazyNormMixin(LazyModuleMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype)
        self.num_features = 0
        self._make_lazy(("weight", "bias"), ("running_mean", "running_var"))

    def initialize_parameters(self, input):
        if not self.has_uninitialized_params():
            return
        # dim 1, as PyTorch's _LazyNormBase (an unbatched first input is read the same way)
        self.num_features = input.shape[1]
        n = (self.num_features,)
        _materialize_all(self, {"weight": n, "bias": n, "running_mean": n, "running_var": n})


class _LazyInstanceNormMixin(_LazyNormMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None):
        super().__init__(eps, momentum, affine, track_running_stats, device, dtype)


def _lazy_norm(base, mixin):
    return type("Lazy" + base.__name__, (mixin, base),
                {"cls_to_become": base, "__module__": __name__,
                 "__doc__": f"{base.__name__} with num_features read from the first input."})


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, _LazyNormMixin)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, _LazyNormMixin)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, _LazyNormMixin)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, _LazyInstanceNormMixin)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, _LazyInstanceNormMixin)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, _LazyInstanceNormMixin)
