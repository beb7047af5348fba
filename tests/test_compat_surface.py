"""The modules and names PyTorch programs import at the top: accelerator, backends, nn.parallel,
process-wide switches, legacy constructors, classes at PyTorch's module paths."""
from __future__ import annotations

import importlib
import pickle

import numpy as np
import pytest

import ember


def test_accelerator_on_a_cpu_only_machine():
    if ember.cuda.is_available():
        assert ember.accelerator.current_accelerator().type == "cuda"
        return
    assert not ember.accelerator.is_available() and ember.accelerator.device_count() == 0
    assert ember.accelerator.current_accelerator() is None
    with pytest.raises(RuntimeError, match="no accelerator"):
        ember.accelerator.current_device_index()
    with ember.accelerator.device_index(None):
        pass


def test_backends_switches_and_matmul_precision():
    b = ember.backends
    saved = ember.get_float32_matmul_precision()
    try:
        b.cuda.matmul.allow_tf32 = True
        assert ember.get_float32_matmul_precision() == "high" and b.cuda.matmul.allow_tf32
        ember.set_float32_matmul_precision("highest")
        assert not b.cuda.matmul.allow_tf32
        with pytest.raises(RuntimeError, match="Invalid float32 matmul precision"):
            ember.set_float32_matmul_precision("fast")
    finally:
        ember.set_float32_matmul_precision(saved)
    assert b.cudnn.enabled and not b.cudnn.benchmark and not b.cudnn.is_available()
    with b.cudnn.flags(enabled=False, benchmark=True):
        assert b.cudnn.benchmark and not b.cudnn.enabled
    assert b.cudnn.enabled and not b.cudnn.benchmark
    assert not b.mps.is_available() and not b.mps.is_built()
    assert b.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    for name in ("torch.backends.cudnn", "torch.backends.mps", "torch.backends.cuda"):
        importlib.import_module(name.replace("torch", "ember", 1))


def test_threads_and_determinism():
    n = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        with pytest.raises(RuntimeError, match="positive"):
            ember.set_num_threads(0)
    finally:
        ember.set_num_threads(n)
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled()
    assert ember.is_deterministic_algorithms_warn_only_enabled()
    assert ember.get_deterministic_debug_mode() == 1
    ember.use_deterministic_algorithms(False)
    assert not ember.are_deterministic_algorithms_enabled()


def test_legacy_constructors():
    t = ember.LongTensor([1, 2])
    assert t.dtype is ember.int64 and t.tolist() == [1, 2]
    assert tuple(ember.FloatTensor(2, 3).shape) == (2, 3)
    assert ember.FloatTensor().numel() == 0
    assert ember.ByteTensor([1]).dtype is ember.uint8 and ember.BoolTensor([1]).dtype is ember.bool
    assert isinstance(ember.zeros(2), ember.FloatTensor)
    assert not isinstance(ember.zeros(2), ember.DoubleTensor)
    assert isinstance(ember.zeros(2, dtype=ember.int32), ember.IntTensor)


def test_data_parallel_is_the_module_on_cpu():
    m = ember.nn.Linear(3, 2)
    dp = ember.nn.parallel.DataParallel(m)
    x = ember.ones(4, 3)
    np.testing.assert_array_equal(dp(x).detach().numpy(), m(x).detach().numpy())
    assert list(dp.state_dict()) == ["module.weight", "module.bias"]
    assert ember.nn.DataParallel is ember.nn.parallel.DataParallel if hasattr(
        ember.nn, "DataParallel") else True


def test_classes_at_pytorch_module_paths():
    from ember.nn.modules.activation import MultiheadAttention
    from ember.nn.modules.batchnorm import _BatchNorm, BatchNorm2d
    from ember.nn.modules.linear import NonDynamicallyQuantizableLinear
    assert MultiheadAttention is ember.nn.MultiheadAttention
    assert BatchNorm2d is ember.nn.BatchNorm2d and issubclass(BatchNorm2d, _BatchNorm)
    assert NonDynamicallyQuantizableLinear.__name__ == "NonDynamicallyQuantizableLinear"
    from ember.nn.modules.fold import Fold  # noqa: F401
    from ember.nn.modules.pixelshuffle import PixelShuffle  # noqa: F401
    from ember.nn.modules.instancenorm import InstanceNorm1d  # noqa: F401
    with pytest.raises(AttributeError):
        importlib.import_module("ember.nn.modules.activation").NoSuchLayer


def test_pickled_modules_name_pytorch_paths():
    import io
    from ember.serialization import pickle_writer
    buf = io.BytesIO()
    pickle_writer.write(ember.nn.MultiheadAttention(4, 2), buf)
    import zipfile
    pkl = zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("archive/data.pkl")
    assert b"torch.nn.modules.activation\nMultiheadAttention" in pkl
    assert b"torch.nn.modules.linear\nNonDynamicallyQuantizableLinear" in pkl
    assert b"ember" not in pkl
    assert pickle.PROTO in pkl[:2]
