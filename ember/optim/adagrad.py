"""Adagrad with lr_decay, initial_accumulator_value, weight decay and maximize."""
from __future__ import annotations

import numpy as np

from . import _fast
from ..frontend.creation import full_like
from .optimizer import (Optimizer, bump, check_non_negative, is_capturable, new_step, scalar,
                        use_fast_path)


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # like PyTorch, Adagrad creates its state up front (the accumulator's initial value)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = new_step()
            # on p's device (a CUDA parameter's state is a CUDA tensor)
            state["sum"] = full_like(p.detach(), group["initial_accumulator_value"],
                                     memory_format=None)
        return state

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            update = _adagrad_numpy if use_fast_path(group) else _adagrad_tensor
            capturable = is_capturable(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._init_state(p, group)  # params added by add_param_group later
                update(p, p.grad, state["sum"], state["step"], scalar(group["lr"]),
                       group["weight_decay"], group["lr_decay"], group["eps"],
                       group["maximize"], capturable)
        return loss


def _adagrad_tensor(param, grad, state_sum, step_t, lr, weight_decay, lr_decay, eps, maximize,
                    capturable=False):
    step_t += 1
    step = step_t if capturable else step_t.item()
    grad = -grad if maximize else grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum.addcmul_(grad, grad, value=1)
    std = state_sum.sqrt().add_(eps)
    if capturable:  # clr is a tensor (it depends on the step count)
        param.add_(grad.div(std).mul(clr.neg()))
    else:
        param.addcdiv_(grad, std, value=-clr)


def _adagrad_numpy(param, grad, state_sum, step_t, lr, weight_decay, lr_decay, eps, maximize,
                   capturable=False):
    p, s = param._data, state_sum._data
    step = _fast.incr_step(step_t)
    g = _fast.grad_array(grad, maximize)
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)
    s += g * g
    std = np.sqrt(s)
    std += eps
    p += (-clr) * g / std
    bump(param, state_sum)
