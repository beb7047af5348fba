"""nn, optim, serialization and the DataLoader with CUDA tensors: a model trained on "cuda" ends
with the same losses, gradients and parameters as the same model trained on the CPU."""
import io

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.runtime import cuda as rt
from ember.utils.data import DataLoader, TensorDataset
from tests.cuda_frontend.util import two_gpus


def host(t):
    return t.detach().cpu().numpy()


def mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))


def cnn():
    ember.manual_seed(0)
    # (no conv bias before BatchNorm: its gradient is rounding noise, which Adam amplifies)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 3))


def batches(shape, n=3):
    rng = np.random.default_rng(7)
    return [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, shape[0]))
            for _ in range(n)]


def train(model, device, data, make_opt):
    model = model.to(device)
    opt = make_opt(model.parameters())
    losses, grads = [], []
    for x, y in data:
        x, y = ember.tensor(x).to(device), ember.tensor(y).to(device)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        grads.append([host(p.grad) for p in model.parameters()])
        opt.step()
        losses.append(loss.item())
    return model, opt, losses, grads


@pytest.mark.parametrize("make_model,shape", [(mlp, (5, 6)), (cnn, (4, 2, 6, 6))],
                         ids=["mlp", "cnn"])
@pytest.mark.parametrize("make_opt", [
    lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: ember.optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: ember.optim.AdamW(ps, lr=0.01),
    lambda ps: ember.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: ember.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_training_steps_on_cuda_equal_cpu(cuda_rt, make_model, shape, make_opt):
    data = batches(shape)
    cpu_model, _, cpu_losses, cpu_grads = train(make_model(), "cpu", data, make_opt)
    gpu_model, opt, gpu_losses, gpu_grads = train(make_model(), "cuda", data, make_opt)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    for gs, cs in zip(gpu_grads, cpu_grads):
        for g, c in zip(gs, cs):
            np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-6)
    for (name, p), q in zip(gpu_model.named_parameters(), cpu_model.parameters()):
        assert p.is_cuda and p.grad.is_cuda, name
        np.testing.assert_allclose(host(p), host(q), rtol=1e-4, atol=1e-6, err_msg=name)
    for b, c in zip(gpu_model.buffers(), cpu_model.buffers()):
        assert b.is_cuda
        np.testing.assert_allclose(host(b), host(c), rtol=1e-5, atol=1e-6)
    for state in opt.state.values():   # state follows the parameter; 'step' stays on the CPU
        for key, v in state.items():
            if isinstance(v, ember.Tensor):
                assert v.is_cuda == (key != "step"), key


def test_module_moves_keep_parameter_identity(cuda_rt):
    model = mlp()
    params = list(model.parameters())
    model(ember.ones(2, 6)).sum().backward()
    assert model.cuda() is model
    assert all(p is q and p.is_cuda and p.grad.is_cuda for p, q in zip(model.parameters(), params))
    last = f"cuda:{rt.runtime().device_count() - 1}"
    assert model.to(last, dtype=ember.float64) is model
    assert all(p.device == ember.device(last) and p.dtype is ember.float64 for p in params)
    model.cpu().float()
    assert all(not p.is_cuda and p.dtype is ember.float32 for p in params)
    bn = nn.BatchNorm1d(3).cuda(0)
    assert bn.num_batches_tracked.is_cuda and bn.num_batches_tracked.dtype is ember.int64
    # PyTorch's factory kwarg device= on every layer
    for layer in (nn.Linear(2, 3, device="cuda"), nn.Conv2d(2, 3, 3, device="cuda"),
                  nn.BatchNorm2d(3, device="cuda"), nn.LayerNorm(4, device="cuda"),
                  nn.Embedding(5, 2, device="cuda"), nn.LSTM(3, 4, device="cuda"),
                  nn.TransformerEncoderLayer(8, 2, 16, device="cuda")):
        tensors = list(layer.parameters()) + list(layer.buffers())
        assert tensors and all(t.is_cuda for t in tensors), type(layer).__name__
    assert not nn.Conv2d(2, 3, 3).weight.is_cuda


def test_optimizer_load_state_dict_moves_state_to_the_parameters_device(cuda_rt):
    model = mlp()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    model(ember.ones(2, 6)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    gpu_model = mlp().cuda()
    gpu_opt = ember.optim.Adam(gpu_model.parameters(), lr=0.01)
    gpu_opt.load_state_dict(sd)
    for p, q in zip(gpu_model.parameters(), model.parameters()):
        st = gpu_opt.state[p]
        assert st["exp_avg"].is_cuda and not st["step"].is_cuda
        np.testing.assert_array_equal(host(st["exp_avg_sq"]), opt.state[q]["exp_avg_sq"].numpy())
    cpu_opt = ember.optim.Adam(mlp().parameters(), lr=0.01)
    cpu_opt.load_state_dict(gpu_opt.state_dict())            # and back to the CPU
    assert not any(s["exp_avg"].is_cuda for s in cpu_opt.state.values())


def test_save_and_load_with_map_location(cuda_rt, tmp_path):
    model = mlp().cuda()
    x = ember.arange(6.0).cuda()
    path = tmp_path / "ckpt.pt"
    ember.save({"model": model.state_dict(), "x": x, "view": x[2:4]}, path)
    same = ember.load(path)
    assert same["x"].is_cuda and same["x"].tolist() == x.tolist()
    assert same["view"].is_cuda and same["view"].tolist() == [2.0, 3.0]
    on_cpu = ember.load(path, map_location="cpu")
    assert not on_cpu["x"].is_cuda and not on_cpu["model"]["0.weight"].is_cuda
    if two_gpus():
        on_1 = ember.load(path, map_location="cuda:1")
        assert on_1["x"].device == ember.device("cuda:1")
    mapped = ember.load(path, map_location={"cuda:0": "cpu"})
    assert not mapped["x"].is_cuda
    fresh = mlp()
    fresh.load_state_dict(on_cpu["model"])
    for p, q in zip(fresh.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), host(q))
    buf = io.BytesIO()
    ember.save(ember.ones(2).cuda(), buf)
    buf.seek(0)
    assert ember.load(buf, map_location=ember.device("cpu")).tolist() == [1.0, 1.0]


def test_dataloader_pin_memory_gives_pinned_batches(cuda_rt):
    ds = TensorDataset(ember.arange(20.0).reshape(10, 2), ember.arange(10))
    loader = DataLoader(ds, batch_size=4, pin_memory=True)
    seen = []
    for x, y in loader:
        assert x.is_pinned() and y.is_pinned()
        xc, yc = x.to("cuda", non_blocking=True), y.cuda(non_blocking=True)
        ember.cuda.synchronize()
        seen.append((xc.tolist(), yc.tolist()))
    assert [s[1] for s in seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert seen[0][0] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    unpinned = next(iter(DataLoader(ds, batch_size=4)))
    assert not unpinned[0].is_pinned()
    # worker processes: batches are pinned in the main process
    with_workers = list(DataLoader(ds, batch_size=4, pin_memory=True, num_workers=2))
    assert all(x.is_pinned() and y.is_pinned() for x, y in with_workers)
    assert [y.tolist() for _, y in with_workers] == [s[1] for s in seen]


@pytest.mark.parametrize("inject", [None, float("inf")], ids=["finite", "inf"])
def test_amp_step_with_grad_scaler_and_clipping_equals_cpu(cuda_rt, inject):
    """The usual CUDA loop: autocast forward, GradScaler, unscale_, clip_grad_norm_, step."""
    results = []
    for device in ("cpu", "cuda"):
        model = mlp().to(device)
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scaler = ember.amp.GradScaler(device, init_scale=1024.0)
        for x, y in batches((5, 6), n=2):
            x, y = ember.tensor(x, device=device), ember.tensor(y, device=device)
            opt.zero_grad()
            with ember.autocast(device, dtype=ember.bfloat16):
                loss = F.cross_entropy(model(x).float(), y)
            scaler.scale(loss).backward()
            if inject is not None:
                model[0].bias.grad[0] = inject
            scaler.unscale_(opt)
            norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            assert norm.device.type == device
            scaler.step(opt)
            scaler.update()
        results.append((scaler.get_scale(), [host(p) for p in model.parameters()]))
    (cpu_scale, cpu_params), (gpu_scale, gpu_params) = results
    assert gpu_scale == cpu_scale == (1024.0 if inject is None else 256.0)
    for p, q in zip(gpu_params, cpu_params):
        np.testing.assert_allclose(p, q, rtol=1e-3, atol=1e-5)


def test_share_memory_is_a_no_op_for_cuda_tensors(cuda_rt):
    t = ember.ones(2).cuda()
    assert t.share_memory_() is t and t.is_shared()
