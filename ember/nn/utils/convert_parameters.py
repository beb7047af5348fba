"""parameters_to_vector and vector_to_parameters."""
from __future__ import annotations

from ...frontend import functional as F
from ...frontend.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    vec = []
    for param in parameters:
        vec.append(param.view(-1))
    return F.cat(vec)


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        # swap in the slice's values, keeping the Parameter object
        param.data = vec[pointer:pointer + num_param].view_as(param).detach()
        pointer += num_param
