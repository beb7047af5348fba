"""The eager GPU executor (ember.codegen.triton.gpu_eager) on FakeRuntime device arrays, kernels through
the Triton interpreter: the kernel cache, strided inputs read in place, 0-d/empty tensors,
integer/bool dtypes, the host fallback, and copy_into (strided writes)."""
import numpy as np
import pytest

import ember
from ember.ops.registry import REGISTRY as P
from ember.runtime import cuda as rt
from ember.codegen.triton import gpu_copy, gpu_eager


from .conftest import fake_only


@pytest.fixture(scope="module", autouse=True)
def fake_gpu(gpu_module):
    return gpu_module


def dev(a):
    return rt.DeviceArray.from_host(np.asarray(a))


def host(d):
    return d.to_host()


def test_second_call_hits_the_cache_and_only_launches():
    a, b = dev(np.arange(6.0).reshape(2, 3)), dev(np.full((2, 3), 0.5))
    before = dict(gpu_eager.STATS)
    out1 = gpu_eager.run(P["mul"], [a, b], {})
    mid = dict(gpu_eager.STATS)
    out2 = gpu_eager.run(P["mul"], [a, b], {})
    after = dict(gpu_eager.STATS)
    assert mid["compiles"] - before["compiles"] <= 1          # a miss compiles once
    assert after["compiles"] == mid["compiles"]               # the hit compiles nothing
    assert after["launches"] == mid["launches"] + 1
    assert out1.buffer is not out2.buffer                     # every call gets a fresh output
    np.testing.assert_array_equal(host(out2), np.arange(6.0).reshape(2, 3) * 0.5)
    # another shape is another kernel; the first one is still cached
    gpu_eager.run(P["mul"], [dev(np.ones(4)), dev(np.ones(4))], {})
    assert gpu_eager.STATS["compiles"] == after["compiles"] + 1
    gpu_eager.run(P["mul"], [a, b], {})
    assert gpu_eager.STATS["compiles"] == after["compiles"] + 1


def test_outputs_come_from_the_caching_allocator():
    a = dev(np.ones((64,), np.float32))
    gpu_eager.run(P["exp"], [a], {})       # compile; its output is freed back to the cache
    alloc = rt.runtime().allocator(0)
    device_allocs = alloc.counters["num_device_alloc"]
    allocations = alloc.stats["allocation"]["all"].allocated
    out = gpu_eager.run(P["exp"], [a], {})
    assert out.nbytes == 256 and out.buffer.block.size >= 256
    assert alloc.stats["allocation"]["all"].allocated == allocations + 1   # one block: the output
    assert alloc.counters["num_device_alloc"] == device_allocs             # from the cache


@fake_only
def test_strided_inputs_are_read_in_place_without_copies():
    h = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    a = dev(h)
    t = gpu_eager.run(P["permute"], [a], {"dims": (2, 0, 1)})
    s = gpu_eager.run(P["slice"], [t], {"starts": (1, 0, 0), "stops": (4, 2, 3),
                                        "steps": (2, 1, 2)})
    assert not s.is_c_contiguous() and s.buffer is a.buffer
    fake = rt.runtime()
    gpu_eager.run(P["neg"], [s], {})       # compile first
    n_copies = len(fake.copies)
    out = gpu_eager.run(P["neg"], [s], {})
    assert len(fake.copies) == n_copies    # no host or device copy: the kernel reads the view
    np.testing.assert_array_equal(host(out), -h.transpose(2, 0, 1)[1:4:2, :, ::2])
    # broadcast (zero-stride) operand
    row = gpu_eager.run(P["expand"], [dev(np.arange(4.0, dtype=np.float32)[None])],
                        {"shape": (3, 4)})
    got = gpu_eager.run(P["add"], [row, dev(np.ones((3, 4), np.float32))], {})
    np.testing.assert_array_equal(host(got), np.arange(4.0)[None] + np.ones((3, 4)))
    # a reduction and a matmul over transposed operands
    m = gpu_eager.run(P["permute"], [dev(np.arange(12.0).reshape(3, 4))], {"dims": (1, 0)})
    np.testing.assert_allclose(host(gpu_eager.run(P["sum"], [m], {"dims": (0,)})),
                               np.arange(12.0).reshape(3, 4).T.sum(0, keepdims=True))
    np.testing.assert_allclose(host(gpu_eager.run(P["matmul"], [m, dev(np.ones((3, 2)))], {})),
                               np.arange(12.0).reshape(3, 4).T @ np.ones((3, 2)))


def test_zero_dim_and_empty_tensors():
    x = dev(np.array(1.5, np.float32))
    out = gpu_eager.run(P["exp"], [x], {})
    assert out.shape == () and np.isclose(host(out), np.exp(np.float32(1.5)))
    e = dev(np.zeros((0, 3), np.float32))
    out = gpu_eager.run(P["add"], [e, e], {})
    assert out.shape == (0, 3) and host(out).shape == (0, 3)
    s = gpu_eager.run(P["sum"], [e], {"dims": (0,)})
    np.testing.assert_array_equal(host(s), np.zeros((1, 3), np.float32))


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_and_bool_dtypes(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, (3, 4)).astype(dtype)
    b = rng.integers(1, 5, (3, 4)).astype(dtype)
    got = gpu_eager.run(P["add"], [dev(a), dev(b)], {})
    want = P["add"].numpy(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(host(got), want)
    got = gpu_eager.run(P["amax"], [dev(a)], {"dims": (1,)})
    np.testing.assert_array_equal(host(got), P["amax"].numpy(a, dims=(1,)))
    if dtype != "bool":
        got = gpu_eager.run(P["floor_divide"], [dev(a), dev(b)], {})
        np.testing.assert_array_equal(host(got), P["floor_divide"].numpy(a, b))
    else:
        got = gpu_eager.run(P["logical_xor"], [dev(a), dev(b)], {})
        np.testing.assert_array_equal(host(got), a ^ b)


def test_primitives_without_a_lowering_run_on_the_host():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 2.5, 1.5]], np.float32)
    before = gpu_eager.STATS["host_fallback"]
    out = gpu_eager.run(P["argsort"], [dev(x)], {"dim": 1, "descending": False})
    np.testing.assert_array_equal(host(out), np.argsort(x, axis=1, kind="stable"))
    assert gpu_eager.STATS["host_fallback"] == before + 1
    gpu_eager.run(P["argsort"], [dev(x)], {"dim": 1, "descending": False})   # still host, cached
    assert gpu_eager.STATS["host_fallback"] == before + 2


def test_sources():
    f = gpu_eager.run(P["full"], [], {"shape": (2, 3), "value": 2.5, "dtype": ember.float32},
                      device=0)
    np.testing.assert_array_equal(host(f), np.full((2, 3), 2.5, np.float32))
    z = gpu_eager.run(P["full"], [], {"shape": (4,), "value": -0.0, "dtype": ember.float32},
                      device=0)
    assert np.signbit(host(z)).all()                  # -0.0 is not a memset of zeros
    r = gpu_eager.run(P["arange"], [], {"start": 0, "end": 5, "step": 1, "dtype": ember.int64},
                      device=0)
    np.testing.assert_array_equal(host(r), np.arange(5))


def test_float_params_are_keyed_by_value_bits():
    x = dev(np.ones((2,), np.float32))
    pads = ((1, 1),)
    a = gpu_eager.run(P["pad"], [x], {"pads": pads, "value": 0.0})
    b = gpu_eager.run(P["pad"], [x], {"pads": pads, "value": -0.0})
    c = gpu_eager.run(P["pad"], [x], {"pads": [(1, 1)], "value": float("nan")})   # a list param
    assert not np.signbit(host(a)[0]) and np.signbit(host(b)[0])
    assert np.isnan(host(c)[0]) and host(c)[1] == 1


def test_copy_into_strided_destinations_casts_broadcasts_and_overlaps():
    h = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    a = dev(h)
    # a strided destination, a broadcast source of another dtype
    dst = gpu_eager.run(P["slice"], [a], {"starts": (0, 0, 1), "stops": (2, 3, 4),
                                          "steps": (1, 2, 2)})
    gpu_eager.copy_into(dst, dev(np.array([7, 8], np.int64)))
    want = h.copy()
    np.copyto(want[:, ::2, 1::2], np.array([7, 8]), casting="unsafe")
    np.testing.assert_array_equal(host(a), want)
    # a permuted source into a contiguous destination: the copy kernel
    t = gpu_eager.run(P["permute"], [a], {"dims": (2, 0, 1)})
    out = rt.DeviceArray.zeros((4, 2, 3), np.float32)
    k = gpu_copy.STATS["kernel"]
    gpu_eager.copy_into(out, t)
    assert gpu_copy.STATS["kernel"] == k + 1
    np.testing.assert_array_equal(host(out), want.transpose(2, 0, 1))
    # contiguous both: one memcpy
    m = gpu_copy.STATS["memcpy"]
    gpu_eager.copy_into(out, dev(np.ones((4, 2, 3), np.float32)))
    assert gpu_copy.STATS["memcpy"] == m + 1 and (host(out) == 1).all()
    # overlapping views of one buffer: read before written, like np.copyto
    x = dev(np.arange(6.0))
    sl = lambda a_, b_: gpu_eager.run(P["slice"], [x], {"starts": (a_,), "stops": (b_,),
                                                          "steps": (1,)})
    gpu_eager.copy_into(sl(1, 6), sl(0, 5))
    np.testing.assert_array_equal(host(x), [0, 0, 1, 2, 3, 4])
    # float -> bool and bfloat16 round trip
    bdst = rt.DeviceArray.zeros((3,), np.bool_)
    gpu_eager.copy_into(bdst, dev(np.array([0.0, -2.0, 0.5])))
    np.testing.assert_array_equal(host(bdst), [False, True, True])
    with pytest.raises(RuntimeError, match="broadcast"):
        gpu_eager.copy_into(out, dev(np.ones(5, np.float32)))


def test_same_dtype_convert_is_a_fresh_copy_and_contiguous_copies_views():
    h = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    a = dev(h)
    copies = gpu_eager.STATS["memcpy"]
    c = gpu_eager.run(P["convert"], [a], {"dtype": ember.float32})   # clone()
    assert c.buffer is not a.buffer and c.is_c_contiguous()
    assert gpu_eager.STATS["memcpy"] == copies + 1                     # a memcpy, no kernel
    gpu_eager.copy_into(c, dev(np.zeros((2, 3), np.float32)))
    np.testing.assert_array_equal(host(a), h)                          # the source is untouched
    assert gpu_eager.contiguous(a) is a
    t = gpu_eager.run(P["permute"], [a], {"dims": (1, 0)})
    ct = gpu_eager.contiguous(t)
    assert ct.is_c_contiguous() and ct.buffer is not a.buffer
    np.testing.assert_array_equal(host(ct), h.T)


@pytest.mark.parametrize("accumulate", [True, False])
def test_one_element_index_put_and_scatter(accumulate):
    """A one-element destination makes the store offset a constant: it must still be a block
    over the lanes (found by the index_select_0d backward on cuda)."""
    z = dev(np.zeros(1, np.float32))
    out = gpu_eager.run(P["index_put"], [z, dev(np.ones(1, np.float32)),
                                         dev(np.zeros(1, np.int64))],
                        {"positions": (0,), "accumulate": accumulate})
    np.testing.assert_array_equal(host(out), [1.0])
    out = gpu_eager.run(P["scatter_add"], [z, dev(np.zeros(1, np.int64)),
                                           dev(np.full(1, 2.0, np.float32))], {"dim": 0})
    np.testing.assert_array_equal(host(out), [2.0])


@fake_only
def test_triton_launches_are_pointed_at_embers_device_and_stream(monkeypatch):
    """On a GPU (not the interpreter) Triton's current device/stream queries are replaced by
    ember's once, so kernels go to ember's current stream.  Checked with a stand-in driver: the
    real one needs a GPU."""
    import types

    import triton.runtime

    from ember.runtime import gpu_buffers, triton_interop
    fake = types.SimpleNamespace(active=types.SimpleNamespace(
        get_current_device=lambda: -1, get_current_stream=lambda device: -1))
    monkeypatch.setattr(triton.runtime, "driver", fake)
    monkeypatch.setattr(triton_interop, "interpreting", lambda: False)
    monkeypatch.setattr(gpu_buffers, "_hooked", [False])
    gpu_buffers._hook_triton_streams()
    s = rt.runtime().stream_create(0)
    rt.set_current_stream_handle(0, s)
    try:
        assert fake.active.get_current_device() == 0
        assert fake.active.get_current_stream(0) == s
    finally:
        rt.set_current_stream_handle(0, 0)


def test_a_kernel_that_fails_to_build_falls_back_to_the_host_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise NotImplementedError("no lowering in this test")
    monkeypatch.setattr(gpu_eager, "_compile", broken)
    x = dev(np.array([1.0, -2.0, 3.0], np.float32))
    with pytest.warns(RuntimeWarning, match=r"no Triton kernel for abs\(float32\[3\]\)"):
        out = gpu_eager.run(P["abs"], [x], {})
    np.testing.assert_array_equal(host(out), [1.0, 2.0, 3.0])
    assert gpu_eager.FAILURES[-1][0] == "abs(float32[3])"
    gpu_eager.FAILURES.pop()
    gpu_eager._CACHE.pop((P["abs"], (np.dtype(np.float32), (3,), (4,))))
