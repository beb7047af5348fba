"""nn.Parameter and nn.Buffer: tensors that a Module registers by attribute assignment.

A Parameter shares its data's memory (like PyTorch's, which wraps the same storage) but is a leaf
of its own: it never carries the history of the tensor it was made from.
"""
from __future__ import annotations

from ..frontend.tensor import Tensor


def _init_from(self, data, requires_grad):
    if data is None:
        from ..frontend.creation import empty
        data = empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
    self._data = data._data
    if requires_grad and not data.dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    self._requires_grad = bool(requires_grad)


class Parameter(Tensor):
    """A Tensor that is a module parameter: ``Parameter(data=None, requires_grad=True)``."""
    _is_param = True

    def __new__(cls, data=None, requires_grad=True):
        self = Tensor.__new__(cls)
        _init_from(self, data, requires_grad)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass  # all set up in __new__ (Tensor.__init__ is the legacy constructor)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        import numpy as np
        if self.is_cuda:   # host values + the device; rebuilt on that device
            return (_rebuild_parameter, (np.asarray(self._host(), order="C"),
                                         self._requires_grad, str(self.device)))
        return (_rebuild_parameter, (np.asarray(self._data, order="C"), self._requires_grad))


def _rebuild_parameter(array, requires_grad, device=None):
    from ..frontend.tensor import _rebuild
    return Parameter(_rebuild(array, False, device), requires_grad)


class Buffer(Tensor):
    """nn.Buffer: marks a tensor to be registered as a buffer when assigned to a module attribute.
    ``Buffer(data, persistent=True)``; the module stores it as a plain Tensor."""

    def __new__(cls, data=None, *, persistent=True):
        self = Tensor.__new__(cls)
        _init_from(self, data, False)
        if data is not None:
            self._requires_grad = data._requires_grad
        self.persistent = persistent
        return self

    def __init__(self, data=None, *, persistent=True):
        pass


class UninitializedParameter(Parameter):
    """Placeholder for lazy modules (not materialized by ember's core layers)."""


def is_lazy(param):
    return isinstance(param, UninitializedParameter)
