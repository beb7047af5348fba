"""NAdam (Adam with Nesterov momentum) with momentum_decay and decoupled weight decay."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import (Optimizer, adam_moments_, bump, check_betas, check_non_negative,
                        is_capturable, new_step, zero_buffers)


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_betas(lr, eps, betas, weight_decay)
        check_non_negative(momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._step_each(closure, _nadam_numpy, _nadam_tensor, ("exp_avg", "exp_avg_sq"),
                               lambda group: (*group["betas"], group["eps"],
                                              group["weight_decay"], group["momentum_decay"],
                                              group["decoupled_weight_decay"], group["maximize"],
                                              is_capturable(group)),
                               new_state=_with_mu_product)


def _with_mu_product(p, *buffers):
    # PyTorch's key order: step, mu_product, then the zero buffers
    return {"mu_product": new_step().fill_(1.0), **zero_buffers(p, *buffers)}


def _mu(beta1, step, momentum_decay):
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def _nadam_tensor(param, grad, state, lr, beta1, beta2, eps, weight_decay, momentum_decay,
                  decoupled, maximize, capturable):
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    mu_product, step_t = state["mu_product"], state["step"]
    grad = -grad if maximize else grad
    step_t += 1
    step = step_t if capturable else step_t.item()
    bias_correction2 = 1 - beta2 ** step
    grad = adam_moments_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, weight_decay,
                         decoupled)
    mu = _mu(beta1, step, momentum_decay)
    mu_next = _mu(beta1, step + 1, momentum_decay)
    mu_product *= mu
    denom = exp_avg_sq.div(bias_correction2).sqrt()
    if capturable:
        denom = denom.add(eps)
        mu_product_next = mu_product * mu_next
        param.addcdiv_(grad * (-lr * (1.0 - mu) / (1.0 - mu_product)), denom)
        param.addcdiv_(exp_avg * (-lr * mu_next / (1.0 - mu_product_next)), denom)
    else:
        product = mu_product.item()
        mu_product_next = product * mu_next
        denom.add_(eps)
        param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - product)))
        param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))


def _nadam_numpy(param, grad, state, lr, beta1, beta2, eps, weight_decay, momentum_decay,
                 decoupled, maximize, capturable):
    p, m, v = param._data, state["exp_avg"]._data, state["exp_avg_sq"]._data
    g = _fast.grad_array(grad, maximize)
    step = _fast.incr_step(state["step"])
    bias_correction2 = 1 - beta2 ** step
    g = _fast.adam_moments_(p, g, m, v, lr, beta1, beta2, weight_decay, decoupled)
    mu = _mu(beta1, step, momentum_decay)
    mu_next = _mu(beta1, step + 1, momentum_decay)
    state["mu_product"]._data *= mu  # a float32 0-d array: rounds like PyTorch's tensor
    bump(state["mu_product"])
    product = float(state["mu_product"]._data)
    denom = np.sqrt(v / bias_correction2)
    denom += eps
    p += (-lr * (1.0 - mu) / (1.0 - product)) * g / denom
    p += ((-lr * mu_next) / (1.0 - product * mu_next)) * m / denom
    bump(param, state["exp_avg"], state["exp_avg_sq"])
