"""ember.utils.tensorboard: torch.utils.tensorboard's SummaryWriter, writing real TensorBoard
event files through the ``tensorboard`` package (the optional ``tensorboard`` extra)."""
try:
    import tensorboard  # noqa: F401
except ImportError as e:  # PyTorch raises the same way when the package is missing
    raise ImportError("ember.utils.tensorboard needs the tensorboard package: "
                      "pip install tensorboard (or ember[tensorboard])") from e
from .writer import SummaryWriter  # noqa: F401,E402

__all__ = ["SummaryWriter"]
