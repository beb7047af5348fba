"""ember.compile(mode="reduce-overhead") on CUDA tensors: programs captured into CUDA graphs and
replayed (runtime/gpu_graphs.py).  FakeRuntime records the work queued on a capturing stream and
replays it on graph_launch; on a real GPU the same tests use the driver's graphs (never run: no
GPU was available)."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.runtime import cuda as rt

from .conftest import fake_only


def _adam_step(device, mode):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)
    opt = ember.optim.Adam(model.parameters(), lr=0.05)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, ember.compile(step, mode=mode)


def test_replayed_training_step_equals_cpu(gpu):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 6)).astype(np.float32)
    Y = rng.integers(0, 3, 16)
    results = {}
    for device, mode in (("cpu", None), ("cuda", "reduce-overhead")):
        model, step = _adam_step(device, mode)
        losses = []
        for i in range(5):          # new argument values every step: they go through the graph
            losses.append(step(ember.tensor(X + 0.1 * i, device=device),
                               ember.tensor(Y, device=device)))
        results[device] = ([float(v) for v in losses],
                           [p.detach().cpu().numpy() for p in model.parameters()])
        if device == "cuda":
            graphs = step.variants[-1].module.graphs
            assert graphs.stats["captures"] == 1 and graphs.stats["replays"] >= 2
            assert graphs.reasons == []
            assert len({v._data.buffer.block.ptr for v in losses}) == len(losses)  # fresh outputs
            if getattr(gpu, "graph_launches", None) is not None:
                assert gpu.graph_launches == graphs.stats["replays"]
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-5)
    for a, b in zip(results["cuda"][1], results["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_moved_parameter_is_captured_again(gpu):
    ember.manual_seed(1)
    model = nn.Linear(4, 2).cuda()
    f = ember.compile(lambda x: model(x).sum(), mode="reduce-overhead")
    x = ember.randn(3, 4, device="cuda")
    for _ in range(3):
        f(x)
    graphs = f.variants[-1].module.graphs
    assert graphs.stats["captures"] == 1
    with ember.no_grad():
        model.weight.data = model.weight.data * 2      # a new buffer: the graph's address is stale
    got = f(x)                                          # runs normally
    want = (x.cpu().numpy() @ model.weight.detach().cpu().numpy().T +
            model.bias.detach().cpu().numpy()).sum()
    np.testing.assert_allclose(float(got), want, rtol=1e-5)
    f(x)
    assert graphs.stats["captures"] == 2                # captured again at the new address
    np.testing.assert_allclose(float(f(x)), want, rtol=1e-5)


def test_programs_with_host_ops_are_not_captured(gpu):
    ember.manual_seed(2)
    conv = nn.Conv2d(1, 2, 3).cuda()
    f = ember.compile(lambda x: conv(x).relu().sum(), mode="reduce-overhead")
    x = ember.randn(1, 1, 5, 5, device="cuda")
    outs = [float(f(x)) for _ in range(3)]
    graphs = f.variants[-1].module.graphs
    assert graphs.stats["captures"] == 0 and "host ops" in graphs.reasons[0]
    want = float(conv(x).relu().sum())
    np.testing.assert_allclose(outs, [want] * 3, rtol=1e-5)


@fake_only
def test_fake_runtime_capture_rules(gpu):
    a = rt.DeviceArray.from_host(np.arange(4.0))
    with pytest.raises(rt.CudaError, match="legacy default stream"):
        gpu.stream_begin_capture(0)
    s = gpu.stream_create(0)
    gpu.stream_begin_capture(s)
    gpu.memset(a.data_ptr(), 0, a.nbytes, s)              # recorded, not done
    with pytest.raises(rt.CudaError, match="capturing"):
        gpu.memcpy_dtoh(np.empty(4).ctypes.data, a.data_ptr(), a.nbytes, s)
    graph = gpu.stream_end_capture(s)
    np.testing.assert_array_equal(a.to_host(), np.arange(4.0))
    gpu.graph_launch(graph, 0)
    np.testing.assert_array_equal(a.to_host(), np.zeros(4))
