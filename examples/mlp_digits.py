"""Train an MLP on scikit-learn's handwritten digits (8x8 images, 1797 samples, shipped with the
package: no download) with ember, written exactly as a PyTorch user would write it.

    python examples/mlp_digits.py [--epochs 30]

Prints a progress bar per epoch and a final test accuracy line (>= 95% expected).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import ember as torch
import ember.nn as nn
import ember.nn.functional as F


class MLP(nn.Module):
    def __init__(self, n_in=64, hidden=128, n_out=10, p_drop=0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_out))

    def forward(self, x):
        return self.net(x)


def progress(epoch, epochs, step, steps, loss, width=30):
    done = int(width * step / steps)
    bar = "#" * done + "-" * (width - done)
    sys.stdout.write(f"\repoch {epoch:2d}/{epochs} [{bar}] {step:3d}/{steps} loss {loss:.4f}")
    sys.stdout.flush()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    model.train()
    return (pred == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)          # pixel values 0..16 -> 0..1
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target)
    x_train, x_test = torch.tensor(x_train), torch.tensor(x_test)
    y_train, y_test = torch.tensor(y_train, dtype=torch.long), torch.tensor(y_test,
                                                                            dtype=torch.long)

    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    n = x_train.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n)
        total = 0.0
        for step in range(steps):
            idx = perm[step * args.batch_size:(step + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            total += loss.item()
            progress(epoch, args.epochs, step + 1, steps, total / (step + 1))
        print(f"  test acc {accuracy(model, x_test, y_test):.4f}")
    acc = accuracy(model, x_test, y_test)
    print(f"final test accuracy: {acc * 100:.2f}% ({x_test.shape[0]} test images, "
          f"{time.perf_counter() - start:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
