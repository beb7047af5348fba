"""The NumPy <-> Triton-interpreter adapter (ember.runtime.triton_interop)."""
import gc

import numpy as np

from ember.runtime import triton_interop as rt

from .util import check, run_both


def test_view_and_typed_buffers_share_memory():
    raw = rt.empty(24, "uint8")
    v = rt.typed(raw, "float32", (2, 3))
    v[...] = np.arange(6).reshape(2, 3)
    t = rt.view(v, 1, (2, 2), (1, 3))   # a transposed window starting at element 1
    np.testing.assert_array_equal(t, np.array([[1, 4], [2, 5]], np.float32))
    del raw, v
    gc.collect()
    assert float(t[0, 0]) == 1.0            # the window keeps the buffer alive


def test_kernel_arg_answers_the_interpreter():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, 1:]
    k = rt.arg(a)
    assert str(k.dtype).endswith("float64")
    assert k.size() == (3, 3) and k.stride() == (4, 1) and k.storage_offset() == 1
    assert k.new_empty(0).set_(k.untyped_storage(), 1, (3, 3), (4, 1)).data_ptr() == k.data_ptr()


def test_dtype_objects_outlive_kernel_args():
    # regression: Triton caches a pointer's element type by the dtype object's identity; a dtype
    # object freed with its KernelArg and reused at the same address by another dtype made
    # kernels read float64 memory as float32 and write past buffers
    import ember
    for i in range(12):
        dtype = (np.float32, np.float64, np.int16)[i % 3]
        x = ember.tensor((np.arange(6) % 4 - 1).astype(dtype).reshape(2, 3))
        outs, ref, _, _ = run_both(lambda x: x * x + 1, [x])
        check(outs, ref)
        gc.collect()
    assert rt.arg(np.zeros(1, np.float32)).dtype is rt.arg(np.ones(2, np.float32)).dtype
