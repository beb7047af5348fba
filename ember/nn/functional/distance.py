"""normalize, cosine_similarity, pairwise_distance, pdist, cdist."""
from __future__ import annotations

from ...frontend import functional as F
from ...frontend.autocast import AMP as _AMP  # autocast hook: one attribute read when off

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist", "cdist"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = F.clamp(F.norm(input, p, dim, keepdim=True), min=eps)
    return input / denom


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    if _AMP.on and "cosine_similarity" in _AMP.ops:
        return _AMP.call("cosine_similarity", cosine_similarity, x1, x2, dim, eps)
    shape = F.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    x1 = F.expand_to(x1, shape)
    x2 = F.expand_to(x2, shape)
    n1 = F.clamp(F.norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = F.clamp(F.norm(x2, 2, dim, keepdim=True), min=eps)
    return F.sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    out_nd = max(x1.ndim, x2.ndim)
    d = x1 - x2 + eps
    if out_nd == 0:
        return F.abs(d)
    return F.norm(d, p, -1, keepdim)


def pdist(input, p=2):
    if _AMP.on and "pdist" in _AMP.ops:
        return _AMP.call("pdist", pdist, input, p)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    rows, cols = [], []
    for i in range(n):
        for j in range(i + 1, n):
            rows.append(i)
            cols.append(j)
    from ...frontend.creation import tensor
    from ... import dtypes as dt
    if not rows:  # fewer than 2 rows: an empty result, still in the graph (as torch's)
        return F.norm(input[:0] - input[:0], p, -1)
    a = input[tensor(rows, dtype=dt.int64)]
    b = input[tensor(cols, dtype=dt.int64)]
    return F.norm(a - b, p, -1)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    if _AMP.on and "cdist" in _AMP.ops:
        return _AMP.call("cdist", cdist, x1, x2, p, compute_mode)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return F.norm(diff, p, -1)
