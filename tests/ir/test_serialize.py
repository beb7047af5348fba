"""Saved programs: save -> load -> run equals the original; corrupt, tampered, truncated and
newer-format files fail clearly; saving is atomic."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.ir import print_graph
from ember.jit import ProgramFormatError
from ember.jit.serialize import FORMAT_VERSION
from tests.helpers import assert_close


@pytest.fixture
def saved(tmp_path):
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    m(ember.randn(6, 4))      # non-trivial running stats
    m.eval()
    p = ember.jit.trace(m, (ember.randn(5, 4),), dynamic=True)
    path = tmp_path / "model.ember"
    p.save(path)
    return p, m, path


def test_save_load_run_equals_the_original(saved):
    p, m, path = saved
    q = ember.jit.load(path)
    assert print_graph(q.graph) == print_graph(p.graph)
    assert q.graph.hints == p.graph.hints
    x = ember.randn(7, 4)
    assert_close(q(x), p(x))
    assert_close(q(x), m(x))
    assert_close(q.state["1.running_mean"], m[1].running_mean)


def test_buffer_updates_continue_after_loading(tmp_path):
    bn = nn.BatchNorm1d(3)
    x = ember.randn(4, 3)
    p = ember.jit.trace(bn, (x,))       # training mode: running stats are written back
    p(x)
    p.save(tmp_path / "bn.ember")
    q = ember.jit.load(tmp_path / "bn.ember")
    assert_close(q(x), p(x))
    assert_close(q.state["running_mean"], bn.running_mean)
    assert int(q.state["num_batches_tracked"]) == 2 == int(bn.num_batches_tracked)


def test_loaded_program_needs_no_user_code(saved, tmp_path):
    import subprocess
    import sys
    p, m, path = saved
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import ember, numpy as np, sys; p = ember.jit.load(sys.argv[1]); "
            "np.save(sys.argv[3], p(ember.tensor(np.load(sys.argv[2])))._data)")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.npy"),
                    str(tmp_path / "y.npy")], check=True, cwd=str(tmp_path))
    p2 = ember.jit.load(path)
    assert_close(np.load(tmp_path / "y.npy"), p2(ember.tensor(x)))


def test_dtypes_including_bfloat16_and_bool_constants_survive(tmp_path):
    a = ember.randn(3).to(ember.bfloat16)
    mask = ember.tensor([True, False, True])
    i = ember.tensor([1, 2, 3])
    p = ember.jit.trace(lambda x: (x + a).where(mask, 0.0) * i, (ember.randn(3).bfloat16(),))
    p.save(tmp_path / "c.ember")
    q = ember.jit.load(tmp_path / "c.ember")
    x = ember.randn(3).bfloat16()
    assert_close(q(x), p(x))


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)


def test_truncated_file(saved, tmp_path):
    _, _, path = saved
    data = path.read_bytes()
    bad = tmp_path / "cut.ember"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProgramFormatError, match="truncated or corrupted"):
        ember.jit.load(bad)


def test_not_a_program(tmp_path):
    bad = tmp_path / "x.ember"
    bad.write_text("hello")
    with pytest.raises(ProgramFormatError, match="not an ember program"):
        ember.jit.load(bad)


def test_tampered_text_or_weights(saved, tmp_path):
    _, _, path = saved
    bad = tmp_path / "t.ember"

    def edit_text(m):
        m["program.py"] = m["program.py"].replace(b"relu", b"sigmoid")
    _rewrite(path, bad, edit_text)
    with pytest.raises(ProgramFormatError, match="program.py does not match its checksum"):
        ember.jit.load(bad)

    def edit_weights(m):
        w = bytearray(m["weights.safetensors"])
        w[-1] ^= 0xFF
        m["weights.safetensors"] = bytes(w)
    _rewrite(path, bad, edit_weights)
    with pytest.raises(ProgramFormatError, match="weights.safetensors does not match"):
        ember.jit.load(bad)


def test_newer_format_asks_for_an_upgrade(saved, tmp_path):
    _, _, path = saved
    bad = tmp_path / "new.ember"

    def bump(m):
        man = json.loads(m["manifest.json"])
        man["format_version"] = FORMAT_VERSION + 1
        m["manifest.json"] = json.dumps(man).encode()
    _rewrite(path, bad, bump)
    with pytest.raises(ProgramFormatError, match=f"format version {FORMAT_VERSION + 1}.*upgrade "
                                                 "ember"):
        ember.jit.load(bad)


def test_save_is_atomic(saved, tmp_path, monkeypatch):
    p, _, path = saved
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    import ember.jit.serialize as S
    monkeypatch.setattr(S.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        p.save(path)
    assert path.read_bytes() == before          # the old file is intact
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []
