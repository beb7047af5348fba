"""CPU kernels from the kernel plan (ember/codegen/cpu_kernels.py): every pointwise primitive in a
kernel, broadcast and strided operands, reductions with prologue and epilogue, the kernels
launched being exactly the plan's groups, compiled vs eager within docs/compile.md's tolerances,
the background compile and the fallbacks."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import dtypes as dt
from ember.codegen import cpu_kernels
from ember.ops.registry import REGISTRY, Meta, ShapeError

pytest.importorskip("numba")

# docs/compile.md: compiled results equal eager within these (rtol, atol)
TOL = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-13)}


@pytest.fixture
def sync(monkeypatch):
    """Kernels compile on the first call (no background thread) and every group is big enough."""
    monkeypatch.setenv("EMBER_KERNELS_SYNC", "1")
    monkeypatch.setenv("EMBER_NATIVE", "1")
    monkeypatch.setattr(cpu_kernels, "MIN_ELEMENTS", 0)


def _module(c):
    return c.variants[-1].module


def _close(a, b, dtype="float32", msg=""):
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol,
                               atol=atol, equal_nan=True, err_msg=msg)


def _launched_exactly_the_plan(c):
    """Every kernel group of the plan that the CPU backend can run is a kernel that ran once per
    call; nothing else runs as a kernel."""
    m = _module(c)
    plan = c.variants[-1].graph.fusion
    expected = [f"k{g.id}" for g in plan.kernels if cpu_kernels.why_not(g) is None]
    assert [k.name for k in m.kernels] == expected
    assert m.native_error is None
    return m


def _unary_names(d):
    out = []
    for p in REGISTRY.values():
        if p.family != "elementwise" or p.name in ("convert", "where", "isnan"):
            continue
        try:
            meta = p.infer(Meta((3,), d))
            # NumPy itself takes this dtype, and gives the dtype infer promises
            if np.asarray(p.numpy(np.ones(3, d.np))).dtype == meta.dtype.np:
                out.append(p.name)
        except (ShapeError, TypeError):
            pass
    return sorted(out)


def _binary_names(d):
    out = []
    for p in REGISTRY.values():
        if p.family != "elementwise" or p.name in ("where", "convert"):
            continue
        try:
            meta = p.infer(Meta((3,), d), Meta((3,), d))
            if np.asarray(p.numpy(np.ones(3, d.np), np.ones(3, d.np))).dtype == meta.dtype.np:
                out.append(p.name)
        except (ShapeError, TypeError):
            pass
    return sorted(out)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_every_pointwise_primitive_runs_in_one_kernel(sync, dtype):
    d = dt.BY_NAME[dtype]
    unary, binary = _unary_names(d), _binary_names(d)
    skip = {"floor_divide", "remainder", "fmod"} if dtype == "bool" else set()

    def f(x, y):
        acc = None
        for name in unary + [b for b in binary if b not in skip]:
            prim = REGISTRY[name]
            r = prim(x) if name in unary else prim(x, y)
            r = r.to(ember.float64)
            acc = r if acc is None else acc + r
        return acc
    rng = np.random.default_rng(0)
    if dtype == "bool":
        xs = [rng.random((64, 48)) > 0.5 for _ in range(2)]
    elif dtype == "int32":
        xs = [rng.integers(1, 5, (64, 48)).astype(np.int32) for _ in range(2)]
    else:
        xs = [rng.uniform(0.5, 2.0, (64, 48)).astype(dtype) for _ in range(2)]
    c = ember.compile(f)
    got = c(*[ember.tensor(a) for a in xs]).numpy()
    m = _launched_exactly_the_plan(c)
    assert len(m.kernels) == 1 and m.kernels[0].launches == 1
    with ember.no_grad():
        ref = f(*[ember.tensor(a) for a in xs]).numpy()
    _close(got, ref, "float32" if dtype != "float64" else "float64", f"{unary} {binary}")


def test_broadcast_and_strided_operands(sync):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((96, 80)).astype(np.float32)
    b = rng.standard_normal(80).astype(np.float32)
    col = rng.standard_normal((96, 1)).astype(np.float32)
    t = rng.standard_normal((80, 96)).astype(np.float32)

    def f(x, b, col, t):
        return F.gelu(x * b + col) * ember.sigmoid(t.t()) - x.exp().sqrt()
    c = ember.compile(f)
    args = [ember.tensor(a) for a in (x, b, col, t)]
    got = c(*args).numpy()
    m = _launched_exactly_the_plan(c)
    assert len(m.kernels) == 1 and m.kernels[0].launches == 1
    src = m.kernels[0].source
    assert "[0, " in src or ", 0]" in src          # a broadcast operand read at index 0
    _close(got, f(*args).numpy())


@pytest.mark.parametrize("case", ["softmax", "log_softmax", "layer_norm", "softmax_layer_norm",
                                  "var_mean", "sum_dim0", "rms_norm"])
def test_reductions_with_prologue_and_epilogue_are_one_kernel(sync, case):
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((64, 96)).astype(np.float32))
    fns = {
        "softmax": lambda x: F.softmax(x, dim=-1),
        "log_softmax": lambda x: F.log_softmax(x, dim=-1),
        "layer_norm": lambda x: F.layer_norm(x, (96,)),
        "softmax_layer_norm": lambda x: F.softmax(F.layer_norm(x, (96,)), dim=-1),
        "var_mean": lambda x: x.var(dim=1, keepdim=True) * x.mean(dim=1, keepdim=True),
        "sum_dim0": lambda x: (x * 2).sum(0),
        "rms_norm": lambda x: x * (x * x).mean(-1, keepdim=True).add(1e-6).rsqrt(),
    }
    f = fns[case]
    c = ember.compile(f)
    got = c(x).numpy()
    m = _launched_exactly_the_plan(c)
    plan = c.variants[-1].graph.fusion
    assert len(plan.kernels) == 1 and plan.kernels[0].kind == "reduction", \
        [g.kind for g in plan.kernels]
    assert len(m.kernels) == 1 and m.kernels[0].launches == 1
    _close(got, f(x).numpy())


def test_reduction_over_a_non_trailing_dim_and_a_full_reduction(sync):
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((6, 50, 40)).astype(np.float64))

    def f(x):
        return (x.exp() * 0.5).amax(dim=1), (x * x).sum()
    c = ember.compile(f)
    a, b = c(x)
    ra, rb = f(x)
    _launched_exactly_the_plan(c)
    _close(a.numpy(), ra.numpy(), "float64")
    _close(b.numpy(), rb.numpy(), "float64")


@pytest.mark.parametrize("kind,opt", [("mlp", "adam"), ("transformer", "sgd"), ("cnn", "sgd")])
def test_training_steps_match_eager_within_tolerance(sync, kind, opt):
    # (not Adam for the transformer: the key projection's bias has a zero gradient in exact
    # arithmetic, and Adam scales whatever rounding noise it gets to a full step)
    from tests.compile.models import data, make, train_step_fn
    m1, o1 = make(kind, opt)
    m2, o2 = make(kind, opt)
    x, y = data(kind)
    step = ember.compile(train_step_fn(m2, o2))
    eager = train_step_fn(m1, o1)
    for _ in range(3):
        ember.manual_seed(5)
        l1 = eager(x, y)
        ember.manual_seed(5)
        l2 = step(x, y)
        np.testing.assert_allclose(float(l2), float(l1), rtol=1e-4, atol=1e-6)
    c = step
    _launched_exactly_the_plan(c)
    assert all(k.launches >= 1 for k in _module(c).kernels)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p2.detach().numpy(), p1.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_first_call_runs_numpy_and_compiles_in_the_background(monkeypatch):
    monkeypatch.setenv("EMBER_NATIVE", "1")
    monkeypatch.delenv("EMBER_KERNELS_SYNC", raising=False)
    monkeypatch.setenv("EMBER_CACHE_DIR", str(__import__("tempfile").mkdtemp()))
    x = ember.tensor(np.random.default_rng(4).standard_normal((200, 160)).astype(np.float32))
    f = ember.compile(lambda x: F.softmax(x * 3, dim=-1))
    r1 = f(x)
    m = _module(f)
    assert m.kernels and m.kernels[0].launches == 0        # NumPy ran; the kernel compiles
    assert cpu_kernels.wait_compiled()
    r2 = f(x)
    assert m.native_loaded == ["k0"] and m.kernels[0].launches == 1
    _close(r2.numpy(), r1.numpy())


def test_native_off_keeps_numpy(monkeypatch):
    monkeypatch.setenv("EMBER_NATIVE", "0")
    monkeypatch.setenv("EMBER_KERNELS_SYNC", "1")
    x = ember.tensor(np.ones((200, 160), np.float32))
    f = ember.compile(lambda x: x.exp() * 2 + 1)
    f(x)
    f(x)
    assert _module(f).native_loaded == []


def test_generated_code_shows_the_kernel_and_its_numpy_fallback(sync):
    x = ember.tensor(np.ones((64, 32), np.float32))
    f = ember.compile(lambda x: F.softmax(x, dim=-1))
    f(x)
    code = f.code()
    assert "def k0(" in code and "numba.prange" in code and "K0.run((" in code
    assert "np.exp(" in code and "else:" in code             # the NumPy statements are still there
    assert "test_cpu_kernels.py:" in code                    # provenance: the user's line per node


class _Squares:
    """A dataset whose items run a compiled program (with a parallel kernel) in the worker."""

    def __init__(self, fn, x):
        self.fn, self.x = fn, x

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return float(self.fn(self.x).sum().item()) + i


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="fork start method")
def test_dataloader_workers_after_the_parent_ran_a_parallel_kernel(sync, monkeypatch):
    # GNU OpenMP aborts a forked child entering a parallel region after its parent did: the
    # DataLoader's forked workers must run the NumPy statements instead
    monkeypatch.setattr(cpu_kernels, "PARALLEL_MIN", 0)
    x = ember.tensor(np.random.default_rng(6).standard_normal((256, 256)).astype(np.float32))
    f = ember.compile(lambda x: (x * x + 1).sqrt())
    ref = float(f(x).sum().item())
    assert _module(f).kernels[0].launches == 1 and _module(f).kernels[0].parallel
    loader = ember.utils.data.DataLoader(_Squares(f, x), batch_size=2, num_workers=2)
    got = [float(v) for batch in loader for v in batch]
    np.testing.assert_allclose(got, [ref + i for i in range(4)], rtol=1e-5)


def test_large_eager_op_runs_its_one_op_kernel(monkeypatch):
    from ember.frontend import eager_kernels
    monkeypatch.setenv("EMBER_KERNELS_SYNC", "1")
    rng = np.random.default_rng(7)
    a = rng.standard_normal((512, 600)).astype(np.float32)       # >= eager MIN_ELEMENTS
    x = ember.tensor(a)
    got = x.sigmoid().numpy()                  # a composite rule: a kernel wins over 4 passes
    entry = [e for k, e in eager_kernels._cache.items() if k[0].name == "sigmoid" and e]
    assert entry and entry[0][0].launches >= 1
    _close(got, 1 / (1 + np.exp(-a.astype(np.float64))))
    y = ember.tensor(a.T.copy()).t()           # strided operand: an N-d kernel through strides
    _close(y.sigmoid().numpy(), 1 / (1 + np.exp(-a.astype(np.float64))))
    x.exp()                                    # one SIMD ufunc in NumPy: stays NumPy
    assert all(e is False for k, e in eager_kernels._cache.items() if k[0].name == "exp")


def test_fused_stage_says_how_each_group_runs(monkeypatch):
    from ember.passes.fusion import format_groups
    monkeypatch.setenv("EMBER_COMPILE_CACHE", "0")
    c = ember.compile(lambda x, y: (F.softmax(x, -1), y.sum(0) * 2))
    c(ember.tensor(np.ones((200, 160), np.float32)), ember.tensor(np.ones((3, 4), np.float32)))
    text = format_groups(c.variants[-1].graph, runs_as=cpu_kernels.runs_as)
    assert "runs as: CPU kernel k" in text and "runs as: NumPy statements (fewer than" in text
