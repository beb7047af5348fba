"""Adafactor (Shazeer & Stern 2018) as torch.optim.Adafactor: factored second moments (row and
column variances) for parameters with 2+ dims, a full one for vectors; relative step sizes."""
from __future__ import annotations

import numpy as np

from ..frontend.autograd import no_grad
from ..frontend.creation import zeros_like
from ..frontend.reductions import norm
from .optimizer import Optimizer, scalar


class Adafactor(Optimizer):
    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if not 0.0 <= scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            with no_grad():
                for p, state in self._params_with_grad(group, new_state=_new_state):
                    _adafactor(p, p.grad, state, scalar(group["lr"]), group["beta2_decay"],
                               *group["eps"], group["d"], group["weight_decay"],
                               group["maximize"])
        return loss


def _new_state(p):
    """Row and column variances (reduced over the last and the second-to-last dim) for a
    parameter with 2+ dims, a full variance for a vector."""
    if p.grad.dim() > 1:
        rows, cols = list(p.grad.shape), list(p.grad.shape)
        rows[-1] = cols[-2] = 1
        return {"row_var": p.grad.new_zeros(rows), "col_var": p.grad.new_zeros(cols)}
    return {"variance": zeros_like(p.grad)}


def _adafactor(param, grad, state, lr, beta2_decay, eps1, eps2, d, weight_decay, maximize):
    grad = -grad if maximize else grad
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype.np).eps)
    state["step"] += 1
    step = state["step"].item()
    one_minus_beta2_t = step ** beta2_decay
    rho_t = min(lr, 1 / step ** 0.5)
    alpha = max(eps2, norm(param, 2).item() / param.numel() ** 0.5) * rho_t
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)
    if grad.dim() > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        row_var.lerp_(norm(grad, 2, -1, True).square() / grad.size(-1), one_minus_beta2_t)
        col_var.lerp_(norm(grad, 2, -2, True).square() / grad.size(-2), one_minus_beta2_t)
        var_estimate = row_var @ col_var
        var_estimate = var_estimate / row_var.mean(-2, keepdim=True).clamp(min=eps1)
    else:
        variance = state["variance"]
        variance.lerp_(grad * grad, one_minus_beta2_t)
        var_estimate = variance.clone()
    update = var_estimate.clamp(min=eps1 * eps1).rsqrt() * grad
    denom = max(1.0, norm(update, 2).item() / (update.numel() ** 0.5 * d))
    param.add_(update, alpha=-alpha / denom)
