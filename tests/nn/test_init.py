"""nn.init: PyTorch's bounds, moments and fan rules (values come from ember's generator, so the
distributions are compared, not the numbers); clip_grad and parameter/vector utils."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init
from tests.helpers import assert_close, need_torch

torch = need_torch()


def test_calculate_gain_and_fans_match_torch():
    for nl, p in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert init.calculate_gain(nl, p) == torch.nn.init.calculate_gain(nl, p)
    for shape in [(3, 4), (8, 4, 3, 3), (2, 5, 7)]:
        assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")


def test_uniform_normal_constant():
    w = ember.empty(200, 100)
    assert init.uniform_(w, -2, 3) is w
    a = w.numpy()
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(w, 1.0, 2.0)
    assert abs(w.numpy().mean() - 1) < 0.05 and abs(w.numpy().std() - 2) < 0.05
    init.constant_(w, 0.3)
    assert (w.numpy() == np.float32(0.3)).all()
    init.ones_(w)
    assert (w.numpy() == 1).all()
    init.zeros_(w)
    assert (w.numpy() == 0).all()


def test_init_on_parameter_records_no_history():
    p = nn.Parameter(ember.empty(3, 4))
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_, init.zeros_):
        fn(p)
        assert p.is_leaf and p.grad_fn is None and p.requires_grad


@pytest.mark.parametrize("fn,expected_std", [
    ("xavier_uniform_", math.sqrt(2 / (300 + 200))),
    ("xavier_normal_", math.sqrt(2 / (300 + 200))),
    ("kaiming_uniform_", math.sqrt(2 / (1 + 0 ** 2)) / math.sqrt(200)),
    ("kaiming_normal_", math.sqrt(2 / (1 + 0 ** 2)) / math.sqrt(200))])
def test_xavier_kaiming_std(fn, expected_std):
    w = ember.empty(300, 200)
    getattr(init, fn)(w)
    assert abs(w.numpy().std() / expected_std - 1) < 0.03
    t = torch.empty(300, 200)
    getattr(torch.nn.init, fn)(t)
    assert abs(t.numpy().std() / expected_std - 1) < 0.03


def test_kaiming_options_and_bounds():
    w = ember.empty(50, 40)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(40)
    assert w.numpy().max() <= bound and w.numpy().min() >= -bound
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() / math.sqrt(2 / 50) - 1) < 0.1
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_trunc_normal_eye_dirac_orthogonal_sparse():
    w = ember.empty(10000)
    init.trunc_normal_(w, mean=0.5, std=1.0, a=-1.0, b=1.5)
    a = w.numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5
    t = torch.empty(10000)
    torch.nn.init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert abs(a.mean() - t.numpy().mean()) < 0.03 and abs(a.std() - t.numpy().std()) < 0.03
    e = ember.empty(3, 5)
    init.eye_(e)
    assert_close(e, torch.nn.init.eye_(torch.empty(3, 5)))
    d = ember.empty(4, 2, 3, 3)
    init.dirac_(d, groups=2)
    assert_close(d, torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2))
    for shape in [(6, 4), (4, 6), (3, 2, 2)]:
        q = ember.empty(*shape)
        init.orthogonal_(q, gain=2.0)
        m = q.numpy().reshape(shape[0], -1)
        gram = m @ m.T if shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)
    s = ember.empty(10, 6)
    init.sparse_(s, 0.3)
    assert ((s.numpy() == 0).sum(0) >= 3).all()


def test_generator_reproducible():
    g = ember.Generator().manual_seed(3)
    a = init.normal_(ember.empty(5), generator=g).numpy().copy()
    g.manual_seed(3)
    b = init.normal_(ember.empty(5), generator=g).numpy()
    np.testing.assert_array_equal(a, b)


def _grads(lib, values):
    ps = [lib.tensor(v, requires_grad=True) for v in values]
    for p in ps:
        p.grad = lib.tensor(np.asarray(p.detach().numpy()) * 3)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    values = [np.arange(6.0, dtype=np.float32).reshape(2, 3) - 2, np.array([1.5, -4.0],
                                                                           np.float32)]
    e, t = _grads(ember, values), _grads(torch, values)
    total_e = nn.utils.clip_grad_norm_(e, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(t, max_norm, norm_type)
    assert_close(total_e, total_t)
    for pe, pt in zip(e, t):
        assert_close(pe.grad, pt.grad)


def test_clip_grad_value_and_nonfinite():
    values = [np.array([0.5, -2.0, 3.0], np.float32)]
    e, t = _grads(ember, values), _grads(torch, values)
    nn.utils.clip_grad_value_(e, 1.0)
    torch.nn.utils.clip_grad_value_(t, 1.0)
    assert_close(e[0].grad, t[0].grad)
    p = ember.tensor([1.0], requires_grad=True)
    p.grad = ember.tensor([float("inf")])
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_parameters_vector_roundtrip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert tuple(v.shape) == (8,)
    assert_close(v[:6].reshape(2, 3), m.weight)
    nn.utils.vector_to_parameters(ember.arange(8.0), m.parameters())
    assert_close(m.bias, np.array([6.0, 7.0], np.float32))
    assert isinstance(m.weight, nn.Parameter)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], m.parameters())
