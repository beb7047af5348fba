"""View primitives on device arrays share the buffer and have NumPy's strides (gpu_views); a
reshape NumPy would copy is a copy kernel (the Triton interpreter), then a view."""
import numpy as np
import pytest

from ember.ops.registry import REGISTRY as P
from ember.runtime import cuda as rt
from ember.codegen.triton import gpu_eager
from ember.runtime.gpu_views import reshape_strides


@pytest.fixture
def fake(gpu):
    return gpu


def _numpy_reshape_strides(a, shape):
    try:
        return np.reshape(a, shape, copy=False).strides
    except ValueError:
        return None


@pytest.mark.parametrize("make,shape", [
    (lambda: np.zeros((3, 4)), (12,)), (lambda: np.zeros((3, 4)).T, (12,)),
    (lambda: np.zeros((3, 4)).T, (2, 2, 3)), (lambda: np.zeros((2, 3, 4))[:, :, ::2], (6, 2)),
    (lambda: np.zeros((2, 3, 4))[:, ::2], (2, 8)), (lambda: np.zeros((4, 1, 3)), (2, 2, 1, 3)),
    (lambda: np.zeros((4, 1, 3))[::2], (6,)), (lambda: np.broadcast_to(np.zeros(3), (2, 3)), (6,)),
    (lambda: np.broadcast_to(np.zeros((2, 1)), (2, 3)), (2, 3, 1)),
    (lambda: np.zeros(()), (1, 1)), (lambda: np.zeros((0, 3)), (3, 0)),
])
def test_reshape_strides_match_numpy(make, shape):
    a = make()
    want = _numpy_reshape_strides(a, shape)
    got = reshape_strides(a.shape, a.strides, shape, a.itemsize)
    if want is None:
        assert got is None
    else:   # NumPy may pick any stride for size-1 dims; compare where it matters
        assert got is not None
        assert [s for s, n in zip(got, shape) if n != 1] == \
               [s for s, n in zip(want, shape) if n != 1]


def test_views_share_the_buffer_and_read_like_numpy(fake):
    host = np.arange(24.0).reshape(2, 3, 4)
    a = rt.DeviceArray.from_host(host)
    cases = [
        (P["permute"], {"dims": (2, 0, 1)}, host.transpose(2, 0, 1)),
        (P["slice"], {"starts": (0, 1, 1), "stops": (2, 3, 4), "steps": (1, 1, 2)},
         host[:, 1:3, 1:4:2]),
        (P["reshape"], {"shape": (6, 4)}, host.reshape(6, 4)),
    ]
    for prim, params, want in cases:
        out = gpu_eager.run(prim, [a], params)
        assert out.buffer is a.buffer
        np.testing.assert_array_equal(out.to_host(), want)
    e = gpu_eager.run(P["expand"], [rt.DeviceArray.from_host(np.arange(3.0)[None])],
                      {"shape": (4, 3)})
    assert e.strides == (0, 8)
    np.testing.assert_array_equal(e.to_host(), np.broadcast_to(np.arange(3.0), (4, 3)))
    # an empty slice, then a reshape of it
    s = gpu_eager.run(P["slice"], [a], {"starts": (0, 3, 0), "stops": (2, 3, 4),
                                        "steps": (1, 1, 1)})
    assert s.shape == (2, 0, 4) and s.to_host().shape == (2, 0, 4)


def test_reshape_that_numpy_would_copy_makes_a_contiguous_copy(fake):
    host = np.arange(12.0).reshape(3, 4)
    a = rt.DeviceArray.from_host(host)
    t = gpu_eager.run(P["permute"], [a], {"dims": (1, 0)})
    r = gpu_eager.run(P["reshape"], [t], {"shape": (12,)})
    assert r.buffer is not a.buffer and r.is_c_contiguous()
    np.testing.assert_array_equal(r.to_host(), host.T.reshape(12))
    np.testing.assert_array_equal(a.to_host(), host)   # the source is untouched


def test_host_fallback_runs_the_numpy_rule(fake):
    a = rt.DeviceArray.from_host(np.arange(6.0).reshape(2, 3))
    b = rt.DeviceArray.from_host(np.full((2, 3), 2.0))
    out = gpu_eager.run_on_host(P["mul"], [a, b], {})
    assert isinstance(out, rt.DeviceArray) and out.device == 0
    np.testing.assert_array_equal(out.to_host(), np.arange(6.0).reshape(2, 3) * 2)
    import ember
    f = gpu_eager.run_on_host(P["full"], [], {"shape": (2,), "value": 7, "dtype": ember.int32})
    np.testing.assert_array_equal(f.to_host(), np.full(2, 7, np.int32))
