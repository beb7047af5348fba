"""embedding, embedding_bag and one_hot."""
from __future__ import annotations

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.autograd import no_grad
from ...frontend.dispatch import STATE
from ...frontend.indexing import bincount, unique
from ...frontend.tensor import Tensor

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(input, n):
    if not isinstance(input, Tensor) or input.dtype not in (dt.int64, dt.int32):
        got = input.dtype.name if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {got} instead (while checking "
                           f"arguments for embedding)")
    if STATE.tracer is None and input.numel():
        lo, hi = int(input._host().min()), int(input._host().max())
        if lo < -n or hi >= n or lo < 0:
            raise IndexError("index out of range in self")


def _renorm_(weight, input, max_norm, norm_type):
    """Rows referenced by input are scaled in place to norm <= max_norm (no gradient)."""
    with no_grad():
        rows = unique(input.reshape(-1))
        w = weight[rows]
        norms = F.norm(w, norm_type, dim=1, keepdim=True)
        scale = F.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[rows] = w * scale


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    _check_indices(input, n)
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    out = weight[input]
    if not (STATE.grad_enabled and weight.requires_grad) and STATE.tracer is None:
        return out
    if padding_idx is not None:
        # the padding row gets no gradient: its lookups read a detached copy
        keep = (input != padding_idx).unsqueeze(-1)
        out = F.where(keep, out, out.detach())
    if scale_grad_by_freq:
        # value unchanged (out - out.detach() is 0), gradient scaled by 1/count in the batch
        counts = bincount(input.reshape(-1), minlength=n)
        inv = 1.0 / F.to_dtype(counts[input], weight.dtype).unsqueeze(-1)
        out = out.detach() + (out - out.detach()) * inv
    return out


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences.")
        bags = [(input[i], None if per_sample_weights is None else per_sample_weights[i])
                for i in range(input.shape[0])]
    else:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        offs = [int(o) for o in offsets.tolist()]
        if not include_last_offset:
            offs = offs + [input.shape[0]]
        bags = [(input[a:b], None if per_sample_weights is None else per_sample_weights[a:b])
                for a, b in zip(offs[:-1], offs[1:])]
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]  # -1 is the last row, as in embedding
    outs = []
    for idx, psw in bags:
        if padding_idx is not None:
            keep = (idx != padding_idx).nonzero().reshape(-1)
            idx = idx[keep]
            psw = psw[keep] if psw is not None else None
        rows = embedding(idx, weight, None, max_norm, norm_type, scale_grad_by_freq)
        if rows.shape[0] == 0:
            outs.append(weight.new_zeros((weight.shape[1],)))
            continue
        if psw is not None:
            rows = rows * psw.unsqueeze(-1)
        if mode == "sum":
            outs.append(F.sum(rows, 0))
        elif mode == "mean":
            outs.append(F.mean(rows, 0))
        else:
            outs.append(F.amax(rows, 0))
    return F.stack(outs, 0)


def one_hot(tensor, num_classes=-1):
    if not isinstance(tensor, Tensor) or tensor.dtype is not dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if STATE.tracer is None and tensor.numel():
        if int(tensor._host().min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes != -1 and int(tensor._host().max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max()) + 1
    from ...frontend.creation import arange
    classes = arange(num_classes, dtype=dt.int64, device=tensor.device)
    return F.to_dtype(tensor.unsqueeze(-1) == classes, dt.int64)
