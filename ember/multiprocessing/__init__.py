"""ember.multiprocessing: a drop-in for ``multiprocessing`` whose Queue, Pipe and Process
arguments carry ember tensors through shared memory (like torch.multiprocessing).

Everything from ``multiprocessing`` is re-exported; importing this module registers the tensor
reducer with ``ForkingPickler`` (see reductions.py), which is what every multiprocessing Queue and
Pipe pickles with.  Only the "file_descriptor" sharing strategy exists: segments are anonymous
memory files, so there is no "file_system" strategy (and nothing that could leak in /dev/shm).
"""
import multiprocessing
from multiprocessing import *  # noqa: F401,F403  (the drop-in: same names as multiprocessing)

from .reductions import init_reductions
from ..runtime.shared_memory import is_shared, share_memory_
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException, spawn,
                    start_processes)

__all__ = list(multiprocessing.__all__) + [
    "init_reductions", "is_shared", "share_memory_", "spawn", "start_processes",
    "ProcessContext", "ProcessRaisedException", "ProcessExitedException",
    "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"]

_STRATEGIES = {"file_descriptor"}


def get_all_sharing_strategies():
    return set(_STRATEGIES)


def get_sharing_strategy():
    return "file_descriptor"


def set_sharing_strategy(new_strategy):
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"sharing strategy {new_strategy!r} is not supported by ember; "
                         f"choose from {sorted(_STRATEGIES)}")


init_reductions()
