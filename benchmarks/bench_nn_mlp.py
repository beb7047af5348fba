"""Issue 3's MLP target: one training step (forward, cross-entropy, backward, Adam update) of a
784-512-512-10 ReLU MLP on a batch of 128.  Target: ember within 1.5x of PyTorch eager on the same
machine.  Also checks memory: RSS must stay flat over 1000 ember steps (no leaks).

    python -m benchmarks.bench_nn_mlp            # timing table + leak check
    python -m benchmarks.bench_nn_mlp --no-leak  # timing only
"""
from __future__ import annotations

import sys

import numpy as np

import ember
from benchmarks.harness import compare, print_table, try_torch


def build(nn):
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

    em = build(ember.nn)
    e_opt = ember.optim.Adam(em.parameters(), lr=1e-3)
    ex, ey = ember.tensor(x), ember.tensor(y)

    def ember_step():
        e_opt.zero_grad()
        loss = ember.nn.functional.cross_entropy(em(ex), ey)
        loss.backward()
        e_opt.step()

    torch_step = None
    if torch:
        tm = build(torch.nn)
        tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in em.state_dict().items()})
        t_opt = torch.optim.Adam(tm.parameters(), lr=1e-3)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def torch_step():
            t_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tm(tx), ty)
            loss.backward()
            t_opt.step()

    row = compare("MLP 784-512-512-10 training step, batch 128 (Adam)", ember_step, torch_step,
                  target=1.5, repeat=7, budget=0.3)
    print_table("ember.nn MLP training step vs PyTorch eager", [row])
    print(f"ember {row.ember_s * 1e3:.2f} ms, torch "
          f"{row.torch_s * 1e3 if row.torch_s else float('nan'):.2f} ms, ratio "
          f"{row.ratio if row.ratio else float('nan'):.2f}")

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
