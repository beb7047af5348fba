"""The NumPy forward and backward of the composites that have an eager fast path
(``ember/frontend/fused.py``): softmax, log_softmax, layer_norm, gelu, cross-entropy over class
indices and the LSTM cell.  Each forward returns (outputs, saved); each backward returns one
gradient array (or None) per differentiable input.  The math is the composite's (the same
max-shift, the same biased variance, the same erf/tanh GELU), reassociated and done in place
where NumPy allows.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from ...runtime import cpu as _cpu

_BIG = _cpu.PARALLEL_MIN   # from this size on, exp and row reductions go through runtime/cpu


def _exp(a):
    return _cpu.elementwise(np.exp, a) if a.size >= _BIG else np.exp(a)


def _amax(a, axis):
    if a.size >= _BIG and a.flags.c_contiguous and axis == a.ndim - 1:
        return _cpu.reduce(np.maximum, a, (axis,), a.dtype)
    return np.amax(a, axis=axis, keepdims=True)


def _sum(a, axis):
    if a.size >= _BIG and a.flags.c_contiguous and axis == a.ndim - 1:
        return _cpu.reduce(np.add, a, (axis,), a.dtype)
    return np.add.reduce(a, axis=axis, keepdims=True)


def _shift(x, dim):
    """(x minus its max along dim, whether a max was +-inf): an infinite max shifts by 0, as the
    composite's _shifted does; rows of all -inf then give 0/0 = NaN, like PyTorch."""
    m = _amax(x, dim)
    if np.isfinite(m).all():
        return np.subtract(x, m), False
    m = np.where(np.isinf(m), 0, m).astype(x.dtype, copy=False)
    return np.subtract(x, m), True


_QUIET = contextlib.nullcontext()


# --- softmax / log_softmax (dim given, input of at least one dim) -------------------------------
def softmax_forward(x, dim):
    z, infinite = _shift(x, dim)
    e = _exp(z)
    with np.errstate(invalid="ignore") if infinite else _QUIET:
        e /= _sum(e, dim)
    return (e,), e


def softmax_backward(y, grads, needs, x, dim):
    g = grads[0]
    gy = g * y
    gy -= y * _sum(gy, dim)
    return (gy,)


def log_softmax_forward(x, dim):
    z, infinite = _shift(x, dim)
    with np.errstate(divide="ignore", invalid="ignore") if infinite else _QUIET:
        z -= np.log(_sum(_exp(z), dim))
    return (z,), z


def log_softmax_backward(y, grads, needs, x, dim):
    g = grads[0]
    return (g - _exp(y) * _sum(g, dim),)


# --- layer_norm over the trailing dims ----------------------------------------------------------
def _row_length(x, dims):
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def layer_norm_forward(x, weight, bias, dims, eps):
    rows = _row_length(x, dims)
    x2 = x.reshape(-1, rows)
    mean = _sum(x2, 1) * (1.0 / rows)
    xhat = x2 - mean
    var = _sum(xhat * xhat, 1) * (1.0 / rows)
    rstd = 1.0 / np.sqrt(var + eps)
    rstd = rstd.astype(x.dtype, copy=False)
    xhat *= rstd
    y = xhat * weight.reshape(-1) if weight is not None else xhat.copy()
    if bias is not None:
        y += bias.reshape(-1)
    return (y.reshape(x.shape),), (xhat, rstd)


def layer_norm_backward(saved, grads, needs, x, weight, bias, dims, eps):
    xhat, rstd = saved
    rows = xhat.shape[1]
    g = grads[0].reshape(-1, rows)
    gw = (g * xhat).sum(0).reshape(weight.shape) if weight is not None and needs[1] else None
    gb = g.sum(0).reshape(bias.shape) if bias is not None and needs[2] else None
    gx = None
    if needs[0]:
        gxhat = g * weight.reshape(-1) if weight is not None else g
        inv = 1.0 / rows
        a = _sum(gxhat, 1) * inv
        b = _sum(gxhat * xhat, 1) * inv
        gx = gxhat - a
        gx -= xhat * b
        gx *= rstd
        gx = gx.reshape(x.shape)
    return gx, gw, gb


# --- linear: x [..., in] @ W[out, in]^T + b[out] ----------------------------------------------
def linear_forward(x, w, b):
    x2 = x.reshape(-1, x.shape[-1])
    out = x2 @ w.T
    if b is not None:
        out += b
    return (out.reshape(x.shape[:-1] + (w.shape[0],)),), None


def linear_backward(saved, grads, needs, x, w, b):
    g2 = grads[0].reshape(-1, w.shape[0])
    return ((g2 @ w).reshape(x.shape) if needs[0] else None,
            g2.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None,
            g2.sum(0) if b is not None and needs[2] else None)


# --- gelu ---------------------------------------------------------------------------------------
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(a):
    from scipy.special import erf   # (imported on first use: scipy is slow to import)
    return erf(a).astype(a.dtype, copy=False)


def gelu_forward(x, approximate):
    if approximate == "tanh":
        t = np.tanh((x + 0.044715 * x * x * x) * _SQRT_2_PI)
        y = (t + 1.0) * x * 0.5
        return (y.astype(x.dtype, copy=False),), t
    cdf = _erf(x * _SQRT1_2)
    cdf += 1.0
    cdf *= 0.5
    return (x * cdf,), cdf


def gelu_backward(saved, grads, needs, x, approximate):
    g = grads[0]
    if approximate == "tanh":
        t = saved
        inner_d = (1.0 + 3 * 0.044715 * x * x) * _SQRT_2_PI
        d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_d
        return ((g * d).astype(x.dtype, copy=False),)
    cdf = saved
    pdf = np.exp(x * x * -0.5) * _INV_SQRT_2PI
    pdf *= x
    pdf += cdf
    return ((g * pdf).astype(x.dtype, copy=False),)


# --- cross-entropy over class indices (input [N, C], target [N]) ------------------------------
def cross_entropy_forward(x, target, ignore_index, reduction):
    logp = log_softmax_forward(x, 1)[0][0]
    t = target._data
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    rows = np.arange(x.shape[0])
    loss = -logp[rows, safe] * valid
    count = int(valid.sum())
    if reduction == "none":
        out = loss.astype(x.dtype, copy=False)
    else:
        total = loss.sum(dtype=x.dtype)
        out = np.asarray(total if reduction == "sum" else
                         (total / count if count else x.dtype.type(np.nan)), dtype=x.dtype)
    return (out,), (logp, safe, valid, count)


def cross_entropy_backward(saved, grads, needs, x, target, ignore_index, reduction):
    logp, safe, valid, count = saved
    g = grads[0]
    scale = valid.astype(x.dtype)
    scale *= (g / count if count else x.dtype.type(np.nan)) if reduction == "mean" else g
    gx = _exp(logp)
    gx[np.arange(x.shape[0]), safe] -= 1.0
    gx *= scale[:, None]
    return (gx,)


# --- LSTM cell: (gx, h, c, w_hh, b_hh) -> (h', c') ----------------------------------------------
def _sigmoid(a):
    """1 / (1 + e^-a) without overflow: e^-|a| is at most 1."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0, e).astype(a.dtype, copy=False) / (1.0 + e)


def lstm_cell_forward(gx, h, c, w_hh, b_hh):
    g = h @ w_hh.T
    g += gx
    if b_hh is not None:
        g += b_hh
    n = g.shape[-1] // 4
    i, f, o = _sigmoid(g[:, :n]), _sigmoid(g[:, n:2 * n]), _sigmoid(g[:, 3 * n:])
    gg = np.tanh(g[:, 2 * n:3 * n])
    c2 = f * c
    c2 += i * gg
    tc = np.tanh(c2)
    h2 = o * tc
    return (h2, c2), (i, f, gg, o, tc)


def lstm_cell_backward(saved, grads, needs, gx, h, c, w_hh, b_hh):
    i, f, gg, o, tc = saved
    gh2, gc2 = grads
    dc = gh2 * o
    dc *= 1.0 - tc * tc
    dc += gc2
    dg = np.empty((h.shape[0], 4 * i.shape[1]), gx.dtype)
    n = i.shape[1]
    np.multiply(dc * gg, i * (1.0 - i), out=dg[:, :n])
    np.multiply(dc * c, f * (1.0 - f), out=dg[:, n:2 * n])
    np.multiply(dc * i, 1.0 - gg * gg, out=dg[:, 2 * n:3 * n])
    np.multiply(gh2 * tc, o * (1.0 - o), out=dg[:, 3 * n:])
    return (dg if needs[0] else None,
            dg @ w_hh if needs[1] else None,
            dc * f if needs[2] else None,
            dg.T @ h if needs[3] else None,
            dg.sum(0) if b_hh is not None and needs[4] else None)


# --- a whole LSTM layer over a sequence: (gx [L, N, 4H], h0, c0, w_hh, b_hh) -> (out, h_n, c_n) -
def _gate_scale(H, dtype):
    """sigmoid(x) = 0.5 * tanh(x / 2) + 0.5: with the i, f, o columns of the gate pre-activations
    halved (folded into the weights once per sequence), one tanh over all 4H columns followed by
    one scale and one shift gives all four gates."""
    half = np.full(4 * H, 0.5, dtype)
    half[2 * H:3 * H] = 1.0
    shift = np.full(4 * H, 0.5, dtype)
    shift[2 * H:3 * H] = 0.0
    return half, shift


def lstm_layer_forward(gx, h0, c0, w_hh, b_hh, reverse):
    """One direction of one layer, every time step in NumPy: a single autograd node for the
    whole sequence (what cuDNN's fused RNN is to PyTorch), back-propagated through time by
    lstm_layer_backward.  ~9 NumPy calls per time step."""
    L, N = gx.shape[0], gx.shape[1]
    H = h0.shape[-1]
    half, shift = _gate_scale(H, gx.dtype)
    pre = gx + b_hh if b_hh is not None else gx.copy()
    pre *= half
    w_t = (w_hh * half[:, None]).T
    out = np.empty((L, N, H), gx.dtype)
    cs = np.empty((L + 1, N, H), gx.dtype)       # cs[k]: the cell state entering the k-th step
    gates = np.empty((L, N, 4 * H), gx.dtype)    # i, f, tanh(g), o after their nonlinearities
    tcs = np.empty((L, N, H), gx.dtype)
    cs[0] = c0
    h = h0
    order = range(L - 1, -1, -1) if reverse else range(L)
    for k, t in enumerate(order):
        g = gates[t]
        np.matmul(h, w_t, out=g)
        g += pre[t]
        np.tanh(g, out=g)
        g *= half
        g += shift
        c = cs[k + 1]
        np.multiply(g[:, H:2 * H], cs[k], out=c)
        c += g[:, :H] * g[:, 2 * H:3 * H]
        np.tanh(c, out=tcs[t])
        h = out[t]
        np.multiply(g[:, 3 * H:], tcs[t], out=h)
    return (out, h.copy(), cs[L].copy()), (gates, tcs, cs, out)


def lstm_layer_backward(saved, grads, needs, gx, h0, c0, w_hh, b_hh, reverse):
    gates, tcs, cs, out = saved
    g_out, g_hn, g_cn = grads
    L, N, H = g_out.shape
    order = range(L - 1, -1, -1) if reverse else range(L)
    # cs in time order: the cell state entering step t
    c_prev = cs[:L][::-1] if reverse else cs[:L]
    i, f, gg, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
    # every factor that does not depend on the incoming gradient, for all steps at once:
    # d gate pre-activation = dc * A (i, f, g columns) or dh * B (o column)
    A = np.empty((L, N, 3, H), gx.dtype)
    np.multiply(gg, i * (1.0 - i), out=A[:, :, 0])
    np.multiply(c_prev, f * (1.0 - f), out=A[:, :, 1])
    np.multiply(i, 1.0 - gg * gg, out=A[:, :, 2])
    B = tcs * o * (1.0 - o)
    dtc = o * (1.0 - tcs * tcs)
    dgx = np.empty(gates.shape, gx.dtype)
    dg4 = dgx.reshape(L, N, 4, H)
    dh, dc = g_hn.copy(), g_cn.copy()
    for t in reversed(order):
        dh += g_out[t]
        dc += dh * dtc[t]
        np.multiply(dc[:, None, :], A[t], out=dg4[t, :, :3])
        np.multiply(dh, B[t], out=dg4[t, :, 3])
        dh = dgx[t] @ w_hh
        dc *= f[t]
    flat = dgx.reshape(-1, 4 * H)
    gw = None
    if needs[3]:   # the sum over steps of dg[t]^T @ (the hidden state entering step t)
        h_prev = np.empty((L, N, H), gx.dtype)
        if reverse:
            h_prev[:L - 1], h_prev[L - 1] = out[1:], h0
        else:
            h_prev[1:], h_prev[0] = out[:L - 1], h0
        gw = flat.T @ h_prev.reshape(-1, H)
    return (dgx if needs[0] else None,
            dh if needs[1] else None,
            dc if needs[2] else None,
            gw,
            flat.sum(0) if b_hh is not None and needs[4] else None)
