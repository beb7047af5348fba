"""ember.save / ember.load: round trips, shared storage, PyTorch and safetensors interop, clear
errors for bad files, and atomic writes."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.serialization import CheckpointError
from tests.helpers import need_torch


def roundtrip(obj, tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save(obj, path)
    return ember.load(path)


def same_tensor(a, b):
    assert type(a) is type(b) or (isinstance(a, ember.Tensor) and isinstance(b, ember.Tensor))
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
    assert a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(np.asarray(a.detach()._data, dtype=np.float64)
                                  if a.dtype is ember.bfloat16 else a.detach()._data,
                                  np.asarray(b.detach()._data, dtype=np.float64)
                                  if b.dtype is ember.bfloat16 else b.detach()._data)


# --- round trips -----------------------------------------------------------------------------------
def test_nested_containers_keep_their_types(tmp_path):
    obj = {"list": [1, 2.5, "x", None, True, False], "tuple": (1, (2, 3)),
           "odict": OrderedDict([("b", 1), ("a", 2)]), 3: "int key", (1, "k"): "tuple key",
           "floats": [math.inf, -math.inf, -0.0, 0.1, 1e-300], "big": 2 ** 80,
           "bytes": b"\x00\xff", "unicode": "héllo ☃", "empty": [{}, [], ()],
           "dtype": ember.bfloat16, "size": ember.Size([2, 3]), "set": {1, 2},
           "np_scalar": np.float32(1.5)}
    out = roundtrip(obj, tmp_path)
    nan_out = roundtrip([math.nan], tmp_path)
    assert math.isnan(nan_out[0])
    assert out == {**obj, "np_scalar": 1.5}
    assert type(out["tuple"]) is tuple and type(out["tuple"][1]) is tuple
    assert type(out["odict"]) is OrderedDict and list(out["odict"]) == ["b", "a"]
    assert math.copysign(1, out["floats"][2]) == -1
    assert out["dtype"] is ember.bfloat16 and isinstance(out["size"], ember.Size)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "int32",
                                   "int16", "int8", "uint8", "bool"])
def test_every_dtype(tmp_path, dtype):
    d = getattr(ember, dtype if dtype != "bool" else "bool")
    t = ember.tensor(np.arange(-3, 9).reshape(3, 4) % 7, dtype=d)
    same_tensor(roundtrip(t, tmp_path), t)


@pytest.mark.parametrize("make", [lambda: ember.tensor(3.5), lambda: ember.zeros(0, 3),
                                  lambda: ember.randn(4, 5).t(),
                                  lambda: ember.randn(6, 8)[1::2, ::3],
                                  lambda: ember.randn(3, 1).expand(3, 4),
                                  lambda: ember.tensor(np.arange(10.0)[::-2].copy())],
                         ids=["0d", "empty", "transposed", "strided", "expanded", "from_numpy"])
def test_shapes_and_layouts(tmp_path, make):
    t = make()
    same_tensor(roundtrip(t, tmp_path), t)


def test_views_share_storage_after_load(tmp_path):
    base = ember.arange(12.0).reshape(3, 4)
    sd = OrderedDict(base=base, row=base[1], col=base[:, 2], t=base.t(), alias=base.detach())
    out = roundtrip(sd, tmp_path)
    for k in sd:
        same_tensor(out[k], sd[k])
    out["base"][1, 2] = -1.0
    assert out["row"][2].item() == -1.0 and out["col"][1].item() == -1.0
    assert out["t"][2, 1].item() == -1.0 and out["alias"][1, 2].item() == -1.0
    v = out["row"]._version
    out["base"].add_(1)
    assert out["row"]._version > v  # one version counter per storage, like PyTorch
    # the storage is written once
    with zipfile.ZipFile(tmp_path / "ckpt.pt") as z:
        assert len([n for n in z.namelist() if n.startswith("archive/data/")]) == 1


def test_same_object_twice_loads_as_one_object(tmp_path):
    t = ember.ones(3)
    out = roundtrip({"a": t, "b": [t]}, tmp_path)
    assert out["a"] is out["b"][0]


def test_requires_grad_and_parameter(tmp_path):
    nn = pytest.importorskip("ember.nn")
    t = ember.randn(3, requires_grad=True)
    p = nn.Parameter(ember.randn(2))
    out = roundtrip({"t": t, "p": p}, tmp_path)
    assert out["t"].requires_grad and out["t"].is_leaf
    assert isinstance(out["p"], nn.Parameter) and out["p"].requires_grad


def test_optimizer_state_dict_roundtrip(tmp_path):
    w = ember.randn(4, 3, requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1, amsgrad=True)
    for _ in range(3):
        w.grad = w.detach() * 2
        opt.step()
    out = roundtrip(opt.state_dict(), tmp_path)
    sd = opt.state_dict()
    assert out["param_groups"] == sd["param_groups"]
    assert list(out["state"]) == [0] and isinstance(list(out["state"])[0], int)
    for k, v in sd["state"][0].items():
        same_tensor(out["state"][0][k], v)
    w2 = ember.tensor(w.detach().numpy().copy(), requires_grad=True)
    opt2 = ember.optim.Adam([w2], lr=0.5)
    opt2.load_state_dict(out)
    w.grad = w.detach() * 2
    w2.grad = w2.detach() * 2
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())


def test_module_state_dict_roundtrip(tmp_path):
    nn = pytest.importorskip("ember.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear not available yet")
    m = nn.Linear(3, 2)
    out = roundtrip(m.state_dict(), tmp_path)
    assert list(out) == list(m.state_dict())
    m2 = nn.Linear(3, 2)
    m2.load_state_dict(out)
    for a, b in zip(m.parameters(), m2.parameters()):
        same_tensor(a.detach(), b.detach())


def test_file_objects_and_paths(tmp_path):
    t = ember.arange(5)
    buf = io.BytesIO()
    ember.save({"t": t}, buf)
    buf.seek(0)
    same_tensor(ember.load(buf)["t"], t)
    ember.save(t, str(tmp_path / "s.pt"))
    same_tensor(ember.load(str(tmp_path / "s.pt")), t)
    with open(tmp_path / "f.pt", "wb") as f:
        ember.save(t, f)
    with open(tmp_path / "f.pt", "rb") as f:
        same_tensor(ember.load(f, map_location="cpu", weights_only=True), t)

    class Pipe:  # a write-only stream without tell()
        def __init__(self):
            self.chunks = []

        def write(self, b):
            self.chunks.append(bytes(b))
            return len(b)
    pipe = Pipe()
    ember.save(t, pipe)
    same_tensor(ember.load(io.BytesIO(b"".join(pipe.chunks))), t)


def test_unpicklable_objects_are_refused_and_leave_no_file(tmp_path):
    with pytest.raises(pickle.PicklingError, match="lambda"):
        ember.save({"a": [1, lambda: 0]}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
    assert os.listdir(tmp_path) == []  # no temporary file left behind


# --- bad files -------------------------------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.pt"
    ember.save({"w": ember.randn(50, 50), "step": 3}, path)
    return path


@pytest.fixture
def legacy_file(tmp_path):
    """A checkpoint in ember's earlier JSON format (still read)."""
    from ember.serialization import ember_format
    path = tmp_path / "legacy.pt"
    with open(path, "wb") as f:
        ember_format.write({"w": ember.randn(50, 50), "step": 3}, f)
    return path


def test_legacy_format_still_loads(legacy_file):
    out = ember.load(legacy_file)
    assert out["step"] == 3 and tuple(out["w"].shape) == (50, 50)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, good_file, keep):
    data = good_file.read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="bad.pt.*(truncated|corrupted)"):
        ember.load(bad)


def test_random_bytes_and_empty(tmp_path):
    bad = tmp_path / "noise.bin"
    bad.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(CheckpointError, match="noise.bin.*unrecognized file format"):
        ember.load(bad)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pt.* is empty"):
        ember.load(empty)
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pt")


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="other.zip.*zip archive but not a PyTorch"):
        ember.load(path)


def _rewrite_manifest(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "ember/manifest.json":
                data = edit(data)
            if data is not None:
                zout.writestr(name, data)


def test_newer_format_version(tmp_path, legacy_file):
    def bump(data):
        m = json.loads(data)
        m["version"] = 99
        return json.dumps(m)
    _rewrite_manifest(legacy_file, tmp_path / "new.pt", bump)
    with pytest.raises(CheckpointError, match="newer ember \\(format version 99\\).*Upgrade"):
        ember.load(tmp_path / "new.pt")


def test_corrupted_manifest_and_missing_storage(tmp_path, legacy_file):
    _rewrite_manifest(legacy_file, tmp_path / "json.pt", lambda d: d[:-5])
    with pytest.raises(CheckpointError, match="json.pt.*manifest is not valid JSON"):
        ember.load(tmp_path / "json.pt")
    with zipfile.ZipFile(legacy_file) as zin, \
            zipfile.ZipFile(tmp_path / "miss.pt", "w") as zout:
        zout.writestr("ember/manifest.json", zin.read("ember/manifest.json"))
    with pytest.raises(CheckpointError, match="miss.pt.*missing entry 'ember/storages/0.npy'"):
        ember.load(tmp_path / "miss.pt")

    def wrong_shape(data):
        m = json.loads(data)
        m["tensors"][0]["shape"] = [60, 60]
        return json.dumps(m)
    _rewrite_manifest(legacy_file, tmp_path / "shape.pt", wrong_shape)
    with pytest.raises(CheckpointError, match="shape.pt.*corrupted"):
        ember.load(tmp_path / "shape.pt")


def test_flipped_byte_in_tensor_data_is_detected(tmp_path, good_file):
    data = bytearray(good_file.read_bytes())
    with zipfile.ZipFile(good_file) as z:
        info = z.getinfo("archive/data/0")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF
    bad = tmp_path / "flip.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flip.pt.*corrupted.*CRC"):
        ember.load(bad)


# --- atomic writes ---------------------------------------------------------------------------------
def test_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    ember.save({"w": ember.ones(3)}, path)
    before = path.read_bytes()
    from ember.serialization import pickle_writer

    def crash(array):
        raise OSError("disk full")
    monkeypatch.setattr(pickle_writer, "_storage_bytes", crash)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"w": ember.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]
    np.testing.assert_array_equal(ember.load(path)["w"].numpy(), 1)


def test_overwrite_keeps_permissions(tmp_path):
    path = tmp_path / "m.pt"
    ember.save(1, path)
    os.chmod(path, 0o640)
    ember.save(2, path)
    assert ember.load(path) == 2 and (os.stat(path).st_mode & 0o777) == 0o640


# --- PyTorch and safetensors files -----------------------------------------------------------------
def test_load_pytorch_checkpoint(tmp_path):
    torch = need_torch()
    base = torch.arange(12.0).reshape(3, 4)
    lin = torch.nn.Linear(3, 2)
    obj = {"model": lin.state_dict(), "view": base[:, 1], "base": base,
           "param": torch.nn.Parameter(torch.ones(2)), "bf16": torch.ones(3, dtype=torch.bfloat16),
           "long": torch.tensor([1, 2]), "bool": torch.tensor([True, False]),
           "meta": {"epoch": 3, "betas": (0.9, 0.999), "name": "x", "none": None},
           "dtype": torch.float16, "size": torch.Size([1, 2])}
    path = tmp_path / "torch.pt"
    torch.save(obj, path)
    out = ember.load(path)
    assert type(out["model"]) is OrderedDict and list(out["model"]) == ["weight", "bias"]
    np.testing.assert_array_equal(out["model"]["weight"].numpy(), lin.weight.detach().numpy())
    np.testing.assert_array_equal(out["view"].numpy(), base[:, 1].numpy())
    out["base"][0, 1] = 100.0
    assert out["view"][0].item() == 100.0  # storage shared like in PyTorch
    assert out["param"].requires_grad
    assert out["bf16"].dtype is ember.bfloat16 and out["long"].dtype is ember.int64
    assert out["bool"].tolist() == [True, False]
    assert out["meta"] == obj["meta"]
    assert out["dtype"] is ember.float16 and tuple(out["size"]) == (1, 2)


def test_pytorch_optimizer_checkpoint_loads_into_ember_optimizer(tmp_path):
    torch = need_torch()
    w = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.Adam([w], lr=0.01)
    w.grad = torch.ones(3, 2)
    opt.step()
    torch.save({"w": w.detach(), "opt": opt.state_dict()}, tmp_path / "o.pt")
    ck = ember.load(tmp_path / "o.pt")
    ew = ember.tensor(ck["w"].numpy(), requires_grad=True)
    eopt = ember.optim.Adam([ew])
    eopt.load_state_dict(ck["opt"])
    assert eopt.state[ew]["step"].item() == 1.0 and eopt.param_groups[0]["lr"] == 0.01


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
        z.writestr("archive/version", "3\n")
    with pytest.raises(CheckpointError, match="evil.pt.*(posix|os|nt)\\.system.*does not load"):
        ember.load(path)
    assert not marker.exists()


def test_safetensors_interop(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64)}
    st.save_file(arrays, str(tmp_path / "x.safetensors"))
    out = ember.load(tmp_path / "x.safetensors")
    assert list(out) == ["a", "b"]
    for k in arrays:
        np.testing.assert_array_equal(out[k].numpy(), arrays[k])
    from ember.serialization import save_safetensors
    tensors = {"w": ember.randn(3, 4).t(), "h": ember.ones(2, dtype=ember.bfloat16)}
    save_safetensors(tensors, tmp_path / "y.safetensors", metadata={"format": "pt"})
    back = ember.load(tmp_path / "y.safetensors")
    same_tensor(back["w"], tensors["w"])
    same_tensor(back["h"], tensors["h"])
    np.testing.assert_array_equal(st.load_file(str(tmp_path / "y.safetensors"))["w"],
                                  tensors["w"].numpy())


def test_load_safetensors_written_by_torch(tmp_path):
    need_torch()
    stt = pytest.importorskip("safetensors.torch")
    import torch
    stt.save_file({"bf": torch.full((2, 2), 1.5, dtype=torch.bfloat16)},
                  str(tmp_path / "t.safetensors"))
    out = ember.load(Path(tmp_path / "t.safetensors"))
    assert out["bf"].dtype is ember.bfloat16 and out["bf"].float().tolist() == [[1.5, 1.5]] * 2
