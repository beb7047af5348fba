"""DistributedDataParallel: one model replica per process; gradients averaged across processes.

Like PyTorch's: parameters and buffers are broadcast from rank 0 at construction (buffers again
before every forward with ``broadcast_buffers``); gradients are grouped into buckets (reverse
parameter order, a first bucket of at most 1 MiB then ``bucket_cap_mb``, one dtype per bucket) and
each bucket is all-reduced, without blocking, from autograd's post-accumulate-grad hooks as soon
as all its gradients are in, so communication can overlap the rest of backward.  Buckets start in
index order on every rank (MPI needs the same collective order everywhere).  The last gradient waits for the
outstanding buckets and writes the averages back into ``.grad``.

Under ``ember.compile``, DDP's forward and each bucket's launch are graph breaks: a compiled model
or training step runs as compiled segments around them, with eager's results (docs/distributed.md).
"""
from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ... import distributed as dist
from ...frontend.autograd import FunctionNode, Node
from ...frontend.dispatch import STATE, _new
from ...frontend.tensor import Tensor
from ..modules.module import Module

_MIB = 1 << 20
_FIRST_BUCKET_BYTES = _MIB      # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    """Gradients of a few parameters of one dtype, reduced as one flat buffer.

    A gradient is copied in its memory order (a transposed, Fortran-ordered weight gradient is a
    plain memcpy, not a 25x slower transposing copy).  Every rank must use the same order, so the
    buffer ends with one slot per parameter holding 1 where this rank copied it transposed: after
    the SUM a slot is 0 or the world size when the ranks agreed; a parameter they disagree on is
    reduced again in logical order (every rank sees the same sums, so all take that path)."""

    def __init__(self, index, params):
        self.index = index
        self.params = params
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.n = self.offsets[-1]
        self.flat = np.zeros(self.n + len(params), params[0]._data.dtype)
        self.transposed = [False] * len(params)
        self.pending = len(params)
        self.work = None

    def pack(self, i, grad):
        """Copy gradient array ``grad`` (None: zeros) of parameter i into the buffer."""
        dst = self.flat[self.offsets[i]:self.offsets[i + 1]]
        t = grad is not None and not grad.flags.c_contiguous and grad.flags.f_contiguous
        self.transposed[i] = t
        self.flat[self.n + i] = 1 if t else 0
        if grad is None:
            dst[...] = 0
        else:
            np.copyto(dst.reshape(grad.T.shape if t else grad.shape), grad.T if t else grad)

    def unpack(self, i, grad):
        """Copy parameter i's reduced values into gradient array ``grad`` (same memory order)."""
        src = self.flat[self.offsets[i]:self.offsets[i + 1]]
        t = self.transposed[i]
        np.copyto(grad.T if t else grad, src.reshape(grad.T.shape if t else grad.shape))

    def layouts_agree(self, i, world):
        return self.flat[self.n + i] == (world if self.transposed[i] else 0)


def assign_buckets(params, cap_bytes, first_cap_bytes=_FIRST_BUCKET_BYTES):
    """Lists of parameters, one per bucket: reverse order, split by dtype, a bucket closed once it
    reaches its cap (so a parameter larger than the cap is alone in its bucket)."""
    buckets, open_ = [], {}
    for p in reversed(params):
        key = p.dtype
        cur = open_.setdefault(key, [[], 0])
        cur[0].append(p)
        cur[1] += p.numel() * p._data.dtype.itemsize
        cap = min(first_cap_bytes, cap_bytes) if not buckets else cap_bytes
        if cur[1] >= cap:
            buckets.append(cur[0])
            del open_[key]
    buckets.extend(c[0] for c in open_.values() if c[0])
    return buckets


def _tensors_in(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    return out


def _reachable_leaves(outputs):
    """ids of the leaf tensors the outputs' autograd graph reaches (find_unused_parameters)."""
    leaves, seen, stack = set(), set(), []
    for t in _tensors_in(outputs, []):
        if t._grad_fn is not None:
            stack.append(t._grad_fn)
        elif t._requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for e in node.next:
            if e is None:
                continue
            if isinstance(e[0], (Node, FunctionNode)):
                stack.append(e[0])
            else:
                leaves.add(id(e[0]))
    return leaves


class DistributedDataParallel(Module):
    """torch.nn.parallel.DistributedDataParallel on ember.distributed (CPU tensors, MPI)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got "
                            f"{type(module).__name__}")
        params = list(dict.fromkeys(p for p in module.parameters() if p.requires_grad))
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        self.module = module
        self.process_group = dist.process_group._default(process_group)
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MIB)
        self._params = params
        self._verify_same_params()
        if init_sync:
            self._broadcast_state(include_params=True)
        self._buckets = [_Bucket(i, ps) for i, ps in
                         enumerate(assign_buckets(params, self.bucket_bytes_cap))]
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._active = False        # a backward of a synced forward is expected
        self._next = 0              # the next bucket to launch (index order on every rank)
        self._unused = ()
        ref = weakref.ref(self)
        self._handles = [p.register_post_accumulate_grad_hook(
            lambda p, ref=ref: ref() is not None and ref()._grad_ready(p)) for p in params]

    # --- construction -------------------------------------------------------------------------
    def _verify_same_params(self):
        g = self.process_group
        mine = [(tuple(p.shape), str(p.dtype)) for p in self._params]
        every = [None] * g.size()
        dist.all_gather_object(every, mine, group=g)
        for r, theirs in enumerate(every):
            if theirs != mine:
                raise RuntimeError(f"DistributedDataParallel: rank {r}'s model has parameters "
                                   f"{theirs}, this rank ({g.rank()}) has {mine}; every rank must "
                                   f"wrap the same model")

    def _broadcast_state(self, include_params):
        """Rank 0's parameters (optionally) and buffers, one flat broadcast per dtype."""
        tensors = list(self.module.buffers())
        if include_params:
            tensors = list(self.module.parameters()) + tensors
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            flat = np.concatenate([np.ascontiguousarray(t._data).reshape(-1) for t in group])
            holder = _new(flat)
            dist.broadcast(holder, src=self.process_group.global_rank(0),
                           group=self.process_group)
            start = 0
            for t in group:
                n = t.numel()
                np.copyto(t._data, flat[start:start + n].reshape(t._data.shape))
                t._bump_version()
                start += n

    # --- forward --------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._active:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new "
                "one. This error indicates that your module has parameters that were not used in "
                "producing loss. You can enable unused parameter detection by passing the keyword "
                "argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
                "function outputs participate in calculating loss.")
        if STATE.tracer is not None:
            # under ember.compile: a graph break, so this Python (the reducer's per-iteration
            # state, the buffer broadcast) runs on every call instead of being skipped by a
            # compiled replay of the wrapped module
            from ...frontend.trace import data_dependent_error   # at call time: segments patch it
            data_dependent_error("DistributedDataParallel.forward")
        if self.broadcast_buffers and self.require_forward_param_sync and \
                self.process_group.size() > 1 and any(True for _ in self.module.buffers()):
            self._broadcast_state(include_params=False)
        out = self.module(*inputs, **kwargs)
        if STATE.grad_enabled and self.require_backward_grad_sync:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
        self._next = 0
        self._unused = ()
        if self.find_unused_parameters:
            used = _reachable_leaves(out)
            self._unused = {id(p) for p in self._params if id(p) not in used}
            for p in self._params:
                if id(p) in self._unused:
                    self._bucket_of[id(p)].pending -= 1
        self._active = True

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside accumulate gradients locally (no communication);
        the first synced backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # --- backward: the reducer ---------------------------------------------------------------
    def _grad_ready(self, p):
        if not self._active:
            return
        try:
            self._bucket_of[id(p)].pending -= 1
            self._launch_ready()
            if self._next == len(self._buckets):
                self._finish()
            else:
                for b in self._buckets[:self._next]:   # let MPI move launched buckets along
                    b.work.is_completed()
        except BaseException:
            # an interrupted iteration (a graph break while tracing, a failed peer): start over at
            # the next forward instead of reporting an unfinished reduction
            self._active = False
            raise

    def _launch_ready(self):
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            b = self._buckets[self._next]
            for i, p in enumerate(b.params):
                g = p.grad
                if g is None or id(p) in self._unused:
                    b.pack(i, None)
                    continue
                g._no_trace("DistributedDataParallel's gradient all-reduce")
                b.pack(i, g._data)
            b.work = dist.all_reduce(_new(b.flat), group=self.process_group, async_op=True)
            self._next += 1
        if self._next == len(self._buckets) and self._unused:
            # which locally unused parameters some other rank used (their grads get the average)
            used = np.array([id(p) not in self._unused for p in self._params], np.uint8)
            self._used_map = used
            self._used_work = dist.all_reduce(_new(used), op=dist.ReduceOp.MAX,
                                              group=self.process_group, async_op=True)

    def _finish(self):
        self._active = False
        n = self.process_group.size()
        used = None
        if self._unused:
            self._used_work.wait()
            used = {id(p) for p, u in zip(self._params, self._used_map) if u}
        for b in self._buckets:
            b.work.wait()
            grads = b.flat[:b.n]
            np.divide(grads, np.asarray(n, grads.dtype), out=grads)
            for i, p in enumerate(b.params):
                if used is not None and id(p) not in used:
                    continue        # no rank used it: its gradient stays as it was
                if not b.layouts_agree(i, n):
                    self._reduce_alone(p)
                    continue
                if p.grad is None:
                    p.grad = _new(np.empty(p._data.shape, grads.dtype))
                    b.transposed[i] = False
                b.unpack(i, p.grad._data)
                p.grad._bump_version()

    def _reduce_alone(self, p):
        """The ranks copied p's gradient in different memory orders: reduce it again by itself,
        in logical order (rare: the ranks' backward passes differed)."""
        g = p.grad if p.grad is not None and id(p) not in self._unused else \
            _new(np.zeros(p._data.shape, p._data.dtype))
        dist.all_reduce(g, op=dist.ReduceOp.AVG, group=self.process_group)
        p.grad = g
