"""Issue 5's speed targets: tracing an MLP training step (< 50 ms) and loading a saved program of
a 10M-parameter model (< 1 s).  There is no PyTorch column: these are absolute bounds.

    python -m benchmarks.bench_trace
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

import ember
import ember.nn as nn
from benchmarks.harness import Row, print_table


def _median_seconds(fn, repeat):
    fn()  # warm-up (imports, sympy caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mlp_training_step():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    x, y = ember.randn(64, 784), ember.randint(0, 10, (64,))
    return step, (x, y)


def big_model():
    # 10.5M parameters: 4 x (1600 x 1600 + 1600)
    layers = []
    for _ in range(4):
        layers += [nn.Linear(1600, 1600), nn.ReLU()]
    return nn.Sequential(*layers)


def main():
    rows = []
    step, inputs = mlp_training_step()
    program = ember.jit.trace(step, inputs, dynamic={"x": 0, "y": 0})
    nodes = len(program.graph.nodes)
    rows.append(Row(f"trace MLP training step (784-256-128-10, SGD; {nodes} nodes)",
                    _median_seconds(lambda: ember.jit.trace(step, inputs,
                                                            dynamic={"x": 0, "y": 0}), 7),
                    None, 0.050))
    model = big_model()
    n_params = sum(p.numel() for p in model.parameters())
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.ember")
        ember.jit.trace(model, (ember.randn(2, 1600),), dynamic=True).save(path)
        rows.append(Row(f"load a saved program ({n_params / 1e6:.1f}M parameters, "
                        f"{os.path.getsize(path) / 2**20:.0f} MiB)",
                        _median_seconds(lambda: ember.jit.load(path), 5), None, 1.0))
    print_table("ir / jit (absolute targets)", rows)
    for r in rows:
        print(f"{r.name}: {r.ember_s * 1e3:.1f} ms (target < {r.target * 1e3:.0f} ms) "
              f"{'ok' if r.ember_s < r.target else 'MISS'}")


if __name__ == "__main__":
    main()
