"""Run each config of PyTorch's ``optim_db`` against ember.

Each OptimizerInfo lists configs (keyword sets such as ``{"lr": 0.01, "maximize": True}``).  For
each config two parameters (a matrix and a vector, identical values in both libraries) are
optimized for a few steps on the same loss; the parameters must agree after every step.  The loss
is evaluated inside a closure, so optimizers that need one (LBFGS) run the same way.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

import ember
from .convert import Unsupported, by_unique_name, compare, to_ember
from .op_runner import _err

STEPS = 4
TOL = (1e-4, 1e-5)


def _loss(lib, w, b, a, c):
    return (lib.sin(w) * a).sum() + (b * b * c).sum() + (w * w).sum() * 0.1


def _setup(lib, arrays, dtype):
    w = lib.tensor(arrays[0], dtype=dtype, requires_grad=True)
    b = lib.tensor(arrays[1], dtype=dtype, requires_grad=True)
    a = lib.tensor(arrays[2], dtype=dtype)
    c = lib.tensor(arrays[3], dtype=dtype)
    return w, b, a, c


def _params(config_params, w, b):
    if config_params is None:
        return [w, b]
    return config_params  # never set by the CPU configs of torch 2.13


def run_config(info, config):
    """None when ember's optimizer follows torch's for STEPS steps, else a reason."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4)),
              rng.uniform(0.5, 1.5, 4)]
    name = info.optim_cls.__name__
    cls_e = getattr(ember.optim, name, None)
    if cls_e is None:
        return f"ember.optim.{name} is missing"
    tw, tb, ta, tc = _setup(torch, arrays, torch.float32)
    ew, eb, ea, ec = _setup(ember, arrays, ember.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_opt = info.optim_cls([tw, tb], **config.kwargs)
    except Exception:
        return "skip"
    try:
        e_kwargs = to_ember(config.kwargs, {})
    except Unsupported as ex:
        return f"unsupported argument: {ex}"
    try:
        e_opt = cls_e([ew, eb], **e_kwargs)
    except Exception as ex:
        return "construct: " + _err(ex)

    def t_closure():
        t_opt.zero_grad()
        loss = _loss(torch, tw, tb, ta, tc)
        loss.backward()
        return loss

    def e_closure():
        e_opt.zero_grad()
        loss = _loss(ember, ew, eb, ea, ec)
        loss.backward()
        return loss

    for step in range(STEPS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if info.step_requires_closure:
                    t_opt.step(t_closure)
                else:
                    t_closure()
                    t_opt.step()
        except Exception:
            return "skip"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if info.step_requires_closure:
                    e_opt.step(e_closure)
                else:
                    e_closure()
                    e_opt.step()
        except Exception as ex:
            return f"step {step}: " + _err(ex)
        reason = compare([ew, eb], [tw, tb], TOL, f"params after step {step + 1}")
        if reason and not _closer_than_torch_f64(info, config, arrays, step + 1, [ew, eb],
                                                 [tw, tb]):
            return reason
    return None


def _closer_than_torch_f64(info, config, arrays, steps, e_params, t_params):
    """float32 line searches (LBFGS) amplify rounding: ember passes where its parameters are at
    least as close to torch's float64 run as torch's float32 run is."""
    try:
        w, b, a, c = _setup(torch, arrays, torch.float64)
        opt = info.optim_cls([w, b], **config.kwargs)

        def closure():
            opt.zero_grad()
            loss = _loss(torch, w, b, a, c)
            loss.backward()
            return loss
        for _ in range(steps):
            if info.step_requires_closure:
                opt.step(closure)
            else:
                closure()
                opt.step()
    except Exception:
        return False
    for e, t, r in zip(e_params, t_params, (w, b)):
        rv = r.detach().numpy()
        e_err = np.abs(np.asarray(e.detach()._data, np.float64) - rv)
        t_err = np.abs(t.detach().double().numpy() - rv)
        if not (e_err <= t_err + 1e-5 + 1e-5 * np.abs(rv)).all():
            return False
    return True


def all_entries():
    """{'Adam.default': (info, config), ...} over every CPU float32 config."""
    from torch.testing._internal.common_optimizers import optim_db
    pairs = []
    for info in optim_db:
        try:
            configs = info.optim_inputs_func(device="cpu", dtype=torch.float32)
        except Exception:
            continue
        pairs.extend((info, config) for config in configs)
    return by_unique_name(pairs, lambda p: f"{p[0].optim_cls.__name__}.{p[1].desc}")


def run_entry(entry):
    info, config = entry
    try:
        reason = run_config(info, config)
    except Exception as ex:
        reason = "harness: " + _err(ex)
    if reason == "skip":
        return True, None  # torch itself cannot run this config on the CPU: nothing to match
    return reason is None, reason
