"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, bump, scalar, use_fast_path


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            params, grads, bufs = [], [], []
            for p in group["params"]:
                if p.grad is not None:
                    params.append(p)
                    grads.append(p.grad)
                    # like PyTorch, plain SGD keeps no per-parameter state at all
                    bufs.append(self.state[p].get("momentum_buffer")
                                if group["momentum"] != 0 else None)
            sgd(params, grads, bufs, weight_decay=group["weight_decay"],
                momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
                nesterov=group["nesterov"], maximize=group["maximize"],
                fast=use_fast_path(group))
            if group["momentum"] != 0:
                for p, buf in zip(params, bufs):
                    self.state[p]["momentum_buffer"] = buf
        return loss


def sgd(params, grads, momentum_buffer_list, *, weight_decay, momentum, lr, dampening, nesterov,
        maximize, fast=False):
    """Functional SGD; fills momentum_buffer_list in place for parameters without a buffer."""
    lr = scalar(lr)
    weight_decay = scalar(weight_decay)
    update = _sgd_numpy if fast else _sgd_tensor
    for i, (param, grad) in enumerate(zip(params, grads)):
        momentum_buffer_list[i] = update(param, grad, momentum_buffer_list[i], weight_decay,
                                         momentum, lr, dampening, nesterov, maximize)


def _sgd_tensor(param, grad, buf, weight_decay, momentum, lr, dampening, nesterov, maximize):
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if momentum != 0:
        if buf is None:
            buf = grad.detach().clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(buf, alpha=momentum) if nesterov else buf
    param.add_(grad, alpha=-lr)
    return buf


def _sgd_numpy(param, grad, buf, weight_decay, momentum, lr, dampening, nesterov, maximize):
    from ..frontend.dispatch import _new
    p, g = param._data, grad._data
    if maximize:
        g = np.negative(g)
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        if buf is None:
            buf = _new(np.array(g, copy=True))
        else:
            b = buf._data
            np.multiply(b, momentum, out=b)
            b += (1 - dampening) * g
            bump(buf)
        g = g + momentum * buf._data if nesterov else buf._data
    p += (-lr) * g
    bump(param)
    return buf
