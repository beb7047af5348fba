"""The eager fast paths of composites (frontend/fused.py): softmax, log_softmax, layer_norm, gelu,
cross-entropy over class indices and the LSTM cell.  Each must give the composite's values and
gradients (the composite runs when a record_hook observes the ops), PyTorch's, float64 finite
differences, and the composite's higher-order gradients; in-place changes and a second backward
must fail as they do for recorded primitives."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.frontend.dispatch import STATE
from tests.helpers import TOL, need_torch

RNG = np.random.default_rng(7)


@contextlib.contextmanager
def composite():
    """Observing the bound primitives turns the fast paths off: the composites run."""
    prev = STATE.record_hook
    STATE.record_hook = lambda prim: None
    try:
        yield
    finally:
        STATE.record_hook = prev


def _target(n, c):
    t = RNG.integers(0, c, n)
    t[1] = -100   # one ignored row
    return t


# name -> (ember fn of (lib_functional, *tensors), shapes of the float inputs, torch-side fn)
CASES = {
    "softmax_last": (lambda Fn, x: Fn.softmax(x, -1), [(3, 4, 5)]),
    "softmax_dim1": (lambda Fn, x: Fn.softmax(x, 1), [(3, 4, 5)]),
    "log_softmax_last": (lambda Fn, x: Fn.log_softmax(x, -1), [(6, 7)]),
    "log_softmax_dim0": (lambda Fn, x: Fn.log_softmax(x, 0), [(6, 7)]),
    "layer_norm_affine": (lambda Fn, x, w, b: Fn.layer_norm(x, (5,), w, b), [(3, 4, 5), (5,), (5,)]),
    "layer_norm_2d_shape": (lambda Fn, x, w, b: Fn.layer_norm(x, (4, 5), w, b),
                            [(3, 4, 5), (4, 5), (4, 5)]),
    "layer_norm_plain": (lambda Fn, x: Fn.layer_norm(x, (6,)), [(2, 6)]),
    "gelu": (lambda Fn, x: Fn.gelu(x), [(4, 9)]),
    "linear_3d": (lambda Fn, x, w, b: Fn.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    "linear_no_bias": (lambda Fn, x, w: Fn.linear(x, w), [(3, 4), (5, 4)]),
    "linear_1d_input": (lambda Fn, x, w, b: Fn.linear(x, w, b), [(4,), (5, 4), (5,)]),
    "gelu_tanh": (lambda Fn, x: Fn.gelu(x, approximate="tanh"), [(4, 9)]),
}
CE_TARGET = _target(6, 5)
for _red in ("mean", "sum", "none"):
    CASES[f"cross_entropy_{_red}"] = (
        (lambda red: lambda Fn, x: Fn.cross_entropy(
            x, (ember if Fn is F else __import__("torch")).tensor(CE_TARGET), reduction=red))(_red),
        [(6, 5)])


def _inputs(shapes, dtype, requires_grad=True):
    arrays = [RNG.standard_normal(s).astype(dtype) for s in shapes]
    return arrays, [ember.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]


def assert_matches_finite_differences(value, arrays, grads, which=None, eps=1e-6):
    """value(list of arrays) -> float; grads[k] must be its central-difference gradient."""
    for k in (range(len(arrays)) if which is None else which):
        num = np.zeros_like(arrays[k])
        for idx in np.ndindex(arrays[k].shape):
            b = [x.copy() for x in arrays]
            b[k][idx] += eps
            up = value(b)
            b[k][idx] -= 2 * eps
            num[idx] = (up - value(b)) / (2 * eps)
        np.testing.assert_allclose(grads[k].numpy(), num, rtol=1e-6, atol=1e-8)


def _grads(fn, tensors, seed):
    out = fn(F, *tensors)
    g = ember.tensor(seed.astype(out.dtype.np))
    return out, ember.autograd.grad(out, tensors, g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_matches_composite_and_torch(name, dtype):
    torch = need_torch()
    fn, shapes = CASES[name]
    arrays, xs = _inputs(shapes, dtype)
    with ember.no_grad():
        seed = RNG.standard_normal(tuple(fn(F, *xs).shape))
    out, grads = _grads(fn, xs, seed)
    assert out.grad_fn is not None and type(out.grad_fn).__name__ == "FusedNode"
    assert out.grad_fn.name().endswith("Backward0")
    with composite():
        ref, ref_grads = _grads(fn, [ember.tensor(a.copy(), requires_grad=True) for a in arrays],
                                seed)
    assert type(ref.grad_fn).__name__ == "Node"
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol, atol)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol, atol)
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    tout = fn(torch.nn.functional, *ts)
    tgrads = torch.autograd.grad(tout, ts, torch.tensor(seed.astype(dtype)))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol, atol)
    for g, r in zip(grads, tgrads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol, atol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float64_gradient_matches_finite_differences(name):
    fn, shapes = CASES[name]
    arrays, xs = _inputs(shapes, "float64")
    out = fn(F, *xs)
    seed = RNG.standard_normal(tuple(out.shape))
    grads = ember.autograd.grad(out, xs, ember.tensor(seed))

    def value(b):
        with ember.no_grad():
            return float((fn(F, *[ember.tensor(v) for v in b]).numpy() * seed).sum())
    assert_matches_finite_differences(value, arrays, grads)


@pytest.mark.parametrize("name", ["softmax_last", "log_softmax_dim0", "layer_norm_affine",
                                  "gelu", "gelu_tanh", "cross_entropy_mean", "linear_3d"])
def test_second_order_gradients_are_the_composites(name):
    fn, shapes = CASES[name]
    arrays, _ = _inputs(shapes, "float64")

    def second(xs):
        out = fn(F, *xs)
        seed = ember.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        g = ember.autograd.grad(out, xs, seed, create_graph=True)
        return ember.autograd.grad(sum((gi * gi).sum() for gi in g), xs, allow_unused=True)

    fast = second([ember.tensor(a.copy(), requires_grad=True) for a in arrays])
    with composite():
        ref = second([ember.tensor(a.copy(), requires_grad=True) for a in arrays])
    for g, r in zip(fast, ref):
        assert (g is None) == (r is None)
        if g is not None:
            np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-9, atol=1e-12)


def test_lstm_matches_torch_with_fused_cells():
    torch = need_torch()
    for bias in (True, False):
        tm = torch.nn.LSTM(3, 4, 2, bias=bias).double()
        em = ember.nn.LSTM(3, 4, 2, bias=bias).double()
        em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        x = RNG.standard_normal((5, 2, 3))
        xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (oe, (he, ce)), (ot, (ht, ct)) = em(xe), tm(xt)
        ((oe ** 2).sum() + ce.sum() * 0.5 + he.sum() * 0.3).backward()
        ((ot ** 2).sum() + ct.sum() * 0.5 + ht.sum() * 0.3).backward()
        np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), 1e-10, 1e-12)
        np.testing.assert_allclose(ce.detach().numpy(), ct.detach().numpy(), 1e-10, 1e-12)
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), 1e-10, 1e-12)
        for p, q in zip(em.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), 1e-10, 1e-12)


def test_lstm_cell_gradient_matches_finite_differences():
    from ember.nn.modules.rnn import _fused_lstm_cell
    shapes = [(3, 8), (3, 2), (3, 2), (8, 2), (8,)]
    arrays, xs = _inputs(shapes, "float64")
    h, c = _fused_lstm_cell(*xs)
    sh, sc = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    grads = ember.autograd.grad([h, c], xs, [ember.tensor(sh), ember.tensor(sc)])

    def value(b):
        with ember.no_grad():
            h, c = _fused_lstm_cell(*[ember.tensor(v) for v in b])
        return float((h.numpy() * sh).sum() + (c.numpy() * sc).sum())
    assert_matches_finite_differences(value, arrays, grads)


def test_only_one_output_of_the_lstm_cell_used():
    from ember.nn.modules.rnn import _fused_lstm_cell, _lstm_cell
    arrays, xs = _inputs([(3, 8), (3, 2), (3, 2), (8, 2), (8,)], "float64")
    h, _ = _fused_lstm_cell(*xs)
    got = ember.autograd.grad(h.sum(), xs)
    ys = [ember.tensor(a, requires_grad=True) for a in arrays]
    want = ember.autograd.grad(_lstm_cell(*ys)[0].sum(), ys)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), 1e-10, 1e-12)


def test_in_place_change_of_a_saved_output_is_caught():
    x = ember.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    y = F.softmax(x, -1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_change_of_an_input_is_caught():
    x = ember.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    h = x * 1
    y = F.layer_norm(h, (4,))
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_second_backward_needs_retain_graph():
    x = ember.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    y = F.gelu(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * ember.autograd.grad(F.gelu(x).sum(), x)[0].numpy())
    z = F.log_softmax(x, 1).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_no_grad_and_int_inputs_take_the_plain_paths():
    x = ember.tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    with ember.no_grad():
        y = F.softmax(x, -1)
    assert y.grad_fn is None and not y.requires_grad
    h = F.layer_norm(ember.tensor(RNG.standard_normal((2, 4)).astype(np.float16)), (4,))
    assert h.dtype == ember.float16   # not float32/64: the composite ran
    # mixed dtypes promote in the composite
    w = ember.tensor(np.ones(4))
    assert F.layer_norm(x, (4,), w).dtype == ember.float64


def test_compile_traces_the_composites():
    def f(x):
        return F.softmax(x, -1).sum() + F.layer_norm(x, (4,)).sum()
    x = ember.tensor(RNG.standard_normal((3, 4)).astype(np.float32))
    c = ember.compile(f)
    np.testing.assert_allclose(c(x).numpy(), f(x).numpy(), 1e-5, 1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_matches_composite_and_finite_differences(reverse):
    from ember.nn.modules.rnn import _fused_lstm_layer
    L, N, H = 4, 2, 3
    shapes = [(L, N, 4 * H), (N, H), (N, H), (4 * H, H), (4 * H,)]
    arrays, xs = _inputs(shapes, "float64")
    seeds = [RNG.standard_normal(s) for s in ((L, N, H), (N, H), (N, H))]

    def loss(outs):
        return sum((o * ember.tensor(s)).sum() for o, s in zip(outs, seeds))
    outs = _fused_lstm_layer(*xs, reverse=reverse)
    grads = ember.autograd.grad(loss(outs), xs)
    with composite():
        ys = [ember.tensor(a, requires_grad=True) for a in arrays]
        ref = _fused_lstm_layer(*ys, reverse=reverse)
        ref_grads = ember.autograd.grad(loss(ref), ys)
    for o, r in zip(outs, ref):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), 1e-12, 1e-13)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), 1e-10, 1e-12)

    def value(b):
        with ember.no_grad():
            return float(loss(_fused_lstm_layer(*[ember.tensor(v) for v in b],
                                                reverse=reverse)).numpy())
    # the sequence input, h0 and the recurrent weight
    assert_matches_finite_differences(value, arrays, grads, which=(0, 1, 3))


def test_lstm_output_changed_in_place_is_caught():
    lstm = ember.nn.LSTM(3, 4)
    out, _ = lstm(ember.tensor(RNG.standard_normal((5, 2, 3)).astype(np.float32)))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
