"""Plain-eager forward shortcuts in the frontend: sigmoid's four-pass forward (recording the
sigmoid primitive's own node) and clamp as one np.clip.  Both must give PyTorch's values."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import need_torch

X = np.concatenate([np.linspace(-120, 120, 241), [0.0, -0.0, np.inf, -np.inf, np.nan],
                    np.random.default_rng(3).standard_normal(500) * 6])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_matches_torch_with_the_primitives_gradient(dtype):
    torch = need_torch()
    x = X.astype(dtype)
    a, b = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = ember.sigmoid(a), torch.sigmoid(b)
    assert ya.grad_fn.name() == "SigmoidBackward0"
    tiny = 1e-38 if dtype == "float32" else 1e-300   # e^-x is clamped finite far left
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=2e-7 if
                               dtype == "float32" else 1e-15, atol=tiny)
    ya.sum().backward()
    yb.sum().backward()
    ok = ~np.isnan(x)
    # y * (1 - y) near y = 1 turns one ulp of y into a large relative difference: absolute here
    np.testing.assert_allclose(a.grad.numpy()[ok], b.grad.numpy()[ok], rtol=1e-6,
                               atol=2e-7 if dtype == "float32" else 1e-15)
    with ember.no_grad():
        np.testing.assert_allclose(ember.nn.functional.silu(ember.tensor(x)).numpy(),
                                   torch.nn.functional.silu(torch.tensor(x)).numpy(),
                                   rtol=1e-6, atol=tiny)


@pytest.mark.parametrize("lo,hi", [(-1, 1), (None, 0.2), (-0.3, None), (2, 1), (0, 0)])
def test_clamp_matches_torch(lo, hi):
    torch = need_torch()
    x = np.array([np.nan, -2, -0.5, 0.5, 3, np.inf, -np.inf], np.float32)
    got = ember.clamp(ember.tensor(x), lo, hi)
    want = torch.clamp(torch.tensor(x), lo, hi)
    assert got.dtype == ember.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())
