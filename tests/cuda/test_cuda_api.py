"""ember.cuda without CUDA (compared with torch.cuda on the CPU-only wheel) and with the fake
host-memory runtime installed (streams, events, memory counters, device arrays, pinned memory)."""
import subprocess
import sys
import time

import numpy as np
import pytest

import ember
import ember.cuda
from ember.runtime import cuda as rt
from ember.runtime.allocator import SMALL_BUFFER, LARGE_BUFFER, OutOfMemoryError

MiB = 1 << 20


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(rt, "_active", None)
    monkeypatch.setattr(rt, "_unavailable", "the test says so")


@pytest.fixture
def fake():
    f = rt.FakeRuntime(devices=2, capacity=256 * MiB)
    prev = rt.install(f)
    yield f
    rt.install(prev)


@pytest.fixture(params=["fake", "cuda"])
def device_rt(request):
    """The fake runtime, and the real driver runtime where a GPU is present (the GPU check runs
    these on a GPU machine; here the 'cuda' cases skip)."""
    if request.param == "fake":
        f = rt.FakeRuntime(devices=2, capacity=256 * MiB)
        prev = rt.install(f)
        yield f
        rt.install(prev)
    else:
        if not rt.is_available() or rt.runtime().name != "cuda-driver":
            pytest.skip("no CUDA device (ember.cuda.is_available() is False)")
        yield rt.runtime()


# --- without CUDA: like a CPU-only PyTorch ---------------------------------------------------------
def test_without_cuda_matches_cpu_only_torch(no_cuda):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("the oracle torch has CUDA")
    for name in ("is_available", "device_count", "memory_allocated", "max_memory_allocated",
                 "memory_reserved", "max_memory_reserved", "is_bf16_supported",
                 "is_initialized"):
        assert getattr(ember.cuda, name)() == getattr(torch.cuda, name)(), name
    assert ember.cuda.memory_stats() == dict(torch.cuda.memory_stats())
    assert ember.cuda.empty_cache() is None and torch.cuda.empty_cache() is None
    assert ember.cuda.manual_seed(1) is None and ember.cuda.manual_seed_all(1) is None
    for name, args in [("current_device", ()), ("synchronize", ()), ("get_device_name", ()),
                       ("current_stream", ()), ("mem_get_info", ()), ("init", ()),
                       ("get_device_properties", (0,))]:
        with pytest.raises(AssertionError):                # torch: "not compiled with CUDA"
            getattr(torch.cuda, name)(*args)
        with pytest.raises(AssertionError, match="CUDA is not available: the test says so"):
            getattr(ember.cuda, name)(*args)


def test_without_cuda_device_functions_raise_clear_errors(no_cuda):
    for fn in (lambda: ember.cuda.set_device(0), ember.cuda.reset_peak_memory_stats,
               ember.cuda.memory_summary, ember.cuda.Stream,
               lambda: ember.cuda.Event(enable_timing=True)):
        with pytest.raises(RuntimeError, match="CUDA is not available.*use device='cpu'"):
            fn()
    with pytest.raises(RuntimeError, match="CUDA is not available: the test says so"):
        ember.zeros(2, device="cuda:0")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        ember.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        ember.ones(2).to("cuda")
    assert ember.cuda.memory_snapshot() == []
    with ember.cuda.stream(None):
        pass


def test_importing_ember_does_not_import_cuda_bindings():
    code = ("import sys, ember, ember.nn, ember.cuda, ember.amp; "
            "print(any(m == 'cuda' or m.startswith('cuda.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_package_is_reported_as_the_reason():
    code = ("import sys; sys.modules['cuda'] = None; import ember.cuda as c; "
            "print(c.is_available()); from ember.runtime import cuda; "
            "print(cuda.unavailable_reason())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, reason = out.stdout.strip().splitlines()
    assert first == "False" and "cuda-bindings" in reason and "ember[cuda]" in reason


# --- with the fake runtime ------------------------------------------------------------------------
def test_device_queries(fake):
    c = ember.cuda
    assert c.is_available() and c.device_count() == 2 and c.is_initialized()
    assert c.current_device() == 0 and c.get_device_name() == "ember fake GPU"
    c.set_device(1)
    assert c.current_device() == 1
    with c.device(0):
        assert c.current_device() == 0
    assert c.current_device() == 1
    c.set_device("cuda:0")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        c.set_device(5)
    with pytest.raises(ValueError, match="Expected a cuda device"):
        c.set_device("cpu")
    p = c.get_device_properties(0)
    assert p.total_memory == 256 * MiB and (p.major, p.minor) == (9, 0)
    assert c.mem_get_info() == (256 * MiB, 256 * MiB)
    c.synchronize()
    assert c.is_bf16_supported()


def test_memory_counters_follow_device_arrays(fake):
    c = ember.cuda
    assert c.memory_allocated() == 0
    a = rt.DeviceArray.empty((1000,), np.float32)          # 4000 B -> 4096
    assert c.memory_allocated() == 4096 and c.memory_reserved() == SMALL_BUFFER
    b = rt.DeviceArray.empty((3 * MiB // 4,), np.float32)  # 3 MiB, large pool
    assert c.memory_allocated() == 4096 + 3 * MiB
    assert c.memory_reserved() == SMALL_BUFFER + LARGE_BUFFER
    del b
    assert c.memory_allocated() == 4096 and c.max_memory_allocated() == 4096 + 3 * MiB
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == 4096
    c.empty_cache()
    assert c.memory_reserved() == SMALL_BUFFER
    assert c.mem_get_info()[0] == 256 * MiB - SMALL_BUFFER
    assert "Allocated memory" in c.memory_summary()
    assert c.memory_stats()["allocation.all.current"] == 1
    assert c.memory_snapshot()[0]["allocated_size"] == 4096
    assert c.memory_allocated(1) == 0
    del a


def test_device_oom_error(fake):
    keep = rt.DeviceArray.empty((200 * MiB,), np.uint8)
    with pytest.raises(OutOfMemoryError, match=r"Tried to allocate 100\.00 MiB.*total capacity "
                                              r"of 256\.00 MiB.*200\.00 MiB is allocated"):
        rt.DeviceArray.empty((100 * MiB,), np.uint8)
    assert isinstance(ember.cuda.OutOfMemoryError("x"), RuntimeError)
    del keep


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.bool_, np.uint8])
def test_device_array_round_trip(device_rt, dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    d = rt.DeviceArray.from_host(x)
    assert d.shape == (2, 3, 4) and d.dtype == x.dtype and d.strides == x.strides
    assert d.ndim == 3 and d.size == 24 and d.nbytes == x.nbytes and d.is_c_contiguous()
    np.testing.assert_array_equal(d.to_host(), x)
    iface = d.__cuda_array_interface__
    assert iface["version"] == 3 and iface["data"][0] == d.data_ptr() and iface["strides"] is None
    assert iface["typestr"] == x.dtype.str


def test_device_array_views_copies_and_empty(device_rt):
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    d = rt.DeviceArray.from_host(x)
    t = d.view((6, 4), (1, 6))                      # transpose: shares the buffer
    assert t.buffer is d.buffer and not t.is_c_contiguous()
    np.testing.assert_array_equal(t.to_host(), x.T)
    s = d.view((2, 3), (6, 2), offset_elements=7)    # x[1:3, 1::2]
    np.testing.assert_array_equal(s.to_host(), x[1:3, 1::2])
    r = d.view((4,), (-6,), offset_elements=18)      # x[::-1, 0], a negative stride
    np.testing.assert_array_equal(r.to_host(), x[::-1, 0])
    c = d.copy()
    assert c.buffer is not d.buffer
    np.testing.assert_array_equal(c.to_host(), x)
    d.copy_from(np.ones((4, 6), np.float32))
    np.testing.assert_array_equal(d.to_host(), 1)
    np.testing.assert_array_equal(c.to_host(), x)
    z = rt.DeviceArray.zeros((3,), np.int32)
    np.testing.assert_array_equal(z.to_host(), 0)
    e = rt.DeviceArray.from_host(np.empty((0, 5), np.float32))
    assert e.to_host().shape == (0, 5)
    assert d.reinterpret(np.int32).to_host()[0, 0] == np.float32(1).view(np.int32)
    with pytest.raises(RuntimeError, match="shapes and dtypes must match"):
        d.copy_from(np.ones((2, 2), np.float32))
    with pytest.raises(RuntimeError, match="same size"):
        d.reinterpret(np.float64)


def test_buffer_returns_to_the_cache_when_the_last_view_dies(device_rt):
    base = ember.cuda.memory_allocated()
    d = rt.DeviceArray.from_host(np.zeros(1000, np.float32))
    v = d.view((10,), (1,))
    del d
    assert ember.cuda.memory_allocated() == base + 4096    # the view keeps the buffer
    del v
    assert ember.cuda.memory_allocated() == base


def test_pinned_memory_and_non_blocking_copies(device_rt):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert not rt.is_pinned(x)
    p = rt.pin_memory(x)
    assert rt.is_pinned(p) and not np.shares_memory(p, x)
    np.testing.assert_array_equal(p, x)
    assert rt.pin_memory(p) is p
    assert rt.is_pinned(p[1:])
    copies = getattr(device_rt, "copies", [])
    copies.clear()
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        d = rt.DeviceArray.from_host(p, non_blocking=True)
        s.synchronize()
    if device_rt.name == "fake":
        assert copies == [("htod", 48, s.cuda_stream)]   # on the side stream
    np.testing.assert_array_equal(d.to_host(), x)
    n_pinned = len(rt._pinned_ranges)
    del p
    import gc
    gc.collect()
    assert len(rt._pinned_ranges) == n_pinned - 1         # page-locked memory freed


def test_streams_and_stream_context(fake):
    c = ember.cuda
    default = c.current_stream()
    assert default.cuda_stream == 0 and default == c.default_stream()
    s = c.Stream()
    assert s.cuda_stream != 0 and s.query() and s.device == ember.device("cuda:0")
    with c.stream(s):
        assert c.current_stream() is s
        a = rt.DeviceArray.empty((10,), np.float32)
        assert a.buffer.stream == s.cuda_stream     # allocated on the stream in use
        s2 = c.Stream(device=1)
        with c.stream(s2):
            assert c.current_device() == 1 and c.current_stream() is s2
        assert c.current_device() == 0 and c.current_stream() is s
    assert c.current_stream() == default
    s.wait_stream(c.Stream())
    s.synchronize()
    assert s in {s} and "cuda_stream" in repr(s)


def test_events_time_work(device_rt):
    c = ember.cuda
    start, end = c.Event(enable_timing=True), c.Event(enable_timing=True)
    with pytest.raises(RuntimeError, match="recorded before"):
        start.elapsed_time(end)
    start.record()
    time.sleep(0.02)
    end.record()
    end.synchronize()
    assert end.query()
    assert 15 <= start.elapsed_time(end) < 2000
    plain = c.Event()
    plain.record()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        plain.elapsed_time(end)
    plain.wait()
    c.current_stream().wait_event(plain)


def test_seeding(fake):
    c = ember.cuda
    c.manual_seed(123)
    assert c.initial_seed() == 123
    from ember.cuda.random import next_seed
    a = [next_seed(0) for _ in range(3)]
    c.manual_seed(123)
    assert [next_seed(0) for _ in range(3)] == a and len(set(a)) == 3
    state = c.get_rng_state()
    b = next_seed(0)
    c.set_rng_state(state)
    assert next_seed(0) == b
    c.manual_seed_all(7)
    with c.device(1):
        assert c.initial_seed() == 7


def test_driver_runtime_without_a_driver_is_unavailable():
    """With cuda-bindings importable but no driver (this CPU machine), DriverRuntime fails to
    start and is_available() is False; skipped where the package is absent."""
    pytest.importorskip("cuda.bindings")
    with pytest.raises(Exception):
        rt.DriverRuntime()
