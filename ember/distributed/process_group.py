"""Process groups: the default (world) group, ``new_group``, and the rank/size queries.

Ranks come from MPI (the launcher, ``mpiexec`` or ``python -m ember.distributed.run``, starts the
processes and MPI knows who is who); the torchrun-style environment (RANK, WORLD_SIZE, LOCAL_RANK)
and the ``rank``/``world_size`` arguments are checked against it, so a mismatch is an early clear
error instead of a hang.  MASTER_ADDR/MASTER_PORT and ``init_method`` describe a TCP rendezvous
that MPI does not need: they are accepted and not used (the MPI launcher connects the ranks).
"""
from __future__ import annotations

import datetime
import os
import sys
import time

from . import _mpi
from .errors import DistBackendError, DistNetworkError

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)    # torch's default for CPU backends
_BACKENDS = ("mpi", "gloo", "nccl")


class Backend:
    """torch.distributed.Backend: the names init_process_group accepts."""
    UNDEFINED = "undefined"
    GLOO = "gloo"       # accepted on CPU and served by MPI (there is no gloo here)
    MPI = "mpi"
    NCCL = "nccl"

    def __new__(cls, name):
        low = str(name).lower()
        if low not in _BACKENDS:
            raise ValueError(f"Invalid backend: '{name}' (ember.distributed supports "
                             f"{', '.join(_BACKENDS)})")
        return low


class ProcessGroup:
    """A set of ranks with its own MPI communicator (a duplicate, so user MPI code cannot match
    our messages) and timeout."""

    def __init__(self, comm, world_ranks, timeout, backend="mpi", name=""):
        self.comm = comm
        self.world_ranks = list(world_ranks)    # group rank -> global rank
        self._to_group = {g: i for i, g in enumerate(self.world_ranks)}
        self.timeout = timeout
        self.backend = backend
        self.group_name = name
        self.broken = None

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def name(self):
        return self.backend

    def group_rank(self, global_rank, what="rank"):
        try:
            return self._to_group[global_rank]
        except KeyError:
            raise ValueError(f"{what} {global_rank} is not part of the group (global ranks "
                             f"{self.world_ranks})") from None

    def global_rank(self, group_rank):
        return self.world_ranks[group_rank]

    def deadline(self):
        return time.monotonic() + self.timeout

    def _check(self):
        if self.broken is not None:
            raise DistBackendError(f"ember.distributed: the process group is unusable after an "
                                   f"earlier failure: {self.broken}")

    def _fail(self, why):
        """Mark this group (and MPI) broken and raise the error every later call repeats."""
        self.broken = (f"{why} on rank {_WORLD_RANK[0]} (a peer process died, raised, or did not "
                       f"call the same operation)")
        _mpi.mark_broken()
        raise DistBackendError(f"ember.distributed: {self.broken}")

    def __repr__(self):
        return f"<ProcessGroup {self.backend} ranks={self.world_ranks}>"


class GroupMember:
    WORLD = None                   # the default group once initialized
    NON_GROUP_MEMBER = object()    # what new_group returns on ranks outside it


_WORLD_RANK = [-1]


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    s = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
    if s <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return s


def is_available():
    """Whether the distributed package can run here (mpi4py and an MPI library installed)."""
    return _mpi.is_available()


def is_mpi_available():
    return _mpi.is_available()


def is_nccl_available():
    from . import nccl
    return nccl.is_available()


def is_gloo_available():
    return False


def is_initialized():
    return GroupMember.WORLD is not None


def _env_int(name):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """torch.distributed.init_process_group on MPI.  backend: "mpi" (CPU tensors; "gloo", torch's
    CPU backend name, selects it too) or "nccl" (GPU; see ember/distributed/nccl.py)."""
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend if backend is not None else "mpi")
    if name == "nccl":
        from . import nccl
        nccl.require()
    seconds = _seconds(timeout)
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    mpi_rank, mpi_size = world.Get_rank(), world.Get_size()
    for what, given in (("world_size", world_size), ("WORLD_SIZE", _env_int("WORLD_SIZE"))):
        if given not in (None, -1) and given != mpi_size:
            if mpi_size == 1:
                raise DistNetworkError(
                    f"init_process_group: {what}={given}, but MPI started this process alone. "
                    f"Start the ranks with `python -m ember.distributed.run --nproc-per-node "
                    f"{given} script.py` or `mpiexec -n {given} python script.py`.")
            raise DistNetworkError(f"init_process_group: {what}={given} does not match the "
                                   f"{mpi_size} processes MPI started")
    for what, given in (("rank", rank), ("RANK", _env_int("RANK"))):
        if given not in (None, -1) and given != mpi_rank:
            raise DistNetworkError(f"init_process_group: {what}={given} does not match this "
                                   f"process's MPI rank {mpi_rank} (ranks are assigned by the "
                                   f"MPI launcher)")
    _WORLD_RANK[0] = mpi_rank
    group = ProcessGroup(None, range(mpi_size), seconds, name, group_name or "default_pg")
    # duplicate COMM_WORLD without blocking forever: Idup is a request polled to the deadline
    comm, req = world.Idup()
    from .work import poll
    poll([req], group.deadline(), "init_process_group (joining the other ranks)", group)
    group.comm = comm
    GroupMember.WORLD = group
    if mpi_size > 1:
        _abort_on_uncaught_exception()


def _abort_on_uncaught_exception():
    """An exception that ends one rank's script aborts the MPI job: the other ranks are stopped at
    once instead of waiting in a collective (or in MPI_Finalize) for a rank that is gone."""
    previous = sys.excepthook
    if getattr(previous, "_ember_dist", False):
        return

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if GroupMember.WORLD is not None or _mpi.is_broken():
            print(f"[ember.distributed] rank {_WORLD_RANK[0]} raised {kind.__name__}: aborting "
                  f"the job", file=sys.stderr)
            _mpi.abort(1)

    hook._ember_dist = True
    sys.excepthook = hook


def _default(group=None, check=True):
    if group is None:
        group = GroupMember.WORLD
        if group is None:
            raise ValueError("Default process group has not been initialized, please make sure "
                             "to call init_process_group.")
    elif group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("this rank is not part of the group")
    if check:
        group._check()
    return group


def get_rank(group=None):
    """This process's rank in ``group`` (-1 when it is not a member)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _default(group, check=False).rank()


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _default(group, check=False).size()


def get_backend(group=None):
    return _default(group).backend


def get_global_rank(group, group_rank):
    return _default(group).global_rank(group_rank)


def get_group_rank(group, global_rank):
    return _default(group).group_rank(global_rank)


def get_process_group_ranks(group):
    return list(_default(group).world_ranks)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None):
    """A group of the given global ranks.  Every rank of the world must call it (as in torch);
    ranks outside it get GroupMember.NON_GROUP_MEMBER."""
    world = _default()
    ranks = sorted(set(range(world.size()) if ranks is None else ranks))
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is out of range for world size {world.size()}")
    # everyone arrives before the (blocking) communicator creation: a dead rank times out here
    from .work import poll
    poll([world.comm.Ibarrier()], world.deadline(), "new_group", world)
    mpi_group = world.comm.Get_group().Incl(ranks)
    comm = world.comm.Create(mpi_group)
    mpi_group.Free()
    if comm == _mpi.mpi().COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    seconds = world.timeout if timeout is None else _seconds(timeout)
    return ProcessGroup(comm, ranks, seconds, world.backend, group_desc or f"group{ranks}")


def destroy_process_group(group=None):
    """Release a group (the default one: every group; init_process_group may be called again)."""
    if group is None or group is GroupMember.WORLD:
        group = GroupMember.WORLD
        GroupMember.WORLD = None
    if group is None or group is GroupMember.NON_GROUP_MEMBER:
        return
    comm, group.comm = group.comm, None
    if comm is not None and group.broken is None:
        comm.Free()
    group.broken = group.broken or "the process group was destroyed"
