"""ember.compile on CUDA tensors (FakeRuntime + the Triton interpreter, or a GPU: see conftest):
a function traced with CUDA tensors compiles to Triton whatever backend= says, runs on device
arrays with its arena, and matches the same compiled function on the CPU; a device change
recompiles with the reason."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.runtime import cuda as rt


@pytest.fixture
def fake_gpu(gpu):
    return gpu


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 3, 16)


def _training(device):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)
    opt = ember.optim.Adam(model.parameters(), lr=0.05)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, ember.compile(step)


def test_compiled_training_step_on_cuda_equals_cpu(fake_gpu):
    X, Y = _data()
    results = {}
    for device in ("cpu", "cuda"):
        model, opt, step = _training(device)
        x, y = ember.tensor(X, device=device), ember.tensor(Y, device=device)
        losses = [step(x, y) for _ in range(3)]
        assert all(loss.device.type == device for loss in losses)
        results[device] = ([float(loss) for loss in losses],
                           [p.detach().cpu().numpy() for p in model.parameters()],
                           step.stats["compiles"])
        if device == "cuda":
            assert all(p.is_cuda for p in model.parameters())
            state = opt.state[next(iter(model.parameters()))]
            assert state["exp_avg"].is_cuda and state["exp_avg_sq"].is_cuda
            v = step.variants[-1]
            assert v.device == 0 and type(v.module).__name__ == "TritonModule"
            compiled = next(iter(v.module.program.compiled.values()))
            assert compiled.arena_bytes > 0 and 0 in compiled.arenas   # one arena, on cuda:0
    cpu, cuda = results["cpu"], results["cuda"]
    np.testing.assert_allclose(cuda[0], cpu[0], rtol=1e-5)
    for a, b in zip(cuda[1], cpu[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert cuda[2] == cpu[2]          # the same number of compiles (no device-caused recompile)


def test_device_change_recompiles_with_the_reason(fake_gpu):
    f = ember.compile(lambda a, b: (a @ b).relu().sum(1))
    a, b = ember.randn(4, 3), ember.randn(3, 2)
    want = f(a, b)
    got = f(a.cuda(), b.cuda())
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-5)
    assert "device changed (cpu -> cuda)" in f.explain()
    f(a.cuda(), b.cuda())
    assert f.stats["cache_hits"] == 1


def test_compiled_forward_differentiated_outside_on_cuda(fake_gpu):
    X, _ = _data(1)
    grads = {}
    for device in ("cpu", "cuda"):
        ember.manual_seed(1)
        model = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid()).to(device)
        cm = ember.compile(model)
        out = cm(ember.tensor(X, device=device))
        assert out.device.type == device
        (out * out).sum().backward()
        grads[device] = [p.grad.cpu().numpy() for p in model.parameters()]
        assert all(p.grad.device.type == device for p in model.parameters())
    for a, b in zip(grads["cuda"], grads["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_output_that_is_an_input_view_is_copied(fake_gpu):
    f = ember.compile(lambda a: (a.t(), a * 2))
    a = ember.randn(3, 2, device="cuda")
    t, d = f(a)
    assert t._data.buffer is not a._data.buffer        # a fresh tensor, not an alias
    np.testing.assert_array_equal(t.cpu().numpy(), a.cpu().numpy().T)
    np.testing.assert_allclose(d.cpu().numpy(), a.cpu().numpy() * 2)


def test_memory_plan_predicts_the_arena_and_calls_allocate_only_outputs(fake_gpu):
    import ember.cuda as ecuda
    ember.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).cuda()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    cstep = ember.compile(step)
    X, Y = _data(2)
    x, y = ember.tensor(X, device="cuda"), ember.tensor(Y, device="cuda")
    base = ecuda.memory_allocated()
    pred = cstep.memory_plan(x, y)
    compiled = next(iter(cstep.variants[-1].module.program.compiled.values()))
    assert pred.arena_bytes == compiled.arena_bytes > 0       # the Triton module's own arena
    assert ecuda.memory_allocated() == base                    # predicting allocates nothing
    held = []
    for _ in range(3):
        held.append(cstep(x, y))
        outputs = sum(t._data.buffer.block.size for t in [held[-1]] +
                      [p.grad for p in model.parameters()])
        # resident: the parameters and inputs (base), one arena, and what the caller holds
        others = sum(t._data.buffer.block.size for t in held[:-1])
        assert ecuda.memory_allocated() - base == \
            compiled.arenas[0][1].buffer.block.size + outputs + others
    assert cstep.stats["compiles"] == 1


def test_compiled_cnn_step_with_host_ops_on_cuda_equals_cpu(fake_gpu):
    """conv and pooling indices have no Triton kernel: inside a CUDA program they run as host
    ops (device -> host -> device copies), the rest as kernels; SGD with momentum state."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 2, 4, 4)).astype(np.float32)
    Y = rng.integers(0, 3, 4)
    results = {}
    for device in ("cpu", "cuda"):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(12, 3)).to(device)
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        cstep = ember.compile(step)
        x, y = ember.tensor(X, device=device), ember.tensor(Y, device=device)
        results[device] = ([float(cstep(x, y)) for _ in range(3)],
                           [p.detach().cpu().numpy() for p in model.parameters()])
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-5)
    for a, b in zip(results["cuda"][1], results["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
