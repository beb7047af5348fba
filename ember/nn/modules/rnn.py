"""Recurrent layers: RNN, LSTM (with proj_size), GRU and their cells, with PyTorch's parameter names
(weight_ih_l0, weight_hh_l0_reverse, bias_ih_l1, weight_hr_l0, ...), shapes, initialization and
argument checks.

Each layer is a composite over time steps: the input projection of the whole sequence is one
matmul, then each step does one matmul with the hidden state and pointwise gate math, so the
gradient through time comes from autograd.  A PackedSequence input runs through
nn/utils/rnn.py's run_packed.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ... import dtypes as dt
from ...frontend import functional as F
from ...frontend.creation import empty, zeros
from ...frontend.fused import Fused
from ...frontend.tensor import Tensor
from ..functional import fused_math as M
from ..functional.dropout import dropout as _dropout
from ..parameter import Parameter
from .module import Module
from . import _init_util as I

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _matmul_t(x, w):
    return F.matmul(x, w.t())


# --- one time step of each cell kind; gx is the input projection (with b_ih) ---------------------
def _rnn_step(act):
    def step(gx, h, c, w_hh, b_hh, w_hr):
        g = gx + _matmul_t(h, w_hh)
        if b_hh is not None:
            g = g + b_hh
        return act(g), None
    return step


def _lstm_cell(gx, h, c, w_hh, b_hh):
    g = gx + _matmul_t(h, w_hh)
    if b_hh is not None:
        g = g + b_hh
    n = g.shape[-1] // 4
    i = F.sigmoid(g[..., :n])
    f = F.sigmoid(g[..., n:2 * n])
    gg = F.tanh(g[..., 2 * n:3 * n])
    o = F.sigmoid(g[..., 3 * n:])
    c = f * c + i * gg
    return o * F.tanh(c), c


# the cell's eager fast path: one node per time step instead of ~15 (frontend/fused.py)
_fused_lstm_cell = Fused("LstmCell", M.lstm_cell_forward, M.lstm_cell_backward, _lstm_cell,
                         n_outputs=2)


def _lstm_layer(gx, h, c, w_hh, b_hh, reverse):
    seq = [None] * gx.shape[0]
    for t in (range(gx.shape[0] - 1, -1, -1) if reverse else range(gx.shape[0])):
        h, c = _lstm_cell(gx[t], h, c, w_hh, b_hh)
        seq[t] = h
    return F.stack(seq), h, c


# a whole layer (one direction) as one node: back-propagation through time in NumPy
_fused_lstm_layer = Fused("LstmLayer", M.lstm_layer_forward, M.lstm_layer_backward, _lstm_layer,
                          n_outputs=3, saves_output=True)


def _lstm_step(gx, h, c, w_hh, b_hh, w_hr):
    if w_hr is not None:
        h, c = _lstm_cell(gx, h, c, w_hh, b_hh)
        return _matmul_t(h, w_hr), c
    if gx.ndim != 2:
        return _lstm_cell(gx, h, c, w_hh, b_hh)
    return _fused_lstm_cell(gx, h, c, w_hh, b_hh)


def _gru_step(gx, h, c, w_hh, b_hh, w_hr):
    gh = _matmul_t(h, w_hh)
    if b_hh is not None:
        gh = gh + b_hh
    n = gh.shape[-1] // 3
    r = F.sigmoid(gx[..., :n] + gh[..., :n])
    z = F.sigmoid(gx[..., n:2 * n] + gh[..., n:2 * n])
    cand = F.tanh(gx[..., 2 * n:] + r * gh[..., 2 * n:])
    return cand + z * (h - cand), None   # (1 - z) * cand + z * h


_STEPS = {"LSTM": _lstm_step, "GRU": _gru_step, "RNN_TANH": _rnn_step(F.tanh),
          "RNN_RELU": _rnn_step(F.relu)}


def run_layers(rnn, x, direction):
    """The layer and direction loop shared by padded and packed inputs: per layer and direction,
    the input projection gx of the layer's whole input, then ``direction(gx, k, reverse, w_hh,
    b_hh, w_hr)`` -> (outputs, h_n, c_n) of state slot k; dropout between layers.  Returns
    (last layer's outputs, stacked h_n, stacked c_n or None)."""
    dirs = 2 if rnn.bidirectional else 1
    h_n, c_n = [], []
    layer_in = x
    for layer in range(rnn.num_layers):
        outs = []
        for d in range(dirs):
            weights = rnn.all_weights[layer * dirs + d]
            w_ih, w_hh = weights[0], weights[1]
            b_ih = weights[2] if rnn.bias else None
            b_hh = weights[3] if rnn.bias else None
            w_hr = weights[-1] if rnn.proj_size > 0 else None
            gx = _matmul_t(layer_in, w_ih)
            if b_ih is not None:
                gx = gx + b_ih
            out, h, c = direction(gx, layer * dirs + d, d == 1, w_hh, b_hh, w_hr)
            outs.append(out)
            h_n.append(h)
            if c is not None:
                c_n.append(c)
        layer_in = outs[0] if dirs == 1 else F.cat(outs, -1)
        if rnn.dropout and rnn.training and layer < rnn.num_layers - 1:
            layer_in = _dropout(layer_in, rnn.dropout, True)
    return layer_in, F.stack(h_n), (F.stack(c_n) if c_n else None)


def _is_packed(input):
    from ..utils.rnn import PackedSequence
    return isinstance(input, PackedSequence)


def _run_packed(module, input, hx):
    from ..utils.rnn import run_packed
    return run_packed(module, input, hx)


class RNNBase(Module):
    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got dropout="
                          f"{dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih_l{}{}", (gate_size, layer_input)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr_l{}{}", (proj_size, hidden_size)))
                names = []
                for fmt, shape in shapes:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(empty(shape, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, w) for w in weights] for weights in self._all_weights]

    def flatten_parameters(self):
        pass  # a cuDNN layout concern; ember keeps the parameters as they are

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            I.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(input_size=self.input_size, hidden_size=self.hidden_size,
                        proj_size=self.proj_size, num_layers=self.num_layers, bias=self.bias,
                        batch_first=self.batch_first, dropout=self.dropout,
                        bidirectional=self.bidirectional)

    # --- forward ----------------------------------------------------------------------------
    def _check_input(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor or a PackedSequence, "
                            f"got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _check_hidden(self, hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.shape)))

    def _run(self, x, h0, c0):
        """x [L, N, in]; h0/c0 [layers*dirs, N, *]. Returns (output [L, N, D*H], h_n, c_n)."""
        step = _STEPS[self.mode]
        L = x.shape[0]

        def direction(gx, k, reverse, w_hh, b_hh, w_hr):
            h = h0[k]
            c = c0[k] if c0 is not None else None
            if self.mode == "LSTM" and w_hr is None:   # the whole layer as one fused node
                return _fused_lstm_layer(gx, h, c, w_hh, b_hh, reverse=reverse)
            seq = [None] * L
            for t in (range(L - 1, -1, -1) if reverse else range(L)):
                h, c = step(gx[t], h, c, w_hh, b_hh, w_hr)
                seq[t] = h
            return F.stack(seq), h, c
        return run_layers(self, x, direction)

    def _prepare(self, input, hx):
        self._check_input(input)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def _hidden(self, hx, batched, n, size, dtype, name="hx"):
        dirs = 2 if self.bidirectional else 1
        expected = (self.num_layers * dirs, n, size)
        if hx is None:
            return zeros(expected, dtype=dtype)
        if batched and hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, {name} should also be 3-D but got "
                               f"{hx.ndim}-D tensor")
        if not batched:
            if hx.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got "
                                   f"{hx.ndim}-D tensor")
            hx = hx.unsqueeze(1)
        self._check_hidden(hx, expected)
        return hx

    def _finish(self, out, batched):
        if not batched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out


class RNN(RNNBase):
    """RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity

    def forward(self, input, hx=None):
        if _is_packed(input):
            return _run_packed(self, input, hx)
        x, batched = self._prepare(input, hx)
        h0 = self._hidden(hx, batched, x.shape[1], self.hidden_size, input.dtype)
        out, h_n, _ = self._run(x, h0, None)
        return self._finish(out, batched), (h_n if batched else h_n.squeeze(1))


class GRU(RNNBase):
    """GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None)"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    forward = RNN.forward


class LSTM(RNNBase):
    """LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None)"""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        if _is_packed(input):
            return _run_packed(self, input, hx)
        x, batched = self._prepare(input, hx)
        n = x.shape[1]
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = self._hidden(None, batched, n, real_hidden, input.dtype)
            c0 = self._hidden(None, batched, n, self.hidden_size, input.dtype)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM expects hx as a tuple (h_0, c_0)")
            h, c = hx
            if batched and (h.ndim != 3 or c.ndim != 3):
                raise RuntimeError(f"For batched 3-D input, hx and cx should also be 3-D but got "
                                   f"({h.ndim}-D, {c.ndim}-D) tensors")
            if not batched and (h.ndim != 2 or c.ndim != 2):
                raise RuntimeError(f"For unbatched 2-D input, hx and cx should also be 2-D but "
                                   f"got ({h.ndim}-D, {c.ndim}-D) tensors")
            h0 = self._hidden(h, batched, n, real_hidden, input.dtype)
            c0 = self._hidden(c, batched, n, self.hidden_size, input.dtype)
        out, h_n, c_n = self._run(x, h0, c0)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, batched), (h_n, c_n)


# --- cells --------------------------------------------------------------------------------------
class RNNCellBase(Module):
    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty((num_chunks * hidden_size,), dtype=dtype))
            self.bias_hh = Parameter(empty((num_chunks * hidden_size,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            I.uniform_(w, -stdv, stdv)

    def _input(self, input, name):
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        return (input, True) if input.ndim == 2 else (input.unsqueeze(0), False)

    def _state(self, hx, x, batched, name):
        if hx is None:
            return zeros((x.shape[0], self.hidden_size), dtype=x.dtype)
        if hx.ndim != (2 if batched else 1):
            raise ValueError(f"{name}: Expected hidden to be {2 if batched else 1}D, got "
                             f"{hx.ndim}D instead")
        hx = hx if batched else hx.unsqueeze(0)
        if tuple(hx.shape) != (x.shape[0], self.hidden_size):
            raise RuntimeError(f"hidden{0 if name != 'LSTMCell' else ''} has inconsistent "
                               f"hidden_size: got {hx.shape[-1]}, expected {self.hidden_size}")
        return hx

    def _gx(self, x):
        gx = _matmul_t(x, self.weight_ih)
        return gx + self.bias_ih if self.bias_ih is not None else gx


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, batched = self._input(input, "RNNCell")
        h = self._state(hx, x, batched, "RNNCell")
        step = _STEPS["RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"]
        out, _ = step(self._gx(x), h, None, self.weight_hh, self.bias_hh, None)
        return out if batched else out.squeeze(0)


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input, "GRUCell")
        h = self._state(hx, x, batched, "GRUCell")
        out, _ = _gru_step(self._gx(x), h, None, self.weight_hh, self.bias_hh, None)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input, "LSTMCell")
        if hx is None:
            h = c = zeros((x.shape[0], self.hidden_size), dtype=x.dtype)
        else:
            h = self._state(hx[0], x, batched, "LSTMCell")
            c = self._state(hx[1], x, batched, "LSTMCell")
        h, c = _lstm_step(self._gx(x), h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))
