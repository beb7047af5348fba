"""Loss functions with every reduction mode, written on the Tensor API.

cross_entropy is log_softmax (max-shifted, stable) followed by nll_loss; its label smoothing and
class-probability targets follow PyTorch's formulas term by term, so weights and ignore_index
normalise the same way.
"""
from __future__ import annotations

import numpy as np

import builtins
import math
import warnings

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.dispatch import STATE
from ...frontend.fused import Fused
from ...frontend.tensor import Tensor
from .activation import log_softmax, logsigmoid
from .distance import pairwise_distance
from . import fused_math as M
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
           "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multi_margin_loss", "multilabel_margin_loss"]


# --- reduction helpers -------------------------------------------------------------------------
def legacy_get_string(size_average, reduce, emit_warning=True):
    """The reduction string for the deprecated size_average/reduce arguments."""
    warning = ("size_average and reduce args will be deprecated, please use reduction='{}' "
               "instead.")
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(warning.format(ret))
    return ret


def _reduction(size_average, reduce, reduction):
    """The reduction in force (the legacy size_average/reduce pair wins when given), checked."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    _check_reduction(reduction)
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return F.mean(loss)
    if reduction == "sum":
        return F.sum(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input, target, name):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size (torch.Size({list(target.shape)})) that is different "
                      f"to the input size (torch.Size({list(input.shape)})). This will likely lead "
                      "to incorrect results due to broadcasting. Please ensure they have the same "
                      "size.", stacklevel=3)


def _promoted(input, target):
    dtype = dt.promote_types(input.dtype, target.dtype)
    shape = F.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    return F.expand_to(F.to_dtype(input, dtype), shape), F.expand_to(F.to_dtype(target, dtype), shape)


# --- regression losses -------------------------------------------------------------------------
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    if _AMP.on and "l1_loss" in _AMP.ops:
        return _AMP.call("l1_loss", l1_loss, input, target, size_average, reduce, reduction, weight)
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target, "l1_loss")
    a, b = _promoted(input, target)
    loss = F.abs(a - b)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    if _AMP.on and "mse_loss" in _AMP.ops:
        return _AMP.call("mse_loss", mse_loss, input, target, size_average, reduce, reduction, weight)
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target, "mse_loss")
    a, b = _promoted(input, target)
    d = a - b
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    if _AMP.on and "smooth_l1_loss" in _AMP.ops:
        return _AMP.call("smooth_l1_loss", smooth_l1_loss, input, target, size_average, reduce, reduction, beta)
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    a, b = _promoted(input, target)
    d = a - b
    ad = F.abs(d)
    if beta == 0.0:
        return _reduce(ad, reduction)
    loss = F.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if _AMP.on and "huber_loss" in _AMP.ops:
        return _AMP.call("huber_loss", huber_loss, input, target, reduction, delta, weight)
    _check_reduction(reduction)
    _size_warning(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    a, b = _promoted(input, target)
    d = a - b
    ad = F.abs(d)
    loss = F.where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- classification losses ---------------------------------------------------------------------
def _check_target_bounds(target, n_classes, ignore_index):
    if STATE.tracer is not None or target.numel() == 0:
        return
    t = target._host()   # (a host copy of a CUDA target: PyTorch checks on the device)
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    if _AMP.on and "nll_loss" in _AMP.ops:
        return _AMP.call("nll_loss", nll_loss, input, target, weight, size_average, ignore_index, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if target.dtype not in (dt.int64, dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{dt.legacy_name(target.dtype)}")
    if input.ndim == 1:
        if target.ndim != 0 and not (target.ndim == 1 and target.shape[0] == 1):
            raise ValueError(f"Expected input batch_size (1) to match target batch_size "
                             f"({target.shape[0] if target.ndim else 1}).")
    elif input.shape[0] != (target.shape[0] if target.ndim else 1):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 1}).")
    if input.ndim > 2 and tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                           f"{list(target.shape)}")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or "
                           f"no classes but got weight tensor of shape: {list(weight.shape)}")
    target = F.to_dtype(target, dt.int64)
    _check_target_bounds(target, n_classes, ignore_index)
    tgt = target.reshape(()) if input.ndim == 1 else target
    valid = tgt != ignore_index
    safe = F.where(valid, tgt, 0)
    picked = F.gather(input, class_dim, safe.unsqueeze(class_dim)).squeeze(class_dim)
    w = F.to_dtype(valid, input.dtype)
    if weight is not None:
        w = w * F.to_dtype(weight, input.dtype)[safe]
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return F.sum(loss)
    return _weighted_mean(F.sum(loss), F.sum(w))


def _weighted_mean(total, weight):
    """total / weight, with torch's convention when every target is ignored (weight 0): the value
    is NaN but the gradient is 0, not the NaN that 0/0's quotient rule would give."""
    empty = weight == 0
    return total / F.where(empty, 1.0, weight) + F.where(empty, math.nan, 0.0).detach()


def _class_weight_view(weight, input, class_dim):
    shape = [1] * input.ndim
    shape[class_dim] = weight.numel()
    return F.to_dtype(weight, input.dtype).reshape(tuple(shape))


def _some_target_counts(target, ignore_index):
    data = target._data
    return data.__class__ is not np.ndarray or bool((data != ignore_index).any())


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    if _AMP.on and "cross_entropy" in _AMP.ops:
        return _AMP.call("cross_entropy", cross_entropy, input, target, weight, size_average, ignore_index, reduce, reduction, label_smoothing)
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    if (weight is None and label_smoothing == 0.0 and input.ndim == 2 and target.ndim == 1
            and target.dtype is dt.int64 and input.shape[0] == target.shape[0]
            and _some_target_counts(target, ignore_index)):
        # the common case (logits [N, C], int64 class indices, not every target ignored: the
        # composite below gives those their PyTorch errors and zero gradients): one node, see
        # frontend/fused.py
        _check_target_bounds(target, n_classes, ignore_index)
        return _fused_cross_entropy(input, target=target, ignore_index=ignore_index,
                                    reduction=reduction)
    logp = log_softmax(input, class_dim)
    if tuple(input.shape) == tuple(target.shape):
        # class probabilities
        if target.dtype.category != dt.FLOAT:
            raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                               f"got {dt.legacy_name(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if weight is not None and weight.numel() != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod_ = logp * target
        if weight is not None:
            prod_ = prod_ * _class_weight_view(weight, input, class_dim)
        loss = -F.sum(prod_, class_dim)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return F.sum(loss)
        return F.sum(loss) / (input.numel() // max(n_classes, 1)) if input.numel() else \
            F.sum(loss) / 0.0
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    tgt = target.reshape(()) if input.ndim == 1 else target
    ignore = tgt == ignore_index
    if weight is not None:
        smooth = -F.sum(logp * _class_weight_view(weight, input, class_dim), class_dim)
    else:
        smooth = -F.sum(logp, class_dim)
    smooth = F.where(ignore, 0.0, smooth)
    if reduction == "mean":
        if weight is not None:
            safe = F.where(ignore, 0, F.to_dtype(tgt, dt.int64))
            w = F.where(ignore, 0.0, F.to_dtype(weight, input.dtype)[safe])
            ret = _weighted_mean(F.sum(smooth), F.sum(w))
        else:
            ret = _weighted_mean(F.sum(smooth), F.to_dtype(F.sum(F.logical_not(ignore)),
                                                           input.dtype))
    elif reduction == "sum":
        ret = F.sum(smooth)
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


def _cross_entropy(input, target, ignore_index, reduction):
    return nll_loss(log_softmax(input, 1), target, None, None, ignore_index, None, reduction)


_fused_cross_entropy = Fused("NllLoss", M.cross_entropy_forward,
                             M.cross_entropy_backward, _cross_entropy)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    if _AMP.on and "binary_cross_entropy" in _AMP.ops:
        return _AMP.call("binary_cross_entropy", binary_cross_entropy, input, target, weight, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size (torch.Size({list(target.shape)})) that is "
                         f"different to the input size (torch.Size({list(input.shape)})) is "
                         "deprecated. Please ensure they have the same size.")
    if STATE.tracer is None and input.numel():
        d = input._host()
        if (d < 0).any() or (d > 1).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
    # PyTorch clamps each log term at -100 so that input 0 or 1 gives a finite loss
    log_x = F.clamp(F.log(input), min=-100.0)
    log_1mx = F.clamp(F.log(1.0 - input), min=-100.0)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    if _AMP.on and "binary_cross_entropy_with_logits" in _AMP.ops:
        return _AMP.call("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, input, target, weight, size_average, reduce, reduction, pos_weight)
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size (torch.Size({list(target.shape)})) must be the same as "
                         f"input size (torch.Size({list(input.shape)}))")
    ls = logsigmoid(input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input - log_weight * ls
    else:
        loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if _AMP.on and "kl_div" in _AMP.ops:
        return _AMP.call("kl_div", kl_div, input, target, size_average, reduce, reduction, log_target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with the "
                      "KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = F.exp(target) * (target - input)
    else:
        # xlogy(target, target) - target * input: 0 where target == 0, NaN where target < 0
        zero = target == 0
        safe = F.where(zero, 1.0, target)
        loss = F.where(zero, 0.0, target * F.log(safe)) - target * input
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return F.sum(loss) / n
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-08,
                     reduce=None, reduction="mean"):
    if _AMP.on and "poisson_nll_loss" in _AMP.ops:
        return _AMP.call("poisson_nll_loss", poisson_nll_loss, input, target, log_input, full, size_average, eps, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = F.exp(input) - target * input
    else:
        loss = input - target * F.log(input + eps)
    if full:
        safe = F.where(target > 1, target, 1.0)
        stirling = safe * F.log(safe) - safe + 0.5 * F.log(2 * math.pi * safe)
        loss = loss + F.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-06, reduction="mean"):
    if _AMP.on and "gaussian_nll_loss" in _AMP.ops:
        return _AMP.call("gaussian_nll_loss", gaussian_nll_loss, input, target, var, full, eps, reduction)
    if isinstance(var, (int, float)):
        var = F.full_like(input, var) if hasattr(F, "full_like") else input * 0 + var
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and builtins.sum(
                v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # one dim of size 1 broadcasts (torch's homoscedastic case, any dim)
        else:
            raise ValueError("var is of incorrect size")
    _check_reduction(reduction)
    if STATE.tracer is None and (var._host() < 0).any():
        raise ValueError("var has negative entry/entries")
    var = F.clamp(var.detach(), min=eps) + (var - var.detach())
    loss = 0.5 * (F.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    if _AMP.on and "margin_ranking_loss" in _AMP.ops:
        return _AMP.call("margin_ranking_loss", margin_ranking_loss, input1, input2, target, margin, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)} ")
    return _reduce(F.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    if _AMP.on and "hinge_embedding_loss" in _AMP.ops:
        return _AMP.call("hinge_embedding_loss", hinge_embedding_loss, input, target, margin, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    margin_clamp = F.clamp(margin - input, min=0.0)
    out_margin = F.where(target != 1, margin_clamp, 0.0 * input)
    out_self = F.where(target != -1, input, 0.0 * input)
    return _reduce(out_margin + out_self, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    if _AMP.on and "soft_margin_loss" in _AMP.ops:
        return _AMP.call("soft_margin_loss", soft_margin_loss, input, target, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(F.log1p(F.exp(-target * input)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    if _AMP.on and "multilabel_soft_margin_loss" in _AMP.ops:
        return _AMP.call("multilabel_soft_margin_loss", multilabel_soft_margin_loss, input, target, weight, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = F.sum(loss, input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    if _AMP.on and "cosine_embedding_loss" in _AMP.ops:
        return _AMP.call("cosine_embedding_loss", cosine_embedding_loss, input1, input2, target, margin, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    eps = 1e-12
    dim = input1.ndim - 1
    prod_sum = F.sum(input1 * input2, dim)
    mag1 = F.sum(input1 * input1, dim) + eps
    mag2 = F.sum(input2 * input2, dim) + eps
    cos = prod_sum / F.sqrt(mag1 * mag2)
    pos = 1 - cos
    neg = F.clamp(cos - margin, min=0.0)
    loss = F.where(target == 1, pos, 0.0 * cos) + F.where(target == -1, neg, 0.0 * cos)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    if _AMP.on and "triplet_margin_loss" in _AMP.ops:
        return _AMP.call("triplet_margin_loss", triplet_margin_loss, anchor, positive, negative, margin, p, eps, swap, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} "
                         "instead")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = F.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(F.clamp(margin + d_pos - d_neg, min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                         f"got {margin} instead")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = F.minimum(d_neg, dist(positive, negative))
    return _reduce(F.clamp(margin + d_pos - d_neg, min=0.0), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    if _AMP.on and "multi_margin_loss" in _AMP.ops:
        return _AMP.call("multi_margin_loss", multi_margin_loss, input, target, p, margin, weight, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = F.to_dtype(target, dt.int64).reshape(-1, 1)
    n_classes = x.shape[1]
    picked = F.gather(x, 1, t)
    z = F.clamp(margin - picked + x, min=0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * F.to_dtype(weight, x.dtype)[t.reshape(-1)].unsqueeze(1)
    from ...frontend.creation import arange
    not_target = arange(n_classes, dtype=dt.int64, device=t.device).unsqueeze(0) != t
    loss = F.sum(F.where(not_target, z, 0.0 * z), 1) / n_classes
    if input.ndim != 2:
        loss = loss.reshape(tuple(target.shape))
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    if _AMP.on and "multilabel_margin_loss" in _AMP.ops:
        return _AMP.call("multilabel_margin_loss", multilabel_margin_loss, input, target, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = F.to_dtype(target, dt.int64).reshape(x.shape[0], -1)
    n, c = x.shape
    # valid targets are those before the first -1 in each row
    invalid = F.cumsum(F.to_dtype(t < 0, dt.int64), 1) > 0
    safe = F.where(invalid, 0, t)
    from ...frontend.creation import arange
    classes = arange(c, dtype=dt.int64, device=safe.device)
    is_target = F.any((safe.unsqueeze(-1) == classes) & F.logical_not(invalid).unsqueeze(-1), 1)
    picked = F.gather(x, 1, safe)                               # [n, c] scores of targets j
    hinge = F.clamp(1.0 - (picked.unsqueeze(-1) - x.unsqueeze(1)), min=0.0)  # [n, j, i]
    mask = F.logical_not(invalid).unsqueeze(-1) & F.logical_not(is_target).unsqueeze(1)
    loss = F.sum(F.where(mask, hinge, 0.0 * hinge), (1, 2)) / c
    if input.ndim != 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)
