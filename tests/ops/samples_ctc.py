"""Sample-table rows for the ctc_loss primitives (ember/ops/ctc.py), appended by samples.py."""
from __future__ import annotations

import numpy as np

from tests.ops.samples import Sample as S

_rng = np.random.RandomState(17)


def _ctc(x, targets, lib, reduction="mean"):
    lp = lib.nn.functional.log_softmax(x, -1)    # normalized: PyTorch's gradient is exact
    return lib.nn.functional.ctc_loss(lp, targets, [5, 4], [2, 1], reduction=reduction)


ROWS = [
    # (second order: PyTorch has no double backward for ctc_loss)
    S("nn.ctc_loss", _ctc, (_rng.standard_normal((5, 2, 4)), np.array([[1, 1], [3, 0]])),
      dtypes=("float32", "float64"), gg=False, gpu=False),
    S("nn.ctc_loss_none", lambda x, t, lib: _ctc(x, t, lib, "none"),
      (_rng.standard_normal((5, 2, 3)), np.array([[2, 1], [1, 2]])), gg=False, gpu=False),
]
