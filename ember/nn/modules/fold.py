"""PyTorch's torch.nn.modules.fold path for classes ember defines in conv.py (see
torch_paths.py)."""
from .conv import Fold, Unfold  # noqa: F401

__all__ = ["Fold", "Unfold"]
