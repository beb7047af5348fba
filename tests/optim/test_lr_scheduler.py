"""Every lr scheduler against PyTorch: the lr (and momentum, where cycled) sequences over 30
steps must be *equal*, with two param groups of different lrs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import need_torch

STEPS = 30


def make_optimizer(lib, name="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    if name == "Adam":
        return getattr(lib.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
    return lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def _schedulers(lib, opt, name):
    S = lib.optim.lr_scheduler
    table = {
        "StepLR": lambda: S.StepLR(opt, step_size=4, gamma=0.5),
        "MultiStepLR": lambda: S.MultiStepLR(opt, milestones=[3, 7, 7, 20], gamma=0.3),
        "ExponentialLR": lambda: S.ExponentialLR(opt, gamma=0.9),
        "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
        "CosineAnnealingWarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, T_0=3),
        "CosineAnnealingWarmRestarts-mult": lambda: S.CosineAnnealingWarmRestarts(
            opt, T_0=2, T_mult=2, eta_min=0.01),
        "LambdaLR": lambda: S.LambdaLR(opt, lambda e: 0.95 ** e),
        "LambdaLR-list": lambda: S.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
        "MultiplicativeLR": lambda: S.MultiplicativeLR(opt, lambda e: 0.97),
        "LinearLR": lambda: S.LinearLR(opt, start_factor=0.25, end_factor=0.9, total_iters=8),
        "ConstantLR": lambda: S.ConstantLR(opt, factor=0.5, total_iters=6),
        "PolynomialLR": lambda: S.PolynomialLR(opt, total_iters=12, power=2.0),
        "OneCycleLR": lambda: S.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
        "OneCycleLR-linear-3phase": lambda: S.OneCycleLR(
            opt, max_lr=0.8, epochs=4, steps_per_epoch=8, anneal_strategy="linear",
            three_phase=True, pct_start=0.25),
        "CyclicLR": lambda: S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                       mode="triangular2"),
        "CyclicLR-exp": lambda: S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                           step_size_down=5, mode="exp_range", gamma=0.95),
        "SequentialLR": lambda: S.SequentialLR(
            opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5),
                  S.ExponentialLR(opt, gamma=0.9),
                  S.CosineAnnealingLR(opt, T_max=6)], milestones=[5, 15]),
        "ChainedScheduler": lambda: S.ChainedScheduler(
            [S.ConstantLR(opt, factor=0.5, total_iters=4), S.ExponentialLR(opt, gamma=0.9)]),
    }
    return table[name]()


NAMES = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
         "CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts-mult", "LambdaLR",
         "LambdaLR-list", "MultiplicativeLR", "LinearLR", "ConstantLR", "PolynomialLR",
         "OneCycleLR", "OneCycleLR-linear-3phase", "CyclicLR", "CyclicLR-exp", "SequentialLR",
         "ChainedScheduler"]


def sequence(lib, name, opt_name="SGD"):
    opt = make_optimizer(lib, opt_name)
    sched = _schedulers(lib, opt, name)
    out = [(list(sched.get_last_lr()), _momenta(opt))]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), _momenta(opt)))
    return out


def _momenta(opt):
    return [g.get("momentum", g.get("betas")) for g in opt.param_groups]


@pytest.mark.parametrize("name", NAMES)
def test_lr_sequence_equals_pytorch(name):
    torch = need_torch()
    assert sequence(ember, name) == sequence(torch, name)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR"])
def test_beta1_cycling_equals_pytorch(name):
    torch = need_torch()
    assert sequence(ember, name, "Adam") == sequence(torch, name, "Adam")


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", threshold_mode="abs", patience=2,
                                                 cooldown=2, factor=0.5, min_lr=[0.02, 0.001]),
                                    dict(patience=0, threshold=0.1, eps=1e-3)])
def test_reduce_lr_on_plateau_equals_pytorch(kwargs):
    torch = need_torch()
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.81, 0.82, 0.83, 0.84] * 3

    def run(lib):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        out = []
        for m in metrics:
            opt.step()
            sched.step(m)
            out.append((list(sched.get_last_lr()), sched.num_bad_epochs, sched.best))
        return out

    assert run(ember) == run(torch)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR",
                                  "LambdaLR", "CyclicLR", "CosineAnnealingWarmRestarts-mult"])
def test_state_dict_resume(name):
    full = sequence(ember, name)
    opt = make_optimizer(ember)
    sched = _schedulers(ember, opt, name)
    for _ in range(10):
        opt.step()
        sched.step()
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_sd
    opt2 = make_optimizer(ember)
    sched2 = _schedulers(ember, opt2, name)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    rest = []
    for _ in range(10, STEPS):
        opt2.step()
        sched2.step()
        rest.append(list(sched2.get_last_lr()))
    assert rest == [lrs for lrs, _ in full[11:]]


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "LinearLR", "ConstantLR", "PolynomialLR",
                                  "CosineAnnealingWarmRestarts-mult"])
def test_step_with_epoch_uses_closed_form(name):
    torch = need_torch()

    def run(lib):
        opt = make_optimizer(lib)
        sched = _schedulers(lib, opt, name)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 9, 1, 14, 14, 40):
                opt.step()
                sched.step(epoch)
                out.append(list(sched.get_last_lr()))
        return out

    assert run(ember) == run(torch)


def test_warnings_and_errors():
    opt = make_optimizer(ember)
    S = ember.optim.lr_scheduler
    sched = S.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_optimizer(ember), step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        S.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        o = make_optimizer(ember)
        s = S.OneCycleLR(o, max_lr=1.0, total_steps=2)
        for _ in range(3):
            o.step()
            s.step()
    with pytest.raises(ValueError, match="You must define either total_steps"):
        S.OneCycleLR(make_optimizer(ember), max_lr=1.0)


def test_tensor_lr_updated_in_place():
    p = ember.zeros(2, requires_grad=True)
    lr = ember.tensor(0.1)
    opt = ember.optim.Adam([p], lr=lr)
    sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr
    np.testing.assert_allclose(lr.item(), 0.05, rtol=1e-6)
