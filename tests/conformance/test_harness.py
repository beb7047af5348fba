"""The conformance harness itself can fail: comparisons catch wrong values, shapes, dtypes and
distributions, and the expected-failure table has a reason for every entry."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from .convert import compare, same_torch, to_ember  # noqa: E402


def test_compare_catches_values_shapes_dtypes():
    t = torch.tensor([1.0, 2.0])
    assert compare(ember.tensor([1.0, 2.0]), t, (1e-4, 1e-5)) is None
    assert "values differ" in compare(ember.tensor([1.0, 2.1]), t, (1e-4, 1e-5))
    assert "shape" in compare(ember.tensor([1.0, 2.0, 3.0]), t, (1e-4, 1e-5))
    assert "dtype" in compare(ember.tensor([1.0, 2.0], dtype=ember.float64), t, (1e-4, 1e-5))
    assert "results" in compare((ember.tensor([1.0]),), (t, t), (1e-4, 1e-5))


def test_conversion_keeps_values_and_requires_grad():
    t = torch.randn(3, 2, requires_grad=True)
    leaves = {}
    e, d = to_ember((t, torch.float64), leaves)
    assert e.requires_grad and d is ember.float64
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    assert same_torch(t, t.clone()) and not same_torch(t, t + 1)


def test_random_statistics_catch_a_wrong_distribution():
    pytest.importorskip("expecttest")
    from .op_runner import _random_stats_agree
    rng = np.random.default_rng(0)
    t = torch.tensor(rng.standard_normal(2000))
    assert _random_stats_agree(ember.tensor(rng.standard_normal(2000)), t) is None
    assert _random_stats_agree(ember.tensor(rng.standard_normal(2000) + 1), t) is not None
    assert _random_stats_agree(ember.tensor(rng.standard_normal(2000) * 3), t) is not None


def test_every_expected_failure_has_a_reason():
    from . import expected_failures as XF
    for table in (XF.OPS, XF.MODULES, XF.OPTIMS, XF.OPS_FULL_ONLY, XF.MODULES_FULL_ONLY,
                  XF.OPTIMS_FULL_ONLY):
        for name, reason in table.items():
            assert isinstance(reason, str) and reason, name
