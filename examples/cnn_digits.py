"""Train a small CNN on scikit-learn's handwritten digits (1797 8x8 images shipped with the package:
no download) with ember, written exactly as a PyTorch user would write it (`import ember as
torch`): Conv2d, MaxPool2d, Dropout, Linear, a DataLoader, Adam, CrossEntropyLoss.

    python examples/cnn_digits.py [--epochs 10]

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
from ember.utils.data import DataLoader, TensorDataset


class DigitsCNN(nn.Module):
    """1x8x8 -> conv 16 -> conv 32 -> max pool to 4x4 -> dropout -> linear 64 -> 10 classes."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.dropout(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


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
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]   # N x 1 x 8 x 8, in 0..1
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target)
    train = TensorDataset(torch.tensor(x_train), torch.tensor(y_train, dtype=torch.long))
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    x_test = torch.tensor(x_test)
    y_test = torch.tensor(y_test, dtype=torch.long)

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    steps = len(loader)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for step, (xb, yb) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
            progress(epoch, args.epochs, step, steps, total / step)
        sys.stdout.write(f"  test acc {accuracy(model, x_test, y_test):.3f}\n")
    acc = accuracy(model, x_test, y_test)
    print(f"final test accuracy: {acc * 100:.2f}% ({len(y_test)} images, "
          f"{time.perf_counter() - start:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
