"""The `ember ir` command line, run as a subprocess on a saved program."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close


def ember_cli(*args):
    return subprocess.run([sys.executable, "-m", "ember", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    a = ember.jit.trace(m, (ember.randn(5, 4),), dynamic=True)
    a.save(d / "a.ember")
    with ember.no_grad():
        m[2].bias.add_(1)
    ember.jit.trace(m, (ember.randn(5, 4),), dynamic=True).save(d / "same_graph.ember")
    m2 = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    ember.jit.trace(m2, (ember.randn(5, 4),)).save(d / "b.ember")
    return d, a


def test_show_prints_the_ir(programs):
    d, a = programs
    r = ember_cli("ir", "show", d / "a.ember")
    assert r.returncode == 0 and r.stdout == a.code
    r = ember_cli("ir", "show", d / "a.ember", "--json")
    assert json.loads(r.stdout)["ir"] == a.code
    (d / "a.py").write_text(a.code)          # bare IR text works too
    assert ember_cli("ir", "show", d / "a.py").stdout == a.code


def test_stats(programs):
    d, _ = programs
    s = json.loads(ember_cli("ir", "stats", d / "a.ember", "--json").stdout)
    assert s["primitives"]["matmul"] == 2 and s["primitives"]["relu"] == 1
    assert s["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    assert s["parameter_bytes"] == 4 * s["parameters"]
    assert s["inputs"] == [{"name": "input", "type": "f32[s0,4]"}]
    assert s["outputs"] == ["f32[s0,3]"]
    text = ember_cli("ir", "stats", d / "a.ember").stdout
    assert "matmul" in text and "parameters: 67" in text


def test_dot(programs, tmp_path):
    d, _ = programs
    r = ember_cli("ir", "dot", d / "a.ember")
    assert r.returncode == 0 and r.stdout.startswith('digraph Sequential {')
    assert 'input -> t1' in r.stdout
    r = ember_cli("ir", "dot", d / "a.ember", "-o", tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_verify(programs, tmp_path):
    d, _ = programs
    r = ember_cli("ir", "verify", d / "a.ember")
    assert r.returncode == 0 and "ok" in r.stdout
    bad = tmp_path / "bad.py"
    bad.write_text('def f(x: "f32[2]"):\n    t0: "f32[3]" = neg(x)\n    return (t0,)\n')
    r = ember_cli("ir", "verify", bad)
    assert r.returncode == 1 and "recorded type f32[3]" in r.stderr and r.stdout == ""


def test_diff(programs):
    d, _ = programs
    r = ember_cli("ir", "diff", d / "a.ember", d / "a.ember")
    assert r.returncode == 0 and "the programs are the same" in r.stdout
    r = ember_cli("ir", "diff", d / "a.ember", d / "same_graph.ember", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["text_diff"] == [] and "2.bias" in out["state"]
    r = ember_cli("ir", "diff", d / "a.ember", d / "b.ember")
    assert r.returncode == 1
    assert "relu: 1 -> 0 nodes" in r.stdout and "tanh: 0 -> 1 nodes" in r.stdout
    assert "input input: ['input', None, 'f32[s0,4]'] -> ['input', None, 'f32[5,4]']" in r.stdout


def test_run_writes_outputs(programs, tmp_path):
    d, a = programs
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = ember_cli("ir", "run", d / "a.ember", "--input", f"input={tmp_path / 'x.npy'}",
                  "--out-dir", tmp_path / "out", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)["outputs"]
    assert info[0]["shape"] == [6, 3]
    saved = ember.jit.load(d / "a.ember")   # (`a` shares the module, changed after saving)
    assert_close(np.load(tmp_path / "out" / "output0.npy"), saved(ember.tensor(x)))


def test_run_reports_spec_violations(programs, tmp_path):
    d, _ = programs
    np.save(tmp_path / "bad.npy", np.zeros((6, 5), np.float32))
    r = ember_cli("ir", "run", d / "a.ember", "--input", f"input={tmp_path / 'bad.npy'}")
    assert r.returncode == 1
    assert "input 'input' must have size 4 at dim 1 (f32[s0,4]), got f32[6,5]" in r.stderr
    r = ember_cli("ir", "run", d / "a.ember", "--input", f"x={tmp_path / 'bad.npy'}")
    assert r.returncode == 1 and "missing: input" in r.stderr and "unknown: x" in r.stderr


def test_errors_and_help(tmp_path):
    r = ember_cli("ir", "show", tmp_path / "nope.ember")
    assert r.returncode == 1 and "no such file" in r.stderr
    (tmp_path / "junk.ember").write_bytes(b"PK\x03\x04garbage")
    r = ember_cli("ir", "stats", tmp_path / "junk.ember")
    assert r.returncode == 1 and r.stderr.startswith("ember: error:")
    for args in (["--help"], ["ir", "--help"], ["ir", "run", "--help"], ["ir", "diff", "--help"]):
        r = ember_cli(*args)
        assert r.returncode == 0 and "usage:" in r.stdout
    assert ember_cli("ir").returncode == 2
