"""Autograd against PyTorch: accumulation, retain_graph, create_graph (second derivatives), hooks,
retain_grad, custom Functions, grad modes (also as decorators), and errors in PyTorch's words."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import assert_close, need_torch

LIBS = ("ember", "torch")


def _lib(name):
    return ember if name == "ember" else need_torch()


def _both(fn):
    """Run fn(lib) on both libraries and compare the (nested) results."""
    out_e, out_t = fn(ember), fn(need_torch())
    _cmp(out_e, out_t)
    return out_e


def _cmp(a, b):
    if isinstance(b, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _cmp(x, y)
    elif b is None:
        assert a is None
    elif isinstance(b, (bool, int, float, str)):
        assert a == b
    else:
        assert_close(a, b)


def test_backward_accumulates_into_grad():
    def f(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        first = x.grad.clone()
        (x * 3).sum().backward()
        return first, x.grad
    _both(f)


def test_grad_accumulates_over_shared_subgraphs():
    def f(lib):
        x = lib.tensor([[1.0, -2.0], [0.5, 4.0]], requires_grad=True)
        y = x.exp()
        z = y * x + y.sum(0) - x.t() @ y
        z.sum().backward()
        return x.grad
    _both(f)


def test_retain_graph_allows_a_second_backward():
    def f(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    _both(f)


def test_second_backward_without_retain_graph_raises():
    for name in LIBS:
        lib = _lib(name)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time"):
            y.backward()


def test_create_graph_second_derivatives():
    def f(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = (x ** 3 + x.sin() * x.exp()).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g, h
    _both(f)


def test_create_graph_through_backward_and_grad_of_grad_norm():
    def f(lib):
        w = lib.tensor([[0.3, -0.2], [0.1, 0.4]], requires_grad=True)
        x = lib.tensor([[1.0, 2.0], [3.0, -1.0]])
        loss = ((x @ w).tanh() ** 2).mean()
        (gw,) = lib.autograd.grad(loss, w, create_graph=True)
        penalty = (gw * gw).sum()
        penalty.backward()
        return gw.detach(), w.grad
    _both(f)


def test_third_derivative():
    def f(lib):
        x = lib.tensor(0.7, requires_grad=True)
        y = x.sigmoid() * x.log()
        g1 = lib.autograd.grad(y, x, create_graph=True)[0]
        g2 = lib.autograd.grad(g1, x, create_graph=True)[0]
        g3 = lib.autograd.grad(g2, x)[0]
        return g1, g2, g3
    _both(f)


def test_autograd_grad_options():
    def f(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        z = lib.tensor([3.0], requires_grad=True)
        y = x * 2
        gx, gz = lib.autograd.grad(y, (x, z), grad_outputs=lib.tensor([1.0, -1.0]),
                                   allow_unused=True, retain_graph=True)
        gm = lib.autograd.grad(y.sum(), [x, z], materialize_grads=True)
        return gx, gz, gm, x.grad
    _both(f)
    x = ember.tensor([1.0], requires_grad=True)
    z = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors appears to not have "
                                           "been used in the graph. Set allow_unused=True"):
        ember.autograd.grad((x * 2).sum(), [x, z])


def test_backward_with_gradient_and_inputs():
    def f(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        y = x * w
        y.backward(lib.tensor([0.5, -1.0]), inputs=[x])
        return x.grad, w.grad
    _both(f)


def test_backward_errors_in_torch_words():
    for name in LIBS:
        lib = _lib(name)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                               "outputs"):
            (x * 2).backward()
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            lib.tensor([1.0]).sum().backward()
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                               "gradients"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="Mismatch in shape: grad_output\\[0\\] has a shape "
                                               "of torch.Size\\(\\[3\\]\\) and output\\[0\\] has "
                                               "a shape of torch.Size\\(\\[2\\]\\)"):
            (x * 2).backward(lib.ones(3))
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf "
                                               "variables"):
            (x * 2).requires_grad_(False)
        with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires "
                                               "grad"):
            x.numpy()


def test_tensor_hooks_modify_and_observe_grads():
    def f(lib):
        seen = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 10)
        h = y.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        h.remove()
        y2 = x * 3
        y2.register_hook(lambda g: seen.append(g.clone()))
        y2.sum().backward()
        return x.grad, seen
    _both(f)


def test_retain_grad():
    def f(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        z = y.exp().sum()
        z.backward()
        return y.grad, x.grad, y.retains_grad, x.is_leaf, y.is_leaf
    _both(f)
    x = ember.ones(2, requires_grad=True)
    assert (x * 2).grad is None


def test_grad_fn_and_leaf_flags():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and x.grad_fn is None and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward0"
    assert "MulBackward0" in repr(y)
    nxt = y.grad_fn.next_functions
    assert nxt[0][0].name() == "AccumulateGrad" and nxt[0][0].variable is x
    assert ember.tensor([1.0]).is_leaf


def test_detach_stops_gradients():
    def f(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x.detach() + x.detach() ** 2
        y.sum().backward()
        return x.grad, y.requires_grad, x.detach().requires_grad
    _both(f)


def test_no_grad_enable_grad_set_grad_enabled():
    for name in LIBS:
        lib = _lib(name)
        x = lib.ones(2, requires_grad=True)
        with lib.no_grad():
            assert not lib.is_grad_enabled()
            assert not (x * 2).requires_grad
            with lib.enable_grad():
                assert (x * 2).requires_grad
            assert not (x * 2).requires_grad
        assert lib.is_grad_enabled()
        with lib.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad
        lib.set_grad_enabled(False)        # a plain call switches the mode
        assert not lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        assert lib.is_grad_enabled()


def test_grad_modes_as_decorators():
    for name in LIBS:
        lib = _lib(name)
        x = lib.ones(2, requires_grad=True)

        @lib.no_grad()
        def f(t):
            return t * 2

        @lib.enable_grad()
        def g(t):
            return t * 2

        @lib.set_grad_enabled(False)
        def h(t):
            return t * 2

        assert not f(x).requires_grad
        with lib.no_grad():
            assert g(x).requires_grad
        assert not h(x).requires_grad
        assert lib.is_grad_enabled()
        assert f.__name__ == "f"


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


def test_inference_mode():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


class _Exp(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class _MulConst(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k, x + 1

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * ctx.k + g2, None


def test_custom_function():
    x = ember.tensor([0.5, -1.0], requires_grad=True)
    y = _Exp.apply(x)
    assert y.grad_fn is not None and y.requires_grad
    (y * 2).sum().backward()
    assert_close(x.grad, 2 * np.exp([0.5, -1.0]))
    x.grad = None
    a, b = _MulConst.apply(x, 3.0)
    (a + b * b).sum().backward()
    assert_close(x.grad, 3.0 + 2 * (x.detach() + 1))
    with ember.no_grad():
        assert not _Exp.apply(x).requires_grad


def test_custom_function_saved_tensor_modified_in_place():
    x = ember.tensor([0.5, -1.0], requires_grad=True)
    y = _Exp.apply(x)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_custom_function_needs_input_grad_and_mark_non_differentiable():
    class F(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.flags = ctx.needs_input_grad
            idx = a.argmax()
            ctx.mark_non_differentiable(idx)
            return a * b, idx

        @staticmethod
        def backward(ctx, g, _):
            return g, None

    a = ember.ones(2, requires_grad=True)
    out, idx = F.apply(a, ember.ones(2))
    assert not idx.requires_grad and out.requires_grad
    out.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_gradient_of_broadcast_and_reduction_chain():
    def f(lib):
        x = lib.tensor([[1.0], [2.0]], requires_grad=True)
        b = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        y = (x + b).softmax(-1) if hasattr(lib, "softmax") and lib is not ember else None
        z = ((x + b).exp() / (x + b).exp().sum(-1, keepdim=True)).log().mean()
        z.backward()
        return x.grad, b.grad
    _both(f)


def test_grad_is_a_fresh_tensor_each_backward():
    x = ember.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 2).sum().backward()
    assert g.tolist() == [2.0, 2.0]   # accumulation built a new tensor (torch's default too)
    assert x.grad.tolist() == [4.0, 4.0]
