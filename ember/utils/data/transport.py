"""How a batch travels from a worker to the main process: through shared memory, not pickled bytes.

Worker side.  Each worker owns a small pool of shared segments (``WorkerArena``).  While a batch is
built, ``default_collate`` stacks tensors straight into a free segment; the batch is then pickled
with a ``persistent_id`` hook that replaces every tensor/array by ``(segment, offset, shape,
strides, dtype)``.  Arrays that are not in the arena yet are copied in (small ones, under
``INLINE_BYTES``, stay inline: a copy is cheaper than the bookkeeping).  What goes through the pipe
is only the skeleton: a few hundred bytes for an image batch.

Main side.  ``BatchReceiver`` maps each segment once (``/proc/<worker>/fd/<fd>``, see
ember.runtime.shared_memory) and rebuilds the batch as views of it: zero copies.  Each (batch,
segment) pair gets its own NumPy "slab" object that all of the batch's tensors hang from; when the
user drops the batch the slab dies and a finalizer queues the segment's release, which the next
task message to that worker carries.  A worker reuses a segment only when the parent released it
*and* its own view of it is gone, so nobody ever sees memory overwritten under them.

Segments are anonymous memory files: nothing is ever created in /dev/shm, so no failure can leak a
segment; memory is returned when the last process holding it unmaps it.
"""
from __future__ import annotations

import collections
import io
import pickle
import weakref

import numpy as np

from ember.frontend import dispatch
from ember.frontend.tensor import Tensor
from ember.runtime import shared_memory as shared
from ember.shapes import prod

INLINE_BYTES = 16 * 1024   # smaller arrays are pickled inline
ALIGN = 64                 # cache-line aligned allocations
MAX_FREE_SEGMENTS = 2      # free segments a worker keeps beyond those the parent holds


class _Segment:
    __slots__ = ("id", "buf", "capacity", "announced", "in_parent", "slab_ref")

    def __init__(self, seg_id, buf):
        self.id = seg_id
        self.buf = buf
        self.capacity = len(buf)
        self.announced = False    # the parent has been told how to map it
        self.in_parent = False    # a batch the parent has not released yet uses it
        self.slab_ref = None      # weakref to this worker's last view of it

    def reusable(self):
        return not self.in_parent and (self.slab_ref is None or self.slab_ref() is None)


class WorkerArena:
    """A worker's pool of shared segments and the bump allocator of the batch being built."""

    def __init__(self):
        self.segments: dict[int, _Segment] = {}
        self._next_id = 0
        self.hint = 0              # bytes the largest batch so far needed: new segments fit it
        self.active = None         # [segment, slab, cursor] for each segment this batch uses
        self.retired: list[int] = []

    # --- allocation ---------------------------------------------------------------------------
    def begin(self):
        self.active = []

    def empty(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = dtype.itemsize * prod(shape)
        if nbytes == 0 or self.active is None:
            return np.empty(shape, dtype)
        return self._alloc(nbytes).view(dtype).reshape(shape)

    def _alloc(self, nbytes):
        for entry in self.active:
            seg, slab, cursor = entry
            start = -(-cursor // ALIGN) * ALIGN
            if start + nbytes <= seg.capacity:
                entry[2] = start + nbytes
                return slab[start:start + nbytes]
        seg = self._acquire(nbytes)
        slab = np.frombuffer(seg.buf, np.uint8)
        seg.slab_ref = weakref.ref(slab)
        self.active.append([seg, slab, nbytes])
        return slab[:nbytes]

    def _acquire(self, nbytes):
        want = max(nbytes, self.hint)
        free = sorted((s for s in self.segments.values()
                       if s.capacity >= nbytes and s.reusable()), key=lambda s: s.capacity)
        for seg in free:
            if seg.capacity >= want:
                return seg
        if free:
            return free[-1]
        seg = _Segment(self._next_id, shared.create(want))
        self._next_id += 1
        self.segments[seg.id] = seg
        return seg

    def locate(self, array):
        """(segment id, byte offset) if ``array`` lies in a segment of the current batch."""
        addr = array.__array_interface__["data"][0]
        low, high = shared.byte_extent(array)
        for seg, _, _ in self.active:
            base = seg.buf.address
            if base <= addr + low and addr + high <= base + seg.capacity:
                return seg.id, addr - base
        return None

    # --- batch lifecycle ----------------------------------------------------------------------
    def finish(self):
        """The batch is encoded: its segments now belong to the parent until released.  Returns
        (used ids, [(id, fd, size)] of segments the parent has not seen, retired ids)."""
        used, new = [], []
        total = 0
        for seg, _, cursor in self.active:
            seg.in_parent = True
            used.append(seg.id)
            total += cursor
            if not seg.announced:
                seg.announced = True
                new.append((seg.id, seg.buf.fd, seg.capacity))
        self.hint = max(self.hint, total)
        self.active = None
        self._trim()
        retired, self.retired = self.retired, []
        return used, new, retired

    def abort(self):
        self.active = None

    def release(self, seg_ids):
        for sid in seg_ids:
            seg = self.segments.get(sid)
            if seg is not None:
                seg.in_parent = False

    def _trim(self):
        # a user who held many batches made the pool grow; give the memory back once released
        free = [s for s in self.segments.values() if s.reusable()]
        free.sort(key=lambda s: s.capacity, reverse=True)
        for seg in free[MAX_FREE_SEGMENTS:]:
            del self.segments[seg.id]
            if seg.announced:
                self.retired.append(seg.id)


class _BatchPickler(pickle.Pickler):
    def __init__(self, file, arena):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arena = arena

    def persistent_id(self, obj):
        cls = type(obj)
        if cls is Tensor:
            arr = obj._data
            kind = 1 if obj._requires_grad else 0
        elif cls is np.ndarray:
            arr = obj
            kind = 2
        else:
            return None
        if arr.dtype.hasobject or arr.nbytes == 0:
            return None
        loc = self.arena.locate(arr)
        if loc is None:
            if arr.nbytes < INLINE_BYTES:
                return None
            dst = self.arena.empty(arr.shape, arr.dtype)
            np.copyto(dst, arr)
            arr = dst
            loc = self.arena.locate(dst)
        return (kind, loc[0], loc[1], arr.shape, arr.strides, arr.dtype)


def encode(data, arena):
    """Worker side: ``data`` -> (skeleton bytes, used ids, new segments, retired ids).  Call
    ``arena.begin()`` before the batch is built (so collate can allocate in the arena)."""
    if arena is None:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), [], [], []
    buf = io.BytesIO()
    try:
        _BatchPickler(buf, arena).dump(data)
    except BaseException:
        arena.abort()
        raise
    return (buf.getvalue(),) + arena.finish()


class _ReleaseBox:
    """Segments the user has let go of, per worker, waiting to ride on the next task message.
    Finalizers may run on any thread: deques make append/pop atomic."""

    def __init__(self, num_workers):
        self.queues = [collections.deque() for _ in range(num_workers)]

    def release(self, worker_id, seg_id):
        self.queues[worker_id].append(seg_id)

    def take(self, worker_id):
        q, out = self.queues[worker_id], []
        while True:
            try:
                out.append(q.popleft())
            except IndexError:
                return out


class _BatchUnpickler(pickle.Unpickler):
    def __init__(self, file, slabs):
        super().__init__(file)
        self.slabs = slabs

    def persistent_load(self, pid):
        kind, seg_id, offset, shape, strides, dtype = pid
        arr = np.ndarray(shape, dtype, buffer=self.slabs[seg_id], offset=offset, strides=strides)
        if kind == 2:
            return arr
        t = dispatch._new(arr)
        if kind == 1:
            t.requires_grad_(True)
        return t


class BatchReceiver:
    """Main side: maps workers' segments and rebuilds batches as views of them."""

    def __init__(self, num_workers):
        self.buffers: dict[tuple, shared.SharedBuffer] = {}
        self.box = _ReleaseBox(num_workers)

    def _update(self, worker_id, pid, new, retired):
        for seg_id, fd, _ in new:
            self.buffers[(worker_id, seg_id)] = shared.attach_proc(pid, fd)
        for seg_id in retired:
            self.buffers.pop((worker_id, seg_id), None)

    def decode(self, worker_id, pid, payload, used, new, retired):
        self._update(worker_id, pid, new, retired)
        if not used:
            return pickle.loads(payload)
        slabs = {}
        for seg_id in used:
            slab = np.frombuffer(self.buffers[(worker_id, seg_id)], np.uint8)
            weakref.finalize(slab, self.box.release, worker_id, seg_id).atexit = False
            slabs[seg_id] = slab
        return _BatchUnpickler(io.BytesIO(payload), slabs).load()

    def discard(self, worker_id, pid, payload, used, new, retired):
        """A batch nobody will read (stale epoch): keep the segment table right, release at once."""
        self._update(worker_id, pid, new, retired)
        for seg_id in used:
            self.box.release(worker_id, seg_id)

    def releases_for(self, worker_id):
        return self.box.take(worker_id)

    def close(self):
        self.buffers.clear()
