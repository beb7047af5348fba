"""TransformerEncoder(Layer), TransformerDecoder(Layer) and Transformer against PyTorch: submodule
names, options (norm_first, activations, batch_first, bias), masks, gradients, and dropout."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close, need_torch
from tests.nn.compare import copy_weights

torch = need_torch()
rng = np.random.default_rng(4)


def randn(*shape):
    return rng.standard_normal(shape)


def _compare(e, t, arrays, **kw):
    """Same weights and inputs, dropout 0: outputs, input grads and parameter grads agree."""
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    copy_weights(e, t)
    ein = [ember.tensor(a, requires_grad=True) for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ekw = {k: (ember.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    tkw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    eo, to = e(*ein, **ekw), t(*tin, **tkw)
    assert_close(eo, to, msg="output")
    cot = np.sin(np.arange(to.numel())).reshape(tuple(to.shape))
    (eo * ember.tensor(cot)).sum().backward()
    (to * torch.tensor(cot)).sum().backward()
    for a, b in zip(ein, tin):
        assert_close(a.grad, b.grad, msg="input grad")
    tp = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, tp[n].grad, msg=f"grad of {n}")


LAYER = [dict(), dict(norm_first=True), dict(activation="gelu"), dict(activation=F.gelu),
         dict(batch_first=True), dict(bias=False), dict(activation=ember.tanh)]


@pytest.mark.parametrize("kw", LAYER, ids=["default", "norm_first", "gelu_str", "gelu_fn",
                                             "batch_first", "no_bias", "tanh_callable"])
def test_encoder_layer(kw):
    tkw = dict(kw)
    if kw.get("activation") is F.gelu:
        tkw["activation"] = torch.nn.functional.gelu
    if kw.get("activation") is ember.tanh:
        tkw["activation"] = torch.tanh
    e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=ember.float64, **kw)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64, **tkw)
    assert e.activation_relu_or_gelu == t.activation_relu_or_gelu
    _compare(e, t, [randn(5, 3, 8)])


def test_encoder_layer_masks():
    e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=ember.float64)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64)
    kpm = rng.random((3, 5)) > 0.7
    kpm[:, 0] = False
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    _compare(e, t, [randn(5, 3, 8)], src_mask=causal, src_key_padding_mask=kpm)
    _compare(e, t, [randn(5, 3, 8)], src_mask=causal, is_causal=True)
    _compare(e, t, [randn(5, 3, 8)], src_mask=rng.random((5, 5)) > 0.8)


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, batch_first=True)], ids=str)
def test_encoder_stack(kw):
    el = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=ember.float64, **kw)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64, **kw)
    e = nn.TransformerEncoder(el, 2, norm=nn.LayerNorm(8, dtype=ember.float64))
    t = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64),
                                    enable_nested_tensor=False)
    x = randn(3, 5, 8) if kw.get("batch_first") else randn(5, 3, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).numpy().astype(np.float64)
    kpm = rng.random((3, 5)) > 0.7
    kpm[:, 0] = False
    _compare(e, t, [x], mask=mask, src_key_padding_mask=kpm)
    _compare(e, t, [x])
    assert e.layers[0] is not e.layers[1] and e.layers[0] is not el   # deep copies


def test_decoder_and_transformer():
    dl = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=ember.float64)
    tl = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64)
    tgt_mask = np.triu(np.full((4, 4), -np.inf), 1)
    _compare(dl, tl, [randn(4, 2, 8), randn(6, 2, 8)], tgt_mask=tgt_mask,
             memory_key_padding_mask=np.array([[False] * 5 + [True], [False] * 6]))
    e = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True,
                                                         dtype=ember.float64), 2)
    t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(
        8, 2, 16, dropout=0.0, norm_first=True, dtype=torch.float64), 2)
    _compare(e, t, [randn(4, 2, 8), randn(6, 2, 8)], tgt_mask=tgt_mask)
    e = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True, dtype=ember.float64)
    t = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True, dtype=torch.float64)
    _compare(e, t, [randn(2, 5, 8), randn(2, 4, 8)],
             tgt_mask=nn.Transformer.generate_square_subsequent_mask(4).double().numpy())
    assert_close(nn.Transformer.generate_square_subsequent_mask(3),
                 torch.nn.Transformer.generate_square_subsequent_mask(3))
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        e(ember.randn(2, 5, 8, dtype=ember.float64), ember.randn(3, 4, 8, dtype=ember.float64))


def test_repr_and_init():
    e = nn.TransformerEncoderLayer(8, 2, 16)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16)
    assert repr(e) == repr(t)
    m = nn.Transformer(8, 2, 1, 1, 16)
    for n, p in m.named_parameters():
        if p.ndim > 1:   # xavier_uniform_ over every matrix
            bound = np.sqrt(6.0 / (p.shape[0] + p.shape[1]))
            assert float(p.abs().max()) <= bound + 1e-7, n
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not swish"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


def test_dropout_active_in_training_only():
    e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3)
    x = ember.randn(5, 2, 8)
    e.eval()
    assert ember.equal(e(x), e(x))
    e.train()
    ember.manual_seed(0)
    a = e(x)
    ember.manual_seed(1)
    assert not ember.equal(a, e(x))
