"""PyTorch's torch.nn.modules.batchnorm path for classes ember defines in normalization.py
(see torch_paths.py)."""
from .normalization import (_NormBase, _BatchNorm,  # noqa: F401
                            BatchNorm1d, BatchNorm2d, BatchNorm3d)

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
