"""In-place ops: values and dtypes like PyTorch, visible through views, autograd through them, and
PyTorch's errors (leaf tensors, dtype casts, saved tensors modified in place)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

INPLACE = {  # name: fn(x) mutating x (float (3, 4) input)
    "add_": lambda x: x.add_(1.5),
    "add_tensor_alpha": lambda x: x.add_(x[0].clone(), alpha=2),
    "sub_": lambda x: x.sub_(x[:, :1].clone()),
    "mul_": lambda x: x.mul_(-2),
    "div_": lambda x: x.div_(4),
    "pow_": lambda x: x.pow_(2),
    "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(3.25),
    "fill_0d": lambda x: x.fill_(x.new_tensor(2.0)),
    "copy_": lambda x: x.copy_(x.flip(0)),
    "copy_bcast": lambda x: x.copy_(x[0].clone()),
    "copy_from_int": lambda x: x.copy_(x.long()),
    "clamp_": lambda x: x.clamp_(2, 7),
    "clamp_min_": lambda x: x.clamp_(min=5),
    "iadd": lambda x: x.__iadd__(x),
    "isub": lambda x: x.__isub__(1),
    "imul": lambda x: x.__imul__(0.5),
    "itruediv": lambda x: x.__itruediv__(2),
    "exp_": lambda x: x.exp_(),
    "neg_": lambda x: x.neg_(),
    "abs_": lambda x: x.sub_(5).abs_(),
    "sqrt_": lambda x: x.sqrt_(),
    "masked_fill_": lambda x: x.masked_fill_(x > 4, -1),
    "index_fill_": lambda x: x.index_fill_(1, x.new_tensor([0, 2]).long(), 9),
    "scatter_": lambda x: x.scatter_(1, x.new_tensor([[0], [1], [2]]).long(), 0.5),
    "scatter_add_": lambda x: x.scatter_add_(0, x.new_zeros(1, 4).long(), x[:1] * 1),
    "setitem_int": lambda x: x.__setitem__(0, 1.0),
    "setitem_slice": lambda x: x.__setitem__((slice(None), slice(1, 3)), x[:, :2] * 10),
    "setitem_adv": lambda x: x.__setitem__(x.new_tensor([0, 2]).long(), x[1].clone()),
    "setitem_mask": lambda x: x.__setitem__(x > 6, 0),
    "tril_": lambda x: x.tril_(),
    "t_mul_": lambda x: x.t().mul_(3),
    "view_add_": lambda x: x.view(12)[::5].add_(100),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_matches_torch(name):
    torch = need_torch()
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    e, t = ember.tensor(data), torch.tensor(data)
    ev, tv = e[1:], t[1:]   # a view that must see the change
    re, rt = INPLACE[name](e), INPLACE[name](t)
    assert_close(e, t)
    assert_close(ev, tv)
    assert e._version == t._version
    if rt is t:
        assert re is e
    if rt is None:
        assert re is None


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_gradients_match_torch(name):
    """In place on a non-leaf: gradients flow to the leaf as in PyTorch (incl. through views)."""
    torch = need_torch()
    data = np.linspace(0.5, 6, 12).reshape(3, 4)
    g = np.linspace(-1, 1, 12).reshape(3, 4)
    grads = []
    for lib in (ember, torch):
        leaf = lib.tensor(data, requires_grad=True)
        x = leaf * 1.0
        INPLACE[name](x)
        x.backward(lib.tensor(g))
        grads.append(leaf.grad)
    assert_close(grads[0], grads[1])


def test_int_inplace_dtype_errors_and_casts():
    x = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        x.add_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        x.mul_(ember.tensor([0.5, 0.5, 0.5]))
    x.add_(ember.tensor([True, False, True]))   # bool into int is fine
    assert x.tolist() == [2, 2, 4]
    x[0] = 7.9                                  # assignment casts like torch (truncates)
    assert x.tolist() == [7, 2, 4]
    x.copy_(ember.tensor([1.7, -1.7, 0.2]))
    assert x.tolist() == [1, -1, 0]
    x += 2
    assert x.dtype is ember.int64 and x.tolist() == [3, 1, 2]


def test_inplace_bcast_shape_error():
    x = ember.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast "
                                           r"shape \[2, 3\]"):
        x.add_(ember.zeros(2, 3))


def test_leaf_inplace_errors():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation."):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being "
                                           "used in an in-place operation."):
        w[0].mul_(2)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w += 1
    with ember.no_grad():
        w.add_(1)                     # allowed under no_grad (optimizer updates)
        w[0] = 5
    assert w.tolist() == [5.0, 2.0, 2.0] and w.is_leaf and w.requires_grad
    w.detach().zero_()                # and through detach (shares storage)
    assert w.tolist() == [0.0, 0.0, 0.0]


def test_modified_saved_tensor_error():
    x = ember.ones(3, requires_grad=True)
    y = x.exp()                       # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                           "has been modified by an inplace operation"):
        y.sum().backward()
    a = x * 1
    b = a * a                         # mul saves its inputs
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*is at version 1; "
                                           "expected version 0 instead"):
        b.sum().backward()


def test_inplace_on_viewed_input_of_view_op_is_fine():
    # view ops keep no input values, so modifying a viewed tensor later is not an error
    x = ember.ones(2, 3, requires_grad=True)
    y = x * 2
    z = y.t()
    y.add_(1)
    (z * 3).sum().backward()
    assert x.grad.tolist() == [[6.0] * 3] * 2


def test_requires_grad_propagates_through_inplace():
    torch = need_torch()
    for lib in (ember, torch):
        x = lib.zeros(3)
        w = lib.ones(3, requires_grad=True)
        x[1:] = w[1:] * 2
        assert x.requires_grad and x.grad_fn is not None
        x.sum().backward()
        assert w.grad.tolist() == [0.0, 2.0, 2.0]


def test_inplace_returns_self_for_chaining():
    x = ember.zeros(2)
    assert x.add_(1).mul_(3) is x
    assert x.tolist() == [3.0, 3.0]
    assert x.zero_() is x and x.fill_(1) is x and x.copy_(x) is x
