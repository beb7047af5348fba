"""Every optimizer against PyTorch: identical starting weights and identically computed gradients,
parameter trajectories over several steps, for the option combinations that change the math.
Both of ember's paths (NumPy fast path, foreach=None; Tensor-op path, foreach=False) are checked."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

SHAPES = [(4, 3), (5,), ()]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.2, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.1, betas=(0.6, 0.7), eps=1e-3, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1, alpha=0.5)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True, eps=1e-3)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True, eps=1e-3)),
    ("Adamax", dict(lr=0.1)),
    ("Adamax", dict(lr=0.1, weight_decay=0.1, betas=(0.5, 0.6))),
    ("Adamax", dict(lr=0.1, maximize=True)),
    ("NAdam", dict(lr=0.1)),
    ("NAdam", dict(lr=0.1, momentum_decay=0.1, weight_decay=0.1)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.1)),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.5))),  # rho_t > 5 from step 1: rectified branch
    ("RAdam", dict(lr=0.1, weight_decay=0.1)),
    ("RAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def _ids(c):
    return c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items())


def initial_weights(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def gradient(w, step):
    """A deterministic gradient of the current weights (the same formula in both frameworks)."""
    return (w ** 3 - 0.5 * w + 0.1 * (step + 1)).astype(w.dtype)


def run(lib, name, kwargs, dtype, steps=6, **extra):
    weights = [lib.tensor(w.copy(), requires_grad=True) for w in initial_weights(dtype)]
    opt = getattr(lib.optim, name)(weights, **kwargs, **extra)
    history = []
    for step in range(steps):
        opt.zero_grad()
        for p in weights:
            p.grad = lib.tensor(gradient(np.array(p.detach().numpy()), step))
        opt.step()
        history.append([np.array(p.detach().numpy()) for p in weights])
    return history, opt, weights


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
@pytest.mark.parametrize("foreach", [None, False], ids=["numpy", "tensor"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_trajectory_matches_pytorch(config, foreach, dtype):
    torch = need_torch()
    name, kwargs = config
    mine, _, _ = run(ember, name, kwargs, dtype, foreach=foreach)
    theirs, _, _ = run(torch, name, kwargs, dtype)
    for step, (a, b) in enumerate(zip(mine, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, **_tol(dtype), err_msg=f"step {step}")


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_fast_and_tensor_paths_agree(config):
    name, kwargs = config
    fast, fast_opt, _ = run(ember, name, kwargs, np.float64, foreach=None)
    slow, slow_opt, _ = run(ember, name, kwargs, np.float64, foreach=False)
    for a, b in zip(fast, slow):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    sa, sb = fast_opt.state_dict()["state"], slow_opt.state_dict()["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].keys() == sb[k].keys()
        for key in sa[k]:
            np.testing.assert_allclose(sa[k][key].numpy(), sb[k][key].numpy(), rtol=1e-12,
                                       atol=1e-14)


@pytest.mark.parametrize("config", [c for c in CONFIGS if c[0] in
                                    ("Adam", "AdamW", "Adamax", "NAdam", "RAdam")], ids=_ids)
def test_capturable_tensor_math_matches(config):
    """capturable=True keeps bias corrections as tensors (the path used while tracing)."""
    name, kwargs = config
    ref, _, _ = run(ember, name, kwargs, np.float64)
    cap, _, _ = run(ember, name, kwargs, np.float64, capturable=True)
    for a, b in zip(ref, cap):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", CONFIGS[::3], ids=_ids)
def test_state_dict_matches_pytorch_structure(config):
    torch = need_torch()
    name, kwargs = config
    _, mine, _ = run(ember, name, kwargs, np.float32, steps=3)
    _, theirs, _ = run(torch, name, kwargs, np.float32, steps=3)
    a, b = mine.state_dict(), theirs.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert list(a["state"].keys()) == list(b["state"].keys())
    for k in a["state"]:
        assert list(a["state"][k].keys()) == list(b["state"][k].keys())
        for key, value in a["state"][k].items():
            assert isinstance(value, ember.Tensor)
            if key == "step":
                assert value.dtype is ember.float32 and value.shape == ()
            assert_close(value, b["state"][k][key])


@pytest.mark.parametrize("config", CONFIGS[::2], ids=_ids)
def test_load_state_dict_resumes_identically(config):
    name, kwargs = config
    full, _, _ = run(ember, name, kwargs, np.float64, steps=6)
    # run 3 steps, save, rebuild everything from the state dict, run 3 more
    _, opt, weights = run(ember, name, kwargs, np.float64, steps=3)
    saved = opt.state_dict()
    copies = [ember.tensor(np.array(p.detach().numpy()), requires_grad=True) for p in weights]
    fresh = getattr(ember.optim, name)(copies, **kwargs)
    fresh.load_state_dict(saved)
    for step in range(3, 6):
        fresh.zero_grad()
        for p in copies:
            p.grad = ember.tensor(gradient(np.array(p.detach().numpy()), step))
        fresh.step()
    # NAdam's float32 mu_product is cast to the parameters' float64 on load (PyTorch's policy)
    tol = dict(rtol=1e-6, atol=1e-8) if name == "NAdam" else dict(rtol=1e-12, atol=1e-14)
    for x, y in zip(full[-1], copies):
        np.testing.assert_allclose(x, y.detach().numpy(), **tol)


def test_load_pytorch_state_dict():
    torch = need_torch()
    _, theirs, _ = run(torch, "Adam", dict(lr=0.1, amsgrad=True), np.float32, steps=2)
    sd = theirs.state_dict()
    converted = {"state": {k: {n: ember.tensor(v.numpy()) for n, v in s.items()}
                           for k, s in sd["state"].items()},
                 "param_groups": sd["param_groups"]}
    weights = [ember.tensor(w, requires_grad=True) for w in initial_weights(np.float32)]
    opt = ember.optim.Adam(weights, lr=0.5)
    opt.load_state_dict(converted)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["params"][0] is weights[0]
    assert opt.state[weights[0]]["step"].item() == 2.0


def test_mlp_with_autograd_matches_pytorch():
    """A real training loop: grads from backward() through a tiny MLP, Adam then SGD."""
    torch = need_torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    w1, b1 = rng.standard_normal((5, 7)).astype(np.float32), np.zeros(7, np.float32)
    w2, b2 = rng.standard_normal((7, 2)).astype(np.float32), np.zeros(2, np.float32)

    def train(lib, opt_name, kwargs):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in (w1, b1, w2, b2)]
        opt = getattr(lib.optim, opt_name)(params, **kwargs)
        X, Y = lib.tensor(x), lib.tensor(y)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            h = (X @ params[0] + params[1]).tanh()
            loss = ((h @ params[2] + params[3] - Y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, params

    for name, kwargs in (("Adam", dict(lr=0.05)), ("SGD", dict(lr=0.1, momentum=0.9))):
        la, pa = train(ember, name, kwargs)
        lb, pb = train(torch, name, kwargs)
        np.testing.assert_allclose(la, lb, rtol=1e-5)
        for a, b in zip(pa, pb):
            assert_close(a, b)
        assert la[-1] < la[0]
