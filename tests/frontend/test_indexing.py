"""Basic, advanced and boolean indexing and index assignment, against PyTorch: values, view vs
copy, gradients through getitem and setitem, and PyTorch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

DATA = np.arange(60, dtype=np.float32).reshape(3, 4, 5)


def _keys(lib):
    """Keys built from `lib` (tensors must come from the library being indexed)."""
    t = lib.tensor
    return {
        "int": 1, "neg_int": -1, "slice": slice(1, None), "step": slice(None, None, 2),
        "slice_neg_bounds": slice(-3, -1), "slice_oob": slice(2, 10), "empty_slice": slice(2, 1),
        "tuple_int_slice": (0, slice(1, 3)), "tuple_ints": (2, 3, 4), "ellipsis": (Ellipsis, 1),
        "ellipsis_mid": (1, Ellipsis, 2), "none": (None, 1), "none_mid": (slice(None), None, 0),
        "bool_true": True, "bool_false": False,
        "list": [0, 2], "list_neg": [-1, 0, -1], "tensor": t([2, 0]), "tensor_2d": t([[0, 1],
                                                                                      [2, 2]]),
        "two_tensors": (t([0, 2]), t([1, 3])), "bcast_tensors": (t([[0], [2]]), t([1, 3])),
        "tensor_slice_tensor": (t([0, 1]), slice(None), t([4, 0])),
        "slice_tensor": (slice(None), t([3, 3, 0])), "int_tensor": (1, t([0, 3])),
        "tensor_int_tensor": (t([0, 2]), 1, t([1, 2])),
        "ellipsis_tensor": (Ellipsis, t([0, 4])), "none_tensor": (None, t([1])),
        "mask": t(DATA[:, :, 0] > 20), "mask_1d": t([True, False, True]),
        "mask_3d": t(DATA % 7 == 0), "mask_dim1": (slice(None), t([True, False, False, True])),
        "mask_and_int": (t([False, True, True]), 2), "empty_index": t([], dtype=lib.int64),
        "tensor_0d": t(1), "int32_tensor": t([1, 0], dtype=lib.int32),
    }


KEYS = sorted(_keys(ember))


def _take(lib, name, x):
    return x[_keys(lib)[name]]


@pytest.mark.parametrize("name", KEYS)
def test_getitem_matches_torch(name):
    torch = need_torch()
    e, t = ember.tensor(DATA), torch.tensor(DATA)
    ev, tv = _take(ember, name, e), _take(torch, name, t)
    assert_close(ev, tv)
    assert ev.dtype.name == str(tv.dtype).replace("torch.", "")
    shares = tv.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
    assert np.shares_memory(ev._data, e._data) == shares or ev.numel() == 0, "view vs copy"


@pytest.mark.parametrize("name", KEYS)
def test_setitem_matches_torch(name):
    torch = need_torch()
    e, t = ember.tensor(DATA), torch.tensor(DATA)
    shape = tuple(_take(torch, name, t).shape)
    value = np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(np.float32)
    for lib, x in ((ember, e), (torch, t)):
        x[_keys(lib)[name]] = -7.5          # a scalar
    assert_close(e, t)
    for lib, x in ((ember, e), (torch, t)):
        x[_keys(lib)[name]] = lib.tensor(value)   # a tensor of the indexed shape
    assert_close(e, t)
    if len(shape) >= 1 and shape[-1] > 0:
        row = value.reshape(-1, shape[-1])[0] if value.size else value
        for lib, x in ((ember, e), (torch, t)):
            x[_keys(lib)[name]] = lib.tensor(np.ascontiguousarray(row))  # broadcast
        assert_close(e, t)


@pytest.mark.parametrize("name", KEYS)
def test_getitem_and_setitem_gradients_match_torch(name):
    torch = need_torch()
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(DATA.astype(np.float64), requires_grad=True)
        y = x * 1
        v = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        y[_keys(lib)[name]] = v * 2
        z = y[_keys(lib)[name]]
        loss = (y * y).sum() + (z * 3).sum()
        loss.backward()
        grads.append((x.grad, v.grad))
    assert_close(grads[0][0], grads[1][0])
    if grads[1][1] is None:  # nothing selected: torch leaves v.grad unset, ember gives zero
        assert grads[0][1] is None or grads[0][1].item() == 0
    else:
        assert_close(grads[0][1], grads[1][1])


def test_duplicate_index_assignment_last_write_wins_like_numpy():
    x = ember.zeros(3)
    x[ember.tensor([0, 0, 1])] = ember.tensor([1.0, 2.0, 3.0])
    assert x.tolist()[1] == 3.0 and x.tolist()[0] in (1.0, 2.0)


def test_gather_backward_accumulates_duplicates():
    torch = need_torch()
    grads = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x[lib.tensor([0, 0, 2, 0])].sum().backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1])


def test_basic_index_is_a_writable_view():
    x = ember.zeros(3, 4)
    x[1][2] = 5
    x[:, 0][1:] = 1
    x[..., -1] += 2
    assert x.tolist() == [[0, 0, 0, 2], [1, 0, 5, 2], [1, 0, 0, 2]]


def test_advanced_index_is_a_copy():
    x = ember.zeros(3)
    y = x[[0, 1]]
    y += 1
    assert x.tolist() == [0, 0, 0]


def test_index_errors_in_torch_words():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 1 with size 4"):
        x[0, -5]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="out of bounds"):
        x[ember.tensor([0, 7])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or "
                                         "bool tensors"):
        x[ember.tensor([0.0])]
    with pytest.raises(IndexError, match=r"The shape of the mask \[2\] at index 0 does not match "
                                         r"the shape of the indexed tensor \[3, 4\] at index 0"):
        x[ember.tensor([True, False])]
    with pytest.raises(IndexError, match="an index can only have a single ellipsis"):
        x[..., ...]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        ember.tensor(1.0)[0]
    with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape \\[3\\] cannot "
                                           "be broadcast to indexing result of shape \\[2\\]"):
        x[ember.tensor([0, 1]), 0] = ember.zeros(3)


def test_index_select_and_friends_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="index_select\\(\\): Index is supposed to be a vector"):
        x.index_select(0, ember.zeros(2, 2).long())
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int32/int64 for index"):
        x.gather(0, ember.zeros(3, 4, dtype=ember.int16))
    assert x.gather(0, ember.zeros(3, 4, dtype=ember.int32)).shape == (3, 4)  # torch takes int32
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions "
                                           "as input tensor"):
        x.gather(0, ember.zeros(3).long())
