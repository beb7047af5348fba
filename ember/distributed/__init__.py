"""ember.distributed: torch.distributed's API for data-parallel training across processes and
machines, on MPI (mpi4py + an MPI library: ``pip install ember[distributed]``).

    import ember.distributed as dist
    dist.init_process_group("mpi")    # started by `python -m ember.distributed.run` or mpiexec
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Importing this package needs no MPI; the first call that communicates imports mpi4py and says what
to install when it is missing.  See docs/distributed.md.
"""
from .errors import DistBackendError, DistError, DistNetworkError
from .reduce_ops import ReduceOp, RedOpType
from .process_group import (Backend, GroupMember, ProcessGroup, destroy_process_group, get_backend,
                            get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                            get_world_size, init_process_group, is_available, is_gloo_available,
                            is_initialized, is_mpi_available, is_nccl_available, new_group)
from .collectives import (P2POp, all_gather, all_gather_into_tensor, all_gather_object,
                          all_reduce, all_to_all, all_to_all_single, barrier, batch_isend_irecv,
                          broadcast, broadcast_object_list, gather, gather_object, irecv, isend,
                          monitored_barrier, recv, reduce, reduce_scatter, reduce_scatter_tensor,
                          scatter, scatter_object_list, send)
from .work import Work

reduce_op = ReduceOp     # torch's deprecated alias
group = GroupMember      # torch.distributed.group.WORLD

__all__ = ["Backend", "DistBackendError", "DistError", "DistNetworkError", "GroupMember", "P2POp",
           "ProcessGroup", "RedOpType", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single", "barrier",
           "batch_isend_irecv", "broadcast", "broadcast_object_list", "destroy_process_group",
           "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "get_rank", "get_world_size", "group",
           "init_process_group", "irecv", "is_available", "is_gloo_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "isend", "monitored_barrier", "new_group",
           "recv", "reduce", "reduce_op", "reduce_scatter", "reduce_scatter_tensor", "scatter",
           "scatter_object_list", "send"]
