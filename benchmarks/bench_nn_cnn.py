"""Issue 3's CNN target: one training step (forward, cross-entropy, backward, SGD update) of a small
CNN on a batch of 32 1x28x28 images: conv3x3(1->16) relu, conv3x3(16->32) relu, maxpool 2,
linear(32*14*14 -> 10).  Target: ember within 2.5x of PyTorch eager on the same machine.

    python -m benchmarks.bench_nn_cnn [--threads N]
"""
from __future__ import annotations

import sys

from benchmarks.harness import interleaved, pin_threads, report, training_steps, try_torch

THREADS = pin_threads(sys.argv)  # before NumPy loads

import numpy as np  # noqa: E402


def build(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 14 * 14, 10))


def main():
    torch = try_torch()
    if torch and THREADS:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 32)

    ember_step, torch_step = training_steps(torch, build, "SGD", "cross_entropy", x, y, lr=0.01,
                                            momentum=0.9)
    row = interleaved("CNN training step, batch 32, 1x28x28 (SGD momentum)", ember_step,
                      torch_step, target=2.5)
    report("ember.nn CNN training step vs PyTorch eager", row, THREADS)


if __name__ == "__main__":
    main()
