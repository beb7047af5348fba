"""ember.nn.parallel: DataParallel (on a CPU-only machine it runs the module as it is, like
PyTorch's DataParallel without GPUs) and DistributedDataParallel (distributed.py)."""
from .data_parallel import DataParallel, data_parallel  # noqa: F401

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]


def __getattr__(name):
    # DistributedDataParallel lives with ember.distributed's process groups
    if name == "DistributedDataParallel":
        try:
            from .distributed import DistributedDataParallel
        except ImportError as e:
            raise ImportError("ember.nn.parallel.DistributedDataParallel needs "
                              f"ember/nn/parallel/distributed.py, which failed to import ({e})") \
                from e
        return DistributedDataParallel
    raise AttributeError(f"module 'ember.nn.parallel' has no attribute '{name}'")
