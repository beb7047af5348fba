"""Adadelta with weight decay and maximize."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import Optimizer, bump, check_non_negative


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._step_each(closure, _adadelta_numpy, _adadelta_tensor,
                               ("square_avg", "acc_delta"),
                               lambda group: (group["rho"], group["eps"], group["weight_decay"],
                                              group["maximize"]))


def _adadelta_tensor(param, grad, state, lr, rho, eps, weight_decay, maximize):
    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
    state["step"] += 1
    grad = -grad if maximize else grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_()
    delta.div_(std).mul_(grad)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    param.add_(delta, alpha=-lr)


def _adadelta_numpy(param, grad, state, lr, rho, eps, weight_decay, maximize):
    p, sq, acc = param._data, state["square_avg"]._data, state["acc_delta"]._data
    _fast.incr_step(state["step"])
    g = _fast.grad_array(grad, maximize)
    if weight_decay != 0:
        g = g + weight_decay * p
    sq *= rho
    sq += (1 - rho) * g * g
    std = np.sqrt(sq + eps)
    delta = np.sqrt(acc + eps)
    delta /= std
    delta *= g
    acc *= rho
    acc += (1 - rho) * delta * delta
    p += (-lr) * delta
    bump(param, state["square_avg"], state["acc_delta"])
