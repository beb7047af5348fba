"""Issue 12's compiled targets: the kernel plan's CPU kernels against PyTorch eager.

    python -m benchmarks.bench_kernels            # all rows
    python -m benchmarks.bench_kernels --quick    # fewer repeats

Rows (ratio = ember / torch eager, < 1: ember faster; the compiled side runs after its kernels
finished compiling): ``gelu(x*w+b)*sigmoid(x)`` on 4M float32 (target <= 0.6, and its achieved
bandwidth against a plain copy's, target >= 60%), ``softmax(layer_norm(x))`` 4096x1024 (<= 0.9),
training steps with Adam: MLP 784-512-512-10 batch 64 (<= 0.9), one transformer encoder layer
(<= 0.9), a small CNN (<= 1.2).  Then the compiled MLP step's first call in a fresh process with an
empty cache (target < 0.3 s) and in a second process with that cache warm.  Each ratio is the
median of interleaved repeats; the load average is printed before and after (the development
machine is shared: say so next to any figure).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import ember
from benchmarks.bench_compile import WORKLOADS, data, setup
from benchmarks.harness import machine, try_torch
from ember.codegen import cpu_kernels

WORKLOADS = dict(WORKLOADS)
WORKLOADS["mlp"] = (lambda nn, lib: nn.Sequential(nn.Linear(784, 512), nn.ReLU(),
                                                  nn.Linear(512, 512), nn.ReLU(),
                                                  nn.Linear(512, 10)), (64, 784))


def _median_pair(a, b, repeat):
    """Median seconds of a() and b(), called alternately `repeat` times after a warm-up."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return float(np.median(ta)), float(np.median(tb))


def _chain(x, w, b, lib):
    return lib.nn.functional.gelu(x * w + b) * lib.sigmoid(x)


def _softmax_ln(x, lib):
    F = lib.nn.functional
    return F.softmax(F.layer_norm(x, (x.shape[-1],)), dim=-1)


def _ready(c, *args):
    c(*args)
    cpu_kernels.wait_compiled(600)
    c(*args)
    m = c.variants[-1].module
    return f"{len(m.native_loaded)}/{len(m.kernels)} kernels" + \
        (f" [{m.native_error[:80]}]" if m.native_error else "")


def rows(torch, repeat):
    out = []
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(1 << 22).astype(np.float32) for _ in range(3)]
    E = [ember.tensor(a) for a in xs]
    T = [torch.tensor(a) for a in xs]
    c = ember.compile(lambda x, w, b: _chain(x, w, b, ember))
    info = _ready(c, *E)
    tc, tt = _median_pair(lambda: c(*E), lambda: _chain(*T, torch), repeat)
    te, _ = _median_pair(lambda: _chain(*E, ember), lambda: None, max(3, repeat // 3))
    dst = np.empty_like(xs[0])
    tcopy, _ = _median_pair(lambda: np.copyto(dst, xs[0]), lambda: None, repeat)
    copy_bw = 2 * xs[0].nbytes / tcopy
    chain_bw = 4 * xs[0].nbytes / tc
    out.append(("gelu(x*w+b)*sigmoid(x), 4M f32", tc, te, tt, 0.6, info))
    out.append((f"  bandwidth: chain {chain_bw / 1e9:.1f} GB/s vs copy {copy_bw / 1e9:.1f} GB/s "
                f"= {100 * chain_bw / copy_bw:.0f}% (target >= 60%)", None, None, None, None, ""))
    x = rng.standard_normal((4096, 1024)).astype(np.float32)
    ex, tx = ember.tensor(x), torch.tensor(x)
    c = ember.compile(lambda x: _softmax_ln(x, ember))
    info = _ready(c, ex)
    tc, tt = _median_pair(lambda: c(ex), lambda: _softmax_ln(tx, torch), repeat)
    te, _ = _median_pair(lambda: _softmax_ln(ex, ember), lambda: None, max(3, repeat // 3))
    out.append(("softmax(layer_norm(x)), 4096x1024", tc, te, tt, 0.9, info))
    import benchmarks.bench_compile as bc
    saved = bc.WORKLOADS
    bc.WORKLOADS = WORKLOADS
    try:
        for kind, target in (("mlp", 0.9), ("transformer", 0.9), ("cnn", 1.2)):
            xd, yd = data(kind)
            _, cfn, cx, cy = setup(kind, ember, xd, yd)
            _, efn, ex_, ey_ = setup(kind, ember, xd, yd)
            _, tfn, tx_, ty_ = setup(kind, torch, xd, yd)
            c = ember.compile(cfn)
            c(cx, cy)                      # Adam's state appears: the steady variant is next
            info = _ready(c, cx, cy)
            tc, tt = _median_pair(lambda: c(cx, cy), lambda: tfn(tx_, ty_), repeat)
            te, _ = _median_pair(lambda: efn(ex_, ey_), lambda: None, max(3, repeat // 3))
            out.append((f"{kind} step (Adam)", tc, te, tt, target, info))
    finally:
        bc.WORKLOADS = saved
    return out


_FIRST = r'''
import time, numpy as np
t0 = time.perf_counter()
import ember, ember.nn as nn
ember.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                      nn.Linear(512, 10))
opt = ember.optim.Adam(model.parameters(), lr=1e-3)
x = ember.randn(64, 784); y = ember.tensor(np.arange(64) % 10)
def step(x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
c = ember.compile(step)
t1 = time.perf_counter(); c(x, y); t2 = time.perf_counter()
m = c.variants[-1].module
print(f"{t2 - t1:.3f} {len(m.native_loaded)} {len(m.kernels)}")
from ember.codegen import cpu_kernels; cpu_kernels.wait_compiled(600)
'''


def first_calls():
    d = tempfile.mkdtemp(prefix="ember-bench-cache-")
    env = dict(os.environ, EMBER_CACHE_DIR=d)
    res = []
    for label in ("fresh process, empty cache", "second process, warm cache"):
        out = subprocess.run([sys.executable, "-c", _FIRST], env=env, capture_output=True,
                             text=True, timeout=900)
        t, loaded, total = out.stdout.split()[-3:]
        res.append((label, float(t), f"{loaded}/{total} kernels ran compiled on the first call"))
    return res


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    repeat = 5 if "--quick" in argv else 15
    torch = try_torch()
    if torch is None:
        print("torch is not installed: nothing to compare against")
        return 1
    la0 = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average before: "
          f"{' '.join(f'{v:.2f}' for v in la0)}; torch threads {torch.get_num_threads()}, "
          f"numba threads {os.environ.get('NUMBA_NUM_THREADS', 'default')}")
    print("\n| workload | ember.compile | ember eager | torch eager | compiled / torch | target | |")
    print("|---|---|---|---|---|---|---|")
    for name, tc, te, tt, target, info in rows(torch, repeat):
        if tc is None:
            print(f"| {name} | | | | | | |")
            continue
        r = tc / tt
        ok = "ok" if r <= target else "**MISS**"
        print(f"| {name} | {tc * 1e3:.2f} ms | {te * 1e3:.2f} ms | {tt * 1e3:.2f} ms | {r:.2f} | "
              f"<= {target} | {ok} ({info}) |")
    print("\n| compiled MLP step, first call | time | |")
    print("|---|---|---|")
    for label, t, what in first_calls():
        print(f"| {label} | {t * 1e3:.0f} ms | {what} |")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"({machine()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
