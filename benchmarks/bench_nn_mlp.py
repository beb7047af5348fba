"""Issue 3's MLP target: one training step (forward, cross-entropy, backward, Adam update) of a
784-512-512-10 ReLU MLP on a batch of 128.  Target: ember within 1.5x of PyTorch eager on the same
machine.  Also checks memory: RSS must stay flat over 1000 ember steps (no leaks).

    python -m benchmarks.bench_nn_mlp            # timing table + leak check
    python -m benchmarks.bench_nn_mlp --no-leak  # timing only
"""
from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import compare, report, training_steps, try_torch


def build(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    torch = try_torch()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)

    ember_step, torch_step = training_steps(torch, build, "Adam", "cross_entropy", x, y, lr=1e-3)
    row = compare("MLP 784-512-512-10 training step, batch 128 (Adam)", ember_step, torch_step,
                  target=1.5, repeat=7, budget=0.3)
    report("ember.nn MLP training step vs PyTorch eager", row)

    if "--no-leak" not in sys.argv:
        for _ in range(50):
            ember_step()
        samples = []
        for i in range(1000):
            ember_step()
            if i % 100 == 99:
                samples.append(_rss_mb())
        growth = samples[-1] - samples[0]
        print(f"RSS over 1000 steps (MB, every 100): {' '.join(f'{s:.1f}' for s in samples)}")
        print(f"RSS growth from step 100 to 1000: {growth:+.1f} MB -> "
              f"{'steady' if abs(growth) < 5 else 'LEAK?'}")


if __name__ == "__main__":
    main()
