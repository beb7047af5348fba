"""More in-place random fills (cauchy_, log_normal_, geometric_) by inverse transform of a uniform
draw, and the strided/resizing creation methods (empty_strided, new_empty_strided, resize_)."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from .creation import _no_record, empty, rand
from .tensor import Tensor


def _uniform_like(self, generator):
    dtype = self.dtype if self.dtype.category == dt.FLOAT else dt.float64
    return rand(tuple(self.shape), generator=generator, dtype=dtype, device=self.device)


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    from .functional import tan
    from .inplace import write
    with _no_record():
        u = _uniform_like(self, generator)
        return write(self, tan((u - 0.5) * math.pi) * sigma + median)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    from .functional import exp
    from .inplace import write
    with _no_record():
        z = empty(tuple(self.shape), dtype=self.dtype, device=self.device)
        z.normal_(mean, std, generator=generator)
        return write(self, exp(z))


def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    from .functional import ceil, log
    from .inplace import write
    with _no_record():
        u = _uniform_like(self, generator)
        return write(self, ceil(log(1 - u) / math.log1p(-p)).clamp(min=1))


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
    # ember tensors own contiguous memory; the strides only shape the (uninitialised) values
    return empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                      layout=None, pin_memory=False):
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                         requires_grad=requires_grad)


def resize_(self, *sizes, memory_format=None):
    """Reshape in place, keeping the leading elements (new ones are zeros; torch leaves them
    uninitialised)."""
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)) else sizes
    n = int(np.prod(shape)) if shape else 1
    flat = np.asarray(self._host()).reshape(-1)
    data = np.zeros(n, flat.dtype)
    data[:min(n, flat.size)] = flat[:n]
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    self._data = data.reshape(shape) if self.device.type == "cpu" else \
        Tensor(data.reshape(shape)).to(self.device)._data
    return self


def resize_as_(self, other, *, memory_format=None):
    return resize_(self, tuple(other.shape))
