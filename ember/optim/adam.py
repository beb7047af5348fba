"""Adam (with amsgrad, maximize, L2 or decoupled weight decay); AdamW subclasses it."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import (Optimizer, adam_moments_, bump, check_betas, is_capturable, scalar,
                        step_value, use_fast_path)


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps = [], [], [], [], [], []
            buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
            for p, state in self._params_with_grad(group, *buffers):
                params.append(p)
                grads.append(p.grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                max_sqs.append(state.get("max_exp_avg_sq"))
                steps.append(state["step"])
            beta1, beta2 = group["betas"]
            adam(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, amsgrad=group["amsgrad"],
                 beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                 eps=group["eps"], maximize=group["maximize"],
                 decoupled_weight_decay=group["decoupled_weight_decay"],
                 capturable=is_capturable(group), fast=use_fast_path(group))
        return loss


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, amsgrad, beta1,
         beta2, lr, weight_decay, eps, maximize, decoupled_weight_decay=False, capturable=False,
         fast=False):
    lr, beta1, beta2 = scalar(lr), scalar(beta1), scalar(beta2)
    update = _adam_numpy if fast else _adam_tensor
    for i in range(len(params)):
        update(params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i],
               state_steps[i], amsgrad, beta1, beta2, lr, weight_decay, eps, maximize,
               decoupled_weight_decay, capturable)


def _adam_tensor(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_t, amsgrad, beta1, beta2,
                 lr, weight_decay, eps, maximize, decoupled, capturable):
    grad = -grad if maximize else grad
    step_t += 1
    adam_moments_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, weight_decay, decoupled)
    if amsgrad:
        max_exp_avg_sq.copy_(max_exp_avg_sq.maximum(exp_avg_sq))
    second = max_exp_avg_sq if amsgrad else exp_avg_sq
    step = step_value(step_t, capturable)
    if capturable:
        # everything stays a tensor: the step count is data, not a Python constant
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size_neg = (lr / bias_correction1).neg()
        denom = (second.sqrt() / (bias_correction2.sqrt() * step_size_neg)).add_(
            eps / step_size_neg)
        param.addcdiv_(exp_avg, denom)
    else:
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        denom = (second.sqrt() / bias_correction2 ** 0.5).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)


def _adam_numpy(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step_t, amsgrad, beta1, beta2,
                lr, weight_decay, eps, maximize, decoupled, capturable):
    p, m, v = param._data, exp_avg._data, exp_avg_sq._data
    g = _fast.grad_array(grad, maximize)
    step = _fast.incr_step(step_t)
    _fast.adam_moments_(p, g, m, v, lr, beta1, beta2, weight_decay, decoupled)
    if amsgrad:
        np.maximum(max_exp_avg_sq._data, v, out=max_exp_avg_sq._data)
        v = max_exp_avg_sq._data
        bump(max_exp_avg_sq)
    step_size = lr / (1 - beta1 ** step)
    denom = np.sqrt(v)
    denom /= (1 - beta2 ** step) ** 0.5
    denom += eps
    p += (-step_size) * m / denom
    bump(param, exp_avg, exp_avg_sq)
