"""Connectionist temporal classification: the negative log-likelihood of each target sequence
under per-frame log-probabilities (Graves et al. 2006), by the forward (alpha) recursion in log
space, and its gradient by the forward-backward products, both in NumPy.

``ctc_loss(log_probs [T, N, C], targets [N, S] int64, input_lengths [N], target_lengths [N])``
gives ``[N]``.  The gradient is PyTorch's: ``exp(lp) - exp(log(sum alpha*beta) + nll - lp)`` per
frame inside the input length (it is the gradient with respect to the logits of a log_softmax,
which is what PyTorch's CTC kernels return for ``log_probs``), 0 beyond it.  ``zero_infinity``
turns impossible alignments (infinite loss) into 0 with a zero gradient.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .registry import Meta, define, fail

_NEG = -np.inf


def _extended(targets, target_lengths, blank):
    """[N, L] labels with blanks interleaved (L = 2 * S + 1) and where a skip s-2 -> s is allowed."""
    n = targets.shape[0]
    s = int(max(target_lengths, default=0))
    # labels past a target's length are padding (any value): read as blanks, never indexed
    targets = np.where(np.arange(s) < np.asarray(target_lengths)[:, None], targets[:, :s], blank)
    ext = np.full((n, 2 * s + 1), blank, np.int64)
    ext[:, 1::2] = targets
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _shift(a, k):
    out = np.full(a.shape, _NEG, a.dtype)
    out[:, k:] = a[:, :a.shape[1] - k]
    return out


def _left(a, k, fill):
    out = np.full(a.shape, fill, a.dtype)
    if k < a.shape[1]:
        out[:, :a.shape[1] - k] = a[:, k:]
    return out


def _alphas(lp, ext, skip, input_lengths):
    t_max, n, _ = lp.shape
    emit = np.take_along_axis(lp, np.broadcast_to(ext[None], (t_max,) + ext.shape), axis=2)
    alphas = np.full((t_max,) + ext.shape, _NEG, lp.dtype)
    if t_max == 0:
        return alphas, emit
    alphas[0, :, :2] = emit[0, :, :2]
    for t in range(1, t_max):
        a = alphas[t - 1]
        two = np.where(skip, _shift(a, 2), _NEG)
        alphas[t] = np.logaddexp(np.logaddexp(a, _shift(a, 1)), two) + emit[t]
    return alphas, emit


def _nll(alphas, input_lengths, target_lengths):
    n = alphas.shape[1]
    out = np.empty(n, alphas.dtype)
    for b in range(n):
        t, s = int(input_lengths[b]), int(target_lengths[b])
        if t == 0:
            out[b] = 0.0 if s == 0 else np.inf
            continue
        last = alphas[t - 1, b]
        out[b] = -(np.logaddexp(last[2 * s], last[2 * s - 1]) if s > 0 else last[0])
    return out


def _ctc_np(lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    ext, skip = _extended(targets, target_lengths, blank)
    with np.errstate(all="ignore"):
        alphas, _ = _alphas(lp, ext, skip, input_lengths)
        out = _nll(alphas, input_lengths, target_lengths)
    if zero_infinity:
        out = np.where(np.isinf(out), 0, out)
    return out.astype(lp.dtype)


def _ctc_grad_np(lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    t_max, n, c = lp.shape
    ext, skip = _extended(targets, target_lengths, blank)
    grad = np.zeros(lp.shape, np.float64)
    with np.errstate(all="ignore"):
        alphas, emit = _alphas(lp, ext, skip, input_lengths)
        nll = _nll(alphas, input_lengths, target_lengths)
        for b in range(n):
            t_len, s = int(input_lengths[b]), int(target_lengths[b])
            big_l = 2 * s + 1
            if t_len == 0 or (zero_infinity and np.isinf(nll[b])):
                continue
            lab, sk, em = ext[b, :big_l], skip[b, :big_l], emit[:, b, :big_l]
            beta = np.full((t_len, big_l), _NEG)
            beta[t_len - 1, big_l - 1] = em[t_len - 1, big_l - 1]
            if big_l > 1:
                beta[t_len - 1, big_l - 2] = em[t_len - 1, big_l - 2]
            sk_next = _left(sk[None], 2, False)[0]          # may s jump to s + 2?
            for t in range(t_len - 2, -1, -1):
                nxt = beta[t + 1][None]
                one = _left(nxt, 1, _NEG)[0]
                two = np.where(sk_next, _left(nxt, 2, _NEG)[0], _NEG)
                nxt = nxt[0]
                beta[t] = np.logaddexp(np.logaddexp(nxt, one), two) + em[t]
            ab = alphas[:t_len, b, :big_l] + beta          # log(alpha * beta) per state
            lcab = np.full((t_len, c), _NEG)
            for k in range(big_l):
                lcab[:, lab[k]] = np.logaddexp(lcab[:, lab[k]], ab[:, k])
            frame = lp[:t_len, b].astype(np.float64)
            grad[:t_len, b] = np.exp(frame) - np.exp(lcab + nll[b] - frame)
    return grad.astype(lp.dtype)


def _infer_ctc(lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    if len(lp.shape) != 3 or not lp.dtype.is_floating_point:
        fail("ctc_loss", "log_probs must be a float [T, N, C] tensor", lp)
    if len(targets.shape) != 2 or targets.dtype is not dt.int64:
        fail("ctc_loss", "targets must be int64 [N, S] (the frontend pads them)", targets)
    return Meta((lp.shape[1],), lp.dtype)


def _ctc_vjp(g, out, lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    grad = CTC_LOSS_GRAD(lp, targets, input_lengths, target_lengths, blank=blank,
                         zero_infinity=zero_infinity)
    return grad * g.reshape((1, -1, 1)).expand(tuple(lp.shape)), None, None, None


CTC_LOSS = define("ctc_loss", family="loss", infer=_infer_ctc, numpy=_ctc_np, vjp=_ctc_vjp,
                  triton="host", params=("blank", "zero_infinity"))
CTC_LOSS_GRAD = define("ctc_loss_grad", family="loss", numpy=_ctc_grad_np, triton="host",
                       differentiable=False, params=("blank", "zero_infinity"),
                       infer=lambda lp, *rest, blank, zero_infinity: Meta(tuple(lp.shape),
                                                                          lp.dtype))
