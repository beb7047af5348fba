"""Autograd on CUDA tensors: gradients live on the tensor's device and equal the CPU ones (and
torch's); accumulation, hooks, retain_grad, double backward, moves between devices."""
import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F


def host(t):
    return t.detach().cpu().numpy()


def pair(a, device):
    return (ember.tensor(a, device=device, requires_grad=True),
            torch.tensor(a, requires_grad=True))


def test_gradients_stay_on_the_device_and_match_torch(device):
    rng = np.random.default_rng(1)
    x, tx = pair(rng.standard_normal((3, 4)).astype(np.float32), device)
    w, tw = pair(rng.standard_normal((4, 2)).astype(np.float32), device)
    y = ((x @ w).tanh() * x[:, :2]).sum(1).exp().mean()
    ty = ((tx @ tw).tanh() * tx[:, :2]).sum(1).exp().mean()
    y.backward()
    ty.backward()
    assert x.grad.device.type == device and w.grad.device.type == device
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(w.grad), tw.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_accumulation_hooks_retain_grad(device):
    x, tx = pair([1.0, -2.0, 3.0], device)
    seen = []
    x.register_hook(lambda g: seen.append(g.device.type) or g * 2)
    tx.register_hook(lambda g: g * 2)
    for _ in range(2):
        h = x * x
        th = tx * tx
        h.retain_grad()
        th.retain_grad()
        (h * 3).sum().backward()
        (th * 3).sum().backward()
    assert seen == [device, device]
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy())
    np.testing.assert_allclose(host(h.grad), th.grad.numpy())
    assert h.grad.device.type == device
    post = []
    x.register_post_accumulate_grad_hook(lambda p: post.append(p.grad.device.type))
    (x.sum() * 1).backward()
    assert post == [device]


def test_double_backward(device):
    x, tx = pair([0.5, -1.5, 2.0], device)
    y = (x ** 3).sin().sum()
    ty = (tx ** 3).sin().sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (tg,) = torch.autograd.grad(ty, tx, create_graph=True)
    assert g.device.type == device and g.requires_grad
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(host(g), tg.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-4)


def test_backward_through_in_place_ops_on_views(device):
    base, tbase = pair(np.arange(6.0, dtype=np.float32).reshape(2, 3), device)
    y, ty = base * 1, tbase * 1
    y[0].mul_(3)
    y[:, 1].add_(y[1, :2].sum())
    ty[0].mul_(3)
    ty[:, 1].add_(ty[1, :2].sum())
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(host(base.grad), tbase.grad.numpy())


def test_gradient_crosses_devices(cuda_rt):
    """A .cuda()/.cpu() move is differentiable: the gradient comes back to the source device."""
    x, tx = pair([1.0, 2.0, 3.0], "cpu")
    c = x.cuda()
    assert c.grad_fn is not None and c.is_cuda
    ((c * c).sum().cpu() * 2).backward()
    assert not x.grad.is_cuda
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0, 12.0])
    w = ember.ones(2, device="cuda", requires_grad=True)
    (w.cpu() * ember.tensor([3.0, 4.0])).sum().backward()
    assert w.grad.is_cuda and w.grad.tolist() == [3.0, 4.0]
    with ember.no_grad():
        assert x.cuda().grad_fn is None


def test_function_and_losses_on_device(device):
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x, tx = pair([[0.2, -1.0, 0.5], [1.0, 0.1, -0.3]], device)
    target = ember.tensor([2, 0], device=device)
    loss = F.cross_entropy(Cube.apply(x), target) + F.mse_loss(x, ember.zeros_like(x))
    tloss = torch.nn.functional.cross_entropy(tx ** 3, torch.tensor([2, 0])) + \
        torch.nn.functional.mse_loss(tx, torch.zeros_like(tx))
    loss.backward()
    tloss.backward()
    assert loss.device.type == device
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
