"""NumPy helpers shared by the optimizers' fast paths: in-place updates on the arrays of
parameters and state tensors, with PyTorch's CPU formulas (so results stay close to its)."""
from __future__ import annotations

import numpy as np



def lerp_(a, b, weight):
    """a = lerp(a, b, weight) in place, using PyTorch's two-branch formula for accuracy."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1 - weight), out=a)
    return a


def grad_array(grad, maximize):
    g = grad._data
    return np.negative(g) if maximize else g


def adam_moments_(p, g, m, v, lr, beta1, beta2, weight_decay, decoupled):
    """optimizer.adam_moments_ on the arrays: weight decay on p (decoupled) or into g (L2), then
    m and v updated in place.  Returns g with any L2 term."""
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    lerp_(m, g, 1 - beta1)
    v *= beta2
    v += (1 - beta2) * g * g
    return g


def incr_step(step_t):
    """state['step'] += 1 on the array; returns the new step as a Python float."""
    step_t._data += 1
    step_t._bump_version()
    return float(step_t._data)
