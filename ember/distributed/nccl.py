"""The GPU backend, ``init_process_group(backend="nccl")``: designed, not built.

Design (to be written and tested on a machine with GPUs): the same ProcessGroup/Work API as the MPI
backend.  MPI (or the launcher's environment) bootstraps: rank 0 creates an ``ncclUniqueId`` and
broadcasts it over the MPI communicator, every rank calls ``ncclCommInitRank`` on its device
(``LOCAL_RANK``).  Collectives take CUDA tensors (``runtime.cuda.DeviceArray``): their device
pointers go to ``ncclAllReduce``/``ncclBroadcast``/... (``nvidia-nccl-cu12``'s libnccl through
ctypes or ``cuda-bindings``) enqueued on a dedicated stream; a Work is a CUDA event recorded after
the call, ``wait()`` makes the current stream wait on it, and the timeout watchdog polls
``ncclCommGetAsyncError`` and calls ``ncclCommAbort``.  bfloat16/float16 map to NCCL's own types,
AVG to ``ncclAvg``.  DistributedDataParallel needs no change: its buckets are tensors on the
parameters' device.

Until then this backend is never selected implicitly (CPU machines use "mpi"), and asking for it
raises the error below.  No GPU was available when ember.distributed was written.
"""
from __future__ import annotations


def is_available():
    """False: the NCCL backend is not built yet."""
    return False


def require():
    raise RuntimeError(
        "ember.distributed: backend='nccl' (GPU collectives) is designed but not implemented yet "
        "(see ember/distributed/nccl.py and docs/distributed.md); use backend='mpi' with CPU "
        "tensors.")
