"""torch.nn.utils.rnn: PackedSequence and pack_padded_sequence, pad_packed_sequence,
pad_sequence, pack_sequence, unpad_sequence, unpack_sequence, with PyTorch's layouts, checks and
errors.  Everything is built from differentiable tensor ops (index_select, slicing, cat), so
gradients flow through packing and unpacking.  ``run_packed`` runs nn.RNN/LSTM/GRU over a
PackedSequence (each time step on the sequences still running, as PyTorch does)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.creation import full, tensor
from ...frontend.tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Sequences of different lengths packed time step by time step: ``data`` holds, for each
    step, the rows of the sequences still running (longest first); ``batch_sizes[t]`` says how
    many.  ``sorted_indices`` orders the original batch by decreasing length."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _map(self, fn):
        return type(self)(fn(self.data), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def to(self, *args, **kwargs):
        return self._map(lambda d: d.to(*args, **kwargs))

    def cpu(self):
        return self._map(lambda d: d.cpu())

    def cuda(self, *args, **kwargs):
        return self._map(lambda d: d.cuda(*args, **kwargs))

    def double(self):
        return self._map(lambda d: d.double())

    def float(self):
        return self._map(lambda d: d.float())

    def half(self):
        return self._map(lambda d: d.half())

    def detach(self):
        return self._map(lambda d: d.detach())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    if permutation is None:
        return None
    p = np.asarray(permutation.numpy() if isinstance(permutation, Tensor) else permutation)
    out = np.empty_like(p)
    out[p] = np.arange(p.size)
    return tensor(out, dtype=dt.int64)


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        return [int(v) for v in lengths.detach().cpu().numpy().reshape(-1)]
    return [int(v) for v in lengths]


def _batch_sizes(sorted_lengths):
    return [sum(1 for n in sorted_lengths if n > t) for t in range(sorted_lengths[0])]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``input`` ([T, B, *], or [B, T, *] with batch_first) whose sequence
    b has ``lengths[b]`` valid steps."""
    lengths = _lengths_list(lengths)
    if batch_first:
        input = input.transpose(0, 1)
    if len(lengths) != input.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={input.shape[1]})")
    if any(n <= 0 for n in lengths):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if max(lengths) > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be at most {input.shape[0]}, but got "
                           f"{max(lengths)}")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_indices = None
        order = list(range(len(lengths)))
    else:
        order = sorted(range(len(lengths)), key=lambda b: -lengths[b])   # stable, like torch
        sorted_indices = tensor(order, dtype=dt.int64)
        input = input.index_select(1, sorted_indices)
    sorted_lengths = [lengths[b] for b in order]
    sizes = _batch_sizes(sorted_lengths)
    data = F.cat([input[t, :bs] for t, bs in enumerate(sizes)], 0)
    return PackedSequence(data, tensor(sizes, dtype=dt.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded [T, B, *] or [B, T, *], lengths)."""
    data, sizes = sequence.data, [int(v) for v in sequence.batch_sizes.numpy()]
    batch = sizes[0]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    else:
        total_length = steps
    rows, offset = [], 0
    for bs in sizes:
        step = data[offset:offset + bs]
        if bs < batch:
            step = F.cat([step, full((batch - bs,) + tuple(data.shape[1:]), padding_value,
                                     dtype=data.dtype)], 0)
        rows.append(step)
        offset += bs
    for _ in range(total_length - steps):
        rows.append(full((batch,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype))
    padded = F.stack(rows, 0)
    lengths = [sum(1 for bs in sizes if bs > b) for b in range(batch)]
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = [lengths[i] for i in sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, tensor(lengths, dtype=dt.int64)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape [L_i, *] into [max L, B, *] (or [B, max L, *]), padded."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        pad = longest - s.shape[0]
        if pad:
            filler = full((pad,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = F.cat([s, filler] if padding_side == "right" else [filler, s], 0)
        rows.append(s)
    return F.stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences.unbind(0), _lengths_list(lengths))]


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


# --- recurrent layers over a PackedSequence ------------------------------------------------------
def _direction(step, gx, sizes, h0, c0, w_hh, b_hh, w_hr, reverse):
    """One layer direction over packed rows gx [N, G]: (output rows [N, H], h_n, c_n), the
    final state of each sequence at its own last step."""
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    outs = [None] * len(sizes)
    if not reverse:
        h, c = h0, c0
        done_h, done_c = [], []        # states of sequences that ended, latest first
        for t, bs in enumerate(sizes):
            if bs < h.shape[0]:
                done_h.append(h[bs:])
                done_c.append(c[bs:] if c is not None else None)
                h, c = h[:bs], (c[:bs] if c is not None else None)
            h, c = step(gx[offsets[t]:offsets[t + 1]], h, c, w_hh, b_hh, w_hr)
            outs[t] = h
        h_n = F.cat([h] + done_h[::-1], 0)
        c_n = F.cat([c] + done_c[::-1], 0) if c is not None else None
    else:
        h = h0[:sizes[-1]]
        c = c0[:sizes[-1]] if c0 is not None else None
        for t in range(len(sizes) - 1, -1, -1):
            bs = sizes[t]
            if bs > h.shape[0]:    # sequences whose last step is t start from the initial state
                h = F.cat([h, h0[h.shape[0]:bs]], 0)
                if c is not None:
                    c = F.cat([c, c0[c.shape[0]:bs]], 0)
            h, c = step(gx[offsets[t]:offsets[t + 1]], h, c, w_hh, b_hh, w_hr)
            outs[t] = h
        h_n, c_n = h, c
    return F.cat(outs, 0), h_n, c_n


def run_packed(rnn, packed, hx):
    """nn.RNN/LSTM/GRU forward over a PackedSequence; returns (PackedSequence, h_n) or, for
    an LSTM, (PackedSequence, (h_n, c_n)), with states in the caller's batch order."""
    from ..modules.rnn import _STEPS, run_layers
    from ...frontend.creation import zeros
    data, sizes = packed.data, [int(v) for v in packed.batch_sizes.numpy()]
    if data.ndim != 2 or data.shape[-1] != rnn.input_size:
        raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                           f"{rnn.input_size}, got {data.shape[-1]}")
    is_lstm = rnn.mode == "LSTM"
    dirs = 2 if rnn.bidirectional else 1
    batch = sizes[0]
    real_hidden = rnn.proj_size if getattr(rnn, "proj_size", 0) > 0 else rnn.hidden_size
    if hx is None:
        h0 = zeros((rnn.num_layers * dirs, batch, real_hidden), dtype=data.dtype)
        c0 = zeros((rnn.num_layers * dirs, batch, rnn.hidden_size), dtype=data.dtype) \
            if is_lstm else None
    else:
        h0, c0 = (hx if is_lstm else (hx, None))
        if packed.sorted_indices is not None:   # states come in the caller's order
            h0 = h0.index_select(1, packed.sorted_indices)
            c0 = c0.index_select(1, packed.sorted_indices) if c0 is not None else None
    step = _STEPS[rnn.mode]

    def direction(gx, k, reverse, w_hh, b_hh, w_hr):
        return _direction(step, gx, sizes, h0[k], c0[k] if c0 is not None else None, w_hh, b_hh,
                          w_hr, reverse)
    layer_in, h_n, c_n = run_layers(rnn, data, direction)
    if packed.unsorted_indices is not None:
        h_n = h_n.index_select(1, packed.unsorted_indices)
        c_n = c_n.index_select(1, packed.unsorted_indices) if c_n is not None else None
    out = PackedSequence(layer_in, packed.batch_sizes, packed.sorted_indices,
                         packed.unsorted_indices)
    return out, ((h_n, c_n) if is_lstm else h_n)
