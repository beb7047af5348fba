"""ember's main demo: train a classifier on scikit-learn's handwritten digits (shipped with the
package, no download) with a *compiled* training step -- forward, loss.backward(), Adam's step and
zero_grad, BatchNorm running stats and dropout all in one generated NumPy program -- then save the
traced program and print its IR summary with the `ember ir` command line (in a temporary directory
that is removed at the end).  A progress bar (tqdm) shows on a terminal only.

    python examples/demo.py            # (`make demo`)

Written exactly as PyTorch code: `import ember as torch`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import ember as torch
import ember.nn as nn
import ember.nn.functional as F

torch.manual_seed(0)
digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.25, random_state=0,
                                      stratify=digits.target)
Xtr, Xte = torch.tensor(Xtr), torch.tensor(Xte)
ytr, yte = torch.tensor(ytr), torch.tensor(yte)

model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.1),
                      nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)


@torch.compile
def train_step(x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def accuracy(x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    model.train()
    return (pred == y).float().mean().item()


epochs, batch = 12, 64
n = Xtr.shape[0]
print(f"digits: {n} train / {Xte.shape[0]} test images (8x8); model: {model}")
t_start = time.perf_counter()
for epoch in range(1, epochs + 1):
    perm = torch.randperm(n)
    total, steps = 0.0, 0
    t0 = time.perf_counter()
    bar = tqdm(range(0, n - batch + 1, batch), desc=f"epoch {epoch:2d}/{epochs}", unit="batch",
               file=sys.stdout, leave=False, disable=not sys.stdout.isatty())
    for i in bar:      # full batches: one compiled program
        idx = perm[i:i + batch]
        total += train_step(Xtr[idx], ytr[idx]).item()
        steps += 1
        bar.set_postfix(loss=f"{total / steps:.4f}")
    print(f"epoch {epoch:2d}/{epochs} loss {total / steps:.4f}  "
          f"test acc {accuracy(Xte, yte):.3f}  ({(time.perf_counter() - t0) * 1e3:.0f} ms)")
print(f"trained in {time.perf_counter() - t_start:.2f} s; final test accuracy "
      f"{accuracy(Xte, yte):.3f}")
s = train_step.stats
print(f"compiled step: {s['calls']} calls, {s['compiles']} compiles "
      f"({s['compile_seconds'] * 1e3:.0f} ms), {s['cache_hits']} cache hits, "
      f"{len(s['graph_breaks'])} graph breaks")
for r in s["recompiles"]:
    print(f"  recompiled because {r['reason']}")

# the traced training step, saved without the Python code, and its IR summary from the CLI
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "train_step.ember")
    train_step.program().save(path)
    print(f"\nsaved the traced training step to {path}; `ember ir stats` says:")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "ember", "ir", "stats", path], check=True)
