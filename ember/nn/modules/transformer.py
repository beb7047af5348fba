"""TransformerEncoderLayer / TransformerEncoder, TransformerDecoderLayer / TransformerDecoder and
Transformer, with PyTorch's submodule names (self_attn, linear1, dropout, linear2, norm1, ...),
options (norm_first, activation 'relu' / 'gelu' / callable, batch_first, bias, masks) and
initialization.  ``enable_nested_tensor`` is accepted and ignored: ember always takes the padded
path, so padded positions hold computed values rather than PyTorch's fast-path zeros."""
from __future__ import annotations

import copy

import numpy as np

from ... import dtypes as dt
from ...frontend import functional as _F
from .. import functional as F
from ..functional.attention import _canonical_mask
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm
from . import _init_util as I

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer"]


def _get_activation_fn(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _generate_square_subsequent_mask(sz, dtype=None):
    dtype = dtype or dt.get_default_dtype()
    return _F._wrap(np.triu(np.full((sz, sz), -np.inf), 1).astype(dtype.np))


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        sz = size if size is not None else mask.shape[-2]
        causal = _generate_square_subsequent_mask(sz, dtype=mask.dtype)
        if tuple(mask.shape) == tuple(causal.shape):
            make_causal = bool((mask == causal).all())
        else:
            make_causal = False
    return make_causal


def _layer_norm(d_model, eps, bias, dtype):
    return LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)


def _add_feedforward(layer, d_model, dim_feedforward, dropout, bias, dtype):
    """linear1, dropout, linear2: registered in PyTorch's order (state_dict keys, init order)."""
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)


def _add_norms_and_dropouts(layer, count, d_model, eps, bias, dtype, dropout):
    """norm1..normN, then dropout1..dropoutN (one per residual branch), in PyTorch's order."""
    for i in range(1, count + 1):
        setattr(layer, f"norm{i}", _layer_norm(d_model, eps, bias, dtype))
    for i in range(1, count + 1):
        setattr(layer, f"dropout{i}", Dropout(dropout))


def _feedforward(layer, x):
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))


def _seq_len(layers, x):
    """The sequence length of x, read with the first layer's batch_first."""
    first = layers[0] if len(layers) else None
    batch_first = first.self_attn.batch_first if first is not None else False
    return x.shape[1 if batch_first and x.ndim == 3 else 0]


class _LayerStack(Module):
    """N deep copies of one layer, then an optional final norm."""

    def __init__(self, layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def _final_norm(self, out):
        return self.norm(out) if self.norm is not None else out


class _TransformerLayer(Module):
    """PyTorch's constructor, shared by the encoder and decoder layers: the attention blocks
    (added by the subclass, first), the feed-forward block, then one norm and one dropout per
    residual branch, so submodules register in PyTorch's order (state_dict keys, init order)."""
    __constants__ = ["norm_first"]
    _residual_branches = 0  # the attention blocks plus the feed-forward block

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._add_attention_blocks(lambda: MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype))
        _add_feedforward(self, d_model, dim_feedforward, dropout, bias, dtype)
        self.norm_first = norm_first
        _add_norms_and_dropouts(self, self._residual_branches, d_model, layer_norm_eps, bias,
                                dtype, dropout)
        self._set_activation(_get_activation_fn(activation) if isinstance(activation, str)
                             else activation)

    def _add_attention_blocks(self, make_attention):
        raise NotImplementedError

    def _set_activation(self, activation):
        self.activation = activation


class TransformerEncoderLayer(_TransformerLayer):
    _residual_branches = 2

    def _add_attention_blocks(self, make_attention):
        self.self_attn = make_attention()

    def _set_activation(self, activation):
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        super()._set_activation(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", "src_mask",
            None if src_mask is None else src_mask.dtype, src.dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", None, None, src.dtype, False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(_feedforward(self, x))


class TransformerEncoder(_LayerStack):
    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__(encoder_layer, num_layers, norm)
        self.enable_nested_tensor = enable_nested_tensor  # accepted; ember has no nested tensors
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", "mask",
            None if mask is None else mask.dtype, src.dtype)
        mask = _canonical_mask(mask, "mask", None, None, src.dtype, False)
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(self.layers, src))
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, is_causal=is_causal,
                      src_key_padding_mask=src_key_padding_mask)
        return self._final_norm(out)


class TransformerDecoderLayer(_TransformerLayer):
    _residual_branches = 3

    def _add_attention_blocks(self, make_attention):
        self.self_attn = make_attention()
        self.multihead_attn = make_attention()

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(_feedforward(self, x))


class TransformerDecoder(_LayerStack):
    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__(decoder_layer, num_layers, norm)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(self.layers, tgt))
        out = tgt
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self._final_norm(out)


def _default_stack(stack_class, layer_class, num_layers, layer_kwargs):
    """Transformer's own encoder or decoder: num_layers copies of one layer, then a LayerNorm."""
    layer = layer_class(**layer_kwargs)
    norm = _layer_norm(layer_kwargs["d_model"], layer_kwargs["layer_norm_eps"],
                       layer_kwargs["bias"], layer_kwargs["dtype"])
    return stack_class(layer, num_layers, norm)


class Transformer(Module):
    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        layer_kwargs = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward,
                            dropout=dropout, activation=activation, layer_norm_eps=layer_norm_eps,
                            batch_first=batch_first, norm_first=norm_first, bias=bias, dtype=dtype)
        self.encoder = custom_encoder if custom_encoder is not None else _default_stack(
            TransformerEncoder, TransformerEncoderLayer, num_encoder_layers, layer_kwargs)
        self.decoder = custom_decoder if custom_decoder is not None else _default_stack(
            TransformerDecoder, TransformerDecoderLayer, num_decoder_layers, layer_kwargs)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        is_batched = src.ndim == 3
        if not self.batch_first and src.shape[1] != tgt.shape[1] and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if self.batch_first and src.shape[0] != tgt.shape[0] and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        return _generate_square_subsequent_mask(sz, dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                I.xavier_uniform_(p)
