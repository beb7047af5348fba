"""Checkpoints both ways between ember and PyTorch: ember.save writes PyTorch's format, so
torch.load reads ember's state dicts, optimizer states, tensors and (weights_only=False) whole
modules; ember reads whole modules torch saved; weights_only refuses code."""
from __future__ import annotations

import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember.serialization import CheckpointError, WeightsOnlyError
from tests.helpers import need_torch


def _saved(obj):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return buf


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.ReLU(), lib.nn.Linear(5, 2))


def test_torch_reads_ember_state_dict_tensors_and_views():
    torch = need_torch()
    m = _mlp(ember)
    base = ember.arange(12.0).reshape(3, 4)
    obj = {"model": m.state_dict(), "base": base, "row": base[1], "t": base.t(),
           "zero_d": ember.tensor(2.5), "bf16": ember.ones(3, dtype=ember.bfloat16),
           "i8": ember.tensor([-1, 2], dtype=ember.int8), "bool": ember.tensor([True, False]),
           "meta": {"epoch": 3, "betas": (0.9, 0.999), "blob": b"\x00\xff", "none": None},
           "dtype": ember.float16, "size": ember.Size([1, 2])}
    out = torch.load(_saved(obj), weights_only=True)
    assert type(out["model"]) is OrderedDict and list(out["model"]) == list(m.state_dict())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(out["model"][k].numpy(), v.numpy())
    assert out["zero_d"].shape == () and out["zero_d"].item() == 2.5
    out["base"][1, 2] = -7.0   # one storage, shared as in PyTorch
    assert out["row"][2].item() == -7.0 and out["t"][2, 1].item() == -7.0
    assert out["bf16"].dtype == torch.bfloat16 and out["i8"].tolist() == [-1, 2]
    assert out["bool"].tolist() == [True, False] and out["meta"] == obj["meta"]
    assert out["dtype"] == torch.float16 and out["size"] == torch.Size([1, 2])


def test_torch_optimizer_loads_ember_optimizer_state():
    torch = need_torch()
    w = ember.nn.Parameter(ember.tensor(np.ones((3, 2), np.float32)))
    opt = ember.optim.Adam([w], lr=0.01)
    w.grad = ember.ones(3, 2)
    opt.step()
    sd = torch.load(_saved(opt.state_dict()), weights_only=True)
    tw = torch.nn.Parameter(torch.ones(3, 2))
    topt = torch.optim.Adam([tw])
    topt.load_state_dict(sd)
    assert topt.param_groups[0]["lr"] == 0.01
    np.testing.assert_allclose(topt.state[tw]["exp_avg"].numpy(), opt.state[w]["exp_avg"].numpy())


def test_ember_module_loads_in_torch_and_back():
    torch = need_torch()
    m = _mlp(ember)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    tm = torch.load(_saved(m), weights_only=False)
    assert isinstance(tm, torch.nn.Sequential) and isinstance(tm[0], torch.nn.Linear)
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(),
                               m(ember.tensor(x)).detach().numpy(), rtol=1e-6)
    back = ember.load(_saved(m), weights_only=False)
    assert isinstance(back, ember.nn.Sequential) and isinstance(back[0].weight, ember.nn.Parameter)
    np.testing.assert_array_equal(back(ember.tensor(x)).detach().numpy(),
                                  m(ember.tensor(x)).detach().numpy())


def test_torch_whole_module_loads_in_ember():
    torch = need_torch()
    tm = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4),
                             torch.nn.MultiheadAttention(4, 2, batch_first=True))
    buf = io.BytesIO()
    torch.save(tm, buf)
    buf.seek(0)
    em = ember.load(buf, weights_only=False)
    assert isinstance(em[2], ember.nn.MultiheadAttention)
    assert isinstance(em[1], ember.nn.BatchNorm1d)
    np.testing.assert_array_equal(em[0].weight.detach().numpy(), tm[0].weight.detach().numpy())


def test_weights_only_refuses_whole_modules():
    m = _mlp(ember)
    assert ember.serialization.get_unsafe_globals_in_checkpoint(_saved(m)) == [
        "torch.nn.modules.container.Sequential", "torch.nn.modules.linear.Linear",
        "torch.nn.modules.activation.ReLU"]
    assert ember.serialization.get_unsafe_globals_in_checkpoint(_saved(m.state_dict())) == []
    with pytest.raises(WeightsOnlyError, match="Sequential.*weights_only=False"):
        ember.load(_saved(m))
    with pytest.raises(WeightsOnlyError):
        ember.load(_saved(m), weights_only=True)


class Point:
    def __init__(self, x):
        self.x = x


def test_safe_globals_allow_a_class():
    f = _saved({"p": Point(3)})
    with pytest.raises(WeightsOnlyError, match="Point"):
        ember.load(f)
    f.seek(0)
    with ember.serialization.safe_globals([Point]):
        assert ember.load(f)["p"].x == 3
    assert Point not in ember.serialization.get_safe_globals()
    ember.serialization.add_safe_globals([Point])
    try:
        f.seek(0)
        assert ember.load(f)["p"].x == 3
    finally:
        ember.serialization.clear_safe_globals()
    assert ember.serialization.get_safe_globals() == []


def test_pickling_a_0d_tensor_keeps_its_shape():
    t = ember.tensor(3.0, requires_grad=True)
    back = pickle.loads(pickle.dumps(t))
    assert tuple(back.shape) == () and back.item() == 3.0 and back.requires_grad
    p = pickle.loads(pickle.dumps(ember.nn.Parameter(ember.tensor(1.5))))
    assert tuple(p.shape) == ()


def test_numpy_arrays_and_scalars_round_trip():
    out = ember.load(_saved({"a": np.arange(6, dtype=np.int16).reshape(2, 3),
                             "s": np.float32(1.5)}))
    assert isinstance(out["a"], np.ndarray) and out["a"].dtype == np.int16
    np.testing.assert_array_equal(out["a"], np.arange(6).reshape(2, 3))
    assert out["s"] == 1.5 and type(out["s"]) is float


def test_compiled_module_state_dict_has_torch_prefix_and_round_trips():
    torch = need_torch()
    m = _mlp(ember)
    cm = ember.compile(m)
    assert list(cm.state_dict()) == ["_orig_mod." + k for k in m.state_dict()]
    tm = torch.compile(_mlp(torch))
    tm.load_state_dict(torch.load(_saved(cm.state_dict()), weights_only=True))


def test_cuda_location_without_cuda_needs_map_location():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    torch = need_torch()
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    data = buf.getvalue().replace(b"cpu", b"cud")   # not a device: refused clearly
    with pytest.raises(CheckpointError):
        ember.load(io.BytesIO(data))
