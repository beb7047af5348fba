"""The few initializers the conv / recurrent / attention layers need at construction, with
PyTorch's distributions (bounds and standard deviations); kept local so these layers do not depend
on the order in which ember.nn.init grows."""
from __future__ import annotations

import math

from ...frontend.autograd import no_grad
from ...shapes import prod


def fan_in(w):
    return w.shape[1] * prod(w.shape[2:]) if w.ndim > 1 else w.shape[0]


def fan_out(w):
    return w.shape[0] * prod(w.shape[2:])


def uniform_(t, low, high):
    with no_grad():
        t.uniform_(low, high)
    return t


def normal_(t, mean, std):
    with no_grad():
        t.normal_(mean, std)
    return t


def constant_(t, value):
    with no_grad():
        t.fill_(value)
    return t


def kaiming_uniform_(w, a=0.0):
    """leaky_relu gain with slope a, fan_in mode (PyTorch's default for conv and linear)."""
    n = fan_in(w)
    if n == 0:
        return w
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = math.sqrt(3.0) * gain / math.sqrt(n)
    return uniform_(w, -bound, bound)


def xavier_uniform_(w, gain=1.0):
    bound = gain * math.sqrt(6.0 / (fan_in(w) + fan_out(w)))
    return uniform_(w, -bound, bound)


def xavier_normal_(w, gain=1.0):
    return normal_(w, 0.0, gain * math.sqrt(2.0 / (fan_in(w) + fan_out(w))))
