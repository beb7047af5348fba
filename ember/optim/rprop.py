"""Rprop (resilient backpropagation) with PyTorch's options and state (step, prev, step_size)."""
from __future__ import annotations

from ..frontend.autograd import no_grad
from ..frontend.creation import full_like, zeros_like
from ..frontend.functional import where
from .optimizer import Optimizer, scalar


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr = scalar(group["lr"])
            new_state = lambda p: {"prev": zeros_like(p),  # noqa: E731
                                   "step_size": full_like(p.grad, lr)}
            with no_grad():
                for p, state in self._params_with_grad(group, new_state=new_state):
                    _rprop(p, p.grad, state, *group["etas"], *group["step_sizes"],
                           group["maximize"])
        return loss


def _rprop(param, grad, state, etaminus, etaplus, step_size_min, step_size_max, maximize):
    grad = -grad if maximize else grad
    state["step"] += 1
    prev, step_size = state["prev"], state["step_size"]
    sign = (grad * prev).sign()
    # the sign of the gradient's change picks the factor: grew -> etaplus, flipped -> etaminus
    # (the factors in the state's dtype: a Python-float where would round them to float32)
    up, down, one = (full_like(sign, v) for v in (etaplus, etaminus, 1.0))
    factor = where(sign > 0, up, where(sign < 0, down, one))
    step_size.mul_(factor).clamp_(step_size_min, step_size_max)
    grad = where(factor == down, zeros_like(grad), grad)   # no step after a sign flip
    param.addcmul_(grad.sign(), step_size, value=-1)
    prev.copy_(grad)
