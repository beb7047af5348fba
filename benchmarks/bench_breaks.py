"""A graph break inside a compiled training step: the MLP step (784-256-10, batch 64, Adam) that
logs ``loss.item()`` between the forward and the backward, compiled in segments around the break
(ember/compiler/compile_segments.py), against the same step eager and the step without the break
compiled whole.

    python -m benchmarks.bench_breaks            # single-threaded (OpenBLAS, EMBER_NUM_THREADS)
    python -m benchmarks.bench_breaks --large    # 784-1024-10, batch 256 (more compute per op)

All variants run interleaved in one process (round-robin, one call each per round), so machine
noise hits them alike; best and median per call are printed with the load average before and
after.  The "segments, replay only" row replaces the two compiled programs by their cached results:
it is the Python cost of re-running the step's frontend code with the replay tracer.
"""
from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "EMBER_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember.compiler.compile import GraphBreakWarning  # noqa: E402


def make_step(log, hidden=256):
    ember.manual_seed(0)
    nn = ember.nn
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    F = nn.functional

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if log is not None:
            log.append(loss.item())      # the graph break
        loss.backward()
        opt.step()
        return loss
    return step


class _Cached:
    """A segment program that returns its first results again (to time the Python side)."""

    def __init__(self, module):
        self.module, self.n_seeds, self.out = module, module.n_seeds, None

    def run(self, arrays, seeds=()):
        if self.out is None:
            self.out = self.module.run(arrays, seeds)
        return self.out


def main(rounds=300, hidden=256, batch=64):
    warnings.simplefilter("ignore", GraphBreakWarning)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, batch))
    log = []
    seg = ember.compile(make_step(log, hidden))
    replay = ember.compile(make_step(log, hidden))
    fns = {
        "eager, logs loss.item()": make_step(log, hidden),
        "eager, no break": make_step(None, hidden),
        "compiled whole, no break": ember.compile(make_step(None, hidden)),
        "compiled in segments, logs loss.item()": seg,
        "segments, replay only (programs cached)": replay,
    }
    for f in fns.values():
        for _ in range(3):
            f(x, y)
    for s in replay.variants[-1].segments.root.candidates:
        s.module = _Cached(s.module)
        for s2 in s.next.candidates:
            s2.module = _Cached(s2.module)
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f(x, y)
            times[k].append(time.perf_counter() - t0)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n| MLP 784-{hidden}-10 step, batch {batch}, single-threaded ({rounds} rounds) | best "
          f"| median |")
    print("|---|---|---|")
    for k, ts in times.items():
        print(f"| {k} | {min(ts) * 1e3:.2f} ms | {np.median(ts) * 1e3:.2f} ms |")
    plan = seg.variants[-1].segments
    print(f"\nsegments: {seg.stats['segments']} programs compiled over "
          f"{seg.stats['segment_calls']} calls, {plan.divergences} divergences, "
          f"{plan.eager_tails} eager tails")
    print(seg.explain())
    return 0


if __name__ == "__main__":
    sys.exit(main(100, 1024, 256) if "--large" in sys.argv else main())
