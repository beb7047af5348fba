"""SummaryWriter writes event files TensorBoard's own reader understands."""
from __future__ import annotations

import numpy as np
import pytest

import ember

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_and_graph(tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 1))
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss", ember.tensor(1.0 / (step + 1)), step)
        w.add_scalars("lr", {"a": 0.1, "b": 0.2}, 3)
        values = np.random.default_rng(0).standard_normal(1000)
        w.add_histogram("weights", ember.tensor(values), 7)
        w.add_histogram("w2", values, 8, bins=10)
        w.add_graph(model, ember.ones(2, 3))
        w.flush()
    acc = _read(tmp_path)
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == list(range(5))
    np.testing.assert_allclose([e.value for e in loss], [1 / (s + 1) for s in range(5)],
                               rtol=1e-6)
    h = acc.Histograms("weights")[0]
    assert h.step == 7 and h.histogram_value.num == 1000
    assert sum(h.histogram_value.bucket) == 1000
    np.testing.assert_allclose(h.histogram_value.sum, values.sum())
    assert len(acc.Histograms("w2")[0].histogram_value.bucket) == 10
    graph = acc.Graph()
    ops = [n.op for n in graph.node]
    assert ops.count("matmul") == 2 and "relu" in ops and "IO Node" in ops
    group = _read(tmp_path / "lr_a")
    assert group.Scalars("lr")[0].value == pytest.approx(0.1)


def test_bad_scalar():
    with pytest.raises(ValueError, match="one-element"):
        SummaryWriter.__new__(SummaryWriter).add_scalar("x", ember.ones(2))
