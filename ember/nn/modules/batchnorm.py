"""PyTorch's torch.nn.modules.batchnorm path for classes ember defines in normalization.py (see torch_paths.py)."""
from .normalization import _NormBase, _BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d  # noqa: F401

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
