"""Hogwild!: several processes train ONE model whose parameters live in shared memory.

Each process runs its own optimizer on its own shard of the data and updates the shared weights
in place, without locks (Niu et al., 2011).  Works with every start method: with fork the workers
inherit the shared mappings; with spawn/forkserver the model is pickled through
ember.multiprocessing, whose reducer sends each parameter as a handle to its shared segment.

    python examples/hogwild.py                       # 2 processes, default start method
    python examples/hogwild.py --processes 4 --start-method spawn
"""
from __future__ import annotations

import argparse

import numpy as np

import ember as torch
import ember.multiprocessing as mp
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset


def make_data(n=2048, features=16, seed=0):
    """A synthetic 3-class problem a small MLP can learn."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    w = rng.standard_normal((features, 3)).astype(np.float32)
    y = np.argmax(x @ w + 0.1 * rng.standard_normal((n, 3)), axis=1)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def make_model(features=16):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(features, 32), nn.ReLU(), nn.Linear(32, 3))


def evaluate(model, x, y):
    with torch.no_grad():
        return F.cross_entropy(model(x), y).item()


def train(rank, model, x, y, epochs, lr, num_processes):
    torch.manual_seed(1 + rank)
    shard = TensorDataset(x[rank::num_processes], y[rank::num_processes])
    loader = DataLoader(shard, batch_size=32, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()  # in place on the shared parameters: every process sees it


def main(num_processes=2, epochs=3, lr=0.05, start_method=None):
    x, y = make_data()
    model = make_model()
    model.share_memory()  # parameters move to shared memory, in place
    assert all(p.is_shared() for p in model.parameters())
    before = evaluate(model, x, y)
    ctx = mp.get_context(start_method)
    procs = [ctx.Process(target=train, args=(rank, model, x, y, epochs, lr, num_processes))
             for rank in range(num_processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"training process {p.pid} failed with exit code {p.exitcode}")
    after = evaluate(model, x, y)  # the parent never trained: it sees the workers' updates
    return before, after


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--start-method", default=None, choices=["fork", "spawn", "forkserver"])
    args = ap.parse_args()
    before, after = main(args.processes, args.epochs, args.lr, args.start_method)
    print(f"loss before {before:.4f} after {after:.4f}")
