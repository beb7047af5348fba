"""RMSprop with optional centering, momentum, weight decay and maximize."""
from __future__ import annotations

import numpy as np

from . import _fast
from .optimizer import Optimizer, bump, check_non_negative, scalar, use_fast_path


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                           alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            update = _rmsprop_numpy if use_fast_path(group) else _rmsprop_tensor
            buffers = ["square_avg"]
            if group["momentum"] > 0:
                buffers.append("momentum_buffer")
            if group["centered"]:
                buffers.append("grad_avg")
            for p, state in self._params_with_grad(group, *buffers):
                update(p, p.grad, state, scalar(group["lr"]), group["alpha"], group["eps"],
                       group["weight_decay"], group["momentum"], group["centered"],
                       group["maximize"])
        return loss


def _rmsprop_tensor(param, grad, state, lr, alpha, eps, weight_decay, momentum, centered,
                    maximize):
    grad = -grad if maximize else grad
    square_avg = state["square_avg"]
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - alpha)
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg = avg.add(eps)
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(grad, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(grad, avg, value=-lr)


def _rmsprop_numpy(param, grad, state, lr, alpha, eps, weight_decay, momentum, centered,
                   maximize):
    p, sq = param._data, state["square_avg"]._data
    g = _fast.grad_array(grad, maximize)
    _fast.incr_step(state["step"])
    if weight_decay != 0:
        g = g + weight_decay * p
    sq *= alpha
    sq += (1 - alpha) * g * g
    if centered:
        ga = state["grad_avg"]._data
        _fast.lerp_(ga, g, 1 - alpha)
        avg = np.sqrt(sq + (-1 * ga) * ga)
        bump(state["grad_avg"])
    else:
        avg = np.sqrt(sq)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf._data *= momentum
        buf._data += g / avg
        p += (-lr) * buf._data
        bump(buf)
    else:
        p += (-lr) * g / avg
    bump(param, state["square_avg"])
