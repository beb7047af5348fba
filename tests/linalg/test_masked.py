"""ember.masked against torch.masked: values and gradients (torch autograd, central differences)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.oracle import check

rng = np.random.RandomState(5)
X = rng.standard_normal((3, 4))
MASK = rng.rand(3, 4) > 0.4
MASK[1] = False          # one fully masked-out row
ROWMASK = rng.rand(4) > 0.3

REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "norm", "var", "std"]


def _masked(lib):
    import importlib
    return importlib.import_module(lib.__name__ + ".masked")


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
def test_reductions(name, dim):
    def fn(lib, x, m):
        return getattr(_masked(lib), name)(x, dim=dim, mask=m) if dim is not None else \
            getattr(_masked(lib), name)(x, mask=m)
    grad = name not in ("amax", "amin") or dim == 1
    # (no central differences through the fully masked-out row: its value is +-inf or nan)
    check(fn, X, MASK, grad=grad, fd=grad and name in ("sum", "prod", "norm"))
    check(lambda lib, x: getattr(_masked(lib), name)(x, dim=0, keepdim=True), X)


def test_reductions_with_mask_fully_set_are_differentiable():
    m = np.ones((3, 4), bool)
    for name in ("mean", "var", "std", "amax", "median"):
        fn = (lambda lib, x, m, name=name: getattr(_masked(lib), name)(x, 1, mask=m))
        check(fn, X, m)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "softmax", "log_softmax", "softmin"])
def test_along_dim(name):
    check(lambda lib, x, m: getattr(_masked(lib), name)(x, 1, mask=m), X, ROWMASK, fd=False)


def test_others():
    check(lambda lib, x, m: [_masked(lib).argmax(x, 1, mask=m), _masked(lib).argmin(x, 0, mask=m)],
          X, ROWMASK, grad=False)
    check(lambda lib, x, m: _masked(lib).median(x, 1, mask=m), X, MASK, grad=False)
    check(lambda lib, x, m: _masked(lib).normalize(x, 2.0, 1, mask=m), X, ROWMASK)
    check(lambda lib, x, y, m: _masked(lib).logaddexp(x, y, input_mask=m, other_mask=m),
          X, X[::-1].copy(), ROWMASK, fd=False)   # (-inf where both are masked out)
    check(lambda lib, x: _masked(lib).var(x, 1, correction=0), X)
    check(lambda lib, x: _masked(lib).sum(x.long() if hasattr(x, "long") else x, 1), X,
          grad=False)
