"""The Optimizer base: param groups, zero_grad, errors in PyTorch's words, hooks, in-place
updates (references and version counters), step(closure)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember import optim


def leaf(*shape, value=1.0):
    return ember.full(shape, value, requires_grad=True)


def test_set_grad_enabled_as_context_restores_mode():
    # foundation fix: `with set_grad_enabled(False)` used to leave grad mode off afterwards
    assert ember.is_grad_enabled()
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    with ember.no_grad():
        with ember.set_grad_enabled(True):
            assert ember.is_grad_enabled()
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_step_keeps_grad_mode_and_updates_in_place():
    p = leaf(3)
    alias = p
    version = p._version
    opt = optim.SGD([p], lr=0.5)
    p.grad = ember.ones(3)
    opt.step()
    assert ember.is_grad_enabled()
    assert alias is p and np.allclose(alias.detach().numpy(), 0.5)
    assert p._version > version and p.requires_grad and p.is_leaf


@pytest.mark.parametrize("foreach", [None, False])
def test_update_breaks_saved_tensor_check(foreach):
    """An optimizer step between forward and backward must be caught (version counter)."""
    p = leaf(3)
    opt = optim.Adam([p], foreach=foreach)
    loss = (p * p).sum()
    p.grad = ember.ones(3)
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


def test_param_groups_and_per_group_options():
    a, b = leaf(2), leaf(3)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    c = leaf(1)
    opt.add_param_group({"params": [c], "weight_decay": 0.1})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.1
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1], [2]]
    for p in (a, b, c):
        p.grad = ember.ones_like(p)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), 0.9)
    np.testing.assert_allclose(b.detach().numpy(), 0.5)
    np.testing.assert_allclose(c.detach().numpy(), 1 - 0.1 * 1.1, rtol=1e-6)


def test_errors_in_pytorch_words():
    p = leaf(2)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero damp"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {leaf(1)}})
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 1}]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_zero_grad():
    p = leaf(2)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ember.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and np.all(p.grad.numpy() == 0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # parameters without grads are skipped


def test_closure_runs_with_grad_and_returns_loss():
    p = leaf(2, value=2.0)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 8.0
    np.testing.assert_allclose(p.detach().numpy(), 2 - 0.1 * 4)


def test_hooks():
    p = leaf(2)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    h3 = optim.register_optimizer_step_pre_hook(lambda o, a, k: calls.append("global"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
    p.grad = ember.ones(2)
    opt.step()
    assert calls == ["global", "pre", "post"]
    for h in (h1, h2, h3):
        h.remove()
    opt.step()
    assert calls == ["global", "pre", "post"]
    sd = opt.state_dict()
    assert sd["extra"] == 1
    opt.load_state_dict(sd)
    assert calls[-1] == "loaded"


def test_named_parameters_and_repr():
    a, b = leaf(2), leaf(3)
    opt = optim.Adam([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    text = repr(opt)
    assert text.startswith("Adam (\nParameter Group 0\n    amsgrad: False")
    assert "    lr: 0.1\n" in text and text.endswith(")")


def test_tensor_lr_and_python_step_in_old_state_dicts():
    p = leaf(2)
    opt = optim.Adam([p], lr=ember.tensor(0.1))
    p.grad = ember.ones(2)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = 1  # a Python number: older checkpoints
    opt.load_state_dict(sd)
    assert isinstance(opt.state[p]["step"], ember.Tensor)
    assert opt.state[p]["step"].dtype is ember.float32
    opt.step()
    assert opt.state[p]["step"].item() == 2


def test_loaded_state_follows_param_dtype_and_is_not_aliased():
    p = ember.zeros(2, dtype=ember.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": ember.ones(2)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    buf = opt.state[p]["momentum_buffer"]
    assert buf.dtype is ember.float64
    p.grad = ember.ones(2, dtype=ember.float64)
    opt.step()
    assert np.all(sd["state"][0]["momentum_buffer"].numpy() == 1)
