"""The caching allocator over a fake backend: rounding, pools, splitting, best fit, merging,
stats, empty_cache, OOM message, and a randomized no-overlap check."""
import random

import pytest

from ember.runtime.allocator import (CachingAllocator, FakeBackend, OutOfMemoryError, SMALL_BUFFER,
                                     LARGE_BUFFER, round_size, segment_size, format_size)

MiB = 1 << 20


def make(capacity=1 << 30, **kw):
    be = FakeBackend(capacity, **kw)
    return CachingAllocator(be), be


def test_rounding_and_segment_sizes():
    assert round_size(1) == 512 and round_size(512) == 512 and round_size(513) == 1024
    assert segment_size(512) == SMALL_BUFFER and segment_size(MiB) == SMALL_BUFFER
    assert segment_size(MiB + 512) == LARGE_BUFFER and segment_size(10 * MiB - 512) == LARGE_BUFFER
    assert segment_size(10 * MiB) == 10 * MiB and segment_size(11 * MiB + 1) == 12 * MiB
    assert format_size(100) == "100 bytes" and format_size(20 * MiB) == "20.00 MiB"
    assert format_size(3 << 30) == "3.00 GiB" and format_size(1536) == "1.50 KiB"


def test_small_requests_share_one_segment_and_stats():
    a, be = make()
    b1 = a.malloc(100)
    b2 = a.malloc(1000)
    assert be.mallocs == 1                       # both from one 2 MiB small segment
    assert a.memory_allocated() == 512 + 1024
    assert a.memory_reserved() == SMALL_BUFFER
    assert b2.ptr == b1.ptr + 512                # split: the rest of the segment follows
    st = a.memory_stats()
    assert st["requested_bytes.all.current"] == 1100
    assert st["allocation.small_pool.current"] == 2 and st["segment.all.current"] == 1
    a.free(b1)
    a.free(b2)
    assert a.memory_allocated() == 0 and a.memory_reserved() == SMALL_BUFFER
    assert a.max_memory_allocated() == 1536
    assert st["allocated_bytes.all.peak"] == 1536


def test_freed_block_is_reused_without_driver_call():
    a, be = make()
    b = a.malloc(4 * MiB)
    ptr = b.ptr
    a.free(b)
    b2 = a.malloc(4 * MiB)
    assert b2.ptr == ptr and be.mallocs == 1


def test_best_fit_picks_the_smallest_block_that_fits():
    a, be = make()
    big = a.malloc(30 * MiB)      # own segment: 30 MiB
    mid = a.malloc(12 * MiB)      # own segment: 12 MiB
    a.free(big)
    a.free(mid)
    got = a.malloc(11 * MiB)
    assert got.segment == mid.segment           # 12 MiB segment, not the 30 MiB one
    assert be.mallocs == 2


def test_large_pool_split_only_when_remainder_exceeds_1mib():
    a, _ = make()
    b = a.malloc(19 * MiB + 512)                 # 20 MiB segment, rest < 1 MiB: not split
    assert b.size == LARGE_BUFFER and not b.is_split()
    assert a.memory_allocated() == LARGE_BUFFER
    a.free(b)
    c = a.malloc(2 * MiB)                        # rest 18 MiB: split
    assert c.size == 2 * MiB and c.is_split()
    assert a.memory_stats()["inactive_split_bytes.all.current"] == 18 * MiB


def test_neighbours_merge_back_into_whole_segment():
    a, be = make()
    blocks = [a.malloc(256 * 1024) for _ in range(8)]     # fill the 2 MiB small segment
    assert be.mallocs == 1
    for b in blocks[::2] + blocks[1::2]:
        a.free(b)
    seg = a.snapshot()
    assert len(seg) == 1 and len(seg[0]["blocks"]) == 1
    assert seg[0]["blocks"][0]["size"] == SMALL_BUFFER
    assert a.memory_stats()["inactive_split.all.current"] == 0
    a.empty_cache()
    assert a.memory_reserved() == 0 and be.used == 0 and be.frees == 1


def test_empty_cache_keeps_segments_with_live_blocks():
    a, be = make()
    keep = a.malloc(100)
    drop = a.malloc(12 * MiB)
    a.free(drop)
    a.empty_cache()
    assert a.memory_reserved() == SMALL_BUFFER and be.used == SMALL_BUFFER
    assert a.memory_allocated() == 512
    a.free(keep)


def test_reset_peak():
    a, _ = make()
    b = a.malloc(5 * MiB)
    a.free(b)
    assert a.max_memory_allocated() == 5 * MiB
    a.reset_peak_memory_stats()
    assert a.max_memory_allocated() == 0
    assert a.max_memory_reserved() == LARGE_BUFFER


def test_streams_do_not_share_free_blocks():
    a, be = make()
    b = a.malloc(4 * MiB, stream=1)
    a.free(b)
    c = a.malloc(4 * MiB, stream=2)
    assert c.segment != b.segment and be.mallocs == 2
    d = a.malloc(4 * MiB, stream=1)
    assert d.segment == b.segment


def test_oom_releases_cache_then_retries():
    a, be = make(capacity=40 * MiB)
    x = a.malloc(30 * MiB)
    a.free(x)                                     # cached 30 MiB segment
    y = a.malloc(35 * MiB)                        # does not fit next to it: cache released
    assert a.memory_stats()["num_alloc_retries"] == 1
    assert a.memory_reserved() == 36 * MiB
    a.free(y)


def test_oom_message_names_requested_allocated_cached_and_capacity():
    a, _ = make(capacity=64 * MiB)
    live = a.malloc(30 * MiB)
    small = a.malloc(1000)
    a.free(small)                                 # 2 MiB small segment cached
    with pytest.raises(OutOfMemoryError) as e:
        a.malloc(40 * MiB)
    msg = str(e.value)
    assert "Tried to allocate 40.00 MiB" in msg
    assert "total capacity of 64.00 MiB" in msg
    assert "30.00 MiB is allocated by ember" in msg
    assert "0 bytes is reserved by ember but unallocated" in msg    # the cache was released first
    assert isinstance(e.value, RuntimeError)
    assert a.memory_stats()["num_ooms"] == 1
    a.free(live)


def test_oom_message_reports_fragmented_cache():
    a, _ = make(capacity=44 * MiB)
    blocks = [a.malloc(2 * MiB) for _ in range(10)]   # 20 MiB segment, split
    for b in blocks[::2]:
        a.free(b)                                 # 10 MiB cached in holes, not releasable
    with pytest.raises(OutOfMemoryError) as e:
        a.malloc(30 * MiB)
    assert "10.00 MiB is allocated by ember, and 10.00 MiB is reserved by ember but " \
           "unallocated" in str(e.value)


def test_zero_and_negative_sizes_and_double_free():
    a, be = make()
    z = a.malloc(0)
    assert z.ptr == 0 and be.mallocs == 0 and a.memory_allocated() == 0
    a.free(z)
    with pytest.raises(RuntimeError, match="negative"):
        a.malloc(-1)
    b = a.malloc(10)
    a.free(b)
    with pytest.raises(RuntimeError, match="double free"):
        a.free(b)


def test_memory_summary_text():
    a, _ = make()
    b = a.malloc(3 * MiB)
    text = a.memory_summary()
    assert "memory summary, device ID 0" in text
    for row in ("Allocated memory", "GPU reserved memory", "from large pool", "Allocations",
                "Non-releasable memory", "Cur Usage", "Peak Usage", "Tot Freed"):
        assert row in text
    assert "3072 KiB" in text and "20480 KiB" in text
    a.free(b)
    assert len(a.memory_summary(abbreviated=True).splitlines()) < len(text.splitlines())


def test_host_memory_fake_backend_blocks_are_writable():
    a, be = make(host_memory=True)
    b1 = a.malloc(1000)
    b2 = a.malloc(1000)
    be.array_at(b1.ptr, 1000)[:] = 1
    be.array_at(b2.ptr, 1000)[:] = 2
    assert b1.ptr % 512 == 0
    assert int(be.array_at(b1.ptr, 1000).sum()) == 1000
    assert int(be.array_at(b2.ptr, 1000).sum()) == 2000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_randomized_alloc_free_never_overlaps(seed):
    rng = random.Random(seed)
    a, be = make(capacity=256 * MiB)
    live = []
    peak = 0
    for step in range(1500):
        if live and (rng.random() < 0.45 or len(live) > 60):
            a.free(live.pop(rng.randrange(len(live))))
        else:
            n = rng.choice([rng.randrange(1, 4096), rng.randrange(1, 2 * MiB),
                            rng.randrange(1, 24 * MiB)])
            try:
                live.append(a.malloc(n, stream=rng.choice([0, 0, 0, 1])))
            except OutOfMemoryError:
                continue
            assert live[-1].size >= n
        spans = sorted((b.ptr, b.ptr + b.size) for b in live)
        for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
            assert e0 <= s1, f"overlap at step {step}"
        for b in live:   # each live block lies inside one of the backend's segments
            assert any(base <= b.ptr and b.ptr + b.size <= base + size
                       for base, (size, _) in be.live.items())
        alloc = sum(b.size for b in live)
        peak = max(peak, alloc)
        assert a.memory_allocated() == alloc
        assert a.memory_reserved() == be.used
        if step % 300 == 0:
            a.empty_cache()
            assert a.memory_reserved() == be.used
    assert a.max_memory_allocated() == peak
    for b in live:
        a.free(b)
    a.empty_cache()
    assert be.used == 0 and a.memory_reserved() == 0
