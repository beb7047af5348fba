"""A caching device-memory allocator, modelled on PyTorch's CUDACachingAllocator.

Asking the driver for memory (cuMemAlloc) is slow and synchronises the device, so freed blocks are
kept and handed out again.  The rules follow PyTorch's so that memory numbers compare:

* every request is rounded up to a multiple of 512 bytes;
* requests up to 1 MiB come from the *small* pool, whose segments (driver allocations) are 2 MiB;
  larger requests come from the *large* pool: below 10 MiB they share 20 MiB segments, above that
  a segment is the request rounded up to 2 MiB;
* a free block is found by best fit (the smallest cached block that is large enough, on the same
  stream); a block larger than needed is split when the rest is worth keeping (>= 512 B in the
  small pool, > 1 MiB in the large pool), and freed neighbours in one segment merge again;
* when the driver says out of memory, the cached (wholly free) segments are released and the
  allocation retried once; if it still fails, ``OutOfMemoryError`` says how much was asked for, how
  much is allocated, how much is cached, and the device's capacity.

The allocator talks to a raw-memory *backend*: ``malloc(nbytes) -> ptr`` (raising
``BackendOutOfMemory`` when the device is full), ``free(ptr)`` and ``mem_get_info() -> (free,
total)``.  ``ember.runtime.cuda`` has the driver backend; ``FakeBackend`` here is bookkeeping with a
capacity limit (optionally over real host memory) so all of this is tested without a GPU.

Depends on nothing but the standard library (and NumPy for the host-memory fake).
"""
from __future__ import annotations

import bisect
import itertools
import threading

MIN_BLOCK = 512                 # every size is a multiple of this
SMALL_SIZE = 1 << 20            # requests up to this size use the small pool
SMALL_BUFFER = 2 << 20          # small-pool segment size
MIN_LARGE_ALLOC = 10 << 20      # large requests below this share a LARGE_BUFFER segment
LARGE_BUFFER = 20 << 20
ROUND_LARGE = 2 << 20           # bigger segments are rounded up to this


class BackendOutOfMemory(Exception):
    """Raised by a backend's malloc when the device cannot provide the bytes."""


class OutOfMemoryError(RuntimeError):
    """torch.cuda.OutOfMemoryError: a RuntimeError whose message explains the memory state."""


def round_size(nbytes):
    if nbytes < MIN_BLOCK:
        return MIN_BLOCK
    return -(-nbytes // MIN_BLOCK) * MIN_BLOCK


def segment_size(size):
    if size <= SMALL_SIZE:
        return SMALL_BUFFER
    if size < MIN_LARGE_ALLOC:
        return LARGE_BUFFER
    return -(-size // ROUND_LARGE) * ROUND_LARGE


def format_size(nbytes):
    """PyTorch's human-readable size ("20.00 MiB")."""
    if nbytes < 1024:
        return f"{nbytes} bytes"
    if nbytes < 1 << 20:
        return f"{nbytes / 1024:.2f} KiB"
    if nbytes < 1 << 30:
        return f"{nbytes / (1 << 20):.2f} MiB"
    return f"{nbytes / (1 << 30):.2f} GiB"


class Block:
    """A piece of a segment.  ``prev``/``next`` link the blocks of one segment in address order."""
    __slots__ = ("ptr", "size", "requested", "segment", "small", "stream", "allocated", "prev",
                 "next", "__weakref__")

    def __init__(self, ptr, size, segment, small, stream):
        self.ptr = ptr
        self.size = size
        self.requested = 0
        self.segment = segment          # the segment's base pointer
        self.small = small
        self.stream = stream
        self.allocated = False
        self.prev = None
        self.next = None

    def is_split(self):
        return self.prev is not None or self.next is not None

    def __repr__(self):
        state = "allocated" if self.allocated else "free"
        return f"Block(ptr={self.ptr:#x}, size={self.size}, {state}, stream={self.stream})"


class _Pool:
    """Free blocks ordered by (stream, size, address): bisect gives the best fit."""

    def __init__(self):
        self.keys = []
        self.blocks = {}

    def add(self, b):
        key = (b.stream, b.size, b.ptr)
        bisect.insort(self.keys, key)
        self.blocks[key] = b

    def remove(self, b):
        key = (b.stream, b.size, b.ptr)
        i = bisect.bisect_left(self.keys, key)
        del self.keys[i]
        del self.blocks[key]

    def best_fit(self, stream, size):
        i = bisect.bisect_left(self.keys, (stream, size, -1))
        if i < len(self.keys) and self.keys[i][0] == stream:
            return self.blocks[self.keys[i]]
        return None

    def __iter__(self):
        return iter(list(self.blocks.values()))

    def __len__(self):
        return len(self.keys)


class Stat:
    __slots__ = ("current", "peak", "allocated", "freed")

    def __init__(self):
        self.current = self.peak = self.allocated = self.freed = 0

    def add(self, n):
        self.current += n
        self.allocated += n
        if self.current > self.peak:
            self.peak = self.current

    def sub(self, n):
        self.current -= n
        self.freed += n

    def reset_peak(self):
        self.peak = self.current

    def reset_accumulated(self):
        self.allocated = self.freed = 0


def _grow(stats, n):
    """Stat.add(n) on each of ``stats``, inlined (a malloc/free pair updates ~30 counters)."""
    for st in stats:
        cur = st.current = st.current + n
        st.allocated += n
        if cur > st.peak:
            st.peak = cur


def _shrink(stats, n):
    for st in stats:
        st.current -= n
        st.freed += n


_STAT_NAMES = ("allocation", "segment", "active", "inactive_split", "allocated_bytes",
               "reserved_bytes", "active_bytes", "inactive_split_bytes", "requested_bytes")


class CachingAllocator:
    """One device's caching allocator.  ``malloc`` returns a ``Block`` (``block.ptr`` is the
    address); give it back with ``free(block)``."""

    def __init__(self, backend, device=0):
        self.backend = backend
        self.device = device
        self.pools = {True: _Pool(), False: _Pool()}     # small?, free blocks
        self.segments = {}                                # base ptr -> segment size
        self.heads = {}                                   # base ptr -> first block of the segment
        self.lock = threading.RLock()
        self.stats = {name: {"all": Stat(), "small_pool": Stat(), "large_pool": Stat()}
                      for name in _STAT_NAMES}
        self.counters = {"num_alloc_retries": 0, "num_ooms": 0, "num_device_alloc": 0,
                         "num_device_free": 0, "num_sync_all_streams": 0}
        # per pool (small?), the Stat objects every malloc/free updates, looked up once here:
        # the eager GPU path allocates an output per op, so this is a hot path
        self._hot = {small: tuple((self.stats[n]["all"],
                                   self.stats[n]["small_pool" if small else "large_pool"])
                                  for n in ("allocation", "active", "allocated_bytes",
                                            "active_bytes", "requested_bytes", "inactive_split",
                                            "inactive_split_bytes"))
                     for small in (True, False)}

    # --- stats helpers ----------------------------------------------------------------------------
    def _add(self, name, small, n):
        s = self.stats[name]
        s["all"].add(n)
        s["small_pool" if small else "large_pool"].add(n)

    def _sub(self, name, small, n):
        s = self.stats[name]
        s["all"].sub(n)
        s["small_pool" if small else "large_pool"].sub(n)

    def _split_free_change(self, b, sign):
        """A free block that is part of a split segment counts as an inactive split."""
        if b.prev is not None or b.next is not None:
            hot = self._hot[b.small]
            if sign > 0:
                _grow(hot[5], 1)
                _grow(hot[6], b.size)
            else:
                _shrink(hot[5], 1)
                _shrink(hot[6], b.size)

    def _to_pool(self, b):
        self.pools[b.small].add(b)
        self._split_free_change(b, +1)

    def _from_pool(self, b):
        self.pools[b.small].remove(b)
        self._split_free_change(b, -1)

    # --- allocation -------------------------------------------------------------------------------
    def malloc(self, nbytes, stream=0):
        if nbytes < 0:
            raise RuntimeError(f"ember: cannot allocate a negative number of bytes ({nbytes})")
        with self.lock:
            if nbytes == 0:      # like PyTorch: no memory, a null pointer
                return Block(0, 0, 0, True, stream)
            size = round_size(nbytes)
            small = size <= SMALL_SIZE
            b = self.pools[small].best_fit(stream, size)
            if b is not None:
                self._from_pool(b)
            else:
                b = self._new_segment(size, small, stream, nbytes)
            rest = b.size - size
            if (rest >= MIN_BLOCK) if small else (rest > SMALL_SIZE):
                tail = Block(b.ptr + size, rest, b.segment, small, stream)
                tail.prev, tail.next = b, b.next
                if b.next is not None:
                    b.next.prev = tail
                b.next = tail
                b.size = size
                self._to_pool(tail)
            b.allocated = True
            b.requested = nbytes
            count, active, alloc_bytes, active_bytes, requested = self._hot[small][:5]
            _grow(count + active, 1)
            _grow(alloc_bytes + active_bytes, b.size)
            _grow(requested, nbytes)
            return b

    def _new_segment(self, size, small, stream, nbytes):
        seg = segment_size(size)
        try:
            ptr = self.backend.malloc(seg)
        except BackendOutOfMemory:
            self.counters["num_alloc_retries"] += 1
            self._release_cached()
            try:
                ptr = self.backend.malloc(seg)
            except BackendOutOfMemory:
                self.counters["num_ooms"] += 1
                raise OutOfMemoryError(self._oom_message(nbytes)) from None
        self.counters["num_device_alloc"] += 1
        self.segments[ptr] = seg
        self._add("segment", small, 1)
        self._add("reserved_bytes", small, seg)
        b = self.heads[ptr] = Block(ptr, seg, ptr, small, stream)
        return b

    def _oom_message(self, nbytes):
        free, total = self.backend.mem_get_info()
        allocated = self.stats["allocated_bytes"]["all"].current
        reserved = self.stats["reserved_bytes"]["all"].current
        return (f"CUDA out of memory. Tried to allocate {format_size(round_size(nbytes))}. "
                f"GPU {self.device} has a total capacity of {format_size(total)} of which "
                f"{format_size(free)} is free. Of the allocated memory {format_size(allocated)} is "
                f"allocated by ember, and {format_size(reserved - allocated)} is reserved by ember "
                f"but unallocated (cached). If reserved but unallocated memory is large, "
                f"fragmentation may be the cause: free tensors you no longer need, or call "
                f"ember.cuda.empty_cache() between phases.")

    # --- freeing ----------------------------------------------------------------------------------
    def free(self, b):
        with self.lock:
            if b.size == 0:
                return
            if not b.allocated:
                raise RuntimeError(f"ember: double free of {b!r}")
            b.allocated = False
            count, active, alloc_bytes, active_bytes, requested = self._hot[b.small][:5]
            _shrink(count + active, 1)
            _shrink(alloc_bytes + active_bytes, b.size)
            _shrink(requested, b.requested)
            b.requested = 0
            for nb in (b.prev, b.next):
                if nb is not None and not nb.allocated:
                    self._from_pool(nb)
                    if nb is b.prev:
                        b.ptr, b.prev = nb.ptr, nb.prev
                        if nb.prev is not None:
                            nb.prev.next = b
                        else:
                            self.heads[b.segment] = b
                    else:
                        b.next = nb.next
                        if nb.next is not None:
                            nb.next.prev = b
                    b.size += nb.size
            self._to_pool(b)

    def _release_cached(self):
        """Give every wholly free segment back to the driver (PyTorch's release_cached_blocks)."""
        for small in (True, False):
            for b in self.pools[small]:
                if not b.is_split():
                    self._from_pool(b)
                    self.backend.free(b.ptr)
                    del self.segments[b.ptr]
                    del self.heads[b.ptr]
                    self.counters["num_device_free"] += 1
                    self._sub("segment", small, 1)
                    self._sub("reserved_bytes", small, b.size)

    def empty_cache(self):
        with self.lock:
            self._release_cached()

    # --- reporting --------------------------------------------------------------------------------
    def memory_allocated(self):
        return self.stats["allocated_bytes"]["all"].current

    def max_memory_allocated(self):
        return self.stats["allocated_bytes"]["all"].peak

    def memory_reserved(self):
        return self.stats["reserved_bytes"]["all"].current

    def max_memory_reserved(self):
        return self.stats["reserved_bytes"]["all"].peak

    def reset_peak_memory_stats(self):
        with self.lock:
            for per_pool in self.stats.values():
                for s in per_pool.values():
                    s.reset_peak()

    def reset_accumulated_memory_stats(self):
        with self.lock:
            for per_pool in self.stats.values():
                for s in per_pool.values():
                    s.reset_accumulated()
            for k in self.counters:
                self.counters[k] = 0

    def memory_stats(self):
        """PyTorch's flat dict: ``"allocated_bytes.all.current"`` and friends."""
        out = {}
        for name, per_pool in self.stats.items():
            for pool, s in per_pool.items():
                for field in ("current", "peak", "allocated", "freed"):
                    out[f"{name}.{pool}.{field}"] = getattr(s, field)
        out.update(self.counters)
        out["max_split_size"] = -1
        return dict(sorted(out.items()))

    def snapshot(self):
        """Segments and their blocks, in address order (like torch.cuda.memory_snapshot())."""
        with self.lock:
            segs = []
            for base, head in sorted(self.heads.items()):
                blocks, b = [], head
                while b is not None:
                    blocks.append({"address": b.ptr, "size": b.size, "requested_size": b.requested,
                                   "state": "active_allocated" if b.allocated else "inactive",
                                   "stream": b.stream})
                    b = b.next
                segs.append({"device": self.device, "address": base,
                             "total_size": self.segments[base],
                             "segment_type": "small" if head.small else "large",
                             "allocated_size": sum(x["size"] for x in blocks
                                                   if x["state"] == "active_allocated"),
                             "blocks": blocks})
            return segs

    def memory_summary(self, abbreviated=False):
        st = self.memory_stats()
        rows = [("Allocated memory", "allocated_bytes", True),
                ("Active memory", "active_bytes", True),
                ("Requested memory", "requested_bytes", True),
                ("GPU reserved memory", "reserved_bytes", True),
                ("Non-releasable memory", "inactive_split_bytes", True),
                ("Allocations", "allocation", False),
                ("Active allocs", "active", False),
                ("GPU reserved segments", "segment", False),
                ("Non-releasable allocs", "inactive_split", False)]
        width = 75
        line = "|" + "=" * width + "|"
        thin = "|" + "-" * width + "|"
        out = [line, "|" + f" ember CUDA memory summary, device ID {self.device} ".center(width)
               + "|", thin,
               "|" + f"  CUDA OOMs: {st['num_ooms']:<13d}| cudaMalloc retries: "
                     f"{st['num_alloc_retries']:<10d}".ljust(width) + "|",
               line,
               "|" + "        Metric         | Cur Usage  | Peak Usage | Tot Alloc  | Tot Freed  "
               .ljust(width) + "|", thin]

        def cell(v, is_bytes):
            return (_short_size(v) if is_bytes else str(v)).rjust(10)

        for title, key, is_bytes in rows:
            pools = ("all",) if abbreviated else ("all", "large_pool", "small_pool")
            for pool in pools:
                label = {"all": title, "large_pool": "      from large pool",
                         "small_pool": "      from small pool"}[pool]
                vals = [st[f"{key}.{pool}.{f}"] for f in ("current", "peak", "allocated", "freed")]
                out.append("|" + (f" {label:<22}|" + "|".join(f" {cell(v, is_bytes)} " for v in vals))
                           .ljust(width) + "|")
            out.append(thin)
        out[-1] = line
        return "\n".join(out) + "\n"


def _short_size(n):
    """PyTorch's memory_summary cell: the largest unit that keeps the number above 768."""
    unit, pref = "B  ", n
    for new in ("KiB", "MiB", "GiB", "TiB"):
        if pref < 768 * 1024:
            break
        unit, n, pref = new, n // 1024, pref / 1024
    return f"{n:6d} {unit}"


# --- backends --------------------------------------------------------------------------------------
class RawBackend:
    """What the allocator needs from a device: raw memory, and how much is free."""
    name = "abstract"

    def malloc(self, nbytes):            # -> int address; raises BackendOutOfMemory when full
        raise NotImplementedError

    def free(self, ptr):
        raise NotImplementedError

    def mem_get_info(self):              # -> (free bytes, total bytes)
        raise NotImplementedError


class FakeBackend(RawBackend):
    """A device with ``capacity`` bytes, for tests.  ``host_memory=False``: pure bookkeeping
    (addresses are numbers, nothing is touched).  ``host_memory=True``: every segment is a NumPy
    byte array, so blocks can really be written and read (``array_at(ptr, nbytes)``)."""
    name = "fake"

    def __init__(self, capacity=1 << 30, host_memory=False):
        self.capacity = capacity
        self.host_memory = host_memory
        self.used = 0
        self.live = {}                   # ptr -> nbytes (or the array when host_memory)
        self.mallocs = 0
        self.frees = 0
        self._next = itertools.count(1)

    def malloc(self, nbytes):
        if self.used + nbytes > self.capacity:
            raise BackendOutOfMemory(nbytes)
        if self.host_memory:
            import numpy as np
            arr = np.zeros(nbytes + MIN_BLOCK, np.uint8)
            ptr = -(-arr.ctypes.data // MIN_BLOCK) * MIN_BLOCK    # 512-byte aligned like cuMemAlloc
            self.live[ptr] = (nbytes, arr)
        else:
            # disjoint, 2 MiB aligned address ranges that are never handed out twice
            ptr = next(self._next) << 40
            self.live[ptr] = (nbytes, None)
        self.used += nbytes
        self.mallocs += 1
        return ptr

    def free(self, ptr):
        nbytes, _ = self.live.pop(ptr)
        self.used -= nbytes
        self.frees += 1

    def mem_get_info(self):
        return self.capacity - self.used, self.capacity

    def array_at(self, ptr, nbytes):
        """The host bytes behind [ptr, ptr + nbytes) (host_memory backends only)."""
        import numpy as np
        for base, (size, arr) in self.live.items():
            if base <= ptr and ptr + nbytes <= base + size:
                off = ptr - arr.ctypes.data
                return arr[off:off + nbytes]
        raise RuntimeError(f"ember: {ptr:#x}+{nbytes} is not inside a live fake segment")
