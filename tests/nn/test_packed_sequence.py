"""nn.utils.rnn against PyTorch: packing/padding layouts, and RNN/LSTM/GRU over PackedSequence
(outputs, final states and gradients) with identical weights."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.utils import rnn as ernn
from tests.helpers import need_torch


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float64)


def test_pad_pack_round_trip_and_layout():
    torch = need_torch()
    seqs = [_data((n, 3), i) for i, n in enumerate([2, 5, 3])]
    for batch_first in (False, True):
        for side in ("right", "left"):
            e = ernn.pad_sequence([ember.tensor(s) for s in seqs], batch_first, -1.0, side)
            t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first,
                                                -1.0, side)
            np.testing.assert_array_equal(e.numpy(), t.numpy())
    ep = ernn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(ep.data.numpy(), tp.data.numpy())
    assert ep.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert ep.sorted_indices.tolist() == tp.sorted_indices.tolist()
    assert ep.unsorted_indices.tolist() == tp.unsorted_indices.tolist()
    padded, lengths = ernn.pad_packed_sequence(ep, batch_first=True, total_length=6)
    tpadded, tlengths = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first=True,
                                                               total_length=6)
    np.testing.assert_array_equal(padded.numpy(), tpadded.numpy())
    assert lengths.tolist() == tlengths.tolist() == [2, 5, 3]
    back = ernn.unpack_sequence(ep)
    for a, b in zip(back, seqs):
        np.testing.assert_array_equal(a.numpy(), b)


def test_errors_match_pytorch():
    x = ember.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        ernn.pack_padded_sequence(x, [2, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        ernn.pack_padded_sequence(x, [2, 0], enforce_sorted=False)
    with pytest.raises(ValueError, match="total_length"):
        ernn.pad_packed_sequence(ernn.pack_padded_sequence(x, [3, 2]), total_length=1)


@pytest.mark.parametrize("kind, kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                      ("GRU", dict(num_layers=1, bidirectional=True)),
                                      ("RNN", dict(num_layers=2)),
                                      ("LSTM", dict(proj_size=2, batch_first=True))])
def test_rnn_over_packed_sequence_matches_pytorch(kind, kw):
    torch = need_torch()
    em = getattr(ember.nn, kind)(3, 4, **kw).double()
    tm = getattr(torch.nn, kind)(3, 4, **kw).double()
    tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in em.state_dict().items()})
    lengths = [3, 5, 1, 4]
    bf = kw.get("batch_first", False)
    x = _data((4, 5, 3) if bf else (5, 4, 3), 7)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ep = ernn.pack_padded_sequence(ex, lengths, batch_first=bf, enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=bf,
                                                 enforce_sorted=False)
    dirs = 2 if kw.get("bidirectional") else 1
    hsize = kw.get("proj_size") or 4
    h0 = _data((kw.get("num_layers", 1) * dirs, 4, hsize), 9)
    if kind == "LSTM":
        c0 = _data((kw.get("num_layers", 1) * dirs, 4, 4), 10)
        eh, th = (ember.tensor(h0), ember.tensor(c0)), (torch.tensor(h0), torch.tensor(c0))
    else:
        eh, th = ember.tensor(h0), torch.tensor(h0)
    eo, es = em(ep, eh)
    to, ts = tm(tp, th)
    assert isinstance(eo, ernn.PackedSequence)
    np.testing.assert_allclose(eo.data.detach().numpy(), to.data.detach().numpy(), atol=1e-12)
    for a, b in zip(es if kind == "LSTM" else [es], ts if kind == "LSTM" else [ts]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    epad, _ = ernn.pad_packed_sequence(eo, batch_first=bf)
    tpad, _ = torch.nn.utils.rnn.pad_packed_sequence(to, batch_first=bf)
    (epad.pow(2).sum() + (es[0] if kind == "LSTM" else es).sum()).backward()
    (tpad.pow(2).sum() + (ts[0] if kind == "LSTM" else ts).sum()).backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for (name, p), q in zip(em.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-10, err_msg=name)
