"""ASGD (averaged SGD, Polyak & Juditsky) with PyTorch's options and state (step, eta, mu, ax)."""
from __future__ import annotations

from ..frontend.autograd import no_grad
from ..frontend.creation import tensor, zeros_like
from .. import dtypes as dt
from .optimizer import Optimizer, scalar


class ASGD(Optimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr = scalar(group["lr"])
            lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
            new_state = lambda p: {"eta": tensor(lr, dtype=dt.float32),  # noqa: E731
                                   "mu": tensor(1.0, dtype=dt.float32), "ax": zeros_like(p)}
            with no_grad():
                for p, state in self._params_with_grad(group, new_state=new_state):
                    _asgd(p, p.grad, state, lr, lambd, alpha, t0, group["weight_decay"],
                          group["maximize"])
        return loss


def _asgd(param, grad, state, lr, lambd, alpha, t0, weight_decay, maximize):
    grad = -grad if maximize else grad
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    eta = state["eta"].item()
    param.mul_(1 - lambd * eta)
    param.add_(grad, alpha=-eta)
    ax, mu = state["ax"], state["mu"]
    if mu.item() != 1:
        ax.add_(param.sub(ax).mul_(mu))
    else:
        ax.copy_(param)
    step = state["step"].item()
    state["eta"].fill_(lr / ((1 + lambd * lr * step) ** alpha))
    state["mu"].fill_(1 / max(1, step - t0))
