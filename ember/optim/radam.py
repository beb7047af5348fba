"""RAdam (rectified Adam) with L2 or decoupled weight decay and maximize."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import Optimizer, adam_moments_, bump, check_betas, is_capturable


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._step_each(closure, _radam_numpy, _radam_tensor, ("exp_avg", "exp_avg_sq"),
                               lambda group: (*group["betas"], group["eps"],
                                              group["weight_decay"],
                                              group["decoupled_weight_decay"], group["maximize"],
                                              is_capturable(group)))


def _rectification(rho_t, rho_inf):
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def _radam_tensor(param, grad, state, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                  capturable):
    from ..frontend.functional import where
    exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
    grad = -grad if maximize else grad
    step_t += 1
    step = step_t if capturable else step_t.item()
    adam_moments_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, weight_decay, decoupled)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    corrected = exp_avg / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2

    def adaptive_lr():
        return (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)

    if capturable:
        update = where(rho_t > 5.0, _rectification(rho_t, rho_inf) * adaptive_lr(), 1.0)
        param.add_(corrected * lr * update, alpha=-1.0)
    elif rho_t > 5.0:
        param.add_(corrected * lr * adaptive_lr() * _rectification(rho_t, rho_inf), alpha=-1.0)
    else:
        param.add_(corrected * lr, alpha=-1.0)


def _radam_numpy(param, grad, state, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                 capturable):
    p, m, v = param._data, state["exp_avg"]._data, state["exp_avg_sq"]._data
    g = _fast.grad_array(grad, maximize)
    step = _fast.incr_step(state["step"])
    _fast.adam_moments_(p, g, m, v, lr, beta1, beta2, weight_decay, decoupled)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    update = m / bias_correction1 * lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        denom = np.sqrt(v)
        denom += eps
        update *= (bias_correction2 ** 0.5) / denom
        update *= _rectification(rho_t, rho_inf)
    p -= update
    bump(param, state["exp_avg"], state["exp_avg_sq"])
