"""Native (Numba) kernels for large pointwise groups: which nodes group, the generated code, the
switch on a variant's second call, exact equality with the NumPy statements, and the fallbacks."""
import os
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.codegen import native
from ember.codegen.numpy_backend import CompiledModule
from tests.helpers import assert_close, need_torch, to_torch

pytest.importorskip("numba")

BIG = (128, 160)      # 20480 elements >= native.MIN_ELEMENTS


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _module(c):
    return c.variants[-1].module


def _run(fn, arrays, calls=3, native_on=True, monkeypatch=None):
    monkeypatch.setenv("EMBER_NATIVE", "1" if native_on else "0")
    c = ember.compile(fn)
    outs = [c(*[ember.tensor(a) for a in arrays]) for _ in range(calls)]
    return c, outs


def _pointwise_in(lib):
    def f(x, y, z):
        a = (x - y) * 0.5 + z
        b = lib.maximum(a, y) - lib.minimum(x, z)
        m = (a > 0.25).float()
        w = lib.where(b < 0.0, x, a / (y.abs() + 1.0))
        return (b * m + w.sqrt().neg()).relu()
    return f


_pointwise = _pointwise_in(ember)


def test_pointwise_chain_is_one_kernel_and_bit_equal_to_numpy(monkeypatch):
    torch = need_torch()
    x, y, z = _data(BIG, BIG, BIG)
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    y[1, :3] = [np.nan, 0.0, -np.inf]
    c, outs = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    m = _module(c)
    assert len(m.native) == 1 and m.native_loaded == ["k0"] and m.native_error is None
    assert m.ns["K0"] is not None
    ref_c, ref = _run(_pointwise, (x, y, z), native_on=False, monkeypatch=monkeypatch)
    assert _module(ref_c).native_loaded == []
    for a, b in zip(outs, ref):        # the first call ran NumPy, later ones the kernel
        np.testing.assert_array_equal(a._data, b._data)
    with np.errstate(all="ignore"):
        expected = _pointwise_in(torch)(*(to_torch(v) for v in (x, y, z)))
    assert_close(outs[-1], expected)


def test_generated_code_shows_kernel_and_numpy_fallback(monkeypatch):
    x, y, z = _data(BIG, BIG, BIG)
    c, _ = _run(_pointwise, (x, y, z), calls=1, monkeypatch=monkeypatch)
    code = c.code()
    assert "def k0(" in code and "K0 = None" in code
    assert "if K0 is not None:" in code and "else:" in code
    assert "np.subtract(" in code                       # the NumPy statements are still there
    assert "test_native.py:" in code                    # provenance: the user's line per node
    assert _module(c).native_loaded == []               # one call: still NumPy


def test_small_groups_stay_numpy(monkeypatch):
    x, y, z = _data((8, 16), (8, 16), (8, 16))
    c, _ = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    assert _module(c).native == () and "def k0" not in c.code()


def test_in_place_state_is_one_kernel_argument(monkeypatch):
    # an output written into an operand's memory (optimizer state, parameter) is passed once:
    # that is what lets LLVM vectorize the loop (see native.py)
    torch = need_torch()
    w, g, m0, v0 = _data(BIG, BIG, BIG, BIG)
    v0 = np.abs(v0)
    tensors = [ember.tensor(a) for a in (w, m0, v0)]

    @ember.compile
    def update(grad):
        p, m, v = tensors
        m.mul_(0.9).add_(grad * 0.1)
        v.mul_(0.999).add_(grad * grad * 0.001)
        p.sub_(m / (v.sqrt() + 1e-8) * 0.01)

    for _ in range(3):
        update(ember.tensor(g))
    mod = _module(update)
    assert mod.native_loaded == ["k0"]
    # p, m, v (each read and written) and grad: 4 arrays, not 3 inputs + 3 outputs + grad
    assert mod.native[0][1].count("[::1]") == 4
    tp, tm, tv = (torch.tensor(a) for a in (w, m0, v0))
    tg = torch.tensor(g)
    for _ in range(3):
        tm.mul_(0.9).add_(tg * 0.1)
        tv.mul_(0.999).add_(tg * tg * 0.001)
        tp.sub_(tm / (tv.sqrt() + 1e-8) * 0.01)
    for mine, ref in zip(tensors, (tp, tm, tv)):
        assert_close(mine, ref)


def test_adam_training_step_native_equals_numpy_and_torch(monkeypatch):
    torch = need_torch()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 200)).astype(np.float32)
    y = rng.integers(0, 10, 32)

    def make(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(200, 128), lib.nn.ReLU(), lib.nn.Linear(128, 10))
        opt = lib.optim.Adam(model.parameters(), lr=1e-2)

        def step(xb, yb):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            return loss
        return model, step

    params = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("EMBER_NATIVE", mode)
        model, step = make(ember)
        c = ember.compile(step)
        for _ in range(4):
            c(ember.tensor(x), ember.tensor(y))
        assert bool(_module(c).native_loaded) == (mode == "1")
        params[mode] = [p._data.copy() for p in model.parameters()]
    for a, b in zip(params["1"], params["0"]):
        np.testing.assert_array_equal(a, b)
    tmodel, tstep = make(torch)
    for tp, ep in zip(tmodel.parameters(), make(ember)[0].parameters()):
        tp.data.copy_(torch.tensor(ep._data))
    for _ in range(4):
        tstep(torch.tensor(x), torch.tensor(y))
    for a, tp in zip(params["1"], tmodel.parameters()):
        np.testing.assert_allclose(a, tp.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_groups_split_where_a_value_is_read_outside_before_the_group_ends(monkeypatch):
    x, = _data(BIG)

    def f(x):
        a = x * 2.0
        s = a.sum()          # reads `a` between a's node and the add below
        b = a + s
        return b * 3.0, s

    c, _ = _run(f, (x,), calls=1, monkeypatch=monkeypatch)
    graph = c.variants[-1].graph
    groups = native.find_groups(graph)
    pos = {n: i for i, n in enumerate(graph.nodes)}
    for g in groups:
        members = set(g)
        for n in graph.nodes:
            if n not in members and any(v.node in members for v in n.inputs):
                assert pos[n] > pos[g[-1]]
    assert not any({"mul", "add"} <= {n.prim.name for n in g} and len(g) == 3 for g in groups)


def test_reorder_makes_groups_contiguous(monkeypatch):
    x, y = _data(BIG, BIG)

    def f(x, y):
        a = x * 2.0
        small = (y[:2, :2] * 5.0).exp()     # unrelated nodes between the group's nodes
        b = a.abs() + 1.0
        return b.sqrt(), small

    c, outs = _run(f, (x, y), monkeypatch=monkeypatch)
    graph = c.variants[-1].graph
    groups = native.find_groups(graph)
    assert groups
    pos = {n: i for i, n in enumerate(graph.nodes)}
    for g in groups:
        assert [pos[n] for n in g] == list(range(pos[g[0]], pos[g[-1]] + 1))
    np.testing.assert_allclose(outs[-1][0]._data, np.sqrt(np.abs(x * 2.0) + 1.0), rtol=1e-6)


def test_without_numba_the_numpy_statements_run(monkeypatch):
    x, y, z = _data(BIG, BIG, BIG)
    monkeypatch.setitem(sys.modules, "numba", None)      # import numba -> ImportError
    monkeypatch.setattr(native, "_COMPILED", {})
    c, outs = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    m = _module(c)
    assert m.native_loaded == [] and "numba is not installed" in m.native_error
    monkeypatch.delitem(sys.modules, "numba")
    ref_c, ref = _run(_pointwise, (x, y, z), native_on=False, monkeypatch=monkeypatch)
    np.testing.assert_array_equal(outs[-1]._data, ref[-1]._data)


def test_a_kernel_that_fails_to_compile_stays_numpy(monkeypatch):
    x, y, z = _data(BIG, BIG, BIG)

    def broken(name, source, signature):
        raise TypeError("cannot type this")
    monkeypatch.setattr(native, "compile_kernel", broken)
    c, outs = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    m = _module(c)
    assert m.native_loaded == [] and "TypeError" in m.native_error and m.ns["K0"] is None
    np.testing.assert_array_equal(outs[0]._data, outs[-1]._data)


def test_float64_kernel(monkeypatch):
    x, y, z = (a.astype(np.float64) for a in _data(BIG, BIG, BIG))
    c, outs = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    assert "float64[::1]" in _module(c).native[0][1] and _module(c).native_loaded
    ref_c, ref = _run(_pointwise, (x, y, z), native_on=False, monkeypatch=monkeypatch)
    np.testing.assert_array_equal(outs[-1]._data, ref[-1]._data)


def test_kernels_go_to_the_disk_cache_when_it_is_on(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_COMPILE_CACHE", "1")
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_COMPILED", {})
    x, y, z = _data(BIG, BIG, BIG)
    c, outs = _run(_pointwise, (x, y, z), monkeypatch=monkeypatch)
    assert _module(c).native_loaded == ["k0"]
    files = os.listdir(tmp_path / "native")
    assert any(f.endswith(".py") for f in files)
    pycache = tmp_path / "native" / "__pycache__"
    assert pycache.exists() and any(f.endswith(".nbi") for f in os.listdir(pycache))
    # a fresh module with the same source loads the same kernel (in-process cache)
    m2 = CompiledModule(_module(c).source)
    m2.load_native()
    assert m2.native_loaded == ["k0"] and m2.ns["K0"] is _module(c).ns["K0"]


_CACHED_SCRIPT = """
import numpy as np, ember
from ember.codegen import native
x = ember.tensor(np.linspace(-1, 1, 128 * 160, dtype=np.float32).reshape(128, 160))
c = ember.compile(lambda t: ((t * 2.0 + 1.0).abs().sqrt() - t).relu())
for _ in range(3):
    out = c(x)
m = c.variants[-1].module
stats = [k.stats for k in native._COMPILED.values()]
print(m.native_loaded, sum(sum(s.cache_hits.values()) for s in stats), m.native_error)
"""


def test_a_second_process_loads_kernels_from_numbas_cache(tmp_path):
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, EMBER_COMPILE_CACHE="1", EMBER_CACHE_DIR=str(tmp_path),
               EMBER_NATIVE="1", PYTHONPATH=root)
    runs = [subprocess.run([sys.executable, "-c", _CACHED_SCRIPT], capture_output=True,
                           text=True, env=env, cwd=root, timeout=120) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (r.stdout.strip().splitlines()[-1] for r in runs)
    assert first == "['k0'] 0 None", first
    assert second == "['k0'] 1 None", second       # machine code from the cache, not LLVM


def test_groups_with_the_same_ops_share_one_compiled_kernel(monkeypatch):
    a, = _data(BIG)
    b, = _data((160, 200), seed=1)

    def f(x, y):
        return (x * 2.0 + 1.0).abs().sqrt(), (y * 2.0 + 1.0).abs().sqrt()

    c, outs = _run(f, (a, b), monkeypatch=monkeypatch)
    m = _module(c)
    assert m.native_loaded == ["k0", "k1"]
    assert m.ns["K0"] is m.ns["K1"]            # one LLVM compile for both
    np.testing.assert_allclose(outs[-1][1]._data, np.sqrt(np.abs(b * 2.0 + 1.0)), rtol=1e-6)


def test_non_contiguous_in_place_target_takes_the_numpy_branch(monkeypatch):
    # the kernel writes flat arrays; a state tensor that is a transposed view must not be
    # written through a copy: the generated guard sends that call to the NumPy statements
    w, g = _data((160, 128), BIG)
    base = ember.tensor(w)
    state = base.t()                      # (128, 160), not C-contiguous
    assert not state._data.flags.c_contiguous

    @ember.compile
    def update(grad):
        state.mul_(0.5).add_(grad * 0.25)

    expected = w.T.copy()
    for _ in range(3):
        update(ember.tensor(g))
        expected = expected * np.float32(0.5) + g * np.float32(0.25)
    mod = _module(update)
    assert mod.native_loaded == ["k0"] and "c_contiguous" in update.code()   # guard refused it
    np.testing.assert_array_equal(state._data, expected)
    np.testing.assert_array_equal(base._data, expected.T)
