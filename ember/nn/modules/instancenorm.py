"""PyTorch's torch.nn.modules.instancenorm path for classes ember defines in
normalization.py (see torch_paths.py)."""
from .normalization import (_InstanceNorm,  # noqa: F401
                            InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
