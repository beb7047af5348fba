"""Views share storage exactly like PyTorch's: which ops view and which copy, strides, storage
offsets, contiguity, in-place writes visible through every view, and version counters."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

VIEW_OPS = {  # name: fn(x) on a contiguous (3, 4) float tensor
    "view": lambda x: x.view(4, 3),
    "view_flat": lambda x: x.view(-1),
    "reshape_contig": lambda x: x.reshape(2, 6),
    "reshape_T": lambda x: x.t().reshape(-1),
    "reshape_T_viewable": lambda x: x.t().reshape(4, 3, 1),
    "permute": lambda x: x.permute(1, 0),
    "transpose": lambda x: x.transpose(0, 1),
    "t": lambda x: x.t(),
    "T": lambda x: x.T,
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "flatten": lambda x: x.flatten(),
    "flatten_T": lambda x: x.t().flatten(),
    "expand": lambda x: x[:1].expand(5, 4),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "slice": lambda x: x[1:, ::2],
    "slice_neg": lambda x: x[-2:, 1:-1],
    "int_index": lambda x: x[1],
    "int_index_col": lambda x: x[:, 2],
    "ellipsis_none": lambda x: x[..., None],
    "select": lambda x: x.select(1, 3),
    "contiguous": lambda x: x.contiguous(),
    "contiguous_T": lambda x: x.t().contiguous(),
    "unbind": lambda x: x.unbind(1)[2],
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(3, 0)[2],
    "view_as": lambda x: x.view_as(x.reshape(6, 2)),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "movedim": lambda x: x.movedim(0, 1),
    "detach": lambda x: x.detach(),
    "T_then_slice": lambda x: x.t()[1:3],
    "slice_then_view": lambda x: x[1:].view(8),
    "adv_index_copy": lambda x: x[[0, 2]],
    "mask_copy": lambda x: x[x > 5],
    "clone": lambda x: x.clone(),
    "flip_copy": lambda x: x.flip(0),
    "to_same_dtype": lambda x: x.to(x.dtype),
    "float_same_dtype": lambda x: x.float(),
    "double_copy": lambda x: x.double(),
}


def _shares(torch_view, torch_base):
    return torch_view.untyped_storage().data_ptr() == torch_base.untyped_storage().data_ptr()


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_view_metadata_matches_torch(name):
    torch = need_torch()
    fn = VIEW_OPS[name]
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    tb, eb = torch.tensor(data), ember.tensor(data)
    tv, ev = fn(tb), fn(eb)
    assert_close(ev, tv)
    assert tuple(ev.shape) == tuple(tv.shape)
    shares = _shares(tv, tb)
    assert np.shares_memory(ev._data, eb._data) == shares, "view/copy differs from torch"
    if shares:
        assert ev.stride() == tv.stride()
        assert ev.storage_offset() == tv.storage_offset()
    assert ev.is_contiguous() == tv.is_contiguous()
    assert (ev is eb) == (tv is tb)


@pytest.mark.parametrize("name", sorted(n for n in VIEW_OPS if n not in ("expand",)))
def test_inplace_through_view_is_visible_like_torch(name):
    torch = need_torch()
    fn = VIEW_OPS[name]
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    tb, eb = torch.tensor(data), ember.tensor(data)
    tv, ev = fn(tb), fn(eb)
    tv.mul_(-1).add_(0.5)
    ev.mul_(-1).add_(0.5)
    assert_close(eb, tb)
    assert_close(ev, tv)
    assert eb._version == tb._version
    assert ev._version == tv._version


def test_inplace_on_base_visible_in_views():
    x = ember.arange(12.0).view(3, 4)
    col, row, tt = x[:, 1], x[2], x.t()
    x.fill_(0)
    x[1, 1] = 7
    assert col.tolist() == [0.0, 7.0, 0.0]
    assert row.tolist() == [0.0] * 4
    assert tt[1, 1].item() == 7.0
    x += 1
    assert col.tolist() == [1.0, 8.0, 1.0]


def test_view_of_view_writes_reach_the_base():
    x = ember.zeros(4, 6)
    v = x[1:].t()[::2]          # slice -> permute -> strided slice
    v[0, 0] = 5
    v.add_(1)
    t = need_torch().zeros(4, 6)
    tv = t[1:].t()[::2]
    tv[0, 0] = 5
    tv.add_(1)
    assert_close(x, t)


def test_version_counters_follow_torch():
    torch = need_torch()
    steps = [lambda x: x.add_(1), lambda x: x[0].zero_(), lambda x: x.__setitem__(1, 2.0),
             lambda x: x.t().mul_(2), lambda x: x.copy_(x * 0), lambda x: x.fill_(3),
             lambda x: x.clamp_(0, 1)]
    e, t = ember.zeros(2, 3), torch.zeros(2, 3)
    ev, tv = e[1], t[1]
    assert e._version == t._version == 0
    for step in steps:
        step(e)
        step(t)
        assert e._version == t._version, step
        assert ev._version == tv._version


def test_out_of_place_ops_do_not_bump_versions():
    x = ember.ones(3)
    y = x + 1
    x.exp()
    x.view(3)
    assert x._version == 0 and y._version == 0


def test_numpy_and_from_numpy_share_memory():
    a = np.zeros(3, np.float32)
    t = ember.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5
    t[1] = 7
    assert a[1] == 7
    n = t.numpy()
    n[2] = 9
    assert t[2].item() == 9
    c = ember.tensor(a)   # tensor() copies
    a[0] = -1
    assert c[0].item() == 5
    assert ember.as_tensor(a)[0].item() == -1  # as_tensor shares


def test_detach_shares_storage_and_drops_grad():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.zero_()
    assert y.tolist() == [0.0, 0.0, 0.0]


def test_view_errors_in_torch_words():
    x = ember.zeros(3, 4).t()
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size "
                                           "and stride"):
        x.view(12)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 12"):
        x.reshape(5, -1)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.view(-1, -1)


def test_expanded_view_cannot_be_written():
    x = ember.zeros(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        x.add_(1)


def test_contiguous_returns_self_when_contiguous():
    x = ember.zeros(2, 3)
    assert x.contiguous() is x
    y = x.t()
    assert y.contiguous() is not y and y.contiguous().is_contiguous()
