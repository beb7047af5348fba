"""ctc_loss: PyTorch's argument handling (padded [N, S] or concatenated 1-d targets, unbatched
[T, C] input, lengths as tensors or sequences, the reductions) over the ``ctc_loss`` primitive."""
from __future__ import annotations

import numpy as np

from ... import dtypes as dt
from ... import ops as P
from ...frontend.creation import tensor
from ...frontend.dispatch import bind
from ...frontend.tensor import Tensor

__all__ = ["ctc_loss"]


def _lengths(x, name):
    values = x.tolist() if isinstance(x, Tensor) else list(x)
    return [int(v) for v in (values if isinstance(values, list) else [values])]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.dim() != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be [T, N, C] or [T, C], got "
                           f"{list(log_probs.shape)}")
    t_max, n, c = lp.shape
    in_len = _lengths(input_lengths, "input_lengths")
    tg_len = _lengths(target_lengths, "target_lengths")
    if len(in_len) != n or len(tg_len) != n:
        raise RuntimeError(f"input_lengths must be of size batch_size ({n}), got "
                           f"{len(in_len)} and target_lengths {len(tg_len)}")
    if any(t > t_max for t in in_len):
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {max(in_len)}")
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    s_max = max(tg_len) if tg_len else 0
    padded_input = isinstance(targets, Tensor) and targets.dim() == (1 if unbatched else 2)
    if padded_input:
        # padded [N, S] targets go to the primitive as they are (no data read: traceable)
        padded = targets.reshape(1, -1) if unbatched else targets
        padded = padded.to(dt.int64)
        if padded.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, "
                               f"but got size {padded.shape[1]}")
    else:
        # concatenated 1-d targets: split by the lengths into a padded [N, S] array
        tg = np.asarray(targets.detach()._data if isinstance(targets, Tensor) else targets,
                        np.int64).reshape(-1)
        rows = np.full((n, s_max), blank, np.int64)
        offsets = np.concatenate([[0], np.cumsum(tg_len)]).astype(int)
        for b in range(n):
            rows[b, :tg_len[b]] = tg[offsets[b]:offsets[b + 1]]
        padded = tensor(rows)
    nll = bind(P.CTC_LOSS, lp, padded, tensor(in_len, dtype=dt.int64),
               tensor(tg_len, dtype=dt.int64), blank=int(blank), zero_infinity=bool(zero_infinity))
    if unbatched:
        nll = nll.squeeze(0)
    if reduction == "none":
        return nll
    if reduction == "sum":
        return nll.sum()
    denom = tensor([max(t, 1) for t in tg_len], dtype=nll.dtype)
    return (nll / (denom.squeeze(0) if unbatched else denom)).mean()
