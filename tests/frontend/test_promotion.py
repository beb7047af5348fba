"""PyTorch's type promotion over every dtype pair, with 0-d tensors and Python scalars, checked
against torch.promote_types / torch.result_type and against the dtypes real ops produce."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember import dtypes as dt
from tests.helpers import need_torch

# complex dtypes: the ops below (maximum, comparisons, clamp) are real-only in PyTorch, and
# float16 with complex is complex32 there (ember has none); see test_complex_result_type
NAMES = [d.name for d in dt.ALL if not d.is_complex]
SCALARS = [True, False, 3, -2, 2.5, -0.0]


def _tdt(torch, name):
    return getattr(torch, name)


def _make(lib, name, ndim):
    shape = (2,) * ndim
    return lib.ones(shape, dtype=getattr(lib, name))


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    torch = need_torch()
    want = torch.promote_types(_tdt(torch, a), _tdt(torch, b))
    got = ember.promote_types(getattr(ember, a), getattr(ember, b))
    assert got.name == str(want).replace("torch.", "")


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
@pytest.mark.parametrize("ndims", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_result_type_tensors_matches_torch(a, b, ndims):
    torch = need_torch()
    want = torch.result_type(_make(torch, a, ndims[0]), _make(torch, b, ndims[1]))
    got = ember.result_type(_make(ember, a, ndims[0]), _make(ember, b, ndims[1]))
    assert got.name == str(want).replace("torch.", "")


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("s", SCALARS, ids=repr)
@pytest.mark.parametrize("ndim", [0, 1])
def test_result_type_with_scalars_matches_torch(a, s, ndim):
    torch = need_torch()
    want = torch.result_type(_make(torch, a, ndim), s)
    got = ember.result_type(_make(ember, a, ndim), s)
    assert got.name == str(want).replace("torch.", "")
    want = torch.result_type(s, _make(torch, a, ndim))
    assert ember.result_type(s, _make(ember, a, ndim)).name == str(want).replace("torch.", "")


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_binary_ops_produce_promoted_dtype(a, b):
    torch = need_torch()
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y,
               lambda x, y: x.maximum(y), lambda x, y: x == y, lambda x, y, lib=None: x.where(
                   x == x, y)):
        te, tt = _make(ember, a, 1), _make(torch, a, 1)
        ue, ut = _make(ember, b, 0), _make(torch, b, 0)
        want = op(tt, ut).dtype
        assert op(te, ue).dtype.name == str(want).replace("torch.", "")
    try:
        want = (_make(torch, a, 1) - _make(torch, b, 1)).dtype
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e).split(".")[0].replace("`", ".")):
            _make(ember, a, 1) - _make(ember, b, 1)
        return
    assert (_make(ember, a, 1) - _make(ember, b, 1)).dtype.name == str(want).replace("torch.", "")


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("s", [True, 3, 2.5], ids=repr)
def test_tensor_scalar_ops_dtype(a, s):
    torch = need_torch()
    for op in (lambda x: x + s, lambda x: s * x, lambda x: x / s, lambda x: x > s,
               lambda x: x ** 2, lambda x: x.clamp(0, s) if not isinstance(s, bool) else x):
        want = op(_make(torch, a, 1)).dtype
        assert op(_make(ember, a, 1)).dtype.name == str(want).replace("torch.", "")


def test_default_dtype_changes_scalar_promotion():
    torch = need_torch()
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        assert (ember.ones(2, dtype=ember.int32) * 2.5).dtype is ember.float64
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.zeros(1).dtype is ember.float64
        assert ember.result_type(ember.ones(2, dtype=ember.int64), 1.0) is ember.float64
        assert (ember.ones(2, dtype=ember.float16) * 2.5).dtype is ember.float16
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError, match="only floating-point types are supported as the default "
                                        "type"):
        ember.set_default_dtype(ember.int64)


def test_dtype_objects():
    assert repr(ember.float32) == "ember.float32"
    assert ember.float is ember.float32 and ember.long is ember.int64 and ember.half is ember.float16
    assert ember.float32.is_floating_point and not ember.int8.is_floating_point
    assert ember.float32.itemsize == 4 and ember.bfloat16.itemsize == 2
    import pickle
    assert pickle.loads(pickle.dumps(ember.bfloat16)) is ember.bfloat16
    assert ember.can_cast(ember.int64, ember.float32) and not ember.can_cast(ember.float32,
                                                                              ember.int64)


@pytest.mark.parametrize("a", [n for n in [d.name for d in dt.ALL] if n != "float16"])
@pytest.mark.parametrize("b", ["complex64", "complex128"])
@pytest.mark.parametrize("ndims", [(1, 1), (1, 0), (0, 1)])
def test_complex_result_type(a, b, ndims):
    torch = need_torch()
    for x, y in ((a, b), (b, a)):
        want = torch.result_type(_make(torch, x, ndims[0]), _make(torch, y, ndims[1]))
        got = ember.result_type(_make(ember, x, ndims[0]), _make(ember, y, ndims[1]))
        assert got.name == str(want).replace("torch.", ""), (x, y, ndims)
