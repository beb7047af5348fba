"""The collectives and point-to-point calls of torch.distributed, on CPU tensors of every dtype.

Each call starts one non-blocking MPI operation on the tensor's memory (or a contiguous staging
copy) and returns a Work (``async_op=True``) or waits for it against the group's timeout.  Ranks
given as ``src``/``dst``/``peer`` are global ranks, as in torch; the ``group_*`` variants take
ranks within the group.  Results are written in place; the tensors' version counters are bumped.
Under ``ember.compile`` a collective reads tensor values, so it is a graph break (the traced code
around it still compiles; see docs/distributed.md).
"""
from __future__ import annotations

import numpy as np

from ..frontend.dispatch import _new
from ..frontend.tensor import Tensor
from . import _mpi
from .datatypes import reduction, wire
from .process_group import _default
from .reduce_ops import ReduceOp
from .work import Work


# --- tensors to buffers -----------------------------------------------------------------------
def _host(t, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected an ember Tensor, got {type(t).__name__}")
    if t._value is not None:    # traced: a graph break (the value is needed)
        t._no_trace(f"ember.distributed.{what}()")
    d = t._data
    if not isinstance(d, np.ndarray):
        raise RuntimeError(f"{what}: the 'mpi' backend handles CPU tensors; got a tensor on "
                           f"{t.device} (GPU tensors need backend='nccl')")
    return d


def _readable(t, what):
    """A C-contiguous array of t's values (t's own memory when possible)."""
    return np.ascontiguousarray(_host(t, what))


def _writable(t, what):
    """(contiguous array MPI may write, write_back()) for an output tensor."""
    d = _host(t, what)
    if not d.flags.writeable:
        raise RuntimeError(f"{what}: the output tensor is read-only")
    if d.flags.c_contiguous:
        return d, t._bump_version
    staging = np.array(d, order="C")    # in-place ops (all_reduce) read the values too

    def write_back():
        np.copyto(d, staging)
        t._bump_version()
    return staging, write_back


def _spec(array):
    """mpi4py's [buffer, count, datatype] for a contiguous array (0-d and empty included)."""
    buf, dt = wire(array.reshape(-1))
    return [buf, buf.size, dt]


def _blocks(array, n):
    """The spec of a buffer holding one block per rank (MPI counts are per rank there)."""
    buf, dt = wire(array.reshape(-1))
    return [buf, buf.size // n if n else 0, dt]


def _same(tensors, like, what, dtype_only=False):
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: element {i} of the tensor list is a {type(t).__name__}")
        if t.dtype != like.dtype:
            raise RuntimeError(f"{what}: tensor {i} of the list has dtype {t.dtype}, expected "
                               f"{like.dtype}")
        if not dtype_only and tuple(t.shape) != tuple(like.shape):
            raise RuntimeError(f"{what}: tensor {i} of the list has shape {list(t.shape)}, "
                               f"expected {list(like.shape)}")


def _list_len(tensors, g, what, name):
    if len(tensors) != g.size():
        raise ValueError(f"{what}: {name} must hold one tensor per rank ({g.size()}), got "
                         f"{len(tensors)}")


def _divide(array, n):
    np.divide(array, np.asarray(n, array.dtype), out=array)


def _root(g, rank, group_rank, what, name):
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"{what}: pass either {name} or group_{name}, not both")
        if not 0 <= group_rank < g.size():
            raise ValueError(f"{what}: group_{name}={group_rank} is out of range for a group of "
                             f"{g.size()}")
        return group_rank
    return g.group_rank(0 if rank is None else rank, name)


def _launch(g, what, requests, finish, async_op, result=(), status=None):
    work = Work(requests, g, what, finish, result, status)
    if async_op:
        return work
    work.wait()
    return None


def _after(*steps):
    def finish():
        for s in steps:
            if s is not None:
                s()
    return finish


# --- reductions ---------------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    g = _default(group)
    arr, back = _writable(tensor, "all_reduce")
    req = g.comm.Iallreduce(_mpi.mpi().IN_PLACE, _spec(arr), reduction(op, arr.dtype)[1])
    avg = (lambda: _divide(arr, g.size())) if op is ReduceOp.AVG else None
    return _launch(g, "all_reduce", [req], _after(avg, back), async_op, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    g = _default(group)
    root = _root(g, dst, group_dst, "reduce", "dst")
    MPI = _mpi.mpi()
    if g.rank() == root:
        arr, back = _writable(tensor, "reduce")
        req = g.comm.Ireduce(MPI.IN_PLACE, _spec(arr), reduction(op, arr.dtype)[1], root)
        avg = (lambda: _divide(arr, g.size())) if op is ReduceOp.AVG else None
        return _launch(g, "reduce", [req], _after(avg, back), async_op, [tensor])
    arr = _readable(tensor, "reduce")
    req = g.comm.Ireduce(_spec(arr), None, reduction(op, arr.dtype)[1], root)
    return _launch(g, "reduce", [req], None, async_op, [tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """input: the per-rank blocks concatenated along dim 0 (or stacked); output: this rank's."""
    g = _default(group)
    what = "reduce_scatter_tensor"
    if output.dtype != input.dtype:
        raise RuntimeError(f"{what}: output dtype {output.dtype} != input dtype {input.dtype}")
    if input.numel() != output.numel() * g.size():
        raise ValueError(f"{what}: input of shape {list(input.shape)} must hold world size "
                         f"({g.size()}) times the output's {list(output.shape)} elements")
    return _reduce_scatter(g, output, _readable(input, what), op, async_op, what)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    g = _default(group)
    what = "reduce_scatter"
    _list_len(input_list, g, what, "input_list")
    _same(input_list, output, what)
    send = np.stack([_host(t, what) for t in input_list]) if input_list else None
    return _reduce_scatter(g, output, send, op, async_op, what)


def _reduce_scatter(g, output, send, op, async_op, what):
    arr, back = _writable(output, what)
    req = g.comm.Ireduce_scatter_block(_blocks(send, g.size()), _spec(arr),
                                        reduction(op, arr.dtype)[1])
    avg = (lambda: _divide(arr, g.size())) if op is ReduceOp.AVG else None
    return _launch(g, what, [req], _after(avg, back), async_op, [output])


# --- data movement ------------------------------------------------------------------------------
def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    g = _default(group)
    root = _root(g, src, group_src, "broadcast", "src")
    if g.rank() == root:
        arr, back = _readable(tensor, "broadcast"), None
    else:
        arr, back = _writable(tensor, "broadcast")
    req = g.comm.Ibcast(_spec(arr), root)
    return _launch(g, "broadcast", [req], back, async_op, [tensor])


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output: the ranks' inputs concatenated along dim 0 (or stacked on a new dim 0)."""
    g = _default(group)
    what = "all_gather_into_tensor"
    if output_tensor.dtype != input_tensor.dtype:
        raise RuntimeError(f"{what}: output dtype {output_tensor.dtype} != input dtype "
                           f"{input_tensor.dtype}")
    if output_tensor.numel() != input_tensor.numel() * g.size():
        raise ValueError(f"{what}: output of shape {list(output_tensor.shape)} must hold world "
                         f"size ({g.size()}) times the input's {list(input_tensor.shape)} elements")
    send = _readable(input_tensor, what)
    arr, back = _writable(output_tensor, what)
    req = g.comm.Iallgather(_spec(send), _blocks(arr, g.size()))
    return _launch(g, what, [req], back, async_op, [output_tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    g = _default(group)
    what = "all_gather"
    _list_len(tensor_list, g, what, "tensor_list")
    _same(tensor_list, tensor, what)
    send = _readable(tensor, what)
    recv = np.empty((g.size(),) + send.shape, send.dtype)
    req = g.comm.Iallgather(_spec(send), _blocks(recv, g.size()))
    return _launch(g, what, [req], _scatter_into(tensor_list, recv, what), async_op, tensor_list)


def _scatter_into(tensors, stacked, what):
    """finish(): copy block i of a staging array into tensors[i]."""
    def finish():
        for t, block in zip(tensors, stacked):
            np.copyto(_host(t, what), block.reshape(t._data.shape))
            t._bump_version()
    return finish


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    g = _default(group)
    what = "gather"
    root = _root(g, dst, group_dst, what, "dst")
    send = _readable(tensor, what)
    if g.rank() != root:
        if gather_list:
            raise ValueError("gather: gather_list must be empty (or None) on non-destination "
                             "ranks")
        req = g.comm.Igather(_spec(send), None, root)
        return _launch(g, what, [req], None, async_op)
    if gather_list is None:
        raise ValueError("gather: gather_list is required on the destination rank")
    _list_len(gather_list, g, what, "gather_list")
    _same(gather_list, tensor, what)
    recv = np.empty((g.size(),) + send.shape, send.dtype)
    req = g.comm.Igather(_spec(send), _blocks(recv, g.size()), root)
    return _launch(g, what, [req], _scatter_into(gather_list, recv, what), async_op, gather_list)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    g = _default(group)
    what = "scatter"
    root = _root(g, src, group_src, what, "src")
    arr, back = _writable(tensor, what)
    send = None
    if g.rank() == root:
        if scatter_list is None:
            raise ValueError("scatter: scatter_list is required on the source rank")
        _list_len(scatter_list, g, what, "scatter_list")
        _same(scatter_list, tensor, what)
        send = _blocks(np.stack([_host(t, what) for t in scatter_list]), g.size())
    elif scatter_list:
        raise ValueError("scatter: scatter_list must be empty (or None) on non-source ranks")
    req = g.comm.Iscatter(send, _spec(arr), root)
    return _launch(g, what, [req], back, async_op, [tensor])


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Rank i's block j of ``input`` (dim 0, split by input_split_sizes or evenly) lands as block
    i of rank j's ``output``."""
    g = _default(group)
    what = "all_to_all_single"
    if output.dtype != input.dtype:
        raise RuntimeError(f"{what}: output dtype {output.dtype} != input dtype {input.dtype}")
    send = _readable(input, what)
    arr, back = _writable(output, what)
    s_counts = _counts(send, input_split_sizes, g.size(), what, "input")
    r_counts = _counts(arr, output_split_sizes, g.size(), what, "output")
    req = g.comm.Ialltoallv(_v_spec(send, s_counts), _v_spec(arr, r_counts))
    return _launch(g, what, [req], back, async_op, [output])


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    g = _default(group)
    what = "all_to_all"
    _list_len(output_tensor_list, g, what, "output_tensor_list")
    _list_len(input_tensor_list, g, what, "input_tensor_list")
    if input_tensor_list:
        _same(input_tensor_list + output_tensor_list, input_tensor_list[0], what,
              dtype_only=True)
    dtype = input_tensor_list[0]._data.dtype if input_tensor_list else np.float32
    send = np.concatenate([_host(t, what).reshape(-1) for t in input_tensor_list]).astype(dtype)
    r_counts = [t.numel() for t in output_tensor_list]
    recv = np.empty(sum(r_counts), dtype)
    req = g.comm.Ialltoallv(_v_spec(send, [t.numel() for t in input_tensor_list]),
                            _v_spec(recv, r_counts))
    offsets = np.cumsum([0] + r_counts)
    blocks = [recv[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    return _launch(g, what, [req], _scatter_into(output_tensor_list, blocks, what), async_op,
                   output_tensor_list)


def _counts(array, splits, n, what, name):
    rows = array.shape[0] if array.ndim else 1
    row = array.size // rows if rows else 0
    if splits is None:
        if rows % n:
            raise ValueError(f"{what}: {name} dim 0 ({rows}) does not split evenly over {n} "
                             f"ranks; pass {name}_split_sizes")
        return [rows // n * row] * n
    splits = list(splits)
    if len(splits) != n or sum(splits) != rows:
        raise ValueError(f"{what}: {name}_split_sizes {splits} must have {n} entries summing to "
                         f"dim 0 ({rows})")
    return [s * row for s in splits]


def _v_spec(array, counts):
    buf, dt = wire(array.reshape(-1))
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    return [buf, (list(counts), displs), dt]


def barrier(group=None, async_op=False, device_ids=None):
    g = _default(group)
    return _launch(g, "barrier", [g.comm.Ibarrier()], None, async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises after ``timeout`` (default: the group's) if a rank does not arrive."""
    g = _default(group)
    Work([g.comm.Ibarrier()], g, "monitored_barrier").wait(timeout)


# --- point to point -----------------------------------------------------------------------------
def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    g = _default(group)
    peer = _root(g, dst, group_dst, "isend", "dst")
    send = _readable(tensor, "isend")      # kept alive by the closure until completion
    req = g.comm.Isend(_spec(send), peer, tag)
    return Work([req], g, "isend", lambda: send, [tensor])


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    g = _default(group)
    MPI = _mpi.mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else \
        _root(g, src, group_src, "irecv", "src")
    arr, back = _writable(tensor, "irecv")
    status = MPI.Status()
    req = g.comm.Irecv(_spec(arr), peer, tag)
    return Work([req], g, "irecv", back, [tensor], status=status)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor``; returns the sender's global rank."""
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work.source_rank()


class P2POp:
    """One isend/irecv for batch_isend_irecv."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("P2POp: op must be ember.distributed.isend or irecv")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list):
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]


# --- Python objects (pickled into uint8 tensors) -------------------------------------------------
def _pickle(obj):
    import pickle
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _unpickle(array):
    import pickle
    return pickle.loads(array.tobytes())


def all_gather_object(object_list, obj, group=None):
    g = _default(group)
    _list_len(object_list, g, "all_gather_object", "object_list")
    data = _pickle(obj)
    sizes = _new(np.zeros(g.size(), np.int64))
    all_gather_into_tensor(sizes, _new(np.array([data.size], np.int64)), group)
    width = int(sizes._data.max())
    out = _new(np.zeros((g.size(), width), np.uint8))
    padded = np.zeros(width, np.uint8)
    padded[:data.size] = data
    all_gather_into_tensor(out, _new(padded), group)
    for i, n in enumerate(sizes._data.tolist()):
        object_list[i] = _unpickle(out._data[i, :n])


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    g = _default(group)
    root = _root(g, src, group_src, "broadcast_object_list", "src")
    data = _pickle(list(object_list)) if g.rank() == root else None
    size = _new(np.array([0 if data is None else data.size], np.int64))
    broadcast(size, group=g, group_src=root)
    buf = _new(data.copy() if data is not None else np.zeros(int(size._data[0]), np.uint8))
    broadcast(buf, group=g, group_src=root)
    if g.rank() != root:
        object_list[:] = _unpickle(buf._data)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    g = _default(group)
    gathered = [None] * g.size()
    all_gather_object(gathered, obj, group)    # small objects: one all-gather is simplest
    if g.rank() == _root(g, dst, group_dst, "gather_object", "dst"):
        object_gather_list[:] = gathered


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    g = _default(group)
    root = _root(g, src, group_src, "scatter_object_list", "src")
    objs = list(scatter_object_input_list) if g.rank() == root else None
    holder = [objs]
    broadcast_object_list(holder, group=g, group_src=root)
    scatter_object_output_list[0] = holder[0][g.rank()]
