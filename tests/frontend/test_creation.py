"""Creation functions against PyTorch (dtype inference, shapes, ranges, options) and the RNG API
(manual_seed, Generator; the streams themselves are ember's own, see docs/tensors.md)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

CASES = {
    "tensor_ints": lambda lib: lib.tensor([[1, 2], [3, 4]]),
    "tensor_floats": lambda lib: lib.tensor([1.5, -2.0]),
    "tensor_bools": lambda lib: lib.tensor([[True], [False]]),
    "tensor_mixed_int_float": lambda lib: lib.tensor([1, 2.0]),
    "tensor_mixed_bool_int": lambda lib: lib.tensor([True, 2]),
    "tensor_scalar_float": lambda lib: lib.tensor(2.5),
    "tensor_scalar_bool": lambda lib: lib.tensor(False),
    "tensor_empty": lambda lib: lib.tensor([]),
    "tensor_empty_nested": lambda lib: lib.tensor([[], []]),
    "tensor_dtype_int8": lambda lib: lib.tensor([1, -2], dtype=lib.int8),
    "tensor_float_to_int": lambda lib: lib.tensor([1.7, -1.7], dtype=lib.int32),
    "tensor_bf16": lambda lib: lib.tensor([1.0, 3.14159], dtype=lib.bfloat16),
    "tensor_np_f16": lambda lib: lib.tensor(np.array([1.0, 2.0], np.float16)),
    "tensor_np_u8": lambda lib: lib.tensor(np.array([1, 255], np.uint8)),
    "tensor_np_bool": lambda lib: lib.tensor(np.array([True, False])),
    "tensor_np_scalar": lambda lib: lib.tensor(np.float64(2.5)),
    "tensor_tuple": lambda lib: lib.tensor((1, 2, 3)),
    "tensor_from_tensor": lambda lib: lib.tensor(lib.ones(2, dtype=lib.int16)),
    "zeros_varargs": lambda lib: lib.zeros(2, 3),
    "zeros_size": lambda lib: lib.zeros(lib.Size([2, 1])),
    "ones_dtype": lambda lib: lib.ones(3, dtype=lib.uint8),
    "ones_empty": lambda lib: lib.ones(0),
    "full_float": lambda lib: lib.full((2, 2), 0.5),
    "full_int": lambda lib: lib.full((3,), 4),
    "full_bool": lambda lib: lib.full((1,), False),
    "full_0d": lambda lib: lib.full((), 2),
    "full_like_float_into_int": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int64), 2.7),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.float64)),
    "ones_like": lambda lib: lib.ones_like(lib.tensor([True])),
    "empty_like_shape": lambda lib: lib.empty_like(lib.ones(2, 3)).shape,
    "empty_shape": lambda lib: lib.empty(4, 0, dtype=lib.int64),
    "arange_int": lambda lib: lib.arange(6),
    "arange_range": lambda lib: lib.arange(-3, 4, 2),
    "arange_float_step": lambda lib: lib.arange(0, 1, 0.1),
    "arange_float_start": lambda lib: lib.arange(0.5, 4),
    "arange_neg": lambda lib: lib.arange(3, -3, -1),
    "arange_float_dtype": lambda lib: lib.arange(5, dtype=lib.float16),
    "arange_tiny_step": lambda lib: lib.arange(1, 2, 0.3),
    "arange_tensor_bounds": lambda lib: lib.arange(lib.tensor(4)),
    "linspace": lambda lib: lib.linspace(-1, 1, 7),
    "linspace_0": lambda lib: lib.linspace(0, 1, 0),
    "linspace_dtype": lambda lib: lib.linspace(0, 1, 5, dtype=lib.float64),
    "linspace_int_trunc": lambda lib: lib.linspace(-3, 3, 4, dtype=lib.int32),
    "linspace_descending": lambda lib: lib.linspace(5, 1, 5),
    "logspace": lambda lib: lib.logspace(-1, 1, 3),
    "logspace_base": lambda lib: lib.logspace(0, 3, 4, base=2),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4),
    "eye_bool": lambda lib: lib.eye(2, dtype=lib.bool),
    "scalar_tensor": lambda lib: lib.scalar_tensor(1),
    "as_tensor_list": lambda lib: lib.as_tensor([1, 2]),
    "as_tensor_dtype": lambda lib: lib.as_tensor(np.arange(3), dtype=lib.float32),
    "from_numpy_i32": lambda lib: lib.from_numpy(np.arange(3, dtype=np.int32)),
    "from_numpy_noncontig": lambda lib: lib.from_numpy(np.arange(6.0).reshape(2, 3)[:, ::2]),
    "new_zeros": lambda lib: lib.ones(2, dtype=lib.int8).new_zeros((2, 2)),
    "new_ones_dtype": lambda lib: lib.ones(2).new_ones(3, dtype=lib.float64),
    "new_full": lambda lib: lib.ones(2, dtype=lib.int32).new_full((2,), 5),
    "new_tensor": lambda lib: lib.ones(2, dtype=lib.float64).new_tensor([1, 2]),
    "new_empty_shape": lambda lib: lib.ones(1).new_empty(2, 3).shape,
    "legacy_Tensor_data": lambda lib: lib.Tensor([1, 2]),
    "legacy_Tensor_sizes": lambda lib: lib.Tensor(2, 3).shape,
    "Size_numel": lambda lib: lib.Size([2, 3, 4]).numel(),
    "randperm_sorted": lambda lib: lib.randperm(7).sort().values,
    "randint_dtype": lambda lib: lib.randint(0, 5, (3,), dtype=lib.int16).dtype,
    "rand_shape_dtype": lambda lib: (lib.rand(2, 3, dtype=lib.float64).shape,
                                     lib.rand(2, 3, dtype=lib.float64).dtype),
    "randn_size_tuple": lambda lib: lib.randn((4, 1)).shape,
    "requires_grad_flag": lambda lib: lib.zeros(2, requires_grad=True).requires_grad,
    "ones_requires_grad_leaf": lambda lib: lib.ones(2, requires_grad=True).is_leaf,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_creation_matches_torch(name):
    torch = need_torch()
    e, t = CASES[name](ember), CASES[name](torch)
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor)
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        assert_close(e, t)
    elif isinstance(t, tuple):
        assert tuple(map(str, e)) == tuple(str(v).replace("torch.", "ember.") for v in t) or \
            tuple(e) == tuple(t)
    else:
        assert str(e).replace("ember.", "torch.") == str(t) or e == t


def test_manual_seed_and_generator_reproduce():
    ember.manual_seed(0)
    a = ember.rand(5)
    b = ember.randn(3)
    ember.manual_seed(0)
    assert ember.equal(a, ember.rand(5)) and ember.equal(b, ember.randn(3))
    g = ember.Generator().manual_seed(3)
    c = ember.randint(0, 100, (8,), generator=g)
    g2 = ember.Generator()
    g2.manual_seed(3)
    assert ember.equal(c, ember.randint(0, 100, (8,), generator=g2))
    assert g.initial_seed() == 3
    state = g.get_state()
    d = ember.rand(4, generator=g)
    g.set_state(state)
    assert ember.equal(d, ember.rand(4, generator=g))
    s = ember.get_rng_state()
    e = ember.rand(3)
    ember.set_rng_state(s)
    assert ember.equal(e, ember.rand(3))


def test_generator_does_not_touch_the_global_stream():
    ember.manual_seed(1)
    a = ember.rand(3)
    ember.manual_seed(1)
    ember.rand(3, generator=ember.Generator().manual_seed(9))
    assert not ember.equal(a, ember.rand(3)) or True   # the global stream is unaffected:
    ember.manual_seed(1)
    g = ember.Generator().manual_seed(9)
    ember.rand(3, generator=g)
    assert ember.equal(a, ember.rand(3))


def test_random_distributions_are_sane():
    ember.manual_seed(0)
    u = ember.rand(20000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.01
    n = ember.randn(20000, dtype=ember.float64)
    assert abs(n.mean().item()) < 0.03 and abs(n.std().item() - 1) < 0.03
    r = ember.randint(-3, 3, (5000,))
    assert r.min().item() == -3 and r.max().item() == 2 and r.dtype is ember.int64
    p = ember.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    x = ember.empty(1000).uniform_(2, 3)
    assert 2 <= x.min().item() and x.max().item() < 3
    m = ember.normal(ember.zeros(1000) + 5, 0.1)
    assert abs(m.mean().item() - 5) < 0.05
    b = ember.bernoulli(ember.full((4000,), 0.25))
    assert abs(b.mean().item() - 0.25) < 0.03 and set(b.unique().tolist()) <= {0.0, 1.0}
    ms = ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 3, replacement=True)
    assert ms.tolist() == [1, 1, 1]


def test_creation_errors_in_torch_words():
    torch = need_torch()
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension "
                                               "-1"):
            lib.ones(2, -1)
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            lib.arange(0, 5, 0)
        with pytest.raises(RuntimeError, match="upper bound and lower? bound inconsistent with "
                                               "step sign|upper bound and larger bound"):
            lib.arange(0, 5, -1)
        with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
            lib.linspace(0, 1, -1)
        with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but "
                                               "got from=3 >= to=3"):
            lib.randint(3, 3, (2,))
        with pytest.raises(TypeError):
            lib.tensor([1, "a"])
        with pytest.raises(ValueError, match="expected sequence of"):
            lib.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type object"):
        ember.from_numpy(np.array([None, 1], dtype=object))
    with pytest.raises(TypeError, match="expected np.ndarray"):
        ember.from_numpy([1, 2])
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        ember.zeros(2, device="cuda")
