"""CUDA tensors: devices, creation, moves, conversions, errors, views, in-place ops, indexing.

Values are compared with NumPy/torch on the CPU; the "cuda" case runs on the fake runtime (see
conftest.py) so every copy and kernel path below really executes."""
import pickle

import numpy as np
import pytest
import torch

import ember
from ember.runtime import cuda as rt
from tests.cuda_frontend.util import two_gpus


def host(t):
    return t.detach().cpu().numpy()


# --- devices --------------------------------------------------------------------------------------
def test_device_objects_and_check_device(cuda_rt):
    from ember.runtime.device import check_device
    n = rt.runtime().device_count()
    assert str(check_device("cuda")) == "cuda:0" and check_device(f"cuda:{n - 1}").index == n - 1
    assert check_device(ember.device("cuda", 0)) == ember.device("cuda:0")
    assert check_device(0) == ember.device("cuda:0")        # torch: a bare int is a CUDA index
    assert check_device("cpu") == ember.device("cpu")
    with pytest.raises(RuntimeError, match=rf"invalid device ordinal \(device index {n}, {n} dev"):
        ember.zeros(2, device=f"cuda:{n}")


def test_without_cuda_asking_for_it_says_why(monkeypatch):
    monkeypatch.setattr(rt, "_active", None)
    monkeypatch.setattr(rt, "_unavailable", "the test says so")
    for make in (lambda: ember.zeros(2, device="cuda"), lambda: ember.ones(2).cuda(),
                 lambda: ember.ones(2).to("cuda"), lambda: ember.ones(2).pin_memory()):
        with pytest.raises(RuntimeError, match="CUDA is not available: the test says so"):
            make()


@pytest.mark.parametrize("make", [
    lambda d: ember.tensor([[1.5, 2], [3, 4]], device=d),
    lambda d: ember.zeros(2, 3, device=d),
    lambda d: ember.ones((2, 3), dtype=ember.int32, device=d),
    lambda d: ember.full((2, 2), 7, device=d),
    lambda d: ember.arange(1, 10, 2, device=d),
    lambda d: ember.arange(0.0, 1.0, 0.25, device=d),
    lambda d: ember.linspace(0, 1, 5, device=d),
    lambda d: ember.eye(3, 2, device=d),
    lambda d: ember.zeros_like(ember.ones(2, 2, device=d)),
    lambda d: ember.ones_like(ember.ones(3, device=d), dtype=ember.float64),
    lambda d: ember.full_like(ember.ones(3, device=d), 2.5),
    lambda d: ember.ones(3, device=d).new_zeros(2),
    lambda d: ember.ones(3, device=d).new_tensor([1, 2]),
    lambda d: ember.scalar_tensor(3.0, device=d),
    lambda d: ember.as_tensor(np.arange(4), device=d),
], ids=lambda f: "")
def test_creation_on_device(device, make):
    t = make(device)
    assert t.device == ember.device(device if device == "cpu" else "cuda:0")
    assert t.is_cuda == (device == "cuda")
    ref = make("cpu")
    assert t.dtype is ref.dtype and t.shape == ref.shape
    np.testing.assert_array_equal(host(t), ref.numpy())


def test_empty_and_from_numpy(device):
    t = ember.empty(2, 3, device=device)
    assert t.shape == (2, 3) and t.device.type == device
    assert ember.from_numpy(np.ones(2)).device.type == "cpu"      # from_numpy stays on the CPU


def test_random_on_device_is_seeded_by_the_cuda_generator(cuda_rt):
    ember.cuda.manual_seed(3)
    a = ember.randn(4, 5, device="cuda")
    b = ember.rand(3, device="cuda")
    c = ember.randint(0, 10, (6,), device="cuda")
    ember.cuda.manual_seed(3)
    np.testing.assert_array_equal(host(ember.randn(4, 5, device="cuda")), host(a))
    assert a.is_cuda and b.is_cuda and c.is_cuda and c.dtype is ember.int64
    assert 0 <= host(b).min() and host(b).max() < 1 and 0 <= host(c).min() and host(c).max() < 10
    # the CPU generator is not advanced by CUDA draws
    ember.manual_seed(5)
    x = ember.randn(3)
    ember.manual_seed(5)
    ember.randn(3, device="cuda")
    np.testing.assert_array_equal(ember.randn(3).numpy(), x.numpy())
    assert ember.randn_like(a).is_cuda and ember.randperm(5, device="cuda").is_cuda
    w = ember.empty(100, device="cuda").uniform_(-1, 1)
    assert w.is_cuda and -1 <= host(w).min() and host(w).max() <= 1


# --- moves and conversions ----------------------------------------------------------------------
def test_to_cuda_cpu_roundtrip_and_identity(cuda_rt):
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    c = x.cuda()
    assert c.is_cuda and str(c.device) == "cuda:0" and c.get_device() == 0
    assert c.cuda() is c and x.cpu() is x and c.to("cuda:0") is c
    back = c.cpu()
    assert not back.is_cuda and back.get_device() == -1
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    c64 = x.to("cuda", ember.float64)
    assert c64.dtype is ember.float64 and c64.is_cuda
    h = c.to(device="cpu", dtype=ember.float16)
    assert h.dtype is ember.float16 and not h.is_cuda
    assert c.to(ember.ones(1, dtype=ember.int32)).dtype is ember.int32  # to(other) on CPU
    copied = c.to("cuda", copy=True)
    assert copied is not c and copied.data_ptr() != c.data_ptr()
    if two_gpus():
        assert x.to("cuda:1").device == ember.device("cuda:1") and x.cuda(1).get_device() == 1
        assert c.to("cuda:1").cuda(0).device == ember.device("cuda:0")     # device to device
        np.testing.assert_array_equal(host(x.to("cuda:1").cuda(0)), x.numpy())


def test_numpy_item_tolist_repr(cuda_rt):
    c = ember.tensor([[1.5, 2.0]]).cuda()
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy. Use "
                                        r"Tensor.cpu\(\) to copy the tensor to host memory first."):
        c.numpy()
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        np.asarray(c)
    assert c.numpy(force=True).tolist() == [[1.5, 2.0]]      # force=True copies, as in torch
    assert c[0, 0].item() == 1.5 and c.tolist() == [[1.5, 2.0]] and float(c.sum()) == 3.5
    assert bool(c[0, 1] == 2)
    assert repr(c) == "tensor([[1.5000, 2.0000]], device='cuda:0')"
    assert repr(ember.tensor([1, 2], dtype=ember.int32).cuda()) == \
        "tensor([1, 2], device='cuda:0', dtype=ember.int32)"
    r = ember.ones(2, device="cuda", requires_grad=True) * 2
    assert repr(r) == "tensor([2., 2.], device='cuda:0', grad_fn=<MulBackward0>)"
    assert c.type() == "ember.cuda.FloatTensor"


def test_pin_memory_and_non_blocking_copies(cuda_rt):
    x = ember.arange(12.0).reshape(3, 4)
    assert not x.is_pinned()
    p = x.pin_memory()
    assert p.is_pinned() and p.pin_memory() is p and not p.is_cuda
    np.testing.assert_array_equal(p.numpy(), x.numpy())
    c = p.to("cuda", non_blocking=True)
    ember.cuda.synchronize()
    np.testing.assert_array_equal(host(c), x.numpy())
    assert ember.tensor([1.0, 2.0], pin_memory=True).is_pinned()
    assert ember.zeros(3, pin_memory=True).is_pinned()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        c.pin_memory()
    assert not c.is_pinned()


def test_deepcopy_copies_on_the_device(cuda_rt):
    import copy
    x = ember.arange(6.0).reshape(2, 3).cuda().t()          # a non-contiguous view
    y = copy.deepcopy(x)
    assert y.is_cuda and y.tolist() == x.tolist() and y.data_ptr() != x.data_ptr()
    p = ember.nn.Parameter(ember.ones(2).cuda())
    assert copy.deepcopy(p).is_cuda


def test_pickle_keeps_the_device(cuda_rt):
    c = ember.tensor([1.0, 2.0]).cuda()
    back = pickle.loads(pickle.dumps(c))
    assert back.is_cuda and back.tolist() == [1.0, 2.0]
    p = ember.nn.Parameter(ember.ones(2).cuda())
    bp = pickle.loads(pickle.dumps(p))
    assert isinstance(bp, ember.nn.Parameter) and bp.is_cuda and bp.requires_grad


# --- ops ------------------------------------------------------------------------------------------
def test_mixed_devices_raise_pytorchs_error(cuda_rt):
    c = ember.ones(3).cuda()
    msg = r"Expected all tensors to be on the same device, but found at least two devices, " \
          r"cuda:0 and cpu!"
    for op in (lambda: c + ember.ones(3), lambda: ember.ones(3) * c,
               lambda: ember.matmul(c, ember.ones(3)), lambda: ember.where(c > 0, c, ember.ones(3))):
        with pytest.raises(RuntimeError, match=msg):
            op()
    if two_gpus():
        with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
            c + ember.ones(3).cuda(1)
    # 0-d CPU tensors and Python scalars join CUDA tensors, like in PyTorch
    out = c + ember.tensor(2.0)
    assert out.is_cuda and out.tolist() == [3.0, 3.0, 3.0]
    assert (ember.tensor(2.0) * c).is_cuda and (c * 2 + 1).tolist() == [3.0] * 3
    assert (1 - c).tolist() == [0.0] * 3


def test_elementwise_reductions_matmul_match_torch(device):
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((3, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 5)).astype(np.float32)
    a, b = ember.tensor(a_np, device=device), ember.tensor(b_np, device=device)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    cases = [
        (a @ b, ta @ tb), (a.exp() * 2 - a, ta.exp() * 2 - ta), (a.sum(), ta.sum()),
        (a.sum(1, keepdim=True), ta.sum(1, keepdim=True)), (a.amax(0), ta.amax(0)),
        (a.max(1).values, ta.max(1).values), (a.argmax(1), ta.argmax(1)),
        (ember.nn.functional.softmax(a, -1), torch.softmax(ta, -1)), (a.mean(), ta.mean()),
        (a > 0, ta > 0), ((a > 0).sum(), (ta > 0).sum()), (a.int() // 2, ta.int() // 2),
        (ember.where(a > 0, a, 0.0), torch.where(ta > 0, ta, 0.0)), (a.t().relu(), ta.t().relu()),
        (ember.cat([a, a * 2]), torch.cat([ta, ta * 2])), (a.abs().sqrt(), ta.abs().sqrt()),
        (a.clamp(-0.5, 0.5), ta.clamp(-0.5, 0.5)), (a.cumsum(1), ta.cumsum(1)),
    ]
    for got, want in cases:
        assert got.device.type == device
        np.testing.assert_allclose(host(got), want.numpy(), rtol=1e-5, atol=1e-6)


def test_views_share_the_device_buffer_and_in_place_ops_go_through(device):
    x = ember.arange(12.0, device=device).reshape(3, 4)
    t = torch.arange(12.0).reshape(3, 4)
    row, col, tr = x[1], x[:, 2], x.t()
    row.add_(100)
    col.mul_(-1)
    tr[0].fill_(7)
    x.view(12)[11] = 42
    x.unsqueeze(0).squeeze(0)[2, 1:3] += 1
    t[1].add_(100); t[:, 2].mul_(-1); t.t()[0].fill_(7); t.view(12)[11] = 42
    t.unsqueeze(0).squeeze(0)[2, 1:3] += 1
    np.testing.assert_array_equal(host(x), t.numpy())
    if device == "cuda":
        assert row.data_ptr() == x.data_ptr() + 4 * 4 and tr.data_ptr() == x.data_ptr()
        assert not tr.is_contiguous() and tr.stride() == (1, 4) and x[:, 1].storage_offset() == 1
    assert x._version == t._version
    c = tr.contiguous()
    assert c.is_contiguous() and np.array_equal(host(c), t.t().numpy())
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x[0].expand(2, 4).add_(1)


def test_indexing_and_index_assignment(device):
    x = ember.arange(20.0, device=device).reshape(4, 5)
    t = torch.arange(20.0).reshape(4, 5)
    idx_cpu = ember.tensor([3, 0])            # CPU index tensors index CUDA tensors, as in torch
    cases = [(x[idx_cpu], t[torch.tensor([3, 0])]), (x[[1, 2], 1:], t[[1, 2], 1:]),
             (x[x > 10], t[t > 10]), (x[..., -1], t[..., -1]), (x[None, 1, ::2], t[None, 1, ::2]),
             (x.gather(1, ember.tensor([[0], [4], [1], [2]], device=device)),
              t.gather(1, torch.tensor([[0], [4], [1], [2]]))),
             (x.index_select(0, ember.tensor([2, 2], device=device)),
              t.index_select(0, torch.tensor([2, 2]))),
             (ember.nonzero(x > 15), torch.nonzero(t > 15)), (x.flip(0), t.flip(0))]
    for got, want in cases:
        assert got.device.type == device
        np.testing.assert_array_equal(host(got), want.numpy())
    x[idx_cpu] = 0.5
    x[x > 17] = -1.0
    x[1, [0, 4]] = ember.tensor([9.0, 8.0])
    x[2] = ember.arange(5.0)                  # a CPU value into a CUDA row (copy_ semantics)
    t[torch.tensor([3, 0])] = 0.5; t[t > 17] = -1.0; t[1, [0, 4]] = torch.tensor([9.0, 8.0])
    t[2] = torch.arange(5.0)
    np.testing.assert_array_equal(host(x), t.numpy())


def test_copy_between_devices(device, cuda_rt):
    dst = ember.zeros(2, 3, device=device)
    src = ember.arange(6.0).reshape(2, 3).cuda()
    dst.copy_(src)
    assert dst.device.type == device and host(dst).tolist() == [[0, 1, 2], [3, 4, 5]]
    dst[:, 1].copy_(ember.tensor([7.0, 8.0]))         # a strided destination
    assert host(dst).tolist() == [[0, 7, 2], [3, 8, 5]]
    back = ember.empty(2, 3, dtype=ember.float64)
    back.copy_(dst)
    assert back.dtype is ember.float64 and back.tolist() == [[0, 7, 2], [3, 8, 5]]


def test_autocast_on_cuda_tensors(cuda_rt):
    a = ember.randn(4, 4, device="cuda")
    with ember.autocast("cuda"):
        y = a @ a
        z = ember.nn.functional.softmax(y, -1)          # a float32 op in CUDA's policy
        w = ember.nn.functional.linear(a, a.to(ember.bfloat16).float())
    assert y.dtype is ember.float16 and y.is_cuda and z.dtype is ember.float32 and z.is_cuda
    assert w.dtype is ember.float16
    with ember.autocast("cuda", dtype=ember.bfloat16):
        assert (a @ a).dtype is ember.bfloat16
    with ember.autocast("cpu"):
        assert (a @ a).dtype is ember.float32            # CPU autocast leaves CUDA tensors alone
    np.testing.assert_allclose(host(y).astype(np.float32), host(a @ a), rtol=1e-2, atol=1e-2)
