"""ember.signal.windows against torch.signal.windows."""
from __future__ import annotations

import pytest

import ember
from tests.oracle import compare

CASES = [("bartlett", {}), ("blackman", {}), ("cosine", {}), ("hamming", {}), ("hann", {}),
         ("nuttall", {}), ("exponential", {"tau": 0.5}), ("gaussian", {"std": 0.7}),
         ("kaiser", {"beta": 4.0}), ("general_cosine", {"a": [0.46, 0.23, 0.31]}),
         ("general_hamming", {"alpha": 0.6})]


@pytest.mark.parametrize("name,kw", CASES)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("sym", [True, False])
def test_windows(name, kw, M, sym):
    torch = pytest.importorskip("torch")
    for dtype in ("float32", "float64"):
        e = getattr(ember.signal.windows, name)(M, sym=sym, dtype=getattr(ember, dtype), **kw)
        t = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype), **kw)
        compare(e, t, dtype, (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12))


def test_window_errors():
    with pytest.raises(ValueError, match="non-negative window length"):
        ember.signal.windows.hann(-1)
    with pytest.raises(ValueError, match="float32 or float64"):
        ember.signal.windows.hann(3, dtype=ember.int64)
    with pytest.raises(ValueError, match="Center must be None"):
        ember.signal.windows.exponential(3, center=1.0)
    assert ember.signal.windows.exponential(4, center=1.0, sym=False).shape == (4,)
