"""Issue 3's CNN target: one training step (forward, cross-entropy, backward, SGD update) of a small
CNN on a batch of 32 1x28x28 images: conv3x3(1->16) relu, conv3x3(16->32) relu, maxpool 2,
linear(32*14*14 -> 10).  Target: ember within 2.5x of PyTorch eager on the same machine.

    python -m benchmarks.bench_nn_cnn [--threads N]
"""
from __future__ import annotations

import os
import sys

# `--threads N` pins BLAS (ember's NumPy) and PyTorch to N threads; set before NumPy loads, since
# OpenBLAS reads it once.  On a busy machine, multi-threaded BLAS timings swing by 100x.
THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else None
if THREADS:
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(THREADS)

import numpy as np  # noqa: E402

import statistics  # noqa: E402
import time  # noqa: E402

import ember  # noqa: E402
from benchmarks.harness import Row, machine, print_table, try_torch  # noqa: E402


def interleaved(name, ember_fn, torch_fn, target, steps=30, warmup=3):
    """Median seconds per step of each side, timed one step at a time in alternation, so load
    from other processes hits both sides alike (the machine this was written on is shared)."""
    for _ in range(warmup):
        ember_fn()
        if torch_fn:
            torch_fn()
    e, t = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        ember_fn()
        e.append(time.perf_counter() - t0)
        if torch_fn:
            t0 = time.perf_counter()
            torch_fn()
            t.append(time.perf_counter() - t0)
    return Row(name, statistics.median(e), statistics.median(t) if t else None, target)


def report(title, row):
    print_table(title, [row])
    ratio = f"{row.ratio:.2f}" if row.ratio else "-"
    torch_ms = f"{row.torch_s * 1e3:.2f}" if row.torch_s else "-"
    print(f"threads: {THREADS or 'default'}; ember {row.ember_s * 1e3:.2f} ms, torch {torch_ms} ms, "
          f"ratio {ratio}  ({machine()})")


def build(nn, lib):
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

    em = build(ember.nn, ember)
    e_opt = ember.optim.SGD(em.parameters(), lr=0.01, momentum=0.9)
    ex, ey = ember.tensor(x), ember.tensor(y)

    def ember_step():
        e_opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(em(ex), ey)
        loss.backward()
        e_opt.step()

    torch_step = None
    if torch:
        tm = build(torch.nn, torch)
        tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in em.state_dict().items()})
        t_opt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def torch_step():
            t_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tm(tx), ty)
            loss.backward()
            t_opt.step()

    row = interleaved("CNN training step, batch 32, 1x28x28 (SGD momentum)", ember_step,
                      torch_step, target=2.5)
    report("ember.nn CNN training step vs PyTorch eager", row)


if __name__ == "__main__":
    main()
