"""What a DataLoader worker process knows about itself (``get_worker_info``), and the worker's
shared-memory arena that ``default_collate`` stacks batches into (so a batch is written once,
straight into the memory the parent process will read)."""
from __future__ import annotations


class WorkerInfo:
    """``id``, ``num_workers``, ``seed`` and ``dataset`` (this worker's copy) of a worker."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None
_arena = None  # the WorkerArena of the batch being produced in this worker, else None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its WorkerInfo.  In the main process: None."""
    return _worker_info


def current_arena():
    return _arena
