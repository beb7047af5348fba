"""Per-call overhead of a compiled training step outside its generated code: guards (argument
signatures, module/optimizer/global state, captured tensors), argument collection, writing
``.grad`` and optimizer state back, wrapping outputs.

    python -m benchmarks.bench_guard_overhead

The compiled MLP step (784-256-10, batch 64, Adam) runs many times; the time spent inside the
generated module's ``run`` is measured by wrapping it, and the overhead is (call - run) per
call.  Best and median over rounds are printed with the load average before and after.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "EMBER_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import ember  # noqa: E402


def make_step(hidden=256):
    ember.manual_seed(0)
    nn = ember.nn
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    F = nn.functional

    @ember.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def measure(rounds=30, calls=20):
    step = make_step()
    x = ember.randn(64, 784)
    y = ember.randint(0, 10, (64,))
    for _ in range(3):          # trace, the Adam-state recompile, warm-up
        step(x, y)
    assert len(step.variants) >= 1 and step.stats["cache_hits"] >= 1
    inside = [0.0]
    for v in step.variants:
        mod = v.module
        orig = mod.run

        def run(arrays, seeds=(), _orig=orig):
            t0 = time.perf_counter()
            try:
                return _orig(arrays, seeds)
            finally:
                inside[0] += time.perf_counter() - t0
        mod.run = run
    per_call = []
    for _ in range(rounds):
        inside[0] = 0.0
        t0 = time.perf_counter()
        for _ in range(calls):
            step(x, y)
        total = time.perf_counter() - t0
        per_call.append((total - inside[0]) / calls)
    return per_call


def main():
    load0 = os.getloadavg()
    per_call = measure()
    load1 = os.getloadavg()
    print(f"compiled MLP step (784-256-10, batch 64, Adam): overhead outside the generated code "
          f"best {min(per_call) * 1e6:.1f} us, median {statistics.median(per_call) * 1e6:.1f} us "
          f"per call; load average {load0[0]:.1f} -> {load1[0]:.1f}")


if __name__ == "__main__":
    main()
