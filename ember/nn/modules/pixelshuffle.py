"""PyTorch's torch.nn.modules.pixelshuffle path for classes ember defines in upsampling.py
(see torch_paths.py)."""
from .upsampling import PixelShuffle, PixelUnshuffle  # noqa: F401

__all__ = ["PixelShuffle", "PixelUnshuffle"]
