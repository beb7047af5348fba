"""LBFGS against PyTorch on the Rosenbrock function and a least-squares problem, with and without
the strong-Wolfe line search, in float64 (the algorithm branches on loss values)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import need_torch


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def run(lib, problem, steps, **kwargs):
    x = lib.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    A = lib.tensor(np.arange(12.0).reshape(4, 3) / 7 + np.eye(4, 3))
    b = lib.tensor(np.array([1.0, -2.0, 0.5, 3.0]))
    w = lib.tensor(np.array([0.3, -0.2, 0.1]), requires_grad=True)
    params = [x] if problem == "rosenbrock" else [w]
    opt = lib.optim.LBFGS(params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x) if problem == "rosenbrock" else ((A @ w - b) ** 2).sum()
        loss.backward()
        return loss

    losses = [float(opt.step(closure)) for _ in range(steps)]
    state = opt.state[params[0]]
    return losses, np.array(params[0].detach().numpy()), state["func_evals"], state["n_iter"]


@pytest.mark.parametrize("problem", ["rosenbrock", "lstsq"])
@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, history_size=3, max_iter=5),
                                    dict(line_search_fn="strong_wolfe", history_size=2,
                                         max_iter=7, max_eval=9)],
                         ids=["plain", "wolfe", "small-history", "wolfe-small"])
def test_lbfgs_matches_pytorch(problem, kwargs):
    torch = need_torch()
    mine = run(ember, problem, 2, **kwargs)
    theirs = run(torch, problem, 2, **kwargs)
    # rounding differences (1 ulp) grow exponentially along Rosenbrock paths: 2 steps (40 iters)
    np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-7, atol=1e-10)
    assert mine[2:] == theirs[2:]


def test_lbfgs_converges_and_validates():
    losses, x, _, _ = run(ember, "rosenbrock", 10, line_search_fn="strong_wolfe")
    assert losses[-1] < 1e-6 and np.allclose(x, [1, 1], atol=1e-3)
    p = ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        ember.optim.LBFGS([{"params": [p]}, {"params": [ember.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt = ember.optim.LBFGS([p], line_search_fn="backtracking")
        opt.step(lambda: ((p - 1) ** 2).sum().backward() or ((p - 1) ** 2).sum())
