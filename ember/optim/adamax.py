"""Adamax (Adam with the infinity norm) with weight decay and maximize."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import Optimizer, bump, check_betas, is_capturable


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._step_each(closure, _adamax_numpy, _adamax_tensor, ("exp_avg", "exp_inf"),
                               lambda group: (*group["betas"], group["eps"],
                                              group["weight_decay"], group["maximize"],
                                              is_capturable(group)))


def _adamax_tensor(param, grad, state, lr, beta1, beta2, eps, weight_decay, maximize,
                   capturable):
    from ..frontend.functional import maximum
    exp_avg, exp_inf, step_t = state["exp_avg"], state["exp_inf"], state["step"]
    grad = -grad if maximize else grad
    step_t += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_inf.mul_(beta2)
    exp_inf.copy_(maximum(exp_inf, grad.abs().add_(eps)))
    if capturable:
        neg_bias_correction = beta1 ** step_t - 1
        neg_bias_correction.div_(lr)
        param.addcdiv_(exp_avg, exp_inf * neg_bias_correction)
    else:
        clr = lr / (1 - beta1 ** step_t.item())
        param.addcdiv_(exp_avg, exp_inf, value=-clr)


def _adamax_numpy(param, grad, state, lr, beta1, beta2, eps, weight_decay, maximize, capturable):
    p, m, u = param._data, state["exp_avg"]._data, state["exp_inf"]._data
    g = _fast.grad_array(grad, maximize)
    step = _fast.incr_step(state["step"])
    if weight_decay != 0:
        g = g + weight_decay * p
    _fast.lerp_(m, g, 1 - beta1)
    u *= beta2
    a = np.abs(g)
    a += eps
    np.maximum(u, a, out=u)
    clr = lr / (1 - beta1 ** step)
    p += (-clr) * m / u
    bump(param, state["exp_avg"], state["exp_inf"])
