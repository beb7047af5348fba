"""ember.compile on whole training steps (forward, cross-entropy, backward, optimizer step).

    python -m benchmarks.bench_compile                  # everything, torch.compile included
    python -m benchmarks.bench_compile --no-torch-compile

Rows: compiled ember vs PyTorch eager (ratio < 1: ember faster), compiled vs ember eager, cold
compile times (trace + passes + codegen, disk cache off) vs torch.compile's cold compile, peak
traced memory (tracemalloc) of a compiled step vs an eager step, and per-kernel-group timings of the
compiled MLP step (where NumPy's one pass per op shows).
"""
from __future__ import annotations

import os
import sys
import time
import tracemalloc

import numpy as np

os.environ.setdefault("EMBER_COMPILE_CACHE", "0")   # cold compiles are measured cold

import ember  # noqa: E402
from benchmarks.harness import compare, machine, print_table, try_torch  # noqa: E402


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class _Tr:
    def __init__(self, nn, lib):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                                        batch_first=True)
                self.head = nn.Linear(64, 10)

            def forward(self, x):
                return self.head(self.layer(x).mean(1))
        self.M = M


def transformer(nn, lib):
    return _Tr(nn, lib).M()


WORKLOADS = {
    "mlp": (lambda nn, lib: mlp(nn), (64, 784)),
    "cnn": (lambda nn, lib: cnn(nn), (32, 1, 28, 28)),
    "transformer": (transformer, (16, 12, 64)),
}


def _load_weights(dst, src):
    for (_, p), (_, q) in zip(dst.named_parameters(), src.named_parameters()):
        p.data.copy_(p.new_tensor(q.detach().numpy()) if hasattr(p, "new_tensor") else q)


def setup(kind, lib, x, y, seed=0):
    lib.manual_seed(seed)
    build, _ = WORKLOADS[kind]
    model = build(lib.nn, lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    F = lib.nn.functional

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss
    return model, step, lib.tensor(x), lib.tensor(y)


def data(kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(WORKLOADS[kind][1]).astype(np.float32)
    y = rng.integers(0, 10, WORKLOADS[kind][1][0])
    return x, y


def cold_compile(kind):
    x, y = data(kind)
    _, step, ex, ey = setup(kind, ember, x, y)
    c = ember.compile(step)
    t0 = time.perf_counter()
    c(ex, ey)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    c(ex, ey)            # Adam's state now exists: the steady-state variant compiles here
    second = time.perf_counter() - t0
    return first, second, c


def torch_cold_compile(torch, kind):
    x, y = data(kind)
    _, step, tx, ty = setup(kind, torch, x, y)
    try:
        import torch._dynamo
        torch._dynamo.reset()
        c = torch.compile(step)
        t0 = time.perf_counter()
        c(tx, ty)
        return time.perf_counter() - t0
    except Exception as e:  # no C++ compiler, ...
        return f"failed: {type(e).__name__}: {str(e)[:80]}"


def peak_bytes(fn, n=3):
    fn()
    tracemalloc.start()
    for _ in range(n):
        fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def kernel_profile(c, ex, ey, top=8):
    """Per fusion group: summed time of its nodes when each runs as its own NumPy call."""
    from ember.ir.interpret import Interpreter
    v = c.variants[-1]
    g = v.pipeline.graph if v.pipeline is not None else v.graph
    if v.pipeline is None:
        return []
    fusion = g.fusion
    interp = Interpreter(g)
    arrays = []
    for kind, src in v.sources:
        arrays.append((ex if src == 0 else ey)._data if kind == "arg" else
                      (src.grad._data if kind == "grad" else src._data))
    vals = [np.array(a, copy=True) for a in arrays]
    per_node = []
    with np.errstate(all="ignore"):
        for fn, ins, params, symbolic, name in interp.steps:
            args = [vals[j] for j in ins]
            t0 = time.perf_counter()
            for _ in range(20):
                out = fn(*args, **params)
            per_node.append((time.perf_counter() - t0) / 20)
            vals.append(np.asarray(out))
    idx = {n: i for i, n in enumerate(g.nodes)}
    rows = []
    for grp in fusion.kernels:
        t = sum(per_node[idx[n]] for n in grp.nodes)
        rows.append((t, grp.kind, len(grp.nodes), grp.shape,
                     ", ".join(n.prim.name for n in grp.nodes[:6]) +
                     (" ..." if len(grp.nodes) > 6 else "")))
    rows.sort(key=lambda r: -r[0])
    return rows[:top]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    torch = try_torch()
    rows, cold, mem, prof = [], [], [], []
    targets = {"mlp": 1.0, "cnn": 2.0, "transformer": 1.4}
    for kind in ("mlp", "cnn", "transformer"):
        x, y = data(kind)
        first, second, c = cold_compile(kind)
        tc = torch_cold_compile(torch, kind) if torch is not None and \
            "--no-torch-compile" not in argv else None
        cold.append((kind, first, second, tc, c))
        _, estep, ex, ey = setup(kind, ember, x, y)
        _, cstep_fn, cx, cy = setup(kind, ember, x, y)
        cstep = ember.compile(cstep_fn)
        cstep(cx, cy)
        cstep(cx, cy)
        if torch is not None:
            _, tstep, tx, ty = setup(kind, torch, x, y)
            rows.append(compare(f"{kind} step: compiled ember vs torch eager",
                                lambda: cstep(cx, cy), lambda: tstep(tx, ty),
                                target=targets[kind]))
        rows.append(compare(f"{kind} step: compiled ember vs ember eager",
                            lambda: cstep(cx, cy), lambda: estep(ex, ey),
                            target=1 / 1.3 if kind == "mlp" else None))
        mem.append((kind, peak_bytes(lambda: cstep(cx, cy)), peak_bytes(lambda: estep(ex, ey))))
        if kind == "mlp":
            prof = kernel_profile(cstep, cx, cy)
    print_table("ember.compile training steps (Adam)", rows)
    print("\n| cold compile | ember first call | ember 2nd variant | torch.compile first call |")
    print("|---|---|---|---|")
    for kind, first, second, tc, c in cold:
        tcs = "-" if tc is None else (tc if isinstance(tc, str) else f"{tc:.2f} s")
        print(f"| {kind} | {first * 1e3:.0f} ms | {second * 1e3:.0f} ms | {tcs} |")
    print("\n| peak traced memory per step | compiled ember | eager ember |")
    print("|---|---|---|")
    for kind, pc, pe in mem:
        print(f"| {kind} | {pc / 1e6:.2f} MB | {pe / 1e6:.2f} MB |")
    if prof:
        print("\n| MLP step: slowest kernel groups (one NumPy pass per node) | kind | nodes | "
              "shape | time |")
        print("|---|---|---|---|---|")
        for t, kind, n, shape, names in prof:
            print(f"| {names} | {kind} | {n} | {list(shape)} | {t * 1e6:.1f} us |")
    print(f"\n({machine()})")


if __name__ == "__main__":
    main()
