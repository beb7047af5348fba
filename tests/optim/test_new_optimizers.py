"""ASGD, Rprop, Adafactor and Muon against PyTorch: parameter trajectories over several steps
for the options that change the math, and the state_dict layout."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import need_torch
from tests.optim.test_optimizers import gradient

CONFIGS = [
    ("ASGD", dict(lr=0.1)),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.01, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.05, maximize=True)),
    ("Muon", dict(lr=0.02)),
    ("Muon", dict(lr=0.02, weight_decay=0.0, momentum=0.8, nesterov=False, ns_steps=3)),
    ("Muon", dict(lr=0.02, adjust_lr_fn="match_rms_adamw")),
]

SHAPES = {"Muon": [(4, 3), (3, 5)], None: [(4, 3), (5,), (), (2, 3, 4)]}


def _ids(c):
    return c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items())


def run(lib, name, kwargs, dtype, steps=6):
    rng = np.random.default_rng(0)
    shapes = SHAPES.get(name, SHAPES[None])
    weights = [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
               for s in shapes]
    opt = getattr(lib.optim, name)(weights, **kwargs)
    history = []
    for step in range(steps):
        opt.zero_grad()
        for p in weights:
            p.grad = lib.tensor(gradient(np.array(p.detach().numpy()), step))
        opt.step()
        history.append([np.array(p.detach().numpy()) for p in weights])
    return history, opt


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_trajectory_matches_pytorch(config, dtype):
    torch = need_torch()
    name, kwargs = config
    mine, opt = run(ember, name, kwargs, dtype)
    theirs, topt = run(torch, name, kwargs, dtype)
    # Muon's Newton-Schulz runs in bfloat16: its updates agree to bfloat16 precision times lr
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    if name == "Muon":
        tol = dict(rtol=0, atol=2e-3)
    for step, (a, b) in enumerate(zip(mine, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, **tol, err_msg=f"step {step}")
    a, b = opt.state_dict(), topt.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for k in b["state"]:
        assert list(a["state"][k]) == list(b["state"][k])
        for key, value in b["state"][k].items():
            got = a["state"][k][key]
            assert got.dtype.name == str(value.dtype).replace("torch.", ""), key
            if name != "Muon":
                np.testing.assert_allclose(got.numpy(), value.numpy(), **tol, err_msg=key)


def test_argument_errors():
    p = [ember.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid eta values"):
        ember.optim.Rprop(p, etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="beta2_decay should be <= 0"):
        ember.optim.Adafactor(p, beta2_decay=0.5)
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        ember.optim.Muon([ember.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        ember.optim.ASGD(p, lr=-1)
