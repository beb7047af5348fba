"""Train a small CNN on scikit-learn's handwritten digits (1797 8x8 images shipped with the package:
no download) with ember, written exactly as a PyTorch user would write it (`import ember as
torch`): Conv2d, MaxPool2d, Dropout, Linear, a DataLoader, Adam, CrossEntropyLoss.

    python examples/cnn_digits.py [--epochs 10]

Prints a progress bar per epoch and a final test accuracy line (>= 95% expected).
"""
from __future__ import annotations

import time

from _common import accuracy, digits_split, parse_args, progress, report_final

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


def main():
    args = parse_args(epochs=10, batch_size=32, lr=2e-3)
    torch.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = digits_split(args.seed, images=True)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    steps = len(loader)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        bar = progress(loader, epoch, args.epochs)
        for step, (xb, yb) in enumerate(bar, 1):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / step:.4f}")
        print(f"epoch {epoch:2d}/{args.epochs} loss {total / steps:.4f} test acc "
              f"{accuracy(model, x_test, y_test):.4f}")
    return report_final(model, x_test, y_test, start)


if __name__ == "__main__":
    main()
